// The libpcap live engine (see pcap_live.h).
#include "pcap_live.h"

#include <net/if.h>
#include <poll.h>
#include <string.h>

#include "errors.h"

namespace tcpkit {

// How long the capture thread sleeps when there is nothing to read: batches
// reach JavaScript within this and the pump's kMaxDelay.
constexpr int kPollMs = 10;

Napi::Function PcapLiveCapture::Init(Napi::Env env) {
  return DefineClass(env, "PcapLiveCapture",
                     {
                         InstanceMethod("start", &PcapLiveCapture::Start),
                         InstanceMethod("stop", &PcapLiveCapture::Stop),
                         InstanceMethod("close", &PcapLiveCapture::CloseJs),
                         InstanceMethod("counters", &PcapLiveCapture::Counters),
                         InstanceAccessor("linkType", &PcapLiveCapture::LinkType, nullptr),
                     });
}

// new PcapLiveCapture({ iface, filter, snaplen, bufferBytes })
// Throws with code EPERM (not allowed to capture), ENODEV (no such
// interface), EFILTER (the filter does not compile), EPCAP (anything else).
PcapLiveCapture::PcapLiveCapture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapLiveCapture>(info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  std::string iface = o.Get("iface").As<Napi::String>().Utf8Value();
  std::string filter = o.Get("filter").As<Napi::String>().Utf8Value();
  int snaplen = o.Get("snaplen").ToNumber().Int32Value();
  int buffer = o.Get("bufferBytes").ToNumber().Int32Value();

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_ = pcap_create(iface.c_str(), errbuf);
  if (pcap_ == nullptr) {
    ThrowCode(env, "EPCAP", errbuf);
    return;
  }
  pcap_set_snaplen(pcap_, snaplen);
  pcap_set_promisc(pcap_, 0);
  pcap_set_timeout(pcap_, 10);
  if (buffer > 0) pcap_set_buffer_size(pcap_, buffer);
  pcap_set_tstamp_precision(pcap_, PCAP_TSTAMP_PRECISION_NANO);
  int rc = pcap_activate(pcap_);
  if (rc < 0) {
    std::string why = pcap_geterr(pcap_);
    const char* code = "EPCAP";
    if (rc == PCAP_ERROR_PERM_DENIED) code = "EPERM";
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) code = "ENODEV";
    if (why.empty()) why = pcap_statustostr(rc);
    pcap_close(pcap_);
    pcap_ = nullptr;
    ThrowCode(env, code, why);
    return;
  }
  struct bpf_program prog;
  if (pcap_compile(pcap_, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 || pcap_setfilter(pcap_, &prog) != 0) {
    std::string why = std::string("filter '") + filter + "': " + pcap_geterr(pcap_);
    pcap_close(pcap_);
    pcap_ = nullptr;
    ThrowCode(env, "EFILTER", why);
    return;
  }
  pcap_freecode(&prog);
  link_type_ = pcap_datalink(pcap_);
  ifindex_ = iface == "any" ? 0 : if_nametoindex(iface.c_str());
}

PcapLiveCapture::~PcapLiveCapture() {
  if (pcap_ != nullptr) pcap_breakloop(pcap_);
  pump_.Join();
  if (pcap_ != nullptr) pcap_close(pcap_);
}

void PcapLiveCapture::OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
  auto* self = reinterpret_cast<PcapLiveCapture*>(user);
  struct tk_record r;
  r.ts_sec = static_cast<uint32_t>(h->ts.tv_sec);
  r.ts_nsec = static_cast<uint32_t>(h->ts.tv_usec);  // nanoseconds: precision set to NANO
  r.ifindex = self->ifindex_;
  r.orig_len = h->len;
  r.cap_len = h->caplen;
  r.link_type = static_cast<uint16_t>(self->link_type_);
  r.direction = TK_DIR_UNKNOWN;
  r.reserved = 0;
  self->pump_.Room(h->caplen).Append(r, bytes);
  self->delivered_++;
}

Napi::Value PcapLiveCapture::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (pcap_ == nullptr || pump_.Running()) {
    Napi::Error::New(env, "PcapLiveCapture: not open, or already started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pump_.Start(env, info[0].As<Napi::Function>(), [this]() -> std::string {
    // Non-blocking reads and our own poll with a timeout: with TPACKET_V3,
    // a blocking pcap_dispatch() waits without limit once the ring is empty,
    // so a batch holding the last packets before a quiet spell would wait
    // for the next packet (or the end) before JavaScript saw it.
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    if (pcap_setnonblock(pcap_, 1, errbuf) != 0) return std::string("capture: ") + errbuf;
    struct pollfd pfd = {pcap_get_selectable_fd(pcap_), POLLIN, 0};
    while (!pump_.Stopping()) {
      int n = pcap_dispatch(pcap_, -1, &PcapLiveCapture::OnPacket, reinterpret_cast<u_char*>(this));
      if (n == PCAP_ERROR_BREAK) break;
      if (n < 0) return std::string("capture: ") + pcap_geterr(pcap_);
      pump_.MaybeFlush();
      if (n == 0) poll(&pfd, 1, kPollMs);
    }
    return "";
  });
  return env.Undefined();
}

Napi::Value PcapLiveCapture::Stop(const Napi::CallbackInfo& info) {
  pump_.RequestStop();
  if (pcap_ != nullptr) pcap_breakloop(pcap_);
  return info.Env().Undefined();
}

Napi::Value PcapLiveCapture::CloseJs(const Napi::CallbackInfo& info) {
  pump_.Join();
  UpdateCounters();
  if (pcap_ != nullptr) pcap_close(pcap_);
  pcap_ = nullptr;
  return info.Env().Undefined();
}

void PcapLiveCapture::UpdateCounters() {
  struct pcap_stat st;
  if (pcap_ != nullptr && pcap_stats(pcap_, &st) == 0) {
    received_ = st.ps_recv;
    dropped_ = st.ps_drop;
    ifdropped_ = st.ps_ifdrop;
  }
}

// counters(): { received, dropped, ifdropped, delivered }
Napi::Value PcapLiveCapture::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UpdateCounters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("received", Napi::Number::New(env, received_));
  o.Set("dropped", Napi::Number::New(env, dropped_));
  o.Set("ifdropped", Napi::Number::New(env, ifdropped_));
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_.load())));
  return o;
}

Napi::Value PcapLiveCapture::LinkType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), link_type_);
}

}  // namespace tcpkit
