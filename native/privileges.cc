// What -Z needs from the C library and the kernel that Node does not offer:
// a user's ids from the user database (NSS, as tcpdump's getpwnam), and the
// capability bounding set and no_new_privs, which only prctl() changes.
#include "privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "errors.h"

namespace tcpkit {

namespace {

// lookupUser(name) -> { uid, gid } of the user, or null when there is none.
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowCode(env, "EINVAL", "lookupUser needs a user name");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc;
  while ((rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE) buf.resize(buf.size() * 2);
  if (rc != 0) {
    ThrowCode(env, "EPRIVILEGE", "-Z " + name + ": looking the user up: " + strerror(rc));
    return env.Undefined();
  }
  if (found == nullptr) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("uid", Napi::Number::New(env, pw.pw_uid));
  o.Set("gid", Napi::Number::New(env, pw.pw_gid));
  return o;
}

int LastCap() {
  int last = CAP_LAST_CAP;
  if (FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "r")) {
    if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    fclose(f);
  }
  return last;
}

// restrictPrivileges(): before giving up root, makes sure it cannot come back
// through execve: no_new_privs on, ambient capabilities cleared, the bounding
// set emptied. These are per-thread: they hold for the calling (JavaScript)
// thread and the threads it starts afterwards (the capture thread).
Napi::Value RestrictPrivileges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ThrowCode(env, "EPRIVILEGE", std::string("setting no_new_privs: ") + strerror(errno));
    return env.Undefined();
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0, last = LastCap(); cap <= last; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      ThrowCode(env, "EPRIVILEGE", std::string("dropping capabilities from the bounding set: ") + strerror(errno));
      return env.Undefined();
    }
  }
  return env.Undefined();
}

}  // namespace

void InitPrivileges(Napi::Env env, Napi::Object exports) {
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser, "lookupUser"));
  exports.Set("restrictPrivileges", Napi::Function::New(env, RestrictPrivileges, "restrictPrivileges"));
}

}  // namespace tcpkit
