// A local patch to fengari 0.1.5 (pinned in package.json), applied to its
// sources as Node loads them: each edit names the exact text it replaces, and
// a file whose every edit does not match exactly is loaded as it is (the
// patch is then reported as not applied, and tcpkit runs on fengari's own
// code: slower, and `%` as Lua 5.3 has it). It is applied at load time, not
// to node_modules by the build, so that a release installed with npm alone
// runs the same code as a developer's tree, and a test checks it applied.
//
// Why each edit (measured with node --cpu-prof on the original's example.lua,
// 200,000 packets of the redis-benchmark capture; see BENCHMARKS.md):
//
// 1. `delete L.stack[i]` is gone. fengari popped its value stack with
//    `delete`, which leaves holes that V8 then reads through its slow
//    element path, on every call and return (adjust_top, moveresults and
//    luaD_precall were 17% of the profile). A pop now leaves the slot's
//    object where it is (see 4.).
// 2. luaS_hash, the Map key of every string used as a table key, was built
//    as "|" plus each byte's hex digits (5% of the profile, and a garbage
//    string per byte); a latin1 string of the bytes is the same one-to-one
//    key, made in one call.
// 3. luai_nummod: Lua 5.2 defined a % b as a - floor(a/b)*b, which the
//    original's scripts got; fengari has 5.3's fmod-based one, which differs
//    (-4 % 2 is -0 there, 0 in 5.2; 5.5 % 0.1 is 0.0999... there, 0 in 5.2).
// 4. Stack slots are reused. fengari made a new TValue object for every
//    value pushed and for every register of every Lua call (adjust_top), and
//    dropped it on return: on example.lua, garbage collection was the largest
//    item after the VM itself (17%). Now a push or a call's frame writes
//    type and value into the object already in the slot. The one object
//    that must not be written is one a closure holds: fengari makes an open
//    upvalue the stack slot's object itself (luaF_findupval), and closes it
//    by giving the stack a fresh one (luaF_close). Such an object is marked
//    `captured` when the closure takes it, and a slot holding a marked
//    object gets a new one, as before. (Slots above the top keep their last
//    values until reused; fengari has no __gc or weak tables for that to be
//    seen by.) test/unit/lua/lua-stack-reuse.test.ts runs closures, errors
//    and coroutines against C Lua 5.2's output.
// 5. CallInfo records are reused, as C Lua reuses its list: fengari made a
//    new one for every call (luaE_extendCI) and unlinked it on return
//    (luaD_poscall). Every field a call reads is set when the call starts,
//    as in C Lua, whose records are reused the same way.
// 6. The count hook (tcpkit's watchdog, every 100,000 instructions) made
//    the VM call luaG_traceexec before every instruction, only to count
//    down; the countdown is now done in place, and the call made only when
//    the count runs out (or a line hook is set), which is what
//    luaG_traceexec itself did first.
// 7. lua_assert is checked at run time in fengari (C Lua compiles it out
//    unless built for debugging): `ci === L.ci` before every instruction,
//    `instanceof` on every table key and string hash. The one-line asserts
//    of the VM, calls, tables, strings and values are left out, as in the
//    original's C Lua (api_check, on what JavaScript hands the API, stays).
//
// Measured on scripts that read packet fields (issue 18, 2026-12-06:
// node --trace-turbo-inlining, --print-bytecode, --cpu-prof; BENCHMARKS.md):
//
// 8. luaV_execute's `switch (opcode)` compared against `case OP_MOVE:`,
//    constants V8 reads from the module's scope: its bytecode is a chain of
//    up to 47 compares, one per opcode, before every instruction. With the
//    numbers written in (`case 0 /* OP_MOVE */:`, from fengari's own
//    lopcodes.js) it is one jump table. The VM loop also read the closure,
//    its constants, its base and its code from the CallInfo before every
//    instruction; they change only when the frame does (a Lua call, a return,
//    a tail call, each of which `continue newframe`s), so they are read
//    there, in an outer loop. A loop of `n = n + 1`: 36 -> 25 ns an iteration.
// 9. luaV_execute is too large for V8 to inline what it calls: RKB/RKC (a
//    register or a constant), tonumber, luaV_lessthan, luaV_gettable and
//    luaV_objlen stayed calls, several per instruction. RKB/RKC are written
//    out; arithmetic reads a number operand's value in place and calls
//    tonumber only for strings; < and <= compare two numbers in place;
//    GETTABLE/GETTABUP with a string key on a table look the key up in the
//    table's Map in place, and take fengari's own path (metatables,
//    __index, errors) when the key is absent or its value nil. A string key
//    also remembers the table and entry it last found (`ct`, `ce`, which
//    every TString gets in its constructor so that all keep one shape): the
//    next lookup in the same table is two loads, unless the entry was
//    removed, which sets its value undefined (ltable's mark_dead); it keeps
//    that one table alive while the string lives. # of a string is its
//    length in place; MOVE, LOADK and GETUPVAL copy type and value in place
//    (lobject.setobj2s was a call too). Each in-place path does
//    what the general one does for that case, and nothing else
//    (test/unit/lua/lua-vm-fast-paths.test.ts: C Lua 5.2's output). The
//    size+payload script: 370-410 -> 295-315 ns a packet (in-process, the
//    call into Lua included).
// 10. loslib.js and ldblib.js required `tmp` (which loads node's crypto) and
//    `readline-sync` when loaded, for os.tmpname() and debug.debug() only;
//    they are required when those are first called.
/* eslint-disable @typescript-eslint/no-require-imports */
import fs from 'node:fs';
import path from 'node:path';
import Module from 'node:module';

interface Edit {
  /** Exact text (string) or a pattern with the g flag. */
  find: string | RegExp;
  /** The text, or (with a pattern) a function of the match and its groups. */
  replace: string | ((match: string, ...groups: string[]) => string);
  /** How many times it must match (exactly). */
  count: number;
}

const STACK_DELETE = /delete (L|from)\.stack\[([^\]\n]+)\];/g;
/** A pop keeps the object (see 4. above); the index's side effect (--L.top) stays. */
const STACK_KEEP = '$2;';
/** `X.stack[X.top] = new TValue(A, B);` (optionally X.top++), A and B without parentheses of their own. */
const STACK_PUSH = /(L|to)\.stack\[(L|to)\.top(\+\+)?\] = new (lobject\.)?TValue\(([^(),]+), ([^()]+)\);/g;
const STACK_REUSE =
  '{ const o$ = $1.stack[$2.top]; if (o$ !== undefined && o$.captured !== true) { o$.type = $5; o$.value = $6; } else $1.stack[$2.top] = new $4TValue($5, $6); $2.top$3; }';

/** A one-line `lua_assert(...);` statement (see 7. above); it stays a statement, so a brace-less `if` keeps its body. */
const ASSERT_LINE = /^(\s*)lua_assert\(.*\);(\s*(?:\/\*.*\*\/|\/\/.*)?)$/gm;
const ASSERT_OFF = '$1void 0;$2';
const noAsserts = (count: number): Edit => ({ find: ASSERT_LINE, replace: ASSERT_OFF, count });

/** `case OP_MOVE:` in lvm.js's switches (see 8. above). */
/**
 * GETTABUP's and GETTABLE's fast path, the same for both (`table` names the
 * TValue read): a string key in a table reads its entry in place, through the
 * entry the key last found in that table (ts.ct/ts.ce) or one Map lookup;
 * anything else falls through to luaV_gettable after it.
 */
function stringKeyGet(table: string): string {
  return `                if (${table}.type === LUA_TTABLE && (rc.type === LUA_TSHRSTR || rc.type === LUA_TLNGSTR)) {
                    let ts = rc.value;
                    let h = ${table}.value;
                    let e = ts.ce;
                    if (ts.ct !== h || e.value === undefined) {
                        e = h.strong.get(ts.hash !== null ? ts.hash : luaS_hashlongstr(ts));
                        if (e !== undefined) { ts.ct = h; ts.ce = e; }
                    }
                    if (e !== undefined && e.value.type !== LUA_TNIL) {
                        let o = L.stack[ra];
                        o.type = e.value.type;
                        o.value = e.value.value;
                        break;
                    }
                }`;
}

const OPCODE_CASE = /case (OP_[A-Z]+):/g;
let opcodeNumbers: Record<string, number> | null = null;
/** `case OP_MOVE:` as `case 0 /* OP_MOVE *\/:`, the number from fengari's own lopcodes.js. */
function opcodeLiteral(match: string, name: string): string {
  opcodeNumbers ??= (require(path.join(fengariDir(), 'lopcodes.js')) as { OpCodesI: Record<string, number> }).OpCodesI;
  const n = opcodeNumbers[name];
  // An unknown name stays as it is (the edit's count still checks the file is the expected one).
  return typeof n === 'number' && Number.isInteger(n) ? `case ${n} /* ${name} */:` : match;
}

let bitRK = 0;
/** RKB(L, base, k, i) / RKC(...) written out (see 9. above): ISK(x) is x & BITRK, INDEXK(x) x & ~BITRK (lopcodes.js). */
function registerOrConstant(match: string, bc: string): string {
  bitRK ||= (require(path.join(fengariDir(), 'lopcodes.js')) as { BITRK: number }).BITRK;
  return `((i.${bc} & ${bitRK}) !== 0 ? k[i.${bc} & ${~bitRK}] : L.stack[base + i.${bc}])`;
}

function fengariDir(): string {
  return path.dirname(require.resolve('fengari/src/fengari.js'));
}

const EDITS: Record<string, Edit[]> = {
  'ltable.js': [noAsserts(5)],
  'lapi.js': [
    { find: STACK_DELETE, replace: STACK_KEEP, count: 18 },
    { find: STACK_PUSH, replace: STACK_REUSE, count: 15 },
  ],
  'ldo.js': [
    noAsserts(13),
    { find: STACK_DELETE, replace: STACK_KEEP, count: 5 },
    { find: STACK_PUSH, replace: STACK_REUSE, count: 5 },
    { find: '    L.ci = ci.previous;\n    L.ci.next = null;\n    return moveresults(', replace: '    L.ci = ci.previous;\n    return moveresults(', count: 1 },
  ],
  'lstate.js': [
    {
      find: `const luaE_extendCI = function(L) {
    let ci = new CallInfo();
    L.ci.next = ci;
    ci.previous = L.ci;
    ci.next = null;
    L.ci = ci;
    return ci;
};`,
      replace: `const luaE_extendCI = function(L) {
    let ci = L.ci.next;
    if (ci === null) {
        ci = new CallInfo();
        L.ci.next = ci;
        ci.previous = L.ci;
        ci.next = null;
    }
    L.ci = ci;
    return ci;
};`,
      count: 1,
    },
  ],
  'lvm.js': [
    noAsserts(11),
    {
      find: `        let base = ci.l_base;

        let i = ci.l_code[ci.l_savedpc++];
`,
      replace: `        let base = ci.l_base;
        let code = ci.l_code;
        for (;;) {
        let i = code[ci.l_savedpc++];
`,
      count: 1,
    },
    {
      find: `                throw Error("invalid opcode");
            }
        }
    }
};`,
      replace: `                throw Error("invalid opcode");
            }
        }
        }
    }
};`,
      count: 1,
    },
    {
      find: `            case OP_GETTABUP: {
                let upval = cl.upvals[i.B];
                let rc = RKC(L, base, k, i);
                luaV_gettable(L, upval, rc, ra);
                break;
            }
            case OP_GETTABLE: {
                let rb = L.stack[RB(L, base, i)];
                let rc = RKC(L, base, k, i);
                luaV_gettable(L, rb, rc, ra);
                break;
            }`,
      replace: `            case OP_GETTABUP: {
                let upval = cl.upvals[i.B];
                let rc = RKC(L, base, k, i);
${stringKeyGet('upval')}
                luaV_gettable(L, upval, rc, ra);
                break;
            }
            case OP_GETTABLE: {
                let rb = L.stack[RB(L, base, i)];
                let rc = RKC(L, base, k, i);
${stringKeyGet('rb')}
                luaV_gettable(L, rb, rc, ra);
                break;
            }`,
      count: 1,
    },
    {
      find: `                if (luaV_lessthan(L, RKB(L, base, k, i), RKC(L, base, k, i)) !== i.A)`,
      replace: `                let lhs = RKB(L, base, k, i);
                let rhs = RKC(L, base, k, i);
                if (((lhs.type & 15) === LUA_TNUMBER && (rhs.type & 15) === LUA_TNUMBER ? (lhs.value < rhs.value ? 1 : 0) : luaV_lessthan(L, lhs, rhs)) !== i.A)`,
      count: 1,
    },
    {
      find: `                if (luaV_lessequal(L, RKB(L, base, k, i), RKC(L, base, k, i)) !== i.A)`,
      replace: `                let lhs = RKB(L, base, k, i);
                let rhs = RKC(L, base, k, i);
                if (((lhs.type & 15) === LUA_TNUMBER && (rhs.type & 15) === LUA_TNUMBER ? (lhs.value <= rhs.value ? 1 : 0) : luaV_lessequal(L, lhs, rhs)) !== i.A)`,
      count: 1,
    },
    {
      find: `                luaV_objlen(L, L.stack[ra], L.stack[RB(L, base, i)]);`,
      replace: `                let rb = L.stack[RB(L, base, i)];
                if (rb.type === LUA_TSHRSTR || rb.type === LUA_TLNGSTR) L.stack[ra].setivalue(rb.value.realstring.length);
                else luaV_objlen(L, L.stack[ra], rb);`,
      count: 1,
    },
    {
      find: `                lobject.setobjs2s(L, ra, RB(L, base, i));`,
      replace: `                { const o$ = L.stack[RB(L, base, i)], d$ = L.stack[ra]; d$.type = o$.type; d$.value = o$.value; }`,
      count: 1,
    },
    {
      find: /lobject\.setobj2s\(L, ra, (konst|cl\.upvals\[b\])\);/g,
      replace: '{ const o$$ = $1, d$$ = L.stack[ra]; d$$.type = o$$.type; d$$.value = o$$.value; }',
      count: 3,
    },
    { find: /tonumber\((op1|op2|op)\)/g, replace: '((($1.type & 15) === LUA_TNUMBER) ? $1.value : tonumber($1))', count: 15 },
    { find: /RK([BC])\(L, base, k, i\)/g, replace: registerOrConstant, count: 37 },
    { find: OPCODE_CASE, replace: opcodeLiteral, count: 71 },
    { find: STACK_DELETE, replace: STACK_KEEP, count: 3 },
    {
      find: `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) {
            ldebug.luaG_traceexec(L);
        }`,
      replace: `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) {
            if ((L.hookmask & LUA_MASKLINE) !== 0 || L.hookcount <= 1) ldebug.luaG_traceexec(L);
            else L.hookcount--;
        }`,
      count: 1,
    },
  ],
  'loslib.js': [
    {
      find: `    const tmp = require('tmp');`,
      replace: `    let tmpModule = null;
    const tmp = { tmpNameSync: () => (tmpModule === null ? (tmpModule = require('tmp')) : tmpModule).tmpNameSync() };`,
      count: 1,
    },
  ],
  'ldblib.js': [
    {
      find: `    const readlineSync = require('readline-sync');
    readlineSync.setDefaultOptions({
        prompt: 'lua_debug> '
    });
    getinput = function() {
        return readlineSync.prompt();
    };`,
      replace: `    let readlineSync = null;
    getinput = function() {
        if (readlineSync === null) {
            readlineSync = require('readline-sync');
            readlineSync.setDefaultOptions({
                prompt: 'lua_debug> '
            });
        }
        return readlineSync.prompt();
    };`,
      count: 1,
    },
  ],
  'ltm.js': [
    noAsserts(1),{ find: STACK_DELETE, replace: STACK_KEEP, count: 1 }],
  'ldebug.js': [
    noAsserts(3),{ find: STACK_DELETE, replace: STACK_KEEP, count: 1 }],
  'lobject.js': [
    noAsserts(5),{ find: STACK_PUSH, replace: STACK_REUSE, count: 2 }],
  'lfunc.js': [
    {
      find: `const luaF_findupval = function(L, level) {
    return L.stack[level];
};`,
      replace: `const luaF_findupval = function(L, level) {
    const o = L.stack[level];
    o.captured = true;
    return o;
};`,
      count: 1,
    },
  ],
  'lstring.js': [
    noAsserts(5),
    {
      find: `    constructor(L, str) {
        this.hash = null;
        this.realstring = str;
    }`,
      replace: `    constructor(L, str) {
        this.hash = null;
        this.realstring = str;
        this.ct = null;
        this.ce = null;
    }`,
      count: 1,
    },
    {
      find: `    let len = str.length;
    let s = "|";
    for (let i=0; i<len; i++)
        s += str[i].toString(16);
    return s;`,
      replace: `    let len = str.length;
    if (len <= 64) {
        let s = "|";
        for (let i=0; i<len; i++)
            s += String.fromCharCode(str[i]);
        return s;
    }
    return "|" + Buffer.from(str.buffer, str.byteOffset, len).toString("latin1");`,
      count: 1,
    },
  ],
  'llimits.js': [
    {
      find: `const luai_nummod = function(L, a, b) {
    let m = a % b;
    if ((m*b) < 0)
        m += b;
    return m;
};`,
      replace: `const luai_nummod = function(L, a, b) {
    return a - Math.floor(a / b) * b;
};`,
      count: 1,
    },
  ],
};

/** What happened to each patched file: 'applied', or why not. */
export const patchStatus: Record<string, string> = {};

function countMatches(text: string, find: string | RegExp): number {
  if (typeof find === 'string') return text.split(find).length - 1;
  return text.match(find)?.length ?? 0;
}

/** The file's patched source, or null (and the reason in patchStatus) when an edit does not match. */
function patched(file: string, source: string): string | null {
  let text = source;
  for (const e of EDITS[file]) {
    const n = countMatches(text, e.find);
    if (n !== e.count) {
      patchStatus[file] = `expected ${e.count} match(es) of an edit, found ${n}`;
      return null;
    }
    if (typeof e.find === 'string') text = text.split(e.find).join(e.replace as string);
    else text = typeof e.replace === 'string' ? text.replace(e.find, e.replace) : text.replace(e.find, e.replace);
  }
  patchStatus[file] = 'applied';
  return text;
}

type Loader = (module: NodeJS.Module & { _compile(src: string, file: string): void }, filename: string) => void;

/** require('fengari') with the edits above applied to its sources. Call before anything else loads fengari. */
export function requirePatchedFengari(): unknown {
  const dir = fengariDir();
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  const original = extensions['.js'];
  extensions['.js'] = (module, filename) => {
    const file = path.basename(filename);
    if (path.dirname(filename) === dir && file in EDITS) {
      const source = fs.readFileSync(filename, 'utf8');
      const text = patched(file, source);
      module._compile(text ?? source, filename);
      return;
    }
    original(module, filename);
  };
  try {
    return require('fengari');
  } finally {
    extensions['.js'] = original;
  }
}

/** True when every edit applied. */
export function fengariPatched(): boolean {
  return Object.keys(EDITS).every((f) => patchStatus[f] === 'applied');
}
