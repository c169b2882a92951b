#ifndef TCPKIT_EBPF_H
#define TCPKIT_EBPF_H

#include <napi.h>

#include <atomic>

#include "live.h"

extern "C" {
#include "../bpf/sample.h"
}

struct tcpkit_bpf;
struct ring_buffer;

namespace tcpkit {

class EbpfCapture : public Napi::ObjectWrap<EbpfCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EbpfCapture(const Napi::CallbackInfo& info);
  ~EbpfCapture() override;

 private:
  static int OnSample(void* ctx, void* data, size_t size);
  void Close();
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  void UpdateCounters();
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);

  struct tcpkit_bpf* skel_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  int sock_ = -1;
  unsigned lo_ifindex_ = 1;
  int64_t wall_offset_ns_ = 0;
  std::atomic<uint64_t> delivered_{0};
  struct tk_counters last_ = {};
  LivePump pump_;
};

}  // namespace tcpkit

#endif
