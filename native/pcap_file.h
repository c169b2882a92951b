#ifndef TCPKIT_PCAP_FILE_H
#define TCPKIT_PCAP_FILE_H

#include <napi.h>
#include <pcap/pcap.h>
#include <string>

namespace tcpkit {

// Reads a pcap or pcapng file through libpcap and fills batches of records.
// JavaScript calls read(buffer) once per batch, never once per packet.
class PcapFileReader : public Napi::ObjectWrap<PcapFileReader> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit PcapFileReader(const Napi::CallbackInfo& info);
  ~PcapFileReader() override;

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value LinkType(const Napi::CallbackInfo& info);
  Napi::Value Snaplen(const Napi::CallbackInfo& info);
  Napi::Value Error(const Napi::CallbackInfo& info);
  Napi::Value Packets(const Napi::CallbackInfo& info);

  void Release();

  pcap_t* pcap_ = nullptr;
  int link_type_ = 0;
  double packets_ = 0;
  // A packet read but not yet placed because the last batch was full.
  const u_char* pending_data_ = nullptr;
  struct pcap_pkthdr* pending_hdr_ = nullptr;
  bool at_end_ = false;
  std::string error_;
};

}  // namespace tcpkit

#endif
