#include "pcap_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "batch.h"
#include "errors.h"

namespace tcpkit {

Napi::Function PcapFileReader::Init(Napi::Env env) {
  return DefineClass(env, "PcapFileReader",
                     {
                         InstanceMethod<&PcapFileReader::Read>("read"),
                         InstanceMethod<&PcapFileReader::Close>("close"),
                         InstanceAccessor<&PcapFileReader::LinkType>("linkType"),
                         InstanceAccessor<&PcapFileReader::Snaplen>("snaplen"),
                         InstanceAccessor<&PcapFileReader::Error>("error"),
                         InstanceAccessor<&PcapFileReader::Packets>("packets"),
                     });
}

PcapFileReader::PcapFileReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapFileReader>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowCode(env, "EINVAL", "PcapFileReader needs a file path");
    return;
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ThrowCode(env, errno == ENOENT ? "ENOENT" : "EIO", path + ": " + std::strerror(errno));
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    ThrowCode(env, "EISDIR", path + ": is a directory, not a capture file");
    return;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (pcap_ == nullptr) {
    ThrowCode(env, "EBADCAPTURE", path + ": not a capture libpcap can read (" + errbuf + ")");
    return;
  }
  link_type_ = pcap_datalink(pcap_);
}

PcapFileReader::~PcapFileReader() { Release(); }

void PcapFileReader::Release() {
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
  pending_data_ = nullptr;
  pending_hdr_ = nullptr;
}

// read(buffer) -> bytes used; 0 once the file is done (see .error).
Napi::Value PcapFileReader::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    ThrowCode(env, "EINVAL", "read needs a Buffer");
    return env.Undefined();
  }
  if (pcap_ == nullptr || at_end_) return Napi::Number::New(env, 0);
  Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
  BatchWriter batch{buf.Data(), buf.Length()};
  struct tk_record rec;
  std::memset(&rec, 0, sizeof rec);
  rec.link_type = static_cast<__u16>(link_type_);

  for (;;) {
    struct pcap_pkthdr* hdr;
    const u_char* data;
    if (pending_hdr_ != nullptr) {
      hdr = pending_hdr_;
      data = pending_data_;
      pending_hdr_ = nullptr;
      pending_data_ = nullptr;
    } else {
      int rc = pcap_next_ex(pcap_, &hdr, &data);
      if (rc == PCAP_ERROR_BREAK) {
        at_end_ = true;
        break;
      }
      if (rc == PCAP_ERROR) {
        at_end_ = true;
        error_ = pcap_geterr(pcap_);
        break;
      }
      if (rc != 1) continue;
    }
    // A record must fit an empty batch; longer packets keep their head.
    uint32_t cap = std::min<uint32_t>(hdr->caplen, static_cast<uint32_t>(batch.capacity - TK_RECORD_HDR_LEN - TK_RECORD_ALIGN));
    if (!batch.Fits(cap)) {
      // libpcap keeps hdr/data valid until the next pcap_next_ex call.
      pending_hdr_ = hdr;
      pending_data_ = data;
      break;
    }
    rec.ts_sec = static_cast<__u32>(hdr->ts.tv_sec);
    rec.ts_nsec = static_cast<__u32>(hdr->ts.tv_usec);  // nanoseconds: opened with NANO precision
    rec.orig_len = hdr->len;
    rec.cap_len = cap;
    batch.Append(rec, data);
    packets_++;
  }
  return Napi::Number::New(env, static_cast<double>(batch.used));
}

Napi::Value PcapFileReader::Close(const Napi::CallbackInfo& info) {
  Release();
  at_end_ = true;
  return info.Env().Undefined();
}

Napi::Value PcapFileReader::LinkType(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), link_type_); }

Napi::Value PcapFileReader::Snaplen(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pcap_ != nullptr ? pcap_snapshot(pcap_) : 0);
}

Napi::Value PcapFileReader::Error(const Napi::CallbackInfo& info) {
  if (error_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), error_);
}

Napi::Value PcapFileReader::Packets(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), packets_); }

}  // namespace tcpkit
