// The packet a script's process(packet) receives: one Lua table, reused for
// every packet, so that a field the script never reads costs nothing.
//
// - The table starts without keys. The first read of a field goes to the
//   table's __index, which answers it and marks the field wanted; the next
//   packet's table has a key for each wanted field, and from then on a
//   wanted field is written straight into the table's entry for every
//   packet (no Lua call, no allocation). A script that reads two fields
//   costs two writes a packet, and nothing for the others: a field it sets
//   without having read it is a new key, which makes the next packet's
//   table afresh (resetting the sixteen others to nil for every packet was
//   about 15 ns a packet, BENCHMARKS.md).
// - Strings (sip, dip, payload) are made once per value: addresses are
//   cached, and a payload equal to the last one of its length (the same
//   command sent again, the same reply) shares that one's Lua string.
//
// The table holds the current packet only: a script that keeps something
// keeps the values (`t = packet.tv_sec`), not the table. A script that adds
// or removes keys, or changes the metatable, gets a fresh table on the next
// packet. When fengari's table internals are not what this expects (see
// rebuild() and probe()), each packet gets a fresh empty table whose every
// field goes through __index: slower, same values.
import { IpProto, Packet } from '../decode/packet';
import { formatIp } from '../connections/address';
import { copyBytes } from './bytes';
import { Tag, lauxlib, lua, newTString, pushTString, type JsFunction, type LuaBytes, type LuaState, type LuaTable, type TValue, type TableEntry } from './fengari';

/** The fields, in the order the table's entries are made. */
export const enum Field {
  TvSec,
  TvUsec,
  Sip,
  Sport,
  Dip,
  Dport,
  Seq,
  Ack,
  Flags,
  Request,
  Size,
  Len,
  Payload,
  // The 2015-2018 names: src and dst, a udp flag, is_client (1 when -s names
  // a server that is not this host: tcpkit runs on the client side) and
  // incoming (1 when the packet comes to this host: requests on the server
  // side, responses on the client side), as the original's 2018 packet.c
  // defined them.
  Src,
  Dst,
  Udp,
  Incoming,
  IsClient,
  Count,
}

export const FIELD_NAMES = [
  'tv_sec', 'tv_usec', 'sip', 'sport', 'dip', 'dport', 'seq', 'ack', 'flags', 'request', 'size', 'len', 'payload',
  'src', 'dst', 'udp', 'incoming', 'is_client',
];

const ADDRESS_FIELDS = (1 << Field.Sip) | (1 << Field.Dip) | (1 << Field.Src) | (1 << Field.Dst);
const NUMBERS_COMMON =
  (1 << Field.TvSec) | (1 << Field.TvUsec) | (1 << Field.Sport) | (1 << Field.Dport) | (1 << Field.Request) | (1 << Field.Size) | (1 << Field.Len);
const NUMBERS_RARE = (1 << Field.Seq) | (1 << Field.Ack) | (1 << Field.Flags) | (1 << Field.Udp) | (1 << Field.Incoming) | (1 << Field.IsClient);
/** Payloads above this are made only when read, even once the script reads payloads. */
const EAGER_PAYLOAD_MAX = 4096;
/** Payloads up to this many bytes are shared with the last equal one (payloadString). */
const INTERN_MAX = 512;
/** The original's flags: fin, syn, rst, psh, ack. */
const FLAG_MASK = 0x1f;
const EMPTY = new Uint8Array(0);
const NAME_BY_TEXT = new Map(FIELD_NAMES.map((n, i) => [n, i]));

/** A Lua string made once, kept with its bytes (for the path that copies). */
interface CachedString {
  bytes: Uint8Array;
  ts: unknown;
}

function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

export class PacketTable {
  /** Table entries per field, when written in place (a field not yet read has none); null otherwise. */
  private values: (TValue | null)[] | null = null;
  private table: LuaTable | null = null;
  private lastEntry: TableEntry | undefined;
  private meta: LuaTable | null = null;
  /** Bit per field the script has read: those are written into the table for every packet. */
  private wanted = 0;
  /** Keys the table has: the wanted fields when it was made (-1: make it again). */
  private keyCount = -1;

  private p: Packet | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private fromClient = false;
  /** 1 when tcpkit watches from the client side (is_client). */
  private isClient = 0;

  /** By length: the last payload made, and its Lua string (payloadString). */
  private readonly internedBytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(INTERN_MAX + 1).fill(null);
  private readonly internedStrings: unknown[] = new Array<unknown>(INTERN_MAX + 1).fill(null);

  /** Key bytes (the script's constants: the same arrays every call) to field. */
  private readonly fieldByKey = new Map<LuaBytes, number>();
  private readonly v4Names = new Map<number, CachedString>();
  private v6Last: { a: number; b: number; c: number; d: number; s: CachedString } | null = null;

  /**
   * Makes the table at stack slot `slot` and its metatable at `slot + 1`
   * (both stay there). `inPlace` false sends every field through __index.
   */
  constructor(
    private readonly L: LuaState,
    private readonly slot: number,
    inPlace = true,
  ) {
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushjsfunction(L, this.index);
    lua.lua_setfield(L, -2, '__index');
    lua.lua_pushjsfunction(L, this.pairs);
    lua.lua_setfield(L, -2, '__pairs');
    lua.lua_createtable(L, 0, Field.Count);
    lua.lua_pushvalue(L, -2);
    lua.lua_setmetatable(L, -2);
    lua.lua_insert(L, slot);
    lua.lua_insert(L, slot + 1);
    if (inPlace) this.rebuild();
  }

  /** is_client for every packet: 1 on the client side, 0 on the server side. */
  setClientSide(clientSide: boolean): void {
    this.isClient = clientSide ? 1 : 0;
  }

  /** True when numbers are written into the table in place (fengari's internals are as expected). */
  get inPlace(): boolean {
    return this.values !== null;
  }

  /** Makes the table the given packet. Per packet: keep it cheap. */
  set(p: Packet, buf: Buffer, fromClient: boolean): void {
    this.p = p;
    this.buf = buf;
    this.fromClient = fromClient;
    if (this.values === null) {
      // Without the fast path, a fresh (empty) table per packet, as the original made.
      this.fallBack();
      return;
    }
    const t = this.table!;
    if (t.strong.size !== this.keyCount || t.l !== this.lastEntry || t.metatable !== this.meta) {
      // A field was read for the first time (it gets its key now), or the
      // script added or removed keys (a field it set that it had not read
      // is a new key: gone again here), or changed the metatable: start afresh.
      this.rebuild();
      if (this.values === null) return;
    }
    const wanted = this.wanted;
    // Only the fields the script has read so far (the rest stay nil and go
    // to __index, which adds them here): a script that reads two fields
    // costs two writes a packet, not eighteen.
    if (wanted === 0) return;
    const v = this.values as TValue[];
    const F = Tag.Float;
    let e: TValue;
    if ((wanted & NUMBERS_COMMON) !== 0) {
      if ((wanted & (1 << Field.TvSec)) !== 0) {
        e = v[Field.TvSec];
        e.type = F;
        e.value = p.tsSec;
      }
      if ((wanted & (1 << Field.TvUsec)) !== 0) {
        e = v[Field.TvUsec];
        e.type = F;
        e.value = Math.floor(p.tsNsec / 1000);
      }
      if ((wanted & (1 << Field.Sport)) !== 0) {
        e = v[Field.Sport];
        e.type = F;
        e.value = p.sport;
      }
      if ((wanted & (1 << Field.Dport)) !== 0) {
        e = v[Field.Dport];
        e.type = F;
        e.value = p.dport;
      }
      if ((wanted & (1 << Field.Request)) !== 0) {
        e = v[Field.Request];
        e.type = Tag.Boolean;
        e.value = fromClient;
      }
      if ((wanted & (1 << Field.Size)) !== 0) {
        e = v[Field.Size];
        e.type = F;
        e.value = p.payloadLen;
      }
      if ((wanted & (1 << Field.Len)) !== 0) {
        e = v[Field.Len];
        e.type = F;
        e.value = p.payloadLen;
      }
    }
    if ((wanted & NUMBERS_RARE) !== 0) {
      const tcp = p.proto === IpProto.Tcp;
      // UDP has no seq, ack or flags: nil, as the original gave (__index answers nil too).
      if ((wanted & (1 << Field.Seq)) !== 0) {
        e = v[Field.Seq];
        e.type = tcp ? F : Tag.Nil;
        e.value = p.seq;
      }
      if ((wanted & (1 << Field.Ack)) !== 0) {
        e = v[Field.Ack];
        e.type = tcp ? F : Tag.Nil;
        e.value = p.ack;
      }
      if ((wanted & (1 << Field.Flags)) !== 0) {
        e = v[Field.Flags];
        e.type = tcp ? F : Tag.Nil;
        e.value = p.flags & FLAG_MASK;
      }
      if ((wanted & (1 << Field.Udp)) !== 0) {
        e = v[Field.Udp];
        e.type = F;
        e.value = tcp ? 0 : 1;
      }
      if ((wanted & (1 << Field.Incoming)) !== 0) {
        e = v[Field.Incoming];
        e.type = F;
        e.value = fromClient !== (this.isClient === 1) ? 1 : 0;
      }
      if ((wanted & (1 << Field.IsClient)) !== 0) {
        e = v[Field.IsClient];
        e.type = F;
        e.value = this.isClient;
      }
    }
    if ((wanted & (1 << Field.Payload)) !== 0) {
      e = v[Field.Payload];
      if (p.payloadCap <= EAGER_PAYLOAD_MAX) {
        e.type = Tag.String;
        e.value = this.payloadString();
      } else {
        e.type = Tag.Nil;
      }
    }
    if ((wanted & ADDRESS_FIELDS) === 0) return;
    for (let f = Field.Sip; f <= Field.Dst; f++) {
      if ((ADDRESS_FIELDS & (1 << f)) === 0 || (wanted & (1 << f)) === 0) continue;
      e = v[f];
      e.type = Tag.String;
      e.value = this.address(f === Field.Sip || f === Field.Src).ts;
    }
  }

  /** A string field of the current packet, as a new or cached Lua string. */
  private makeString(f: number): unknown {
    if (f === Field.Payload) return this.payloadString();
    return this.address(f === Field.Sip || f === Field.Src).ts;
  }

  /**
   * The payload as a Lua string. A payload the same as the last one of its
   * length (the same command sent again, the same reply) gets that one's
   * string back: no copy, no garbage. Compared from the end, where
   * payloads that differ mostly differ (keys, values, counters).
   */
  private payloadString(): unknown {
    const p = this.p!;
    const n = p.payloadCap;
    if (n > INTERN_MAX) return newTString(this.L, this.payloadBytes());
    const buf = this.buf;
    const off = p.payloadOff;
    const last = this.internedBytes[n];
    if (last !== null) {
      let i = n - 1;
      while (i >= 0 && last[i] === buf[off + i]) i--;
      if (i < 0) return this.internedStrings[n];
    }
    const bytes = n === 0 ? EMPTY : copyBytes(buf, off, off + n);
    const ts = newTString(this.L, bytes);
    this.internedBytes[n] = bytes;
    this.internedStrings[n] = ts;
    return ts;
  }

  private payloadBytes(): Uint8Array {
    const p = this.p!;
    if (p.payloadCap === 0) return EMPTY;
    return copyBytes(this.buf, p.payloadOff, p.payloadOff + p.payloadCap);
  }

  private address(source: boolean): CachedString {
    const p = this.p!;
    const a = source ? p.s0 : p.d0;
    const b = source ? p.s1 : p.d1;
    const c = source ? p.s2 : p.d2;
    const d = source ? p.s3 : p.d3;
    if (p.family === 4) {
      let s = this.v4Names.get(d);
      if (s === undefined) {
        if (this.v4Names.size >= 65536) this.v4Names.clear();
        s = this.cached(formatIp(4, 0, 0, 0, d));
        this.v4Names.set(d, s);
      }
      return s;
    }
    const last = this.v6Last;
    if (last !== null && last.a === a && last.b === b && last.c === c && last.d === d) return last.s;
    const s = this.cached(formatIp(6, a, b, c, d));
    this.v6Last = { a, b, c, d, s };
    return s;
  }

  private cached(text: string): CachedString {
    const bytes = asciiBytes(text);
    return { bytes, ts: newTString(this.L, bytes) };
  }

  /** The field a key names, or -1. */
  private fieldOf(key: LuaBytes): number {
    let f = this.fieldByKey.get(key);
    if (f === undefined) {
      f = NAME_BY_TEXT.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')) ?? -1;
      // Keys made at run time are new arrays each time: keep the map bounded.
      if (this.fieldByKey.size >= 1024) this.fieldByKey.clear();
      this.fieldByKey.set(key, f);
    }
    return f;
  }

  /** Pushes field f of the current packet (the table is at stack index 1 in __index). */
  private push(L: LuaState, f: number, inIndex: boolean): void {
    const p = this.p;
    if (p === null) {
      lua.lua_pushnil(L);
      return;
    }
    if ((this.wanted & (1 << f)) === 0) {
      // From now on written into the table up front, for every packet: the
      // next packet's table has its key.
      this.wanted |= 1 << f;
      this.keyCount = -1;
    }
    const tcp = p.proto === IpProto.Tcp;
    switch (f) {
      case Field.TvSec: lua.lua_pushnumber(L, p.tsSec); return;
      case Field.TvUsec: lua.lua_pushnumber(L, Math.floor(p.tsNsec / 1000)); return;
      case Field.Sport: lua.lua_pushnumber(L, p.sport); return;
      case Field.Dport: lua.lua_pushnumber(L, p.dport); return;
      case Field.Seq: if (tcp) lua.lua_pushnumber(L, p.seq); else lua.lua_pushnil(L); return;
      case Field.Ack: if (tcp) lua.lua_pushnumber(L, p.ack); else lua.lua_pushnil(L); return;
      case Field.Flags: if (tcp) lua.lua_pushnumber(L, p.flags & FLAG_MASK); else lua.lua_pushnil(L); return;
      case Field.Request: lua.lua_pushboolean(L, this.fromClient); return;
      case Field.Size: case Field.Len: lua.lua_pushnumber(L, p.payloadLen); return;
      case Field.Udp: lua.lua_pushnumber(L, tcp ? 0 : 1); return;
      case Field.Incoming: lua.lua_pushnumber(L, this.fromClient !== (this.isClient === 1) ? 1 : 0); return;
      case Field.IsClient: lua.lua_pushnumber(L, this.isClient); return;
    }
    if (inIndex) {
      // The string made (or kept) for this value, pushed without a copy.
      pushTString(L, this.makeString(f));
      return;
    }
    lua.lua_pushstring(L, f === Field.Payload ? this.payloadBytes() : this.address(f === Field.Sip || f === Field.Src).bytes);
  }

  /** __index calls so far (probe() checks that written fields need none). */
  private indexCalls = 0;

  private readonly index: JsFunction = (L) => {
    this.indexCalls++;
    const f = lua.lua_type(L, 2) === lua.LUA_TSTRING ? this.fieldOf(lua.lua_tolstring(L, 2)!) : -1;
    if (f < 0) lua.lua_pushnil(L);
    else this.push(L, f, true);
    return 1;
  };

  /** pairs(packet): every field of the current packet, in a table of its own. */
  private readonly pairs: JsFunction = (L) => {
    lua.lua_getglobal(L, 'next');
    lua.lua_createtable(L, 0, Field.Count);
    for (let f = 0; f < Field.Count; f++) {
      this.push(L, f, false);
      lua.lua_setfield(L, -2, FIELD_NAMES[f]);
    }
    lua.lua_pushnil(L);
    return 3;
  };

  /** A fresh table in the slot with a key per wanted field, made in field order, their value slots kept. */
  private rebuild(): void {
    const L = this.L;
    const wanted = this.wanted;
    lua.lua_createtable(L, 0, Field.Count);
    for (let f = 0; f < Field.Count; f++) {
      if ((wanted & (1 << f)) === 0) continue;
      lua.lua_pushboolean(L, false);
      lua.lua_setfield(L, -2, FIELD_NAMES[f]);
    }
    lua.lua_pushvalue(L, this.slot + 1);
    lua.lua_setmetatable(L, -2);
    lua.lua_replace(L, this.slot);
    const t = lua.lua_topointer(L, this.slot) as LuaTable;
    const values: (TValue | null)[] = new Array<TValue | null>(Field.Count).fill(null);
    let keys = 0;
    let ok = t?.strong instanceof Map;
    let f = 0;
    for (let e = ok ? t.f : undefined; e !== undefined; e = e.n) {
      while (f < Field.Count && (wanted & (1 << f)) === 0) f++;
      const name = (e.key?.value as { realstring?: Uint8Array } | undefined)?.realstring;
      if (f >= Field.Count || typeof e.value?.type !== 'number' || !(name instanceof Uint8Array)) {
        ok = false;
        break;
      }
      if (Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1') !== FIELD_NAMES[f]) {
        ok = false;
        break;
      }
      values[f++] = e.value;
      keys++;
    }
    let wantedCount = 0;
    for (let b = wanted; b !== 0; b &= b - 1) wantedCount++;
    if (!ok || keys !== wantedCount || t.strong.size !== keys) {
      this.fallBack();
      return;
    }
    this.table = t;
    this.lastEntry = t.l;
    this.meta = t.metatable;
    this.values = values;
    this.keyCount = keys;
    for (const e of values) if (e !== null) e.type = Tag.Nil;
  }

  /** Every field through __index, from an empty table. */
  private fallBack(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 0);
    lua.lua_pushvalue(L, this.slot + 1);
    lua.lua_setmetatable(L, -2);
    lua.lua_replace(L, this.slot);
    this.values = null;
    this.table = null;
  }

  /**
   * Checks that numbers written in place are what Lua reads (fengari's
   * internals as expected); falls back to __index for everything if not.
   */
  probe(): void {
    if (this.values === null) return;
    const L = this.L;
    const top = lua.lua_gettop(L);
    const p = new Packet();
    p.family = 4;
    p.proto = IpProto.Tcp;
    p.tsSec = 1234567890;
    p.tsNsec = 5_000_123;
    p.s3 = 0x0a000001;
    p.sport = 6379;
    p.payloadLen = 3;
    p.payloadCap = 3;
    const chunk = Buffer.from('local p = ... return p.size, p.tv_usec, p.request, p.sip, p.payload, p.udp');
    let ok = lauxlib.luaL_loadbuffer(L, chunk, chunk.length, '=probe') === lua.LUA_OK;
    // Twice: the first read of each field goes through __index, which has
    // them written up front from then on; the second must not need __index.
    let indexCallsBefore = 0;
    for (let round = 0; round < 2 && ok; round++) {
      this.set(p, Buffer.from('abc'), true);
      indexCallsBefore = this.indexCalls;
      lua.lua_pushvalue(L, -1);
      lua.lua_pushvalue(L, this.slot);
      ok = lua.lua_pcall(L, 1, 6, 0) === lua.LUA_OK;
      ok =
        ok &&
        lua.lua_tonumber(L, -6) === 3 &&
        lua.lua_tonumber(L, -5) === 5000 &&
        lua.lua_toboolean(L, -4) &&
        lua.lua_tojsstring(L, -3) === '10.0.0.1' &&
        lua.lua_tojsstring(L, -2) === 'abc' &&
        lua.lua_tonumber(L, -1) === 0;
      lua.lua_pop(L, 6);
    }
    ok = ok && this.indexCalls === indexCallsBefore;
    lua.lua_settop(L, top);
    this.wanted = 0;
    this.keyCount = -1;
    this.p = null;
    if (!ok) this.fallBack();
  }
}
