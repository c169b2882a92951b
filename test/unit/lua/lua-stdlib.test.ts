// What scripts written for the original tool (C Lua 5.2) rely on: numbers
// formatted as C formats them, os.date as strftime, bit32, print and io.write
// in order, the 5.1/5.2 names. Expected strings come from glibc's printf and
// strftime (TZ=UTC) and from Lua 5.2's manual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLAIN, formatFloat, formatInteger, formatLuaNumber } from '../../../src/lua/cformat';
import { breakDown, strftime } from '../../../src/lua/strftime';
import { runLua } from '../../helpers/lua';

/** [format, value, what glibc's printf gives]. */
const PRINTF: [string, number, string][] = [
  ['%d', 3000000000, '3000000000'],
  ['%u', 3000000000, '3000000000'],
  ['%u', -1, '18446744073709551615'],
  ['%x', 4294967295, 'ffffffff'],
  ['%X', 3735928559, 'DEADBEEF'],
  ['%#x', 255, '0xff'],
  ['%#o', 8, '010'],
  ['%5d', 42, '   42'],
  ['%-5d', 42, '42   '],
  ['%05d', -42, '-0042'],
  ['%+d', 7, '+7'],
  ['%.3d', 7, '007'],
  ['%.0d', 0, ''],
  ['%d', -2.7, '-2'],
  // Exact ties round to even in C (JavaScript's toFixed rounds them up).
  ['%.0f', 0.5, '0'],
  ['%.0f', 1.5, '2'],
  ['%.0f', 2.5, '2'],
  ['%.1f', 0.25, '0.2'],
  ['%.1f', 0.35, '0.3'],
  ['%.2f', 1.125, '1.12'],
  ['%.3f', 0.0625, '0.062'],
  ['%.3f', 0.2705, '0.271'],
  ['%3.3f', 30.513, '30.513'],
  ['%10.3f', -3.14159, '    -3.142'],
  ['%-10.2f', 2.5, '2.50      '],
  ['%+.2f', 2.5, '+2.50'],
  ['%010.3f', -1.5, '-00001.500'],
  ['%e', 12345.678, '1.234568e+04'],
  ['%.0e', 25, '2e+01'],
  ['%.3E', 0.00012345, '1.234E-04'],
  ['%g', 0.1, '0.1'],
  ['%g', 1e-5, '1e-05'],
  ['%g', 123456789, '1.23457e+08'],
  ['%g', 100000, '100000'],
  ['%g', 1e20, '1e+20'],
  ['%.3g', 2.5, '2.5'],
  ['%.14g', 4.76837158203125e-7, '4.7683715820312e-07'],
  ['%.14g', 1e15, '1e+15'],
  ['%#g', 1, '1.00000'],
  ['%#.0f', 3, '3.'],
  ['%G', 1e-10, '1E-10'],
  ['%10g', 3.5, '       3.5'],
  ['%-12.5g', 3.14159265, '3.1416      '],
];

function spec(format: string) {
  const m = /^%([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z])$/.exec(format)!;
  return {
    conv: m[4],
    spec: {
      ...PLAIN,
      minus: m[1].includes('-'), plus: m[1].includes('+'), space: m[1].includes(' '), hash: m[1].includes('#'), zero: m[1].includes('0'),
      width: m[2] ? Number(m[2]) : 0,
      precision: m[3] === undefined ? -1 : Number(m[3] || 0),
    },
  };
}

test('integers and floats format as glibc printf does', () => {
  for (const [format, value, expected] of PRINTF) {
    const { conv, spec: s } = spec(format);
    const got = 'diouxX'.includes(conv) ? formatInteger(value, conv, s) : formatFloat(value, conv, s);
    assert.equal(got, expected, `${format} of ${value}`);
  }
});

test('numbers print as Lua 5.2 printed them (%.14g)', () => {
  assert.equal(formatLuaNumber(5), '5');
  assert.equal(formatLuaNumber(2 ** 53), '9.007199254741e+15');
  assert.equal(formatLuaNumber(0.1 + 0.2), '0.3');
  assert.equal(formatLuaNumber(-0), '-0');
  assert.equal(formatLuaNumber(1 / 0), 'inf');
  assert.equal(formatLuaNumber(-1 / 0), '-inf');
  assert.equal(formatLuaNumber(1 / 3), '0.33333333333333');
});

test('strftime in the C locale, as glibc gives it (UTC)', () => {
  const tm = breakDown(1580000000, true); // Sun 2020-01-26 00:53:20 UTC
  assert.equal(
    strftime('%a|%A|%b|%B|%c|%C|%d|%D|%e|%F|%g|%G|%H|%I|%j|%m|%M|%p|%r|%R|%S|%T|%u|%U|%V|%w|%W|%x|%X|%y|%Y|%z|%Ey|%Od|%%', tm),
    'Sun|Sunday|Jan|January|Sun Jan 26 00:53:20 2020|20|26|01/26/20|26|2020-01-26|20|2020|00|12|026|01|53|AM|12:53:20 AM|00:53|20|00:53:20|7|04|04|0|03|01/26/20|00:53:20|20|2020|+0000|20|26|%',
  );
  // ISO weeks at a year's edge: 2021-01-01 (a Friday) is in week 53 of 2020.
  assert.equal(strftime('%G-W%V-%u', breakDown(1609459200, true)), '2020-W53-5');
  assert.throws(() => strftime('%Q', tm), /invalid conversion specifier '%Q'/);
  assert.throws(() => strftime('%Ez', tm), /invalid conversion specifier '%Ez'/);
});

test('Lua: numbers are doubles, as in 5.2: no 32-bit wrap, hex numerals unsigned, C formatting', () => {
  assert.equal(
    runLua('print(2^53, 10/2, 0xFFFFFFFF, 2147483647 + 1, 1700000000 * 1000000 + 123456, 1e15, 1/0, 0.1 + 0.2, tostring(-0.0))'),
    '9.007199254741e+15\t5\t4294967295\t2147483648\t1.7000000001235e+15\t1e+15\tinf\t0.3\t-0\n',
  );
  assert.equal(runLua('local t = {} for i = 1, 3 do t[i] = i * 1.5 end print(#t, t[2], "n" .. 3, 7 / 2)'), '3\t3\tn3\t3.5\n');
});

test('Lua: bit32 as in 5.2 (arguments modulo 2^32, unsigned results)', () => {
  assert.equal(
    runLua(
      'print(bit32.band(0xFF00FF00, 0x0FF00FF0), bit32.bor(1, 2, 4), bit32.bxor(0xFFFFFFFF, 1), bit32.bnot(0), ' +
        'bit32.lshift(1, 31), bit32.rshift(0x80000000, 31), bit32.arshift(0x80000000, 4), bit32.arshift(-1, 40), ' +
        'bit32.lrotate(0x80000001, 1), bit32.rrotate(1, 1), bit32.extract(0xABCD, 4, 8), bit32.replace(0, 0xF, 28, 4), ' +
        'bit32.btest(2, 6), bit32.band(-1), bit32.lshift(1, -1), bit32.rshift(2, -1), bit32.lshift(1, 32))',
    ),
    '251662080\t7\t4294967294\t4294967295\t2147483648\t1\t4160749568\t4294967295\t3\t2147483648\t188\t4026531840\ttrue\t4294967295\t0\t4\t0\n',
  );
  assert.equal(runLua('print(pcall(bit32.extract, 1, 30, 4))'), "false\ttrying to access non-existent bits\n");
});

test('Lua: string.format with %u, ties to even, %q and %s as 5.2', () => {
  assert.equal(
    runLua('print(string.format("%u %d %5.1f %.3f %x %q %s|%5s|%-5s|%.2s|%c", 3000000000, 3000000000, 0.25, 0.0625, 255, "a\\n\\0b\\"", 1.5, "ab", "ab", "abcdef", 65))'),
    '3000000000 3000000000   0.2 0.062 ff "a\\\n\\0b\\"" 1.5|   ab|ab   |ab|A\n',
  );
  assert.match(runLua('print(pcall(string.format, "%y", 1))'), /^false\t.*invalid option '%y' to 'format'\n$/);
  assert.match(runLua('print(pcall(string.format, "%d"))'), /^false\tbad argument #2 to '.*format' \(no value\)\n$/);
});

test('Lua: os.date as C Lua (strftime, "!" for UTC, "*t")', () => {
  assert.equal(
    runLua('print(os.date("!%Y-%m-%d %H:%M:%S", 1580000000), os.date("!%c", 1580000000)) local t = os.date("!*t", 1580000000) print(t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday, t.isdst)'),
    '2020-01-26 00:53:20\tSun Jan 26 00:53:20 2020\n2020\t1\t26\t0\t53\t20\t1\t26\tfalse\n',
  );
  assert.match(runLua('print(pcall(os.date, "%Q"))'), /^false\tbad argument #1 to '.*date' \(invalid conversion specifier '%Q'\)\n$/);
});

test('Lua: print and io.write share one output, in order; the 5.1/5.2 names are there', () => {
  assert.equal(runLua('io.write("a", 1, 2.5, "\\n") print("b") io.stdout:write("c\\n")'), 'a12.5\nb\nc\n');
  assert.equal(
    runLua('print(select("#", unpack({1, 2, 3})), loadstring("return 7")(), math.pow(2, 10), math.log10(1000), table.maxn({[5] = 1}), math.ldexp(0.5, 4)) print(math.frexp(8))'),
    '3\t7\t1024\t3\t5\t8\n0.5\t4\n',
  );
  // print calls the global tostring, as in 5.2.
  assert.equal(runLua('tostring = function(v) return "<" .. type(v) .. ">" end print(1, "x")'), '<number>\t<string>\n');
});
