// tcpkit --version: what this host's kernel offers the eBPF engine (probe.cc).
#ifndef TCPKIT_PROBE_H
#define TCPKIT_PROBE_H

#include <napi.h>

namespace tcpkit {

void InitProbe(Napi::Env env, Napi::Object exports);

}  // namespace tcpkit

#endif
