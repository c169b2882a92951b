// Errors cross into JavaScript as one Error with a `code`, set as a pending
// exception (C++ exceptions are off).
#ifndef TCPKIT_ERRORS_H
#define TCPKIT_ERRORS_H

#include <napi.h>
#include <string>

namespace tcpkit {

inline void ThrowCode(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  err.ThrowAsJavaScriptException();
}

}  // namespace tcpkit

#endif
