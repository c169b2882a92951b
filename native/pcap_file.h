#ifndef TCPKIT_PCAP_FILE_H
#define TCPKIT_PCAP_FILE_H

#include <napi.h>
#include <pcap/pcap.h>
#include <cstdint>
#include <string>
#include <vector>

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
  Napi::Value LinkTypeName(const Napi::CallbackInfo& info);
  Napi::Value Snaplen(const Napi::CallbackInfo& info);
  Napi::Value Error(const Napi::CallbackInfo& info);
  Napi::Value Packets(const Napi::CallbackInfo& info);
  Napi::Value Offset(const Napi::CallbackInfo& info);

  void Release();
  void StartDirect();
  bool Refill(size_t need);
  void LeaveDirect();

  pcap_t* pcap_ = nullptr;
  int link_type_ = 0;
  double packets_ = 0;
  // A packet read but not yet placed because the last batch was full.
  const u_char* pending_data_ = nullptr;
  struct pcap_pkthdr* pending_hdr_ = nullptr;
  bool at_end_ = false;
  std::string error_;

  // Direct reading of classic pcap files (native byte order, version 2.4, a
  // link type we decode): records are parsed from large pread()s instead of
  // pcap_next_ex() per packet. At anything else (end of file, a short or
  // oversized record) the reader seeks libpcap's FILE to that record and
  // libpcap carries on, so ends and errors are libpcap's own.
  bool direct_ = false;
  bool scale_up_ = false;  // microsecond file: nanoseconds = µs * 1000, as libpcap does
  uint32_t snapshot_ = 0;
  int fd_ = -1;
  std::vector<uint8_t> window_;
  uint64_t window_off_ = 0;  // file offset of window_[0]
  size_t window_len_ = 0;    // valid bytes in window_
  size_t pos_ = 0;           // next record, as an index into window_
};

}  // namespace tcpkit

#endif
