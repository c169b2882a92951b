#ifndef TCPKIT_EBPF_H
#define TCPKIT_EBPF_H

#include <napi.h>

extern "C" {
#include "../bpf/sample.h"
}

struct tcpkit_bpf;

namespace tcpkit {

// The eBPF engine's native half: loads and attaches the program, and maps its
// ring buffer into JavaScript. There is no capture thread: JavaScript reads
// the ring in place (src/engine/ring.ts) on its own timer.
class EbpfCapture : public Napi::ObjectWrap<EbpfCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EbpfCapture(const Napi::CallbackInfo& info);
  ~EbpfCapture() override;

 private:
  void Close();
  Napi::Value Ring(const Napi::CallbackInfo& info);
  Napi::Value WallOffset(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  void UpdateCounters();
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);

  struct tcpkit_bpf* skel_ = nullptr;
  int sock_ = -1;
  unsigned lo_ifindex_ = 1;
  uint32_t ring_size_ = 0;
  bool ring_given_ = false;
  struct tk_counters last_ = {};
};

}  // namespace tcpkit

#endif
