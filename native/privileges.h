// -Z: the user database and the kernel's privilege controls (privileges.cc).
#ifndef TCPKIT_PRIVILEGES_H
#define TCPKIT_PRIVILEGES_H

#include <napi.h>

namespace tcpkit {

void InitPrivileges(Napi::Env env, Napi::Object exports);

}  // namespace tcpkit

#endif
