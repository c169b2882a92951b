// -Z USER: once the capture is attached and every file tcpkit writes is open,
// it stops being root and runs on as USER, as tcpdump -Z does (supplementary
// groups, then group, then user). Leaving uid 0 clears every capability in
// every thread (the kernel does that on setuid); before that, no_new_privs
// and an empty bounding set keep an execve from bringing any back.
import fs from 'node:fs';
import { native } from '../engine/native';

export class PrivilegeError extends Error {
  readonly code = 'EPRIVILEGE';
}

export interface TargetUser {
  name: string;
  uid: number;
  gid: number;
}

/** The user -Z names, looked up before anything is opened: a typo costs nothing. */
export function targetUser(name: string): TargetUser {
  const ids = native().lookupUser(name);
  if (ids === null) throw new PrivilegeError(`-Z ${name}: no such user`);
  return { name, ...ids };
}

/** The four ids (real, effective, saved, filesystem) of a /proc status line, and the capability sets. */
function processIds(status: string, field: 'Uid' | 'Gid'): number[] {
  const m = new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(status);
  return m ? m[1].trim().split(/\s+/).map(Number) : [];
}

/** Runs on as `user`; throws (EPRIVILEGE) when the switch is refused or did not take. */
export function relinquishPrivileges(user: TargetUser): void {
  if (user.uid === 0) return; // -Z root: stays root, nothing to give up.
  const euid = process.geteuid!();
  if (euid !== 0) throw new PrivilegeError(`-Z ${user.name}: not allowed: switching users needs root (tcpkit runs as uid ${euid})`);
  try {
    native().restrictPrivileges();
    // Node has process.initgroups on POSIX; @types/node does not declare it.
    (process as NodeJS.Process & { initgroups(user: string, extraGroup: number): void }).initgroups(user.name, user.gid);
    process.setgid!(user.gid);
    process.setuid!(user.uid);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EPERM' ? 'not allowed: switching users needs root' : err.message;
    throw new PrivilegeError(`-Z ${user.name}: ${why}`);
  }
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const uids = processIds(status, 'Uid');
  const gids = processIds(status, 'Gid');
  const effective = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1];
  if (uids.some((id) => id !== user.uid) || gids.some((id) => id !== user.gid) || effective === undefined || /[^0]/.test(effective)) {
    throw new PrivilegeError(`-Z ${user.name}: the switch did not take (uids ${uids.join(' ')}, gids ${gids.join(' ')}, capabilities ${effective})`);
  }
}
