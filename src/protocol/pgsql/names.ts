// PostgreSQL's wire names: message types, startup codes, command tags and
// SQLSTATEs (protocol 3.0, PostgreSQL's "Message Formats" chapter).
import { InternTable } from '../sql';

/** Message type bytes, frontend (client) to backend. */
export const enum Front {
  Bind = 0x42, // 'B'
  Close = 0x43, // 'C'
  Describe = 0x44, // 'D'
  Execute = 0x45, // 'E'
  FunctionCall = 0x46, // 'F'
  Flush = 0x48, // 'H'
  Parse = 0x50, // 'P'
  Query = 0x51, // 'Q'
  Sync = 0x53, // 'S'
  Terminate = 0x58, // 'X'
  CopyDone = 0x63, // 'c'
  CopyData = 0x64, // 'd'
  CopyFail = 0x66, // 'f'
  Password = 0x70, // 'p' (also SASL and GSS responses)
}

/** Message type bytes, backend (server) to client. */
export const enum Back {
  ParseComplete = 0x31, // '1'
  BindComplete = 0x32, // '2'
  CloseComplete = 0x33, // '3'
  NotificationResponse = 0x41, // 'A'
  CommandComplete = 0x43, // 'C'
  DataRow = 0x44, // 'D'
  ErrorResponse = 0x45, // 'E'
  CopyInResponse = 0x47, // 'G'
  CopyOutResponse = 0x48, // 'H'
  EmptyQueryResponse = 0x49, // 'I'
  BackendKeyData = 0x4b, // 'K'
  NoticeResponse = 0x4e, // 'N'
  Authentication = 0x52, // 'R'
  ParameterStatus = 0x53, // 'S'
  RowDescription = 0x54, // 'T'
  FunctionCallResponse = 0x56, // 'V'
  CopyBothResponse = 0x57, // 'W'
  ReadyForQuery = 0x5a, // 'Z'
  CopyDone = 0x63, // 'c'
  CopyData = 0x64, // 'd'
  NoData = 0x6e, // 'n'
  PortalSuspended = 0x73, // 's'
  ParameterDescription = 0x74, // 't'
  NegotiateProtocolVersion = 0x76, // 'v'
}

const FRONT = new Uint8Array(256);
for (const t of 'BCDEFHPQSXcdfp') FRONT[t.charCodeAt(0)] = 1;
const BACK = new Uint8Array(256);
for (const t of '123ACDEGHIKNRSTVWZcdnstv') BACK[t.charCodeAt(0)] = 1;

export function isFrontType(b: number): boolean {
  return FRONT[b] === 1;
}
export function isBackType(b: number): boolean {
  return BACK[b] === 1;
}

/** The code in a startup-form message (no type byte): a protocol version, or a request. */
export const enum StartupCode {
  Protocol3 = 196608, // 3.0
  Cancel = 80877102,
  Ssl = 80877103,
  GssEnc = 80877104,
}

/** ErrorResponse / NoticeResponse field codes. */
export const enum ErrorField {
  Code = 0x43, // 'C': SQLSTATE
  Message = 0x4d, // 'M'
}

/** Command tags (without their counts): the ones every server sends, so their strings exist from the start. */
export const COMMAND_TAGS = new InternTable(256, 'OTHER', [
  'SELECT', 'INSERT 0', 'UPDATE', 'DELETE', 'MERGE', 'FETCH', 'MOVE', 'COPY', 'BEGIN', 'COMMIT', 'ROLLBACK',
  'START TRANSACTION', 'SET', 'SHOW', 'CREATE TABLE', 'DROP TABLE', 'CREATE INDEX', 'ALTER TABLE', 'TRUNCATE TABLE',
  'PREPARE', 'DEALLOCATE', 'LISTEN', 'NOTIFY', 'UNLISTEN', 'DISCARD ALL', 'SAVEPOINT', 'RELEASE', 'VACUUM', 'ANALYZE',
]);

/** Whether a tag's count is rows returned (SELECT, FETCH, MOVE, COPY), not rows changed. */
export function tagCountsRows(tag: string): boolean {
  return tag === 'SELECT' || tag === 'FETCH' || tag === 'MOVE' || tag === 'COPY';
}

/** Tags whose count is rows changed. */
export function tagCountsAffected(tag: string): boolean {
  return tag === 'INSERT 0' || tag === 'UPDATE' || tag === 'DELETE' || tag === 'MERGE' || tag === 'INSERT';
}

/** SQLSTATEs: five characters each; a few hundred exist. */
export const SQLSTATES = new InternTable(512, 'XX000');
