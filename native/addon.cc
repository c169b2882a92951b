// The tcpkit native addon: capture engines that fill record batches.
#include <napi.h>

#include "batch.h"
#include "ebpf.h"
#include "pcap_file.h"
#include "pcap_live.h"
#include "privileges.h"
#include "probe.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PcapFileReader", tcpkit::PcapFileReader::Init(env));
  exports.Set("PcapLiveCapture", tcpkit::PcapLiveCapture::Init(env));
  exports.Set("EbpfCapture", tcpkit::EbpfCapture::Init(env));
  exports.Set("RECORD_HDR_LEN", Napi::Number::New(env, TK_RECORD_HDR_LEN));
  exports.Set("RECORD_ALIGN", Napi::Number::New(env, TK_RECORD_ALIGN));
  exports.Set("pcapVersion", Napi::String::New(env, pcap_lib_version()));
  tcpkit::InitPrivileges(env, exports);
  tcpkit::InitProbe(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tcpkit, Init)
