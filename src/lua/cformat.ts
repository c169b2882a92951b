// Numbers formatted as C's printf formats them (glibc, C locale): what Lua
// 5.2's string.format and tostring printed, and what scripts written for the
// original tool expect. JavaScript's toFixed/toExponential round exact ties
// away from zero where glibc rounds them to even, and spell inf and NaN
// differently; this module closes those gaps.

/** A conversion's flags, width and precision, as printf reads them. */
export interface ConvSpec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  hash: boolean;
  zero: boolean;
  width: number;
  /** -1 when absent. */
  precision: number;
}

export const PLAIN: ConvSpec = { minus: false, plus: false, space: false, hash: false, zero: false, width: 0, precision: -1 };

const TWO_63 = 2 ** 63;
const TWO_64 = 2n ** 64n;

/** Pads `sign + prefix + digits` to the width: spaces left or right, or zeros after the prefix. */
function pad(spec: ConvSpec, sign: string, prefix: string, digits: string, zeroAllowed: boolean): string {
  const len = sign.length + prefix.length + digits.length;
  if (len >= spec.width) return sign + prefix + digits;
  const fill = spec.width - len;
  if (spec.minus) return sign + prefix + digits + ' '.repeat(fill);
  if (spec.zero && zeroAllowed) return sign + prefix + '0'.repeat(fill) + digits;
  return ' '.repeat(fill) + sign + prefix + digits;
}

/** 'd', 'i', 'u', 'o', 'x', 'X': Lua 5.2 converts the number to a C integer (truncating), then prints it. */
export function formatInteger(n: number, conv: string, spec: ConvSpec): string {
  const signed = conv === 'd' || conv === 'i';
  const base = conv === 'o' ? 8 : conv === 'x' || conv === 'X' ? 16 : 10;
  let t = Math.trunc(n);
  let negative = false;
  let digits: string;
  if (signed) {
    // Out of range (and NaN) is what x86 gives for the cast: INT64_MIN.
    if (!(t > -TWO_63 && t < TWO_63)) t = -TWO_63;
    negative = t < 0;
    const a = negative ? -t : t;
    digits = Number.isSafeInteger(a) ? a.toString(base) : BigInt(a).toString(base);
  } else {
    let u: bigint | number;
    if (Number.isNaN(t) || t >= TWO_63 * 2 || t === -Infinity) u = TWO_63;
    else if (t < 0) u = TWO_64 + BigInt(t);
    else u = t;
    digits = typeof u === 'number' && Number.isSafeInteger(u) ? u.toString(base) : BigInt(u).toString(base);
  }
  if (conv === 'X') digits = digits.toUpperCase();
  if (spec.precision >= 0) {
    if (spec.precision === 0 && digits === '0') digits = '';
    else if (digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits;
  }
  let prefix = '';
  if (spec.hash) {
    if (base === 8 && digits[0] !== '0') digits = `0${digits}`;
    else if (base === 16 && digits !== '' && /[^0]/.test(digits)) prefix = conv === 'X' ? '0X' : '0x';
  }
  const sign = negative ? '-' : signed && spec.plus ? '+' : signed && spec.space ? ' ' : '';
  return pad(spec, sign, prefix, digits, spec.precision < 0);
}

// --- exact ties --------------------------------------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** a (finite, > 0) as m * 2^e with m an integer. */
function decompose(a: number): { m: bigint; e: number } {
  f64[0] = a;
  const lo = u32[LOW];
  const hi = u32[1 - LOW];
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return biased === 0 ? { m: frac, e: -1074 } : { m: frac | (1n << 52n), e: biased - 1075 };
}

/**
 * When a * 10^s lies exactly half-way between two integers, the lower one
 * (floor); otherwise null. C rounds such ties to even, JavaScript away from zero.
 */
function tieFloor(a: number, s: number): bigint | null {
  const { m, e } = decompose(a);
  let num = m * 2n;
  let den = 1n;
  if (s >= 0) num *= 10n ** BigInt(s);
  else den *= 10n ** BigInt(-s);
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  // a * 10^s * 2 = num / den: a tie when that is an odd integer.
  if (num % den !== 0n) return null;
  const twice = num / den;
  if ((twice & 1n) === 0n) return null;
  return twice >> 1n;
}

/** a (finite, >= 0) with p digits after the point, ties to even. */
function fixed(a: number, p: number): string {
  if (a >= 1e21) {
    // toFixed switches to exponent form here; such doubles are integers.
    return BigInt(a).toString() + (p > 0 ? `.${'0'.repeat(p)}` : '');
  }
  const s = a.toFixed(p);
  // A tie is exact one digit further on, where it ends in 5.
  if (p < 100 && a.toFixed(p + 1).endsWith('5')) {
    const q = tieFloor(a, p);
    if (q !== null && (q & 1n) === 0n) {
      const d = q.toString().padStart(p + 1, '0');
      return p === 0 ? d : `${d.slice(0, d.length - p)}.${d.slice(d.length - p)}`;
    }
  }
  return s;
}

/** a (finite, >= 0) as d.ddd with p digits after the point: [mantissa, exponent], ties to even. */
function exponential(a: number, p: number): [string, number] {
  let s = a.toExponential(p);
  if (p < 100) {
    const more = a.toExponential(p + 1);
    const at = more.indexOf('e');
    if (more[at - 1] === '5') {
      const x = Number(more.slice(at + 1));
      const q = tieFloor(a, p - x);
      if (q !== null && (q & 1n) === 0n) {
        const d = q.toString();
        s = `${d[0]}${p > 0 ? '.' : ''}${d.slice(1)}e${x < 0 ? '-' : '+'}${Math.abs(x)}`;
      }
    }
  }
  const at = s.indexOf('e');
  return [s.slice(0, at), Number(s.slice(at + 1))];
}

function expText(mantissa: string, x: number, upper: boolean): string {
  const ax = Math.abs(x);
  return `${mantissa}${upper ? 'E' : 'e'}${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
}

/** Drops trailing zeros after the point, and the point if nothing follows it. */
function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

/** The sign bit, so that -0 and a negative NaN print their '-' as C does. */
function signBit(x: number): boolean {
  f64[0] = x;
  return (u32[1 - LOW] & 0x80000000) !== 0;
}

/** 'e', 'E', 'f', 'F', 'g', 'G'. */
export function formatFloat(x: number, conv: string, spec: ConvSpec): string {
  const upper = conv === 'E' || conv === 'F' || conv === 'G';
  const negative = signBit(x);
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  if (!Number.isFinite(x)) {
    const word = Number.isNaN(x) ? 'nan' : 'inf';
    return pad(spec, sign, '', upper ? word.toUpperCase() : word, false);
  }
  const a = Math.abs(x);
  const p = spec.precision < 0 ? 6 : spec.precision;
  let body: string;
  switch (conv) {
    case 'f':
    case 'F':
      body = fixed(a, p);
      if (spec.hash && p === 0) body += '.';
      break;
    case 'e':
    case 'E': {
      const [m, e] = exponential(a, p);
      body = expText(spec.hash && p === 0 ? `${m}.` : m, e, upper);
      break;
    }
    default: {
      // %g: %e's exponent decides between %f and %e, with P significant digits.
      const sig = p === 0 ? 1 : p;
      const [m, e] = exponential(a, sig - 1);
      if (e >= -4 && e < sig) {
        body = fixed(a, sig - 1 - e);
        if (!spec.hash) body = stripZeros(body);
        else if (!body.includes('.')) body += '.';
      } else {
        let mant = spec.hash ? m : stripZeros(m);
        if (spec.hash && !mant.includes('.')) mant += '.';
        body = expText(mant, e, upper);
      }
    }
  }
  return pad(spec, sign, '', body, true);
}

const G14: ConvSpec = { ...PLAIN, precision: 14 };

/** A float as Lua 5.2 printed every number: "%.14g". */
export function formatLuaNumber(x: number): string {
  // Most numbers scripts print are whole (times, ports, sizes).
  if (Number.isInteger(x) && x < 1e14 && x > -1e14 && !(x === 0 && signBit(x))) return String(x);
  return formatFloat(x, 'g', G14);
}

/**
 * formatLuaNumber's text as bytes. Whole numbers (most of what scripts
 * print: times, ports, sizes) are written digit by digit, without a
 * JavaScript string in between.
 */
export function luaNumberBytes(x: number): Uint8Array {
  if (Number.isInteger(x) && x < 1e14 && x > -1e14 && !(x === 0 && signBit(x))) {
    const negative = x < 0;
    let v = negative ? -x : x;
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    const n = negative ? digits + 1 : digits;
    const b = new Uint8Array(n);
    if (negative) b[0] = 45;
    for (let i = n - 1; i >= n - digits; i--) {
      const q = Math.floor(v / 10);
      b[i] = 48 + (v - q * 10);
      v = q;
    }
    return b;
  }
  const s = formatFloat(x, 'g', G14);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
