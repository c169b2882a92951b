// fengari (Lua 5.3 in JavaScript), loaded once, typed for what tcpkit uses,
// and given Lua 5.2's number model, which the original tool's scripts were
// written for:
//
// - Lua 5.2 had one number type, a double. fengari has doubles and 32-bit
//   integers, which wrap: `tv_sec * 1000000` would overflow. Here every
//   numeral in a script is a double (hex numerals unsigned, 0xFFFFFFFF is
//   4294967295 as in 5.2), and so is every number tcpkit hands to a script.
// - Numbers become strings as C's "%.14g" makes them: 5 and not 5.0, 1e+15,
//   inf, -nan (lua_tolstring and the `..` operator; tostring and print are
//   tcpkit's own, see stdlib.ts).
//
// Both go through the two lobject exports that the lexer, the VM and the API
// call by module property (llex/lvm/lapi do `lobject.luaO_str2num(...)`).
// The packet table (packet-table.ts) also reads a table's entries directly;
// everything that knows fengari's insides is here, and fengari's version is
// pinned in package.json.
/* eslint-disable @typescript-eslint/no-require-imports */
import { luaNumberBytes } from './cformat';
import { requirePatchedFengari } from './fengari-patch';

/** A Lua string as fengari keeps it: its bytes. */
export type LuaBytes = Uint8Array;

/** An opaque lua_State. */
export interface LuaState {
  readonly __luaState: unique symbol;
}

export type JsFunction = (L: LuaState) => number;

/** A value slot in fengari: a type tag and a payload. */
export interface TValue {
  type: number;
  value: unknown;
}

/** A table's entry: fengari keeps a table as a Map of these, in insertion order. */
export interface TableEntry {
  key: TValue;
  value: TValue;
  n: TableEntry | undefined;
}

/** fengari's table object, as lua_topointer returns it. */
export interface LuaTable {
  strong: Map<unknown, TableEntry>;
  f: TableEntry | undefined;
  l: TableEntry | undefined;
  metatable: LuaTable | null;
}

/** The subset of lua.h tcpkit calls. */
export interface LuaApi {
  LUA_OK: number;
  LUA_ERRSYNTAX: number;
  LUA_REGISTRYINDEX: number;
  LUA_TNIL: number;
  LUA_TBOOLEAN: number;
  LUA_TNUMBER: number;
  LUA_TSTRING: number;
  LUA_TTABLE: number;
  LUA_TFUNCTION: number;
  LUA_MASKCOUNT: number;
  lua_Debug: new () => { currentline: number; short_src: LuaBytes; source: LuaBytes; what: LuaBytes };
  lua_getstack(L: LuaState, level: number, ar: object): number;
  lua_getinfo(L: LuaState, what: string | LuaBytes, ar: object): number;
  lua_pcall(L: LuaState, nargs: number, nresults: number, errfunc: number): number;
  lua_call(L: LuaState, nargs: number, nresults: number): void;
  lua_gettop(L: LuaState): number;
  lua_settop(L: LuaState, idx: number): void;
  lua_pop(L: LuaState, n: number): void;
  lua_pushvalue(L: LuaState, idx: number): void;
  lua_pushnil(L: LuaState): void;
  lua_pushnumber(L: LuaState, n: number): void;
  lua_pushinteger(L: LuaState, n: number): void;
  lua_pushboolean(L: LuaState, b: boolean): void;
  lua_pushstring(L: LuaState, s: LuaBytes | string): LuaBytes;
  lua_pushliteral(L: LuaState, s: string): void;
  lua_pushjsfunction(L: LuaState, f: JsFunction): void;
  lua_pushglobaltable(L: LuaState): void;
  lua_createtable(L: LuaState, narr: number, nrec: number): void;
  lua_setfield(L: LuaState, idx: number, k: LuaBytes | string): void;
  lua_getfield(L: LuaState, idx: number, k: LuaBytes | string): number;
  lua_getglobal(L: LuaState, name: LuaBytes | string): number;
  lua_setglobal(L: LuaState, name: LuaBytes | string): void;
  lua_setmetatable(L: LuaState, idx: number): void;
  lua_rawset(L: LuaState, idx: number): void;
  lua_rawseti(L: LuaState, idx: number, n: number): void;
  lua_rawget(L: LuaState, idx: number): number;
  lua_tojsstring(L: LuaState, idx: number): string | null;
  lua_rawequal(L: LuaState, a: number, b: number): boolean;
  lua_replace(L: LuaState, idx: number): void;
  lua_insert(L: LuaState, idx: number): void;
  lua_type(L: LuaState, idx: number): number;
  lua_isfunction(L: LuaState, idx: number): boolean;
  lua_isstring(L: LuaState, idx: number): boolean;
  lua_isinteger(L: LuaState, idx: number): boolean;
  lua_toboolean(L: LuaState, idx: number): boolean;
  lua_tonumber(L: LuaState, idx: number): number;
  lua_tolstring(L: LuaState, idx: number): LuaBytes | null;
  lua_topointer(L: LuaState, idx: number): unknown;
  lua_touserdata(L: LuaState, idx: number): unknown;
  lua_atnativeerror(L: LuaState, f: JsFunction): JsFunction | null;
  lua_tocfunction(L: LuaState, idx: number): JsFunction | null;
  lua_sethook(L: LuaState, f: ((L: LuaState, ar: object) => void) | null, mask: number, count: number): void;
  lua_error(L: LuaState): never;
  lua_next(L: LuaState, idx: number): boolean;
}

/** The subset of lauxlib.h tcpkit calls. */
export interface LauxApi {
  luaL_newstate(): LuaState;
  luaL_loadbuffer(L: LuaState, buff: LuaBytes, size: number, name: LuaBytes | string): number;
  luaL_checknumber(L: LuaState, arg: number): number;
  luaL_checkinteger(L: LuaState, arg: number): number;
  luaL_optnumber(L: LuaState, arg: number, def: number): number;
  luaL_checklstring(L: LuaState, arg: number): LuaBytes;
  luaL_optlstring(L: LuaState, arg: number, def: string): LuaBytes;
  luaL_checkany(L: LuaState, arg: number): void;
  luaL_argerror(L: LuaState, arg: number, msg: string | LuaBytes): never;
  luaL_error(L: LuaState, fmt: string | LuaBytes, ...args: unknown[]): never;
  luaL_tolstring(L: LuaState, idx: number): LuaBytes;
  luaL_checkstack(L: LuaState, n: number, msg: string | null): void;
  luaL_typename(L: LuaState, idx: number): LuaBytes;
}

interface FengariModule {
  lua: LuaApi;
  lauxlib: LauxApi;
  lualib: { luaL_openlibs(L: LuaState): void };
  to_luastring(s: string): LuaBytes;
  to_jsstring(b: LuaBytes): string;
}

interface LobjectModule {
  TValue: new (type: number, value: unknown) => TValue;
  pushsvalue2s(L: LuaState, ts: unknown): void;
  luaO_tostring(L: LuaState, obj: TValue & { ttisinteger(): boolean; setsvalue(ts: unknown): void }): void;
  luaO_str2num(s: LuaBytes, obj: TValue & { ttisinteger(): boolean; setfltvalue(n: number): void }): number;
}

// First, so that every fengari module is the patched one (fengari-patch.ts).
const fengari = requirePatchedFengari() as FengariModule;
const lobject = require('fengari/src/lobject.js') as LobjectModule;
const lstring = require('fengari/src/lstring.js') as { luaS_bless(L: LuaState, bytes: Uint8Array): unknown; luaS_hash(bytes: Uint8Array): string };
const defs = require('fengari/src/defs.js') as { constant_types: Record<string, number> };

export const lua = fengari.lua;
export const lauxlib = fengari.lauxlib;
export const lualib = fengari.lualib;
export const toLuaString = fengari.to_luastring;

/** Type tags of a TValue (with their variant bits). */
export const Tag = {
  Nil: defs.constant_types.LUA_TNIL,
  Boolean: defs.constant_types.LUA_TBOOLEAN,
  Float: defs.constant_types.LUA_TNUMFLT,
  String: defs.constant_types.LUA_TLNGSTR,
} as const;

/** A Lua string value (TString) holding `bytes`, which it takes: do not change them afterwards. */
export function newTString(L: LuaState, bytes: Uint8Array): unknown {
  return lstring.luaS_bless(L, bytes);
}

/**
 * Pushes `bytes` as a Lua string without copying them (lua_pushstring
 * copies): for arrays made for this push only, never changed afterwards.
 */
export function pushOwned(L: LuaState, bytes: Uint8Array): void {
  lobject.pushsvalue2s(L, lstring.luaS_bless(L, bytes));
}

/** Pushes a Lua string value made earlier with newTString (no copy). */
export function pushTString(L: LuaState, ts: unknown): void {
  lobject.pushsvalue2s(L, ts);
}

/** The part of a lua_State that pushSlots reads and writes. */
interface StackView {
  stack: (TValue & { captured?: boolean })[];
  top: number;
  ci: { funcOff: number; top: number };
}

/**
 * lua_pushvalue(L, a) then lua_pushvalue(L, b), for two positive indices of
 * the current frame below its top (tcpkit's fixed slots, once per packet):
 * the values are copied into the next two stack slots in place, as the
 * patched lua_pushvalue does (fengari-patch.ts, edit 4: a slot's object is
 * reused unless a closure holds it), without lapi's index decoding and
 * checks, two calls and about 10 ns each. Anything else goes through lapi.
 */
export function pushSlots(L: LuaState, a: number, b: number): void {
  const S = L as unknown as StackView;
  const st = S.stack;
  const base = S.ci.funcOff;
  const top = S.top;
  if (a < 1 || b < 1 || base + a >= top || base + b >= top || top + 2 > S.ci.top) {
    lua.lua_pushvalue(L, a);
    lua.lua_pushvalue(L, b);
    return;
  }
  copyToSlot(st, top, st[base + a]);
  copyToSlot(st, top + 1, st[base + b]);
  S.top = top + 2;
}

interface LdoModule {
  luaD_pcall(L: LuaState, f: (L: LuaState, ud: CallArgs) => void, ud: CallArgs, oldTop: number, ef: number): number;
  luaD_callnoyield(L: LuaState, off: number, nResults: number): void;
}
interface CallArgs {
  funcOff: number;
  nresults: number;
}
const ldo = require('fengari/src/ldo.js') as LdoModule;
/** lapi's f_call: what lua_pcall runs protected. */
const fCall = (L: LuaState, ud: CallArgs): void => ldo.luaD_callnoyield(L, ud.funcOff, ud.nresults);
/** Read by fCall when the call starts, so one object serves every call. */
const callArgs: CallArgs = { funcOff: 0, nresults: 0 };

/**
 * lua_pcall(L, nargs, 0, errfunc) for a function and its arguments at the
 * top of the stack (pushed by pushSlots, which checked the room) and a
 * message handler at a positive index: what lua_pcallk does for that case
 * (luaD_pcall of f_call), without its checks for the other cases
 * (continuations, results beyond the stack, pseudo-indices) and the object
 * it made per call. Anything else goes through lapi.
 */
export function pcallNoResults(L: LuaState, nargs: number, errfunc: number): number {
  const S = L as unknown as StackView & { status: number };
  const ef = S.ci.funcOff + errfunc;
  if (S.status !== lua.LUA_OK || errfunc < 1 || ef >= S.top - (nargs + 1)) return lua.lua_pcall(L, nargs, 0, errfunc);
  const funcOff = S.top - (nargs + 1);
  callArgs.funcOff = funcOff;
  callArgs.nresults = 0;
  return ldo.luaD_pcall(L, fCall, callArgs, funcOff, ef);
}

function copyToSlot(st: (TValue & { captured?: boolean })[], i: number, v: TValue): void {
  const o = st[i];
  if (o !== undefined && o.captured !== true) {
    o.type = v.type;
    o.value = v.value;
  } else {
    st[i] = new lobject.TValue(v.type, v.value);
  }
}

/**
 * A reader of global `name`'s value slot, straight from the globals table's
 * entries (no string made or hashed per read); null when fengari's table
 * internals are not what this expects. Reads undefined while the global is nil.
 */
export function globalSlot(L: LuaState, name: string): (() => TValue | undefined) | null {
  lua.lua_pushglobaltable(L);
  const g = lua.lua_topointer(L, -1) as LuaTable | null;
  lua.lua_pop(L, 1);
  if (!(g?.strong instanceof Map)) return null;
  const key = lstring.luaS_hash(toLuaString(name));
  lua.lua_getglobal(L, name);
  const viaApi = lua.lua_type(L, -1) === lua.LUA_TNIL ? undefined : lua.lua_topointer(L, -1);
  lua.lua_pop(L, 1);
  const entry = g.strong.get(key);
  // Check the two ways agree once (for functions and tables, the pointer is the value).
  if (viaApi !== undefined && entry?.value.value !== viaApi) return null;
  return () => {
    const e = g.strong.get(key);
    return e === undefined || e.value.type === Tag.Nil ? undefined : e.value;
  };
}

/** Bytes as a JavaScript string, one char per byte (for names and messages). */
export function latin1(bytes: LuaBytes): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Bytes as UTF-8 text (messages a user reads). */
export function utf8(bytes: LuaBytes): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** The value of a hex numeral (after sign and "0x"), as 5.2 read it: a double, never wrapped. */
function hexValue(s: LuaBytes): number | null {
  let i = 0;
  while (s[i] === 32 || (s[i] >= 9 && s[i] <= 13)) i++;
  const negative = s[i] === 45;
  if (s[i] === 45 || s[i] === 43) i++;
  if (!(s[i] === 48 && (s[i + 1] === 120 || s[i + 1] === 88))) return null;
  let v = 0;
  for (i += 2; i < s.length; i++) {
    const c = s[i] | 0x20;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) break;
    v = v * 16 + d;
  }
  return negative ? -v : v;
}

let patched = false;

/** Installs the 5.2 number model (once per process). */
function patchNumbers(): void {
  if (patched) return;
  patched = true;
  const tostring = lobject.luaO_tostring;
  lobject.luaO_tostring = (L, obj) => {
    if (obj.ttisinteger()) tostring(L, obj);
    else obj.setsvalue(lstring.luaS_bless(L, luaNumberBytes(obj.value as number)));
  };
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (s, obj) => {
    const n = str2num(s, obj);
    if (n !== 0 && obj.ttisinteger()) obj.setfltvalue(hexValue(s) ?? (obj.value as number));
    return n;
  };
}

/** A new Lua state with the standard libraries, numbers as in Lua 5.2. */
export function newState(): LuaState {
  patchNumbers();
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  return L;
}
