#ifndef TCPKIT_EBPF_H
#define TCPKIT_EBPF_H

#include <napi.h>
#include <uv.h>

#include <string>

extern "C" {
#include "../bpf/sample.h"
}

struct tcpkit_bpf;

namespace tcpkit {

// The eBPF engine's native half: loads and attaches the program, and maps its
// ring buffer into JavaScript. There is no capture thread: JavaScript reads
// the ring in place (src/engine/ring.ts) on its own timer, and while idle
// sleeps until the program wakes it (sleeper(): the event loop watches the
// ring's fd).
class EbpfCapture : public Napi::ObjectWrap<EbpfCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EbpfCapture(const Napi::CallbackInfo& info);
  ~EbpfCapture() override;

 private:
  // The constructor's options, for each attempt to load the program.
  struct Settings {
    Napi::Array ports, servers;
    uint32_t l4proto = 0, snaplen = 0, ring = 0, flows = 0;
    bool want_empty = false, full = false;
  };
  static int LinkTypeOf(const std::string& iface);
  std::string Load(const Settings& s, bool tcx, bool loopback);
  std::string AttachTcx(int ifindex, bool loopback);
  std::string AttachSocket(int ifindex);
  void Close();
  Napi::Value Attached(const Napi::CallbackInfo& info);
  Napi::Value TcxFailure(const Napi::CallbackInfo& info);
  Napi::Value Ring(const Napi::CallbackInfo& info);
  Napi::Value WallOffset(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  Napi::Value Sleeper(const Napi::CallbackInfo& info);
  static void OnRingPoll(uv_poll_t* handle, int status, int events);
  void StopSleeper();
  void UpdateCounters();
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);

  struct tcpkit_bpf* skel_ = nullptr;
  int sock_ = -1;
  int tcx_links_[2] = {-1, -1};
  // "tcx" or "socket filter"; why tcx was tried and not used ("" if not).
  std::string attached_;
  std::string tcx_failure_;
  // The errno of the last failed load or attach.
  int last_errno_ = 0;
  unsigned lo_ifindex_ = 1;
  uint32_t ring_size_ = 0;
  bool ring_given_ = false;
  // sleeper(): an epoll set holding the ring (edge-triggered), watched by the
  // event loop, and what to call when the program wakes the reader.
  int wake_epfd_ = -1;
  uv_poll_t* wake_poll_ = nullptr;
  Napi::FunctionReference on_wake_;
  struct tk_counters last_ = {};
};

}  // namespace tcpkit

#endif
