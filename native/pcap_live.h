#ifndef TCPKIT_PCAP_LIVE_H
#define TCPKIT_PCAP_LIVE_H

#include <napi.h>
#include <pcap/pcap.h>

#include <atomic>
#include <string>

#include "live.h"

namespace tcpkit {

// The libpcap live engine: the fallback where eBPF cannot load. libpcap
// filters in the kernel too (classic BPF on its packet socket), and a thread
// of ours runs pcap_dispatch and fills batches.
class PcapLiveCapture : public Napi::ObjectWrap<PcapLiveCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit PcapLiveCapture(const Napi::CallbackInfo& info);
  ~PcapLiveCapture() override;

 private:
  static void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);
  void UpdateCounters();

  pcap_t* pcap_ = nullptr;
  int link_type_ = 0;
  uint32_t ifindex_ = 0;
  std::atomic<uint64_t> delivered_{0};
  double received_ = 0, dropped_ = 0, ifdropped_ = 0;
  LivePump pump_;
};

}  // namespace tcpkit

#endif
