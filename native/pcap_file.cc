#include "pcap_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "errors.h"

namespace tcpkit {

Napi::Function PcapFileReader::Init(Napi::Env env) {
  return DefineClass(env, "PcapFileReader",
                     {
                         InstanceMethod<&PcapFileReader::Read>("read"),
                         InstanceMethod<&PcapFileReader::Close>("close"),
                         InstanceAccessor<&PcapFileReader::LinkType>("linkType"),
                         InstanceAccessor<&PcapFileReader::LinkTypeName>("linkTypeName"),
                         InstanceAccessor<&PcapFileReader::Snaplen>("snaplen"),
                         InstanceAccessor<&PcapFileReader::Error>("error"),
                         InstanceAccessor<&PcapFileReader::Packets>("packets"),
                         InstanceAccessor<&PcapFileReader::Offset>("offset"),
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
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    ThrowCode(env, "EBADCAPTURE", path + ": is empty, not a capture file");
    return;
  }
  // Opened here, so that a file we may not read says so (libpcap would
  // call it a capture it cannot read); libpcap owns the FILE from then on.
  FILE* fp = fopen(path.c_str(), "rb");
  if (fp == nullptr) {
    ThrowCode(env, errno == EACCES ? "EACCES" : "EIO", path + ": " + std::strerror(errno));
    return;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_ = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (pcap_ == nullptr) {
    fclose(fp);
    ThrowCode(env, "EBADCAPTURE", path + ": not a capture libpcap can read (" + errbuf + ")");
    return;
  }
  link_type_ = pcap_datalink(pcap_);
  StartDirect();
}

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kFileHeaderLen = 24;
constexpr size_t kRecordHeaderLen = 16;
constexpr size_t kWindowBytes = 4u << 20;

// Link types whose packets libpcap hands over untouched (no pseudo-header
// fix-ups): the ones tcpkit decodes.
bool PlainLinkType(int dlt) {
  switch (dlt) {
    case TK_LINK_NULL:
    case TK_LINK_ETHERNET:
    case TK_LINK_RAW:
    case TK_LINK_RAW_ALT:
    case TK_LINK_LOOP:
    case TK_LINK_LINUX_SLL:
    case TK_LINK_IPV4:
    case TK_LINK_IPV6:
    case TK_LINK_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

// Decides whether this file can be read directly, from libpcap's own view of
// it and the file header.
void PcapFileReader::StartDirect() {
  FILE* fp = pcap_file(pcap_);
  if (fp == nullptr || pcap_is_swapped(pcap_) || !PlainLinkType(link_type_)) return;
  if (pcap_major_version(pcap_) != 2 || pcap_minor_version(pcap_) != 4) return;
  int fd = fileno(fp);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  long at = ftell(fp);
  if (at != static_cast<long>(kFileHeaderLen)) return;
  uint8_t header[kFileHeaderLen];
  if (pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return;
  uint32_t magic = Load32(header);
  if (magic != kMagicMicro && magic != kMagicNano) return;  // other formats, or not native order
  int snap = pcap_snapshot(pcap_);
  if (snap <= 0) return;
  snapshot_ = static_cast<uint32_t>(snap);
  scale_up_ = magic == kMagicMicro;
  fd_ = fd;
  window_.resize(kWindowBytes);
  window_off_ = kFileHeaderLen;
  window_len_ = 0;
  pos_ = 0;
  direct_ = true;
}

// Makes `need` bytes from pos_ available in the window, if the file has them.
bool PcapFileReader::Refill(size_t need) {
  if (need > window_.size()) return false;
  size_t keep = window_len_ - pos_;
  if (keep > 0 && pos_ > 0) std::memmove(window_.data(), window_.data() + pos_, keep);
  window_off_ += pos_;
  pos_ = 0;
  window_len_ = keep;
  while (window_len_ < need) {
    ssize_t n = pread(fd_, window_.data() + window_len_, window_.size() - window_len_, window_off_ + window_len_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    window_len_ += static_cast<size_t>(n);
  }
  return true;
}

// Hands the rest of the file, from the next record on, back to libpcap.
void PcapFileReader::LeaveDirect() {
  direct_ = false;
  uint64_t at = window_off_ + pos_;
  std::vector<uint8_t>().swap(window_);
  FILE* fp = pcap_file(pcap_);
  if (fseeko(fp, static_cast<off_t>(at), SEEK_SET) != 0) {
    at_end_ = true;
    error_ = std::string("error reading dump file: ") + std::strerror(errno);
  }
}

PcapFileReader::~PcapFileReader() { Release(); }

void PcapFileReader::Release() {
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
  pending_data_ = nullptr;
  pending_hdr_ = nullptr;
  direct_ = false;
  fd_ = -1;
  std::vector<uint8_t>().swap(window_);
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

  while (direct_) {
    const uint8_t* h = window_.data() + pos_;
    if (window_len_ - pos_ < kRecordHeaderLen) {
      if (!Refill(kRecordHeaderLen)) {
        LeaveDirect();
        break;
      }
      h = window_.data() + pos_;
    }
    uint32_t caplen = Load32(h + 8);
    // Longer than the file's snapshot length: libpcap cuts or refuses it.
    if (caplen > snapshot_) {
      LeaveDirect();
      break;
    }
    if (window_len_ - pos_ < kRecordHeaderLen + caplen) {
      if (!Refill(kRecordHeaderLen + caplen)) {
        LeaveDirect();
        break;
      }
      h = window_.data() + pos_;
    }
    uint32_t cap = std::min<uint32_t>(caplen, static_cast<uint32_t>(batch.capacity - TK_RECORD_HDR_LEN - TK_RECORD_ALIGN));
    if (!batch.Fits(cap)) return Napi::Number::New(env, static_cast<double>(batch.used));
    rec.ts_sec = Load32(h);
    // As libpcap: a signed 32-bit field, scaled to nanoseconds in a long, kept to 32 bits.
    uint32_t frac = Load32(h + 4);
    rec.ts_nsec = scale_up_ ? static_cast<__u32>(static_cast<int64_t>(static_cast<int32_t>(frac)) * 1000) : frac;
    rec.orig_len = Load32(h + 12);
    rec.cap_len = cap;
    batch.Append(rec, h + kRecordHeaderLen);
    packets_++;
    pos_ += kRecordHeaderLen + caplen;
  }
  if (at_end_) return Napi::Number::New(env, static_cast<double>(batch.used));

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

// libpcap's name for the file's link type ("EN10MB"), or null when it has none.
Napi::Value PcapFileReader::LinkTypeName(const Napi::CallbackInfo& info) {
  const char* name = pcap_datalink_val_to_name(link_type_);
  if (name == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), name);
}

Napi::Value PcapFileReader::Snaplen(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pcap_ != nullptr ? pcap_snapshot(pcap_) : 0);
}

Napi::Value PcapFileReader::Error(const Napi::CallbackInfo& info) {
  if (error_.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), error_);
}

Napi::Value PcapFileReader::Packets(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), packets_); }

// How far into the file reading has got, in bytes: for a progress bar.
Napi::Value PcapFileReader::Offset(const Napi::CallbackInfo& info) {
  double at = 0;
  if (direct_) {
    at = static_cast<double>(window_off_ + pos_);
  } else if (pcap_ != nullptr) {
    FILE* fp = pcap_file(pcap_);
    off_t o = fp != nullptr ? ftello(fp) : -1;
    if (o > 0) at = static_cast<double>(o);
  }
  return Napi::Number::New(info.Env(), at);
}

}  // namespace tcpkit
