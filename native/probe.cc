// What `tcpkit --version` asks the kernel, through libbpf's feature probes:
// can a BPF ring buffer be created, and a socket filter program loaded? And
// does the kernel know tcx (read from its BTF)? A
// probe creates a map or loads a two-instruction program and closes it at
// once; nothing stays behind. Without CAP_BPF (or root) the kernel refuses
// both with EPERM, and the answer is "unknown", not "no".
#include "probe.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>

#include <cstdarg>
#include <cstring>
#include <string>

namespace tcpkit {

namespace {

int Quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

// libbpf's answer as a value JavaScript reads: true, false, or the errno
// (positive) that kept the probe from answering.
Napi::Value Answer(Napi::Env env, int rc) {
  if (rc == 1) return Napi::Boolean::New(env, true);
  if (rc == 0) return Napi::Boolean::New(env, false);
  return Napi::Number::New(env, -rc);
}

// Whether the kernel knows tcx (Linux 6.6+): its BTF lists BPF_TCX_INGRESS
// among the attach types. 1, 0, or -errno when its BTF cannot be read.
// Reading BTF needs no privilege and attaches nothing.
int ProbeTcx() {
  struct btf* btf = btf__load_vmlinux_btf();
  if (btf == nullptr) return -errno;
  int found = 0;
  int id = btf__find_by_name_kind(btf, "bpf_attach_type", BTF_KIND_ENUM);
  if (id > 0) {
    const struct btf_type* t = btf__type_by_id(btf, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t) && !found; i++) {
      const char* name = btf__name_by_offset(btf, e[i].name_off);
      found = name != nullptr && strcmp(name, "BPF_TCX_INGRESS") == 0;
    }
  }
  btf__free(btf);
  return found;
}

// probeEbpf() -> { libbpf: "v1.1", ringbuf: true|false|errno, socketFilter: true|false|errno, tcx: true|false|errno }
Napi::Value ProbeEbpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  libbpf_print_fn_t previous = libbpf_set_print(Quiet);
  int ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
  int filter = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, nullptr);
  int tcx = ProbeTcx();
  libbpf_set_print(previous);
  Napi::Object out = Napi::Object::New(env);
  out.Set("libbpf", Napi::String::New(env, libbpf_version_string()));
  out.Set("ringbuf", Answer(env, ringbuf));
  out.Set("socketFilter", Answer(env, filter));
  out.Set("tcx", Answer(env, tcx));
  return out;
}

}  // namespace

void InitProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("probeEbpf", Napi::Function::New(env, ProbeEbpf, "probeEbpf"));
}

}  // namespace tcpkit
