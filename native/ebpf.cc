// The eBPF engine: loads bpf/tcpkit.bpf.c (through its bpftool skeleton),
// fills the port and server maps, attaches it as a socket filter to an
// AF_PACKET socket, and reads the ring buffer on a thread of its own.
//
// Nothing is attached to an interface, a qdisc or a cgroup: the filter goes
// away with the socket, so even `kill -9` leaves the host as it was.
#include "ebpf.h"

#include <algorithm>
#include <string>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <string>
#include <vector>

#include "errors.h"

extern "C" {
#include "../bpf/sample.h"
#include "../bpf/.output/tcpkit.skel.h"
}

namespace tcpkit {

namespace {

int64_t ClockNs(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few readings.
int64_t WallOffsetNs() {
  int64_t best_gap = INT64_MAX, offset = 0;
  for (int i = 0; i < 5; i++) {
    int64_t m0 = ClockNs(CLOCK_MONOTONIC);
    int64_t r = ClockNs(CLOCK_REALTIME);
    int64_t m1 = ClockNs(CLOCK_MONOTONIC);
    if (m1 - m0 < best_gap) {
      best_gap = m1 - m0;
      offset = r - (m0 + (m1 - m0) / 2);
    }
  }
  return offset;
}

int SilenceLibbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (getenv("TCPKIT_DEBUG") != nullptr) return vfprintf(stderr, fmt, args);
  return 0;
}

}  // namespace

Napi::Function EbpfCapture::Init(Napi::Env env) {
  return DefineClass(env, "EbpfCapture",
                     {
                         InstanceMethod("start", &EbpfCapture::Start),
                         InstanceMethod("stop", &EbpfCapture::Stop),
                         InstanceMethod("close", &EbpfCapture::CloseJs),
                         InstanceMethod("counters", &EbpfCapture::Counters),
                         InstanceAccessor("linkType", &EbpfCapture::LinkType, nullptr),
                     });
}

// new EbpfCapture({ iface, ports, servers, l4proto (6, 17, 0 = both), snaplen, ringBytes, wantEmpty })
//   iface: name or "any"; ports: number[]; servers: Buffer[] of 16 bytes
//   (IPv4 as ::ffff:a.b.c.d). Throws with code EBPF (cannot load or attach:
//   the caller falls back to libpcap), ENODEV (no such interface).
EbpfCapture::EbpfCapture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EbpfCapture>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "EbpfCapture(options)").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  std::string iface = o.Get("iface").As<Napi::String>().Utf8Value();
  Napi::Array ports = o.Get("ports").As<Napi::Array>();
  Napi::Array servers = o.Get("servers").As<Napi::Array>();
  uint32_t l4proto = o.Get("l4proto").ToNumber().Uint32Value();
  uint32_t snaplen = o.Get("snaplen").ToNumber().Uint32Value();
  uint32_t ring = o.Get("ringBytes").ToNumber().Uint32Value();
  bool want_empty = o.Get("wantEmpty").ToBoolean();

  int ifindex = 0;
  if (iface != "any") {
    ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex == 0) {
      ThrowCode(env, "ENODEV", "no interface named " + iface);
      return;
    }
  }
  lo_ifindex_ = if_nametoindex("lo");

  libbpf_set_print(SilenceLibbpf);
  skel_ = tcpkit_bpf__open();
  if (skel_ == nullptr) {
    ThrowCode(env, "EBPF", std::string("opening the BPF program: ") + strerror(errno));
    return;
  }
  skel_->rodata->cfg_snaplen = snaplen < TK_SNAPLEN_MAX ? snaplen : TK_SNAPLEN_MAX;
  skel_->rodata->cfg_l4proto = static_cast<uint8_t>(l4proto);
  skel_->rodata->cfg_want_empty = want_empty ? 1 : 0;
  skel_->rodata->cfg_has_servers = servers.Length() > 0 ? 1 : 0;
  skel_->rodata->cfg_lo_ifindex = lo_ifindex_;
  bpf_map__set_max_entries(skel_->maps.samples, ring);

  int err = tcpkit_bpf__load(skel_);
  if (err != 0) {
    ThrowCode(env, "EBPF", std::string("loading the BPF program: ") + strerror(-err));
    Close();
    return;
  }
  int ports_fd = bpf_map__fd(skel_->maps.ports);
  for (uint32_t i = 0; i < ports.Length(); i++) {
    uint32_t port = ports.Get(i).ToNumber().Uint32Value();
    uint8_t on = 1;
    bpf_map_update_elem(ports_fd, &port, &on, BPF_ANY);
  }
  int servers_fd = bpf_map__fd(skel_->maps.servers);
  for (uint32_t i = 0; i < servers.Length() && i < TK_MAX_SERVERS; i++) {
    Napi::Buffer<uint8_t> b = servers.Get(i).As<Napi::Buffer<uint8_t>>();
    struct tk_addr a;
    memcpy(a.bytes, b.Data(), sizeof a.bytes);
    uint8_t on = 1;
    bpf_map_update_elem(servers_fd, &a, &on, BPF_ANY);
  }

  // The socket gets protocol 0 (no packets) until the filter is on it, so
  // nothing unfiltered is ever queued.
  sock_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock_ < 0) {
    ThrowCode(env, "EBPF", std::string("opening a packet socket: ") + strerror(errno));
    Close();
    return;
  }
  int prog_fd = bpf_program__fd(skel_->progs.tk_filter);
  if (setsockopt(sock_, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0) {
    ThrowCode(env, "EBPF", std::string("attaching the BPF program: ") + strerror(errno));
    Close();
    return;
  }
  int small = 4096;
  setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);

  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.samples), &EbpfCapture::OnSample, this, nullptr);
  if (rb_ == nullptr) {
    ThrowCode(env, "EBPF", std::string("opening the ring buffer: ") + strerror(errno));
    Close();
    return;
  }
  struct sockaddr_ll sll = {};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(sock_, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) != 0) {
    ThrowCode(env, "EBPF", std::string("binding the packet socket: ") + strerror(errno));
    Close();
    return;
  }
  wall_offset_ns_ = WallOffsetNs();
}

EbpfCapture::~EbpfCapture() {
  pump_.Join();
  Close();
}

void EbpfCapture::Close() {
  if (rb_ != nullptr) ring_buffer__free(rb_);
  rb_ = nullptr;
  if (sock_ >= 0) close(sock_);
  sock_ = -1;
  if (skel_ != nullptr) tcpkit_bpf__destroy(skel_);
  skel_ = nullptr;
}

int EbpfCapture::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EbpfCapture*>(ctx);
  const auto* s = static_cast<const struct tk_sample*>(data);
  uint32_t cap = s->cap_len;
  if (TK_SAMPLE_HDR_LEN + static_cast<size_t>(cap) > size) return 0;
  int64_t wall = static_cast<int64_t>(s->mono_ns) + self->wall_offset_ns_;
  struct tk_record r;
  r.ts_sec = static_cast<uint32_t>(wall / 1000000000LL);
  r.ts_nsec = static_cast<uint32_t>(wall % 1000000000LL);
  r.ifindex = s->ifindex;
  r.orig_len = s->orig_len;
  r.cap_len = cap;
  r.link_type = TK_LINK_RAW;
  r.direction = s->pkt_type == PACKET_OUTGOING ? TK_DIR_EGRESS : TK_DIR_INGRESS;
  r.reserved = 0;
  self->pump_.Room(cap).Append(r, static_cast<const uint8_t*>(data) + TK_SAMPLE_HDR_LEN);
  self->delivered_++;
  return 0;
}

// The ring's poll timeout: short while samples flow, longer while idle.
static constexpr int kPollMinMs = 5;
static constexpr int kPollMaxMs = 50;

// start(onBatch): reading begins; onBatch(buffer, used) once per batch.
Napi::Value EbpfCapture::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (rb_ == nullptr || pump_.Running()) {
    Napi::Error::New(env, "EbpfCapture: not open, or already started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pump_.Start(env, info[0].As<Napi::Function>(), [this]() {
    int since_clock_ms = 0;
    int timeout_ms = kPollMinMs;
    std::string error;
    while (!pump_.Stopping()) {
      // The program wakes us only when the ring is filling (wakeup_flags()
      // in bpf/tcpkit.bpf.c); otherwise the timeout is our clock. While
      // nothing comes, the timeout doubles up to kPollMaxMs, so an idle
      // tcpkit wakes 20 times a second, not 200; the first sample resets it.
      // (Timestamps come from the kernel: only delivery waits, not timing.)
      int n = ring_buffer__poll(rb_, timeout_ms);
      if (n >= 0) {
        int more = ring_buffer__consume(rb_);
        n = more < 0 ? more : n + more;
      }
      if (n < 0 && n != -EINTR) {
        error = std::string("reading the ring buffer: ") + strerror(-n);
        break;
      }
      since_clock_ms += timeout_ms;
      timeout_ms = n > 0 ? kPollMinMs : std::min(timeout_ms * 2, kPollMaxMs);
      pump_.MaybeFlush();
      // The wall clock may be stepped (NTP): follow it about once a second.
      if (since_clock_ms >= 1000) {
        since_clock_ms = 0;
        wall_offset_ns_ = WallOffsetNs();
      }
    }
    ring_buffer__consume(rb_);
    return error;
  });
  return env.Undefined();
}

// stop(): asks reading to end; the end call follows the last batch.
Napi::Value EbpfCapture::Stop(const Napi::CallbackInfo& info) {
  pump_.RequestStop();
  return info.Env().Undefined();
}

// close(): after the end call: the thread is joined and the program detached
// (its socket closed, its maps freed). Counters keep their last values.
Napi::Value EbpfCapture::CloseJs(const Napi::CallbackInfo& info) {
  pump_.Join();
  UpdateCounters();
  Close();
  return info.Env().Undefined();
}

void EbpfCapture::UpdateCounters() {
  if (skel_ != nullptr) {
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu > 0) {
      std::vector<struct tk_counters> per(ncpu);
      uint32_t zero = 0;
      if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &zero, per.data()) == 0) {
        struct tk_counters sum = {};
        for (auto& c : per) {
          sum.seen += c.seen;
          sum.matched += c.matched;
          sum.sent += c.sent;
          sum.lost += c.lost;
          sum.skipped += c.skipped;
        }
        last_ = sum;
      }
    }
  }
}

// counters(): { seen, matched, sent, lost, skipped, delivered }, summed over CPUs.
Napi::Value EbpfCapture::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UpdateCounters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("seen", Napi::Number::New(env, static_cast<double>(last_.seen)));
  o.Set("matched", Napi::Number::New(env, static_cast<double>(last_.matched)));
  o.Set("sent", Napi::Number::New(env, static_cast<double>(last_.sent)));
  o.Set("lost", Napi::Number::New(env, static_cast<double>(last_.lost)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(last_.skipped)));
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_.load())));
  return o;
}

Napi::Value EbpfCapture::LinkType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), TK_LINK_RAW);
}

}  // namespace tcpkit
