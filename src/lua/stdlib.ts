// What Lua 5.2 gave the original tool's scripts, on top of fengari's 5.3
// libraries: bit32, print and io.write into tcpkit's own output (batched,
// in order with each other), tostring and string.format as C formats numbers
// (with %u), os.date as C's strftime, and the 5.1/5.2 names 5.3 dropped
// (unpack, loadstring, math.pow, ...). string.byte, string.sub and
// string.char are 5.2's too: positions and codes are converted as 5.2 did
// (to the nearest integer, ties to even, any size), where fengari's 5.3
// ones refuse a non-integer and anything past 32 bits.
import { formatFloat, formatInteger, luaNumberBytes, type ConvSpec } from './cformat';
import { copyBytes } from './bytes';
import { BadConversion, breakDown, strftime } from './strftime';
import { globalSlot, lauxlib, latin1, lua, newTString, pushOwned, pushTString, toLuaString, type JsFunction, type LuaBytes, type LuaState } from './fengari';

/** Where print and io.write go: tcpkit's writer. */
export interface ScriptSink {
  writeBytes(bytes: Uint8Array): void;
  writeByte(b: number): void;
  flush(): void;
}

const TAB = 9;
const LF = 10;

/**
 * A number on the stack as Lua 5.2 wrote it ("%.14g"). fengari's libraries
 * also make 32-bit integers (`#s`): those print as they are either way.
 */
function numberBytes(L: LuaState, idx: number): LuaBytes {
  return luaNumberBytes(lua.lua_tonumber(L, idx));
}

/** tostring(v), with numbers as C Lua formats them. */
const tostring: JsFunction = (L) => {
  lauxlib.luaL_checkany(L, 1);
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) lua.lua_pushstring(L, numberBytes(L, 1));
  else lauxlib.luaL_tolstring(L, 1);
  return 1;
};

function install(L: LuaState, table: string | null, name: string, f: JsFunction): void {
  if (table === null) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setglobal(L, name);
    return;
  }
  lua.lua_getglobal(L, table);
  lua.lua_pushjsfunction(L, f);
  lua.lua_setfield(L, -2, name);
  lua.lua_pop(L, 1);
}

// --- print, io.write ------------------------------------------------------------

function printer(sink: ScriptSink): JsFunction {
  const tostringName = toLuaString('tostring');
  let globalTostring: ReturnType<typeof globalSlot> = null;
  return (L) => {
    const n = lua.lua_gettop(L);
    // As 5.2, print calls the global tostring; ours is done here without a
    // call, and without looking the name up when the global is still ours.
    if (globalTostring === null) globalTostring = globalSlot(L, 'tostring');
    const slot = globalTostring?.();
    if (slot !== undefined && slot.value === tostring) {
      for (let i = 1; i <= n; i++) {
        if (i > 1) sink.writeByte(TAB);
        const type = lua.lua_type(L, i);
        if (type === lua.LUA_TSTRING) sink.writeBytes(lua.lua_tolstring(L, i)!);
        else if (type === lua.LUA_TNUMBER) sink.writeBytes(numberBytes(L, i));
        else {
          sink.writeBytes(lauxlib.luaL_tolstring(L, i));
          lua.lua_pop(L, 1);
        }
      }
      sink.writeByte(LF);
      return 0;
    }
    lua.lua_getglobal(L, tostringName);
    const ours = lua.lua_tocfunction(L, n + 1) === tostring;
    for (let i = 1; i <= n; i++) {
      if (i > 1) sink.writeByte(TAB);
      const type = lua.lua_type(L, i);
      if (ours && type === lua.LUA_TSTRING) {
        sink.writeBytes(lua.lua_tolstring(L, i)!);
      } else if (ours && type === lua.LUA_TNUMBER) {
        sink.writeBytes(numberBytes(L, i));
      } else {
        lua.lua_pushvalue(L, n + 1);
        lua.lua_pushvalue(L, i);
        lua.lua_call(L, 1, 1);
        const s = lua.lua_tolstring(L, -1);
        if (s === null) return lauxlib.luaL_error(L, toLuaString("'tostring' must return a string to 'print'"));
        sink.writeBytes(s);
        lua.lua_pop(L, 1);
      }
    }
    sink.writeByte(LF);
    return 0;
  };
}

/** io.write's arguments (strings and numbers) to the sink; the Lua side returns the file. */
function writer(sink: ScriptSink): JsFunction {
  return (L) => {
    const n = lua.lua_gettop(L);
    for (let i = 1; i <= n; i++) {
      if (lua.lua_type(L, i) === lua.LUA_TNUMBER) sink.writeBytes(numberBytes(L, i));
      else sink.writeBytes(lauxlib.luaL_checklstring(L, i));
    }
    return 0;
  };
}

// --- string.format ------------------------------------------------------------------

const FLAG_CHARS = '-+ #0';

/**
 * string.format's result is built here, one growing byte buffer for every
 * call (it was an array of numbers per call: a fifth of the time of the
 * original's example.lua), then copied once into the Lua string.
 */
let out = new Uint8Array(4096);
let at = 0;

function room(n: number): void {
  if (at + n <= out.length) return;
  let size = out.length * 2;
  while (size < at + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(out.subarray(0, at));
  out = bigger;
}

function putBytes(s: ArrayLike<number> & { length: number }, from: number, to: number): void {
  room(to - from);
  if (to - from > 64 && s instanceof Uint8Array) {
    out.set(s.subarray(from, to), at);
    at += to - from;
    return;
  }
  for (let i = from; i < to; i++) out[at++] = s[i];
}

function putText(s: string): void {
  room(s.length);
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
}

function putSpaces(n: number): void {
  room(n);
  for (let i = 0; i < n; i++) out[at++] = 32;
}

/** A whole number 0 <= v <= 2^53, in decimal. */
function putDecimal(v: number): void {
  let digits = 1;
  for (let p = 10; p <= v; p *= 10) digits++;
  room(digits);
  let i = at + digits - 1;
  for (; v > 0x7fffffff; i--) {
    const q = Math.floor(v / 10);
    out[i] = 48 + (v - q * 10);
    v = q;
  }
  // The rest in 32-bit integer arithmetic.
  let w = v | 0;
  for (; i >= at; i--) {
    const q = (w / 10) | 0;
    out[i] = 48 + w - q * 10;
    w = q;
  }
  at += digits;
}

/** Lua 5.2's %q: a string Lua reads back as the same bytes. */
function quoted(s: LuaBytes): void {
  room(2);
  out[at++] = 34;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    room(4);
    if (c === 34 || c === 92 || c === 10) {
      out[at++] = 92;
      out[at++] = c;
    } else if (c < 32 || c === 127) {
      const next = s[i + 1];
      out[at++] = 92;
      putText(next >= 48 && next <= 57 ? String(c).padStart(3, '0') : String(c));
    } else {
      out[at++] = c;
    }
  }
  room(1);
  out[at++] = 34;
}

/** Bytes [from, to) padded to the spec's width with spaces (left unless '-'). */
function putPadded(bytes: ArrayLike<number> & { length: number }, from: number, to: number, spec: ConvSpec): void {
  const fill = spec.width - (to - from);
  if (fill > 0 && !spec.minus) putSpaces(fill);
  putBytes(bytes, from, to);
  if (fill > 0 && spec.minus) putSpaces(fill);
}

/** One piece of a parsed format: bytes to copy, a conversion, or the error met there. */
interface Piece {
  /** The literal bytes before the conversion (with %% made %). */
  text: Uint8Array;
  /** The conversion's letter (0: none, the end of the format). */
  conv: number;
  spec: ConvSpec;
  /** No flags, width or precision. */
  plain: boolean;
  /** The error 5.2 raised at this conversion, once its argument was found present. */
  error: string | null;
}

const NO_SPEC: ConvSpec = { minus: false, plus: false, space: false, hash: false, zero: false, width: 0, precision: -1 };
const CONVERSIONS = 'cdiouxXeEfgGqs';

/**
 * A format parsed as 5.2's str_format reads it, left to right; errors are
 * kept in place, so that they are raised in the same order against the
 * arguments as 5.2 raised them.
 */
function parseFormat(fmt: LuaBytes): Piece[] {
  const pieces: Piece[] = [];
  const text: number[] = [];
  const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57;
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i++];
    if (c !== 37) {
      text.push(c);
      continue;
    }
    if (fmt[i] === 37) {
      text.push(37);
      i++;
      continue;
    }
    const spec: ConvSpec = { ...NO_SPEC };
    const piece: Piece = { text: Uint8Array.from(text), conv: 0, spec, plain: false, error: null };
    text.length = 0;
    pieces.push(piece);
    const flagsAt = i;
    while (i < fmt.length && FLAG_CHARS.includes(String.fromCharCode(fmt[i]))) {
      const f = fmt[i++];
      if (f === 45) spec.minus = true;
      else if (f === 43) spec.plus = true;
      else if (f === 32) spec.space = true;
      else if (f === 35) spec.hash = true;
      else spec.zero = true;
    }
    if (i - flagsAt >= FLAG_CHARS.length + 1) {
      piece.error = 'invalid format (repeated flags)';
      return pieces;
    }
    for (let d = 0; d < 2 && isDigit(fmt[i]); d++) spec.width = spec.width * 10 + fmt[i++] - 48;
    if (fmt[i] === 46) {
      i++;
      spec.precision = 0;
      for (let d = 0; d < 2 && isDigit(fmt[i]); d++) spec.precision = spec.precision * 10 + fmt[i++] - 48;
    }
    if (isDigit(fmt[i])) {
      piece.error = 'invalid format (width or precision too long)';
      return pieces;
    }
    const conv = String.fromCharCode(fmt[i++] ?? 0);
    if (!CONVERSIONS.includes(conv) || conv === '') {
      piece.error = `invalid option '%${conv}' to 'format'`;
      return pieces;
    }
    piece.conv = conv.charCodeAt(0);
    piece.plain = i - flagsAt === 1;
  }
  pieces.push({ text: Uint8Array.from(text), conv: 0, spec: NO_SPEC, plain: true, error: null });
  return pieces;
}

/** Parsed formats by their bytes: a script's constant format is the same array on every call. */
const parsed = new WeakMap<LuaBytes, Piece[]>();
let lastFormat: LuaBytes | null = null;
let lastPieces: Piece[] = [];

const C = { c: 99, d: 100, i: 105, o: 111, u: 117, x: 120, X: 88, e: 101, E: 69, f: 102, g: 103, G: 71, q: 113, s: 115 } as const;

const formatInto: JsFunction = (L) => {
  const top = lua.lua_gettop(L);
  const fmt = lauxlib.luaL_checklstring(L, 1);
  let pieces: Piece[];
  if (fmt === lastFormat) {
    pieces = lastPieces;
  } else {
    let p = parsed.get(fmt);
    if (p === undefined) {
      p = parseFormat(fmt);
      parsed.set(fmt, p);
    }
    lastFormat = fmt;
    lastPieces = pieces = p;
  }
  at = 0;
  let arg = 1;
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k];
    putBytes(piece.text, 0, piece.text.length);
    const conv = piece.conv;
    if (conv === 0 && piece.error === null) break;
    if (++arg > top) return lauxlib.luaL_argerror(L, arg, toLuaString('no value'));
    if (piece.error !== null) return lauxlib.luaL_error(L, toLuaString('%s'), toLuaString(piece.error));
    const spec = piece.spec;
    switch (conv) {
      case C.c: {
        const b = toInteger52(lauxlib.luaL_checknumber(L, arg)) & 0xff;
        putPadded([b], 0, 1, spec);
        break;
      }
      case C.d: case C.i: case C.u: {
        const n = lauxlib.luaL_checknumber(L, arg);
        const t = Math.trunc(n);
        if (piece.plain && t >= 0 && t <= Number.MAX_SAFE_INTEGER) putDecimal(t);
        else putText(formatInteger(n, String.fromCharCode(conv), spec));
        break;
      }
      case C.o: case C.x: case C.X:
        putText(formatInteger(lauxlib.luaL_checknumber(L, arg), String.fromCharCode(conv), spec));
        break;
      case C.e: case C.E: case C.f: case C.g: case C.G:
        putText(formatFloat(lauxlib.luaL_checknumber(L, arg), String.fromCharCode(conv), spec));
        break;
      case C.q:
        quoted(lauxlib.luaL_checklstring(L, arg));
        break;
      default: {
        // 's'
        let s: LuaBytes;
        const type = lua.lua_type(L, arg);
        if (type === lua.LUA_TSTRING) {
          s = lua.lua_tolstring(L, arg)!;
        } else if (type === lua.LUA_TNUMBER) {
          s = numberBytes(L, arg);
        } else {
          s = lauxlib.luaL_tolstring(L, arg);
          lua.lua_pop(L, 1);
        }
        if (spec.precision < 0 && s.length >= 100) {
          // 5.2 adds a long string without a precision whole (width cannot matter: it is at most 99).
          putBytes(s, 0, s.length);
        } else {
          // Otherwise through C's sprintf, even a bare %s: the string ends at its first zero byte.
          let end = spec.precision >= 0 && spec.precision < s.length ? spec.precision : s.length;
          if (piece.plain) {
            room(end);
            for (let j = 0; j < end; j++) {
              const b = s[j];
              if (b === 0) break;
              out[at++] = b;
            }
            break;
          }
          const nul = s.subarray(0, end).indexOf(0);
          if (nul >= 0) end = nul;
          putPadded(s, 0, end, spec);
        }
      }
    }
  }
  pushOwned(L, copyBytes(out, 0, at));
  return 1;
};

/** Set while a string.format runs: a __tostring it calls that formats again gets a buffer of its own. */
let formatting = false;

const stringFormat: JsFunction = (L) => {
  if (!formatting) {
    formatting = true;
    try {
      return formatInto(L);
    } finally {
      formatting = false;
    }
  }
  const outer = out;
  const outerAt = at;
  out = new Uint8Array(256);
  try {
    return formatInto(L);
  } finally {
    out = outer;
    at = outerAt;
  }
};

// --- os.date ----------------------------------------------------------------------

function osDate(): JsFunction {
  let lastFormat: LuaBytes | null = null;
  let lastTime = NaN;
  let lastText: unknown = null;
  const defaultFormat = '%c';
  return (L) => {
    const format = lauxlib.luaL_optlstring(L, 1, defaultFormat);
    const t = lua.lua_type(L, 2) <= lua.LUA_TNIL ? Math.floor(Date.now() / 1000) : Math.trunc(lauxlib.luaL_checknumber(L, 2));
    // Scripts format the same constant format once per packet: once per second is enough.
    if (format === lastFormat && t === lastTime) {
      pushTString(L, lastText);
      return 1;
    }
    let text = latin1(format);
    const utc = text.startsWith('!');
    if (utc) text = text.slice(1);
    const tm = breakDown(t, utc);
    if (text.startsWith('*t')) {
      lua.lua_createtable(L, 0, 9);
      const fields: [string, number][] = [
        ['sec', tm.sec], ['min', tm.min], ['hour', tm.hour], ['day', tm.day], ['month', tm.month],
        ['year', tm.year], ['wday', tm.wday + 1], ['yday', tm.yday + 1],
      ];
      for (const [k, v] of fields) {
        lua.lua_pushnumber(L, v);
        lua.lua_setfield(L, -2, k);
      }
      lua.lua_pushboolean(L, tm.isdst);
      lua.lua_setfield(L, -2, 'isdst');
      return 1;
    }
    let result: string;
    try {
      result = strftime(text, tm);
    } catch (err) {
      if (err instanceof BadConversion) return lauxlib.luaL_argerror(L, 1, toLuaString(err.message));
      throw err;
    }
    lastFormat = format;
    lastTime = t;
    lastText = newTString(L, Buffer.from(result, 'latin1'));
    pushTString(L, lastText);
    return 1;
  };
}

// --- bit32 ------------------------------------------------------------------------

/** An argument as bit32 reads it: the number modulo 2^32. */
function u32(L: LuaState, arg: number): number {
  const n = lauxlib.luaL_checknumber(L, arg);
  if (n >= 0 && n <= 0xffffffff && n === Math.floor(n)) return n;
  // As 5.2's lua_number2unsigned: rounded (ties to even), modulo 2^32.
  return toInteger52(n) >>> 0;
}

function pushU32(L: LuaState, v: number): number {
  lua.lua_pushnumber(L, v >>> 0);
  return 1;
}

function shift(v: number, disp: number): number {
  if (disp <= -32 || disp >= 32) return 0;
  return disp >= 0 ? (v << disp) >>> 0 : v >>> -disp;
}

function fieldArgs(L: LuaState, fieldArg: number): [number, number] {
  const f = Math.trunc(lauxlib.luaL_checknumber(L, fieldArg));
  const w = lua.lua_type(L, fieldArg + 1) <= lua.LUA_TNIL ? 1 : Math.trunc(lauxlib.luaL_checknumber(L, fieldArg + 1));
  if (f < 0) lauxlib.luaL_argerror(L, fieldArg, toLuaString('field cannot be negative'));
  if (w <= 0) lauxlib.luaL_argerror(L, fieldArg + 1, toLuaString('width must be positive'));
  if (f + w > 32) lauxlib.luaL_error(L, toLuaString('trying to access non-existent bits'));
  return [f, w];
}

const mask = (w: number): number => (w === 32 ? 0xffffffff : (1 << w) - 1) >>> 0;

function fold(op: (a: number, b: number) => number, start: number): JsFunction {
  return (L) => {
    const n = lua.lua_gettop(L);
    let r = start;
    for (let i = 1; i <= n; i++) r = op(r, u32(L, i));
    return pushU32(L, r);
  };
}

const BIT32: Record<string, JsFunction> = {
  band: fold((a, b) => a & b, 0xffffffff),
  bor: fold((a, b) => a | b, 0),
  bxor: fold((a, b) => a ^ b, 0),
  btest: (L) => {
    const n = lua.lua_gettop(L);
    let r = 0xffffffff;
    for (let i = 1; i <= n; i++) r &= u32(L, i);
    lua.lua_pushboolean(L, r !== 0);
    return 1;
  },
  bnot: (L) => pushU32(L, ~u32(L, 1)),
  lshift: (L) => pushU32(L, shift(u32(L, 1), Math.trunc(lauxlib.luaL_checknumber(L, 2)))),
  rshift: (L) => pushU32(L, shift(u32(L, 1), -Math.trunc(lauxlib.luaL_checknumber(L, 2)))),
  arshift: (L) => {
    const v = u32(L, 1);
    const disp = Math.trunc(lauxlib.luaL_checknumber(L, 2));
    if (disp < 0 || (v & 0x80000000) === 0) return pushU32(L, shift(v, -disp));
    return pushU32(L, disp >= 32 ? 0xffffffff : v >> disp);
  },
  lrotate: (L) => {
    const v = u32(L, 1);
    const d = Math.trunc(lauxlib.luaL_checknumber(L, 2)) & 31;
    return pushU32(L, d === 0 ? v : (v << d) | (v >>> (32 - d)));
  },
  rrotate: (L) => {
    const v = u32(L, 1);
    const d = -Math.trunc(lauxlib.luaL_checknumber(L, 2)) & 31;
    return pushU32(L, d === 0 ? v : (v << d) | (v >>> (32 - d)));
  },
  extract: (L) => {
    const v = u32(L, 1);
    const [f, w] = fieldArgs(L, 2);
    return pushU32(L, (v >>> f) & mask(w));
  },
  replace: (L) => {
    const v = u32(L, 1);
    const x = u32(L, 2);
    const [f, w] = fieldArgs(L, 3);
    const m = mask(w);
    return pushU32(L, (v & ~(m << f)) | ((x & m) << f));
  },
};

// --- string.byte, string.sub, string.char as 5.2 -------------------------------------

const cast = new Float64Array(1);
const castWords = new Int32Array(cast.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/**
 * A number as the original's Lua 5.2 made it an integer (lua_number2integer,
 * built with LUA_IEEE754TRICK): the low 32 bits of n + 1.5 * 2^52, that is
 * n rounded to the nearest integer (ties to even) as a signed 32-bit value.
 * So string.sub(s, 2^31) starts at -2^31, and 2^32 is 0.
 */
export function toInteger52(n: number): number {
  if ((n | 0) === n) return n;
  cast[0] = n + 6755399441055744.0;
  return castWords[LOW_WORD];
}

/** Argument `arg` as luaL_checkinteger (def: the default when absent, or undefined when required). */
function intArg(L: LuaState, arg: number, def?: number): number {
  if (def !== undefined && lua.lua_type(L, arg) <= lua.LUA_TNIL) return def;
  return toInteger52(lauxlib.luaL_checknumber(L, arg));
}

/** 5.2's posrelat: a negative position counts from the end; before the start is 0. */
function posrelat(pos: number, len: number): number {
  if (pos >= 0) return pos;
  if (-pos > len) return 0;
  return len + pos + 1;
}

const stringByte: JsFunction = (L) => {
  const s = lauxlib.luaL_checklstring(L, 1);
  const l = s.length;
  let posi = posrelat(intArg(L, 2, 1), l);
  let pose = posrelat(intArg(L, 3, posi), l);
  if (posi === 0) posi = 1;
  if (pose > l) pose = l;
  if (posi > pose) return 0;
  const n = pose - posi + 1;
  if (n > 1) lauxlib.luaL_checkstack(L, n, 'string slice too long');
  for (let i = 0; i < n; i++) lua.lua_pushnumber(L, s[posi + i - 1]);
  return n;
};

const stringSub: JsFunction = (L) => {
  const s = lauxlib.luaL_checklstring(L, 1);
  const l = s.length;
  let start = posrelat(intArg(L, 2), l);
  let end = posrelat(intArg(L, 3, -1), l);
  if (start < 1) start = 1;
  if (end > l) end = l;
  if (start === 1 && end === l) lua.lua_pushvalue(L, 1);
  // Lua strings never change: the new one shares the bytes.
  else pushOwned(L, start <= end ? s.subarray(start - 1, end) : EMPTY_BYTES);
  return 1;
};

const stringRep: JsFunction = (L) => {
  const s = lauxlib.luaL_checklstring(L, 1);
  const n = intArg(L, 2);
  const sep = lua.lua_type(L, 3) <= lua.LUA_TNIL ? EMPTY_BYTES : lauxlib.luaL_checklstring(L, 3);
  if (n <= 0) {
    pushOwned(L, EMPTY_BYTES);
    return 1;
  }
  const total = s.length * n + sep.length * (n - 1);
  if (total >= 0x7fffffff) return lauxlib.luaL_error(L, toLuaString('resulting string too large'));
  const out = new Uint8Array(total);
  for (let i = 0, at = 0; i < n; i++) {
    out.set(s, at);
    at += s.length;
    if (i < n - 1 && sep.length > 0) {
      out.set(sep, at);
      at += sep.length;
    }
  }
  pushOwned(L, out);
  return 1;
};

const stringChar: JsFunction = (L) => {
  const n = lua.lua_gettop(L);
  const bytes = new Uint8Array(n);
  for (let i = 1; i <= n; i++) {
    const c = intArg(L, i);
    if (c < 0 || c > 255) return lauxlib.luaL_argerror(L, i, toLuaString('value out of range'));
    bytes[i - 1] = c;
  }
  pushOwned(L, bytes);
  return 1;
};

const EMPTY_BYTES = new Uint8Array(0);

// --- what 5.3 dropped, and wiring the writer in --------------------------------------

const PRELUDE = `
local write, flush = ...
local stdout = io.stdout
io.write = function(...) write(...) return stdout end
local methods = getmetatable(stdout).__index
local filewrite = methods.write
methods.write = function(f, ...)
  if f == stdout then write(...) return f end
  return filewrite(f, ...)
end
if os.exit then
  local exit = os.exit
  os.exit = function(...) flush() return exit(...) end
end
unpack = unpack or table.unpack
loadstring = loadstring or load
math.pow = math.pow or function(x, y) return x ^ y end
math.ldexp = math.ldexp or function(m, e) return m * 2.0 ^ e end
math.log10 = math.log10 or function(x) return math.log(x, 10) end
math.cosh = math.cosh or function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math.sinh = math.sinh or function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math.tanh = math.tanh or function(x) local a, b = math.exp(x), math.exp(-x) return (a - b) / (a + b) end
math.frexp = math.frexp or function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  while math.abs(m) >= 1 do m = m / 2; e = e + 1 end
  while math.abs(m) < 0.5 do m = m * 2; e = e - 1 end
  return m, e
end
table.maxn = table.maxn or function(t)
  local n = 0
  for k in pairs(t) do if type(k) == "number" and k > n then n = k end end
  return n
end
`;

/** Gives a fresh state what the original's Lua 5.2 gave scripts. */
export function installStdlib(L: LuaState, sink: ScriptSink): void {
  install(L, null, 'print', printer(sink));
  install(L, null, 'tostring', tostring);
  install(L, 'string', 'format', stringFormat);
  install(L, 'os', 'date', osDate());
  install(L, 'string', 'byte', stringByte);
  install(L, 'string', 'sub', stringSub);
  install(L, 'string', 'char', stringChar);
  install(L, 'string', 'rep', stringRep);
  lua.lua_createtable(L, 0, Object.keys(BIT32).length);
  for (const [name, f] of Object.entries(BIT32)) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, name);
  }
  lua.lua_setglobal(L, 'bit32');
  const prelude = toLuaString(PRELUDE);
  if (lauxlib.luaL_loadbuffer(L, prelude, prelude.length, '=tcpkit') !== lua.LUA_OK) {
    throw new Error(`Lua prelude: ${latin1(lua.lua_tolstring(L, -1)!)}`);
  }
  lua.lua_pushjsfunction(L, writer(sink));
  lua.lua_pushjsfunction(L, () => {
    sink.flush();
    return 0;
  });
  lua.lua_call(L, 2, 0);
}
