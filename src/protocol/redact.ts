// --redact: a request's values become `?` before anything is written (lines,
// --json, Lua's tx.request, the stats), so that production data never reaches
// a log. What is kept per protocol:
//   mysql, pgsql  the statement with its string and number literals as ?
//                 (keywords, identifiers, operators, placeholders stay)
//   redis         the command and its key; every later argument is ?
//                 (AUTH, HELLO and ECHO: the command alone)
//   memcached     the command line as it is (values are never shown), but
//                 incr/decr's amount is ?
//   http          method and path; each query-string value is ? (an empty
//                 one stays empty)
//   dns           the question as it is (a name and a type hold no value)
// Each rewrites the preview in place and returns its new length (never longer).
import { MYSQL_DIALECT, PGSQL_DIALECT, redactSqlPreview, redactSqlText } from './sql';

export type Redactor = (preview: Buffer, len: number) => number;

const enum Ch {
  SPACE = 0x20,
  AMP = 0x26,
  DOT = 0x2e,
  EQ = 0x3d,
  QUESTION = 0x3f,
  HASH = 0x23,
}

/** Keeps the first `keep` space-separated tokens; each later one becomes `?`. */
function keepTokens(preview: Buffer, len: number, keep: number): number {
  const cut = len >= preview.length;
  let w = 0;
  let tok = 0;
  let i = 0;
  while (i < len) {
    if (preview[i] === Ch.SPACE) {
      preview[w++] = preview[i++];
      continue;
    }
    if (tok++ < keep) {
      while (i < len && preview[i] !== Ch.SPACE) preview[w++] = preview[i++];
      continue;
    }
    while (i < len && preview[i] !== Ch.SPACE) i++;
    preview[w++] = Ch.QUESTION;
  }
  if (cut && w < preview.length) for (let k = 0; k < 3 && w < preview.length; k++) preview[w++] = Ch.DOT;
  return w;
}

/** The first token, upper-cased, compared with `name`. */
function firstTokenIs(preview: Buffer, len: number, name: string): boolean {
  if (len < name.length || (len > name.length && preview[name.length] !== Ch.SPACE)) return false;
  for (let i = 0; i < name.length; i++) if ((preview[i] & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}

const redis: Redactor = (preview, len) =>
  keepTokens(preview, len, firstTokenIs(preview, len, 'AUTH') || firstTokenIs(preview, len, 'HELLO') || firstTokenIs(preview, len, 'ECHO') ? 1 : 2);

const memcached: Redactor = (preview, len) =>
  firstTokenIs(preview, len, 'INCR') || firstTokenIs(preview, len, 'DECR') || firstTokenIs(preview, len, 'MA') ? keepTokens(preview, len, 2) : len;

/** `GET /p?a=1&b=x` -> `GET /p?a=?&b=?`: each value after `=` in the query string, up to `&`, `#` or a space. */
const http: Redactor = (preview, len) => {
  const cut = len >= preview.length;
  let w = 0;
  let inQuery = false;
  let i = 0;
  while (i < len) {
    const b = preview[i];
    if (b === Ch.SPACE) inQuery = false;
    else if (b === Ch.QUESTION && !inQuery) inQuery = true;
    else if (b === Ch.EQ && inQuery) {
      preview[w++] = b;
      const value = ++i;
      while (i < len && preview[i] !== Ch.AMP && preview[i] !== Ch.SPACE && preview[i] !== Ch.HASH) i++;
      // An empty value (`a=&b`) stays empty: a `?` there would make the text longer than it
      // was, and the writes would overtake the reads of this in-place rewrite.
      if (i > value) preview[w++] = Ch.QUESTION;
      continue;
    }
    preview[w++] = b;
    i++;
  }
  if (cut && w < preview.length) for (let k = 0; k < 3 && w < preview.length; k++) preview[w++] = Ch.DOT;
  return w;
};

const mysql: Redactor = (preview, len) => redactSqlPreview(preview, len, MYSQL_DIALECT);
const pgsql: Redactor = (preview, len) => redactSqlPreview(preview, len, PGSQL_DIALECT);
const asIs: Redactor = (_preview, len) => len;

/** The redactor of a mode (its requests as they are when they hold no values). */
export function redactorFor(protocol: string): Redactor {
  switch (protocol) {
    case 'mysql':
      return mysql;
    case 'pgsql':
      return pgsql;
    case 'redis':
      return redis;
    case 'memcached':
      return memcached;
    case 'http':
      return http;
    default:
      return asIs;
  }
}

/** A server's error message with anything quoted and every number as `?`. */
export const redactMessage = redactSqlText;
