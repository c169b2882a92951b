// The eBPF engine: loads bpf/tcpkit.bpf.c (through its bpftool skeleton),
// fills the port and server maps, attaches it, and maps its ring buffer for
// JavaScript to read in place.
//
// Attached at the interface's tcx hooks (Linux 6.6 and later, a named
// Ethernet or loopback interface, CAP_NET_ADMIN) through bpf_links, or else
// as a socket filter on an AF_PACKET socket. Either way nothing outlives the
// process: the links and the socket are file descriptors, closed by the
// kernel even on `kill -9`. Nothing is added to a qdisc or a cgroup.
//
// No thread and no copy: the program wakes the reader only when it sleeps
// (idle) or a burst has filled a quarter of the ring (sleeper()); otherwise
// JavaScript drains the ring on a timer, through two external buffers over the
// ring's pages (the consumer page, writable; the producer page and the data
// area, mapped twice in a row by the kernel so that a sample that wraps is
// contiguous, read-only) and moves the consumer position itself. One native
// call a drain at most, none a packet.
#include "ebpf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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
#include "../bpf/record.h"
}

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
                         InstanceMethod("ring", &EbpfCapture::Ring),
                         InstanceMethod("wallOffset", &EbpfCapture::WallOffset),
                         InstanceMethod("close", &EbpfCapture::CloseJs),
                         InstanceMethod("sleeper", &EbpfCapture::Sleeper),
                         InstanceMethod("counters", &EbpfCapture::Counters),
                         InstanceAccessor("linkType", &EbpfCapture::LinkType, nullptr),
                         InstanceAccessor("attached", &EbpfCapture::Attached, nullptr),
                         InstanceAccessor("tcxFailure", &EbpfCapture::TcxFailure, nullptr),
                     });
}

// new EbpfCapture({ iface, ports, servers, l4proto (6, 17, 0 = both), snaplen, ringBytes, wantEmpty, full, flows, attach })
//   full: whole IP packets instead of payloads (-S, -w, raw mode); flows: the
//   flow map's size (0: its default); attach: "auto" (tcx where it can apply,
//   else the socket filter), "socket" or "tcx" (that one or an error).
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
  Settings settings;
  settings.ports = o.Get("ports").As<Napi::Array>();
  settings.servers = o.Get("servers").As<Napi::Array>();
  settings.l4proto = o.Get("l4proto").ToNumber().Uint32Value();
  settings.snaplen = o.Get("snaplen").ToNumber().Uint32Value();
  settings.ring = o.Get("ringBytes").ToNumber().Uint32Value();
  settings.want_empty = o.Get("wantEmpty").ToBoolean();
  settings.full = o.Get("full").ToBoolean();
  settings.flows = o.Has("flows") ? o.Get("flows").ToNumber().Uint32Value() : 0;
  std::string attach = o.Has("attach") ? o.Get("attach").ToString().Utf8Value() : "auto";

  int ifindex = 0;
  int arphrd = -1;
  if (iface != "any") {
    ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex == 0) {
      ThrowCode(env, "ENODEV", "no interface named " + iface);
      return;
    }
    arphrd = LinkTypeOf(iface);
  }
  lo_ifindex_ = if_nametoindex("lo");

  libbpf_set_print(SilenceLibbpf);

  // tcx first where it can apply; any failure there (an older kernel knows
  // no such attach type, a capability is missing) falls back to the socket.
  // Whole packets (-S, -w, raw mode) come from the socket tap, as the wire
  // carries them: tcx egress runs before segmentation (GSO), so a send
  // there can be one 64 KiB packet where tcpdump sees 45.
  bool tcx = attach != "socket" && !settings.full && (arphrd == ARPHRD_ETHER || arphrd == ARPHRD_LOOPBACK);
  if (attach == "tcx" && !tcx) {
    ThrowCode(env, "EBPF", settings.full ? "tcx: whole packets (-S, -w, raw mode) are read at the socket tap, as the wire carries them"
                                : "tcx: -i " + iface + " is not an Ethernet or loopback interface");
    return;
  }
  if (tcx) {
    std::string why = Load(settings, true, arphrd == ARPHRD_LOOPBACK);
    if (why.empty()) why = AttachTcx(ifindex, arphrd == ARPHRD_LOOPBACK);
    if (why.empty()) {
      attached_ = "tcx";
      return;
    }
    Close();
    // The usual reasons in words: a service without CAP_NET_ADMIN (loading
    // a tc program and creating a tcx link both need it), an older kernel.
    if (last_errno_ == EPERM || last_errno_ == EACCES) {
      why = "tcx: needs CAP_NET_ADMIN";
    } else if (last_errno_ == EINVAL && why.rfind("tcx ", 0) == 0) {
      why += " (tcx needs Linux 6.6 or later)";
    } else {
      why = "tcx: " + why;
    }
    if (attach == "tcx") {
      ThrowCode(env, "EBPF", why);
      return;
    }
    tcx_failure_ = why;
  }
  std::string why = Load(settings, false, false);
  if (why.empty()) why = AttachSocket(ifindex);
  if (!why.empty()) {
    ThrowCode(env, "EBPF", why);
    Close();
    return;
  }
  attached_ = "socket filter";
}

// The interface's ARPHRD_* type (SIOCGIFHWADDR, in this network namespace), or -1.
int EbpfCapture::LinkTypeOf(const std::string& iface) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr = {};
  strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  int type = ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 ? ifr.ifr_hwaddr.sa_family : -1;
  close(fd);
  return type;
}

// Opens and loads the program with the entry points for tcx or for the
// socket, and fills its maps. "" or why it failed.
std::string EbpfCapture::Load(const Settings& s, bool tcx, bool loopback) {
  skel_ = tcpkit_bpf__open();
  if (skel_ == nullptr) return std::string("opening the BPF program: ") + strerror(errno);
  skel_->rodata->cfg_snaplen = s.snaplen < TK_SNAPLEN_MAX ? s.snaplen : TK_SNAPLEN_MAX;
  skel_->rodata->cfg_l4proto = static_cast<uint8_t>(s.l4proto);
  skel_->rodata->cfg_want_empty = s.want_empty ? 1 : 0;
  skel_->rodata->cfg_has_servers = s.servers.Length() > 0 ? 1 : 0;
  skel_->rodata->cfg_lo_ifindex = lo_ifindex_;
  skel_->rodata->cfg_full = s.full ? 1 : 0;
  // Past a quarter of the ring unread, each sample wakes the reader (sleeper()).
  skel_->rodata->cfg_wake_bytes = s.ring / 4;
  bpf_map__set_max_entries(skel_->maps.samples, s.ring);
  if (s.flows > 0) bpf_map__set_max_entries(skel_->maps.flows, s.flows);
  ring_size_ = s.ring;
  // Only the entry points this attachment uses are verified and loaded.
  bpf_program__set_autoload(skel_->progs.tk_filter, !tcx);
  bpf_program__set_autoload(skel_->progs.tk_tcx_ingress, tcx);
  bpf_program__set_autoload(skel_->progs.tk_tcx_egress, tcx && !loopback);

  int err = tcpkit_bpf__load(skel_);
  if (err != 0) {
    last_errno_ = -err;
    return std::string("loading the BPF program: ") + strerror(-err);
  }
  int ports_fd = bpf_map__fd(skel_->maps.ports);
  for (uint32_t i = 0; i < s.ports.Length(); i++) {
    uint32_t port = s.ports.Get(i).ToNumber().Uint32Value();
    uint8_t on = 1;
    bpf_map_update_elem(ports_fd, &port, &on, BPF_ANY);
  }
  int servers_fd = bpf_map__fd(skel_->maps.servers);
  for (uint32_t i = 0; i < s.servers.Length() && i < TK_MAX_SERVERS; i++) {
    Napi::Buffer<uint8_t> b = s.servers.Get(i).As<Napi::Buffer<uint8_t>>();
    struct tk_addr a;
    memcpy(a.bytes, b.Data(), sizeof a.bytes);
    uint8_t on = 1;
    bpf_map_update_elem(servers_fd, &a, &on, BPF_ANY);
  }
  return "";
}

// tcx links at the interface's ingress and, but for loopback (where every
// packet that goes out comes back in), its egress. "" or why not.
std::string EbpfCapture::AttachTcx(int ifindex, bool loopback) {
  // Not in Debian 12's headers (Linux 6.1); the kernel's values since 6.6.
  constexpr int kTcxIngress = 46, kTcxEgress = 47;
  // BPF_F_BEFORE with no program named: first at the hook, so that a program
  // already there that redirects or drops a packet does not hide it. Ours
  // returns TCX_NEXT, so the rest run as before.
  constexpr uint32_t kBefore = 1U << 3;
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = kBefore);
  const struct {
    struct bpf_program* prog;
    int type;
    const char* name;
  } hooks[] = {
      {skel_->progs.tk_tcx_ingress, kTcxIngress, "ingress"},
      {skel_->progs.tk_tcx_egress, kTcxEgress, "egress"},
  };
  for (int i = 0; i < (loopback ? 1 : 2); i++) {
    int fd = bpf_link_create(bpf_program__fd(hooks[i].prog), ifindex, static_cast<enum bpf_attach_type>(hooks[i].type), &opts);
    if (fd < 0) {
      last_errno_ = -fd;
      return std::string("tcx ") + hooks[i].name + ": " + strerror(-fd);
    }
    tcx_links_[i] = fd;
  }
  return "";
}

// The socket filter: a packet socket that gets protocol 0 (no packets) until
// the filter is on it, so nothing unfiltered is ever queued. "" or why not.
std::string EbpfCapture::AttachSocket(int ifindex) {
  sock_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock_ < 0) return std::string("opening a packet socket: ") + strerror(errno);
  int prog_fd = bpf_program__fd(skel_->progs.tk_filter);
  if (setsockopt(sock_, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0) {
    return std::string("attaching the BPF program: ") + strerror(errno);
  }
  int small = 4096;
  setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);

  struct sockaddr_ll sll = {};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(sock_, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) != 0) {
    return std::string("binding the packet socket: ") + strerror(errno);
  }
  return "";
}

EbpfCapture::~EbpfCapture() { Close(); }

void EbpfCapture::Close() {
  StopSleeper();
  if (sock_ >= 0) close(sock_);
  sock_ = -1;
  for (int& fd : tcx_links_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (skel_ != nullptr) tcpkit_bpf__destroy(skel_);
  skel_ = nullptr;
}

namespace {

void Unmap(Napi::Env, void* data, size_t* len) {
  munmap(data, *len);
  delete len;
}

// An external Buffer over a mapping, unmapped when the Buffer is collected:
// JavaScript can never read a page that is gone, even after close().
Napi::Buffer<uint8_t> MappedBuffer(Napi::Env env, void* addr, size_t len) {
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(addr), len, Unmap, new size_t(len));
}

}  // namespace

// ring(): { consumer, data, size }, once. consumer: the consumer page
// (consumer_pos, a u64 at 0, is JavaScript's to move); data: the producer page
// (producer_pos at 0) followed by the data area, then the start of its second
// copy (the kernel maps it twice in a row) for records that wrap, read-only;
// size: the data area's length (a power of two). Samples start at
// data[page + (pos & (size - 1))]; one that starts before page + size is whole.
Napi::Value EbpfCapture::Ring(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (skel_ == nullptr || ring_given_) {
    Napi::Error::New(env, "EbpfCapture: closed, or the ring was already taken").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = bpf_map__fd(skel_->maps.samples);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* cons = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (cons == MAP_FAILED) {
    ThrowCode(env, "EBPF", std::string("mapping the ring buffer: ") + strerror(errno));
    return env.Undefined();
  }
  // The data area once, then as much of its second copy as the longest
  // record can run into when it wraps (TK_SAMPLE_HUGE): a record that starts
  // before the end is whole and contiguous. Not the whole second copy: V8
  // counts an external Buffer's bytes as memory the heap keeps alive, and
  // 32 MiB of them (a 16 MiB ring mapped twice) set off a full collection in
  // the first second of every capture, and the memory reducer's after it.
  size_t slack = std::min(static_cast<size_t>(ring_size_), (static_cast<size_t>(TK_SAMPLE_HUGE) + 8 + page - 1) / page * page);
  size_t data_len = page + static_cast<size_t>(ring_size_) + slack;
  void* data = mmap(nullptr, data_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page));
  if (data == MAP_FAILED) {
    int e = errno;
    munmap(cons, page);
    ThrowCode(env, "EBPF", std::string("mapping the ring buffer: ") + strerror(e));
    return env.Undefined();
  }
  ring_given_ = true;
  Napi::Object o = Napi::Object::New(env);
  o.Set("consumer", MappedBuffer(env, cons, page));
  o.Set("data", MappedBuffer(env, data, data_len));
  o.Set("page", Napi::Number::New(env, static_cast<double>(page)));
  o.Set("size", Napi::Number::New(env, static_cast<double>(ring_size_)));
  return o;
}

// wallOffset(): [seconds, nanoseconds], CLOCK_REALTIME - CLOCK_MONOTONIC, for
// turning the program's monotonic stamps into wall-clock time. JavaScript
// asks again about once a second, so that a stepped clock (NTP) is followed.
Napi::Value EbpfCapture::WallOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t off = WallOffsetNs();
  int64_t sec = off / 1000000000LL, nsec = off % 1000000000LL;
  if (nsec < 0) {
    nsec += 1000000000LL;
    sec -= 1;
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, static_cast<double>(sec)));
  a.Set(1u, Napi::Number::New(env, static_cast<double>(nsec)));
  return a;
}

// sleeper(onWake): the page of the program's .bss, where reader_sleeps is
// JavaScript's to set (a u32 at offset 0); while it is 1, the program submits
// each sample with a wake-up, and onWake() is called on the JavaScript thread.
// So an idle capture sleeps, with no timer (the program also looks at the
// flag after a commit that did not wake: bpf/tcpkit.bpf.c). Once.
Napi::Value EbpfCapture::Sleeper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (skel_ == nullptr || wake_poll_ != nullptr || info.Length() < 1 || !info[0].IsFunction()) {
    Napi::Error::New(env, "EbpfCapture.sleeper(onWake): closed, already called, or no function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  static_assert(offsetof(tcpkit_bpf::tcpkit_bpf__bss, reader_sleeps) == 0, "reader_sleeps is the .bss's first word");
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* bss = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel_->maps.bss), 0);
  if (bss == MAP_FAILED) {
    ThrowCode(env, "EBPF", std::string("mapping the program's .bss: ") + strerror(errno));
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> flag = MappedBuffer(env, bss, page);
  // The ring's fd is readable while it holds data; edge-triggered in a set of
  // its own, the set is readable only after a wake-up, once.
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  uv_loop_t* loop = nullptr;
  if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, bpf_map__fd(skel_->maps.samples), &ev) != 0 ||
      napi_get_uv_event_loop(env, &loop) != napi_ok) {
    int e = errno;
    if (epfd >= 0) close(epfd);
    ThrowCode(env, "EBPF", std::string("watching the ring buffer: ") + strerror(e));
    return env.Undefined();
  }
  wake_poll_ = new uv_poll_t;
  if (uv_poll_init(loop, wake_poll_, epfd) != 0) {
    delete wake_poll_;
    wake_poll_ = nullptr;
    close(epfd);
    ThrowCode(env, "EBPF", "watching the ring buffer: uv_poll_init failed");
    return env.Undefined();
  }
  wake_epfd_ = epfd;
  wake_poll_->data = this;
  on_wake_ = Napi::Persistent(info[0].As<Napi::Function>());
  uv_poll_start(wake_poll_, UV_READABLE, &EbpfCapture::OnRingPoll);
  return flag;
}

void EbpfCapture::OnRingPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<EbpfCapture*>(handle->data);
  if (self == nullptr) return; // stopped (StopSleeper)
  struct epoll_event ev[4];
  while (epoll_wait(self->wake_epfd_, ev, 4, 0) > 0) {
  }
  Napi::Env env = self->on_wake_.Env();
  Napi::HandleScope scope(env);
  self->on_wake_.MakeCallback(env.Global(), {});
}

void EbpfCapture::StopSleeper() {
  if (wake_poll_ != nullptr) {
    uv_poll_stop(wake_poll_);
    wake_poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(wake_poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    wake_poll_ = nullptr;
  }
  if (wake_epfd_ >= 0) close(wake_epfd_);
  wake_epfd_ = -1;
  if (!on_wake_.IsEmpty()) on_wake_.Reset();
}

// close(): the program detached (its socket closed, its maps freed). The ring's
// pages stay mapped until JavaScript drops its buffers. Counters keep their
// last values.
Napi::Value EbpfCapture::CloseJs(const Napi::CallbackInfo& info) {
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
          sum.flows += c.flows;
          sum.no_flow += c.no_flow;
          sum.unread += c.unread;
        }
        last_ = sum;
      }
    }
  }
}

// counters(): { seen, matched, sent, lost, skipped, flows, noFlow, unread }, summed over CPUs.
Napi::Value EbpfCapture::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UpdateCounters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("seen", Napi::Number::New(env, static_cast<double>(last_.seen)));
  o.Set("matched", Napi::Number::New(env, static_cast<double>(last_.matched)));
  o.Set("sent", Napi::Number::New(env, static_cast<double>(last_.sent)));
  o.Set("lost", Napi::Number::New(env, static_cast<double>(last_.lost)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(last_.skipped)));
  o.Set("flows", Napi::Number::New(env, static_cast<double>(last_.flows)));
  o.Set("noFlow", Napi::Number::New(env, static_cast<double>(last_.no_flow)));
  o.Set("unread", Napi::Number::New(env, static_cast<double>(last_.unread)));
  return o;
}

// attached: "tcx" or "socket filter"; tcxFailure: why tcx was tried and not used, or "".
Napi::Value EbpfCapture::Attached(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), attached_);
}

Napi::Value EbpfCapture::TcxFailure(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tcx_failure_);
}

Napi::Value EbpfCapture::LinkType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), TK_LINK_RAW);
}

}  // namespace tcpkit
