// fengari's stack slots are reused (src/lua/fengari-patch.ts, edit 4) and
// string.format writes into one shared buffer (src/lua/stdlib.ts): neither
// may show. The script closes over locals in loops, raises errors while
// closures hold locals of the failing frames (in Lua and in JavaScript
// library functions), resumes coroutines that yield closures and fail, and
// formats inside a __tostring that string.format called. The expected
// output is what the original's C Lua 5.2 printed for the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runLua } from '../../helpers/lua';
import { fengariPatched } from '../../../src/lua/fengari-patch';
import { FIXTURES } from '../../helpers/run';

const LUA_FIXTURES = path.join(FIXTURES, 'lua');

test('reused stack slots and the shared format buffer: the same output as C Lua 5.2', () => {
  const source = fs.readFileSync(path.join(LUA_FIXTURES, 'stack-reuse.lua'), 'latin1');
  const expected = fs.readFileSync(path.join(LUA_FIXTURES, 'stack-reuse.expected'), 'latin1');
  assert.ok(fengariPatched(), 'the fengari patch applied');
  const got = runLua(source).replace(/[^\t\n]*script\.lua:/g, 'stack-reuse.lua:');
  assert.equal(got, expected);
});

test('a value kept from a reused slot is still the value it was', () => {
  // Twenty calls leave their registers behind; what the table kept must not follow them.
  const out = runLua(`
    local kept = {}
    local function f(i) local a, b, c = i, i * 2, string.format("%d-%s", i, string.rep("x", 70)) return a, b, c end
    for i = 1, 20 do local a, b, c = f(i) kept[i] = { a, b, c } end
    print(kept[1][1], kept[1][2], kept[1][3]:sub(1, 4), #kept[1][3], kept[20][3]:sub(1, 5), #kept[20][3])
  `);
  assert.equal(out, '1\t2\t1-xx\t72\t20-xx\t73\n');
});
