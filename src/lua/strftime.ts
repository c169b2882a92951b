// os.date as C Lua gives it: strftime in the C locale, local time unless the
// format starts with '!', "*t" for a table of fields. The conversions are the
// ones Lua 5.2 accepts on a C99 system; any other is an error, as there.

/** The broken-down time strftime works from (struct tm). */
export interface Tm {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  /** 0 = Sunday */
  wday: number;
  /** 0-based day of the year */
  yday: number;
  isdst: boolean;
  /** Minutes east of UTC. */
  gmtoff: number;
  zone: string;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Single-letter conversions C99 defines, and those that take an E or O modifier. */
const CONVERSIONS = new Set('aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%');
const E_MODIFIED = new Set('cCxXyY');
const O_MODIFIED = new Set('deHImMSuUVwWy');

let zoneNames: Intl.DateTimeFormat | null = null;

function zoneName(d: Date): string {
  zoneNames ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
  return zoneNames.formatToParts(d).find((part) => part.type === 'timeZoneName')?.value ?? '';
}

/** The time `sec` (seconds since the epoch) in local time, or UTC. */
export function breakDown(sec: number, utc: boolean): Tm {
  const d = new Date(sec * 1000);
  if (utc) {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hour: d.getUTCHours(), min: d.getUTCMinutes(), sec: d.getUTCSeconds(), wday: d.getUTCDay(),
      yday: Math.floor((d.getTime() - start) / 86_400_000), isdst: false, gmtoff: 0, zone: 'GMT',
    };
  }
  const year = d.getFullYear();
  const offset = d.getTimezoneOffset();
  const jan = new Date(year, 0, 1).getTimezoneOffset();
  const jul = new Date(year, 6, 1).getTimezoneOffset();
  // Days since 1 January, counted on the calendar (DST changes do not matter).
  const yday = Math.round((Date.UTC(year, d.getMonth(), d.getDate()) - Date.UTC(year, 0, 1)) / 86_400_000);
  return {
    year, month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), min: d.getMinutes(), sec: d.getSeconds(),
    wday: d.getDay(), yday, isdst: jan !== jul && offset === Math.min(jan, jul), gmtoff: -offset, zone: zoneName(d),
  };
}

function pad(n: number, width: number, fill = '0'): string {
  const s = String(n);
  return s.length >= width ? s : fill.repeat(width - s.length) + s;
}

/** ISO 8601 week-based year and week number. */
function isoWeek(tm: Tm): [number, number] {
  const weekday = (tm.wday + 6) % 7; // Monday = 0
  let week = Math.floor((tm.yday - weekday + 10) / 7);
  let year = tm.year;
  const weeksIn = (y: number): number => {
    const p = (z: number): number => (z + Math.floor(z / 4) - Math.floor(z / 100) + Math.floor(z / 400)) % 7;
    return p(y) === 4 || p(y - 1) === 3 ? 53 : 52;
  };
  if (week < 1) {
    year--;
    week = weeksIn(year);
  } else if (week > weeksIn(year)) {
    year++;
    week = 1;
  }
  return [year, week];
}

function convert(c: string, tm: Tm): string {
  switch (c) {
    case 'a': return DAYS[tm.wday].slice(0, 3);
    case 'A': return DAYS[tm.wday];
    case 'b': case 'h': return MONTHS[tm.month - 1].slice(0, 3);
    case 'B': return MONTHS[tm.month - 1];
    case 'c': return `${convert('a', tm)} ${convert('b', tm)} ${pad(tm.day, 2, ' ')} ${convert('T', tm)} ${tm.year}`;
    case 'C': return pad(Math.floor(tm.year / 100), 2);
    case 'd': return pad(tm.day, 2);
    case 'D': case 'x': return `${pad(tm.month, 2)}/${pad(tm.day, 2)}/${pad(tm.year % 100, 2)}`;
    case 'e': return pad(tm.day, 2, ' ');
    case 'F': return `${tm.year}-${pad(tm.month, 2)}-${pad(tm.day, 2)}`;
    case 'g': return pad(isoWeek(tm)[0] % 100, 2);
    case 'G': return String(isoWeek(tm)[0]);
    case 'H': return pad(tm.hour, 2);
    case 'I': return pad(tm.hour % 12 === 0 ? 12 : tm.hour % 12, 2);
    case 'j': return pad(tm.yday + 1, 3);
    case 'm': return pad(tm.month, 2);
    case 'M': return pad(tm.min, 2);
    case 'n': return '\n';
    case 'p': return tm.hour < 12 ? 'AM' : 'PM';
    case 'r': return `${convert('I', tm)}:${pad(tm.min, 2)}:${pad(tm.sec, 2)} ${convert('p', tm)}`;
    case 'R': return `${pad(tm.hour, 2)}:${pad(tm.min, 2)}`;
    case 'S': return pad(tm.sec, 2);
    case 't': return '\t';
    case 'T': case 'X': return `${pad(tm.hour, 2)}:${pad(tm.min, 2)}:${pad(tm.sec, 2)}`;
    case 'u': return String(tm.wday === 0 ? 7 : tm.wday);
    case 'U': return pad(Math.floor((tm.yday + 7 - tm.wday) / 7), 2);
    case 'V': return pad(isoWeek(tm)[1], 2);
    case 'w': return String(tm.wday);
    case 'W': return pad(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7), 2);
    case 'y': return pad(tm.year % 100, 2);
    case 'Y': return String(tm.year);
    case 'z': {
      const a = Math.abs(tm.gmtoff);
      return `${tm.gmtoff < 0 ? '-' : '+'}${pad(Math.floor(a / 60), 2)}${pad(a % 60, 2)}`;
    }
    case 'Z': return tm.zone;
    default: return '%'; // '%%'
  }
}

/** Thrown for a conversion C99 does not define; `conversion` is what followed the '%'. */
export class BadConversion extends Error {
  constructor(readonly conversion: string) {
    super(`invalid conversion specifier '%${conversion}'`);
  }
}

/** strftime(format, tm) in the C locale. */
export function strftime(format: string, tm: Tm): string {
  let out = '';
  let run = 0;
  for (let i = format.indexOf('%'); i >= 0; i = format.indexOf('%', run)) {
    out += format.slice(run, i);
    let c = format[i + 1] ?? '';
    let len = 2;
    if (c === 'E' || c === 'O') {
      const next = format[i + 2] ?? '';
      if (!(c === 'E' ? E_MODIFIED : O_MODIFIED).has(next)) throw new BadConversion(c + next);
      c = next;
      len = 3;
    } else if (!CONVERSIONS.has(c)) {
      throw new BadConversion(c);
    }
    out += convert(c, tm);
    run = i + len;
  }
  return out + format.slice(run);
}
