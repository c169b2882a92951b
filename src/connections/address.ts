// Address formatting, done once per connection when an output first needs it.

function v4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

function v6(a: number, b: number, c: number, d: number): string {
  const g = [a >>> 16, a & 0xffff, b >>> 16, b & 0xffff, c >>> 16, c & 0xffff, d >>> 16, d & 0xffff];
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** "10.0.0.1" or "fd77::1". */
export function formatIp(family: number, a: number, b: number, c: number, d: number): string {
  return family === 4 ? v4(d) : v6(a, b, c, d);
}

/** "10.0.0.1:6379" or "[fd77::1]:6379". */
export function formatEndpoint(family: number, a: number, b: number, c: number, d: number, port: number): string {
  return family === 4 ? `${v4(d)}:${port}` : `[${v6(a, b, c, d)}]:${port}`;
}

/** Parses an IPv4 or IPv6 literal into four words (IPv4 in the last); null if it is not one. */
export function parseIp(text: string): { family: 4 | 6; words: [number, number, number, number] } | null {
  const m4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m4) {
    const o = m4.slice(1).map(Number);
    if (o.some((x) => x > 255)) return null;
    return { family: 4, words: [0, 0, 0, ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0] };
  }
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return null;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const t = parseIp(tail[1]);
    if (!t) return null;
    const w = t.words[3];
    s = s.slice(0, -tail[1].length) + `${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (groups.length !== 8 || groups.some((x) => !/^[0-9a-fA-F]{1,4}$/.test(x))) return null;
  const n = groups.map((x) => parseInt(x, 16));
  const words: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = ((n[2 * i] << 16) | n[2 * i + 1]) >>> 0;
  return { family: 6, words };
}
