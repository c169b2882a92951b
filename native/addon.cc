// The tcpkit native addon: capture engines that fill record batches.
#include <napi.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "batch.h"
#include "ebpf.h"
#include "pcap_file.h"
#include "pcap_live.h"
#include "privileges.h"
#include "probe.h"

namespace {

// exitWatchdog(ms, code): once tcpkit has written everything and only node's
// own shutdown is left, a thread that ends the process with `code` if it is
// still there `ms` later. node 20 can deadlock there (nodejs/node#54918): the
// main thread waits in NodePlatform::DrainTasks for a background compile job
// that itself waits in AwaitCollectionBackground for the main thread. Seen
// after SIGINT in a heavy --ebpf run: the summary printed, then no exit.
Napi::Value ExitWatchdog(const Napi::CallbackInfo& info) {
  int ms = info[0].As<Napi::Number>().Int32Value();
  int code = info[1].As<Napi::Number>().Int32Value();
  std::thread([ms, code] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    _exit(code);
  }).detach();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PcapFileReader", tcpkit::PcapFileReader::Init(env));
  exports.Set("PcapLiveCapture", tcpkit::PcapLiveCapture::Init(env));
  exports.Set("EbpfCapture", tcpkit::EbpfCapture::Init(env));
  exports.Set("RECORD_HDR_LEN", Napi::Number::New(env, TK_RECORD_HDR_LEN));
  exports.Set("RECORD_ALIGN", Napi::Number::New(env, TK_RECORD_ALIGN));
  exports.Set("pcapVersion", Napi::String::New(env, pcap_lib_version()));
  exports.Set("exitWatchdog", Napi::Function::New(env, ExitWatchdog));
  tcpkit::InitPrivileges(env, exports);
  tcpkit::InitProbe(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tcpkit, Init)
