// lua/: the -S script stage, fed packets and transactions by the pipeline beside
// the outputs; fengari with the original's Lua 5.2 library shims.
//
// -S FILE: a Lua script (fengari) that receives every packet, and with a
// protocol mode every transaction, in place of tcpkit's own lines.
//
//   process(packet) or process_packet(item)  every matched packet (SYN, FIN,
//                                            RST and pure ACKs too)
//   process_transaction(tx)                  each paired request (-m MODE)
//   process_end()                            once, when the capture ends
//
// A script error is reported with its file and line, counted, and capture
// goes on; a script that cannot run at all is refused before capture starts.
import fs from 'node:fs';
import os from 'node:os';
import type { Packet } from '../decode/packet';
import { TxStatus, type Transaction } from '../pairing/transaction';
import type { Endpoint, Mode } from '../config';
import { parseIp } from '../connections/address';
import { requestFields, requestTopics } from '../protocol/kafka';
import type { Output, PacketSink } from '../pairing/consumer';
import { installStdlib, type ScriptSink } from './stdlib';
import { PacketTable } from './packet-table';
import { lauxlib, lua, newState, pcallNoResults, pushSlots, toLuaString, utf8, type JsFunction, type LuaState } from './fengari';

/** A script that cannot run: one line for the user. */
export class ScriptError extends Error {
  readonly code = 'ESCRIPT';
}

/** Stack slots, fixed for the life of the state. */
const enum Slot {
  Handler = 1,
  PacketFn = 2,
  PacketTable = 3, // and its metatable at 4
  TxFn = 5,
  EndFn = 6,
  TxKeys = 7,
}

const TX_KEYS = [
  'protocol', 'client', 'server', 'request', 'status', 'status_text', 'tv_sec', 'tv_usec', 'req_tv_sec', 'req_tv_usec',
  'latency_us', 'complete_us', 'request_size', 'response_size', 'rows', 'affected_rows', 'error_code', 'sqlstate',
  'error_message',
] as const;
const TOP = Slot.TxKeys + TX_KEYS.length - 1;
const enum Tx {
  Protocol, Client, Server, Request, Status, StatusText, TvSec, TvUsec, ReqTvSec, ReqTvUsec, LatencyUs, CompleteUs,
  RequestSize, ResponseSize, Rows, AffectedRows, ErrorCode, SqlState, ErrorMessage,
}
const STATUS_TEXT: Record<TxStatus, string> = { [TxStatus.Ok]: 'ok', [TxStatus.Error]: 'error', [TxStatus.NoResponse]: 'no response' };
const ELLIPSIS = Buffer.from('...');

/** The watchdog's hook runs every this many Lua instructions. */
const WATCHDOG_STEP = 100_000;
/** A call that runs this many is stopped (a second or two of fengari). */
const WATCHDOG_DEFAULT = 50_000_000;

/** Errors printed in full; later ones are only counted. */
const ERRORS_SHOWN = 10;

export interface LuaHostOptions {
  /** Where error lines go (default: standard error). */
  stderr?: (line: string) => void;
  /** false: every packet field through __index (the path used when fengari's internals differ). */
  inPlace?: boolean;
  /** Lua instructions after which one call is stopped (default 50 million). */
  watchdogInstructions?: number;
  /** -s: the servers named. One that is not this host's puts tcpkit on the client side (is_client 1). */
  servers?: readonly Endpoint[];
  /** This host's addresses (default: os.networkInterfaces()). */
  localAddresses?: readonly Endpoint[];
}

function hostAddresses(): Endpoint[] {
  const out: Endpoint[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = parseIp(a.address.replace(/%.*$/, ''));
      if (ip !== null) out.push(ip);
    }
  }
  return out;
}

/**
 * The client side, as the original decided it: -s names a server that is
 * not one of this host's addresses. Without -s, the server side.
 */
export function onClientSide(servers: readonly Endpoint[], local: readonly Endpoint[]): boolean {
  const same = (a: Endpoint, b: Endpoint): boolean => a.family === b.family && a.words.every((w, i) => w === b.words[i]);
  return servers.some((s) => !local.some((l) => same(s, l)));
}

function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (err as Error).message;
}

/** The chunk as C Lua's loader reads a file: without a UTF-8 BOM, and a first '#' line blanked (line numbers kept). */
function chunkOf(source: Buffer): Buffer {
  let start = source[0] === 0xef && source[1] === 0xbb && source[2] === 0xbf ? 3 : 0;
  if (source[start] !== 0x23) return source.subarray(start);
  while (start < source.length && source[start] !== 10) start++;
  return source.subarray(start);
}

/** A message handler's view of where an error happened: "file:line" of the innermost Lua code. */
function whereInLua(L: LuaState): string | null {
  const ar = new lua.lua_Debug();
  const what = toLuaString('Sl');
  for (let level = 1; lua.lua_getstack(L, level, ar) !== 0; level++) {
    lua.lua_getinfo(L, what, ar);
    if (ar.currentline > 0) return `${utf8(ar.short_src)}:${ar.currentline}`;
  }
  return null;
}

/** Adds the file and line to error messages that lack them (error("x", 0), error({})). */
const messageHandler: JsFunction = (L) => {
  const type = lua.lua_type(L, 1);
  let msg =
    type === lua.LUA_TSTRING || type === lua.LUA_TNUMBER
      ? utf8(lua.lua_tolstring(L, 1)!)
      : `(error object is a ${utf8(lauxlib.luaL_typename(L, 1))} value)`;
  if (!/^[^\n]*?:\d+: /.test(msg)) {
    const where = whereInLua(L);
    if (where !== null) msg = `${where}: ${msg}`;
  }
  lua.lua_pushstring(L, msg);
  return 1;
};

const WARM_UP = toLuaString('local n = 0 for i = 1, 4 do n = n + i end return n');
/** Calls of the warm-up chunk: V8 gives a function its feedback vector (where it records what it saw) only after several calls. */
const WARM_UP_CALLS = 12;

/**
 * Runs a short loop a few times under the watchdog's own hook, firing on
 * every instruction, so that the VM's code for a firing hook has run (and V8
 * has recorded it) before V8 optimizes the VM. Otherwise the watchdog's first
 * tick, 100,000 instructions into the capture, meets code V8 never saw run,
 * and V8 throws the optimized VM away and compiles it again (60-130 ms of
 * CPU, seen with node --trace-deopt; BENCHMARKS.md). The same hook function
 * as the watchdog's: a different one is a "wrong call target" deopt later.
 * Separate calls, not one long loop: a function's first calls record nothing
 * (V8 allocates its feedback vector lazily), and each hook call made before
 * that runs in V8's interpreter (a 3,000-iteration loop here cost 37 ms).
 */
function warmHook(L: LuaState, hook: (L: LuaState) => void): void {
  const top = lua.lua_gettop(L);
  lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, 1);
  if (lauxlib.luaL_loadbuffer(L, WARM_UP, WARM_UP.length, '=warm-up') === lua.LUA_OK) {
    for (let i = 0; i < WARM_UP_CALLS; i++) {
      lua.lua_pushvalue(L, -1);
      lua.lua_pcall(L, 0, 0, 0);
    }
  }
  lua.lua_sethook(L, null, 0, 0);
  lua.lua_settop(L, top);
}

export class LuaHost implements Output, PacketSink {
  /** Script errors so far (each failed call counts once). */
  luaErrors = 0;
  /** The script has process(packet) or process_packet(item). */
  readonly wantsPackets: boolean;
  private readonly wantsTransactions: boolean;
  private readonly table: PacketTable;
  private readonly stderr: (line: string) => void;
  private closed = false;

  private constructor(
    private readonly L: LuaState,
    private readonly sink: ScriptSink & { close(): void },
    private readonly file: string,
    options: LuaHostOptions,
  ) {
    this.stderr = options.stderr ?? ((line) => process.stderr.write(line));
    this.table = new PacketTable(L, Slot.PacketTable, options.inPlace ?? true);
    this.table.probe();
    const servers = options.servers ?? [];
    this.table.setClientSide(servers.length > 0 && onClientSide(servers, options.localAddresses ?? hostAddresses()));
    this.wantsPackets = lua.lua_isfunction(L, Slot.PacketFn);
    this.wantsTransactions = lua.lua_isfunction(L, Slot.TxFn);
    this.watchdogSteps = Math.max(1, Math.round((options.watchdogInstructions ?? WATCHDOG_DEFAULT) / WATCHDOG_STEP));
    this.warming = true;
    warmHook(L, this.watchdog);
    this.warming = false;
    lua.lua_sethook(L, this.watchdog, lua.LUA_MASKCOUNT, WATCHDOG_STEP);
  }

  private readonly watchdogSteps: number;

  /** True while warmHook runs the watchdog on every instruction (it counts nothing then). */
  private warming = false;
  /** Watchdog steps the current call has run; reset before each call. */
  private steps = 0;
  /** A call was stopped: the rest of this batch skips the script, so that the process stays responsive. */
  private stalled = false;

  /**
   * Every WATCHDOG_STEP Lua instructions: a call that goes on too long (an
   * endless loop) is stopped with an error. The JavaScript event loop, and
   * with it Ctrl-C, only runs between batches.
   */
  private readonly watchdog = (L: LuaState): void => {
    if (this.warming) return;
    if (++this.steps < this.watchdogSteps) return;
    this.stalled = true;
    const count = ((WATCHDOG_STEP * this.watchdogSteps) / 1e6).toLocaleString('en-US');
    lauxlib.luaL_error(L, toLuaString('%s'), toLuaString(`stopped after ${count} million Lua instructions in one call (an endless loop?); the script gets no more packets in this batch`));
  };

  /**
   * Loads and runs the script (its top level runs now), and checks it has a
   * callback for this mode. Throws ScriptError with one line when it cannot run.
   */
  static open(file: string, sink: ScriptSink & { close(): void }, mode: Mode, options: LuaHostOptions = {}): LuaHost {
    let source: Buffer;
    try {
      source = fs.readFileSync(file);
    } catch (err) {
      throw new ScriptError(`-S ${file}: cannot read the script: ${readError(err)}`);
    }
    const L = newState();
    installStdlib(L, sink);
    // A JavaScript exception inside a library function becomes a Lua error.
    lua.lua_atnativeerror(L, (L1) => {
      const e = lua.lua_touserdata(L1, -1) as Error | null;
      lua.lua_pushstring(L1, `internal error: ${e?.message ?? String(e)}`);
      return 1;
    });
    lua.lua_settop(L, 0);
    lauxlib.luaL_checkstack(L, TOP + 32, null);
    lua.lua_pushjsfunction(L, messageHandler);
    const chunk = chunkOf(source);
    if (lauxlib.luaL_loadbuffer(L, chunk, chunk.length, `@${file}`) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, Slot.Handler) !== lua.LUA_OK) {
      throw new ScriptError(utf8(lua.lua_tolstring(L, -1) ?? toLuaString('unknown error')));
    }
    lua.lua_settop(L, Slot.Handler);
    const fn = (name: string): boolean => {
      lua.lua_getglobal(L, name);
      if (lua.lua_isfunction(L, -1)) return true;
      lua.lua_pop(L, 1);
      return false;
    };
    const packetFn = fn('process') || fn('process_packet');
    if (!packetFn) lua.lua_pushnil(L);
    // Slots 3 and 4 (the packet table) are inserted by PacketTable.
    const txFn = fn('process_transaction');
    if (!txFn) lua.lua_pushnil(L);
    if (!fn('process_end')) lua.lua_pushnil(L);
    for (const key of TX_KEYS) lua.lua_pushstring(L, key);
    if (mode === 'raw' && !packetFn) {
      throw new ScriptError(
        txFn
          ? `-S ${file}: process_transaction(tx) needs a protocol mode (-m redis, ...), and the script defines no process(packet)`
          : `-S ${file}: the script defines neither process(packet) nor process_packet(item)`,
      );
    }
    if (!packetFn && !txFn) {
      throw new ScriptError(`-S ${file}: the script defines none of process(packet), process_packet(item), process_transaction(tx)`);
    }
    const host = new LuaHost(L, sink, file, options);
    if (lua.lua_gettop(L) !== TOP) throw new Error(`Lua stack: ${lua.lua_gettop(L)} slots, expected ${TOP}`);
    // What the top level printed (a header) shows now, not with the first packets.
    sink.flush();
    return host;
  }

  /** True when packet fields are written into the table in place (the fast path). */
  get inPlace(): boolean {
    return this.table.inPlace;
  }

  packet(p: Packet, buf: Buffer, fromClient: boolean): void {
    if (this.stalled) return;
    const L = this.L;
    this.steps = 0;
    this.table.set(p, buf, fromClient);
    pushSlots(L, Slot.PacketFn, Slot.PacketTable);
    if (pcallNoResults(L, 1, Slot.Handler) !== lua.LUA_OK) this.failed();
  }

  transaction(tx: Transaction): void {
    if (!this.wantsTransactions || this.stalled) return;
    const L = this.L;
    this.steps = 0;
    lua.lua_pushvalue(L, Slot.TxFn);
    lua.lua_createtable(L, 0, TX_KEYS.length);
    const str = (k: Tx, v: string | Uint8Array): void => {
      lua.lua_pushvalue(L, Slot.TxKeys + k);
      lua.lua_pushstring(L, v);
      lua.lua_rawset(L, -3);
    };
    const num = (k: Tx, v: number): void => {
      lua.lua_pushvalue(L, Slot.TxKeys + k);
      lua.lua_pushnumber(L, v);
      lua.lua_rawset(L, -3);
    };
    const conn = tx.conn;
    str(Tx.Protocol, tx.protocol);
    str(Tx.Client, conn.client());
    str(Tx.Server, conn.server());
    const preview = tx.preview.subarray(0, tx.previewLen);
    str(Tx.Request, tx.previewLen >= tx.preview.length ? Buffer.concat([preview, ELLIPSIS]) : preview);
    str(Tx.Status, tx.inFlight ? 'in flight' : STATUS_TEXT[tx.status]);
    str(Tx.StatusText, tx.statusText);
    num(Tx.TvSec, tx.rspSec);
    num(Tx.TvUsec, Math.floor(tx.rspNsec / 1000));
    num(Tx.ReqTvSec, tx.reqSec);
    num(Tx.ReqTvUsec, Math.floor(tx.reqNsec / 1000));
    num(Tx.LatencyUs, tx.latencyNs / 1000);
    num(Tx.CompleteUs, tx.completeNs / 1000);
    num(Tx.RequestSize, tx.reqBytes);
    num(Tx.ResponseSize, tx.rspBytes);
    if (tx.protocol === 'kafka') this.kafkaFields(tx);
    // SQL modes: nil when the response has none (rows, affected rows, error code, SQLSTATE, message).
    if (tx.rows >= 0) num(Tx.Rows, tx.rows);
    if (tx.affectedRows >= 0) num(Tx.AffectedRows, tx.affectedRows);
    if (tx.errorCode >= 0) num(Tx.ErrorCode, tx.errorCode);
    if (tx.sqlState !== '') str(Tx.SqlState, tx.sqlState);
    if (tx.errorMessage !== '') str(Tx.ErrorMessage, tx.errorMessage);
    if (lua.lua_pcall(L, 1, 0, Slot.Handler) !== lua.LUA_OK) this.failed();
  }

  /** Kafka's own fields on the transaction table at the stack's top: api, api_key, api_version, correlation_id, client_id, topics, error_code, long_poll. */
  private kafkaFields(tx: Transaction): void {
    const L = this.L;
    const f = requestFields(tx.detail, tx.detailLen);
    if (f === null) return;
    lua.lua_pushstring(L, f.api);
    lua.lua_setfield(L, -2, 'api');
    lua.lua_pushnumber(L, f.apiKey);
    lua.lua_setfield(L, -2, 'api_key');
    lua.lua_pushnumber(L, f.apiVersion);
    lua.lua_setfield(L, -2, 'api_version');
    lua.lua_pushnumber(L, tx.matchId | 0);
    lua.lua_setfield(L, -2, 'correlation_id');
    lua.lua_pushstring(L, f.clientId);
    lua.lua_setfield(L, -2, 'client_id');
    const topics = requestTopics(tx.requestText());
    lua.lua_createtable(L, topics.length, 0);
    for (let i = 0; i < topics.length; i++) {
      lua.lua_pushstring(L, topics[i]);
      lua.lua_rawseti(L, -2, i + 1);
    }
    lua.lua_setfield(L, -2, 'topics');
    if (tx.statusCode >= -32768 && tx.status !== TxStatus.NoResponse && tx.statusText !== '') {
      lua.lua_pushnumber(L, tx.statusCode);
      lua.lua_setfield(L, -2, 'error_code');
    }
    lua.lua_pushboolean(L, tx.longPoll);
    lua.lua_setfield(L, -2, 'long_poll');
  }

  /** A call failed: its message (from the handler) is on the stack. */
  private failed(): void {
    const L = this.L;
    const msg = lua.lua_tolstring(L, -1);
    lua.lua_settop(L, TOP);
    this.luaErrors++;
    if (this.luaErrors <= ERRORS_SHOWN) {
      this.stderr(`tcpkit: script error: ${msg === null ? '(no message)' : utf8(msg)}\n`);
      if (this.luaErrors === ERRORS_SHOWN) this.stderr(`tcpkit: ${this.file}: further script errors are counted, not shown\n`);
    }
  }

  flush(): void {
    this.stalled = false;
    this.sink.flush();
  }

  /** The capture ended: process_end(), then the output is flushed and closed. Once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const L = this.L;
    if (lua.lua_isfunction(L, Slot.EndFn)) {
      this.steps = 0;
      lua.lua_pushvalue(L, Slot.EndFn);
      if (lua.lua_pcall(L, 0, 0, Slot.Handler) !== lua.LUA_OK) this.failed();
    }
    this.sink.close();
  }
}
