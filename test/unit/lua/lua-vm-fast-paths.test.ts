// The fengari patch's in-place paths in the VM (src/lua/fengari-patch.ts,
// edits 8 and 9: literal opcodes, a frame's closure and code kept between
// instructions, table[string], number arithmetic and comparison, # of a
// string, MOVE/LOADK/GETUPVAL copies) must give what fengari's general
// paths give, and those what the original's C Lua 5.2 gave: the fixture
// exercises each in-place path beside the case it leaves for (absent keys,
// __index, strings as numbers, metamethods, NaN, errors). The expected
// output is C Lua 5.2's for the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runLua } from '../../helpers/lua';
import { fengariPatched } from '../../../src/lua/fengari-patch';
import { FIXTURES } from '../../helpers/run';

const LUA_FIXTURES = path.join(FIXTURES, 'lua');

test("the VM's in-place paths: the same output as C Lua 5.2", () => {
  const source = fs.readFileSync(path.join(LUA_FIXTURES, 'vm-fast-paths.lua'), 'latin1');
  const expected = fs.readFileSync(path.join(LUA_FIXTURES, 'vm-fast-paths.expected'), 'latin1');
  assert.ok(fengariPatched(), 'the fengari patch applied');
  const got = runLua(source).replace(/[^\t\n]*script\.lua:/g, 'test/fixtures/lua/vm-fast-paths.lua:');
  assert.equal(got, expected);
});
