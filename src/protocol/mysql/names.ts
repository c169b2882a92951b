// MySQL's wire names (the client/server protocol; MariaDB speaks the same):
// commands, capability and status flags, packet headers.
import { InternTable } from '../sql';

/** Command bytes: the first payload byte of a client packet with sequence id 0. */
export const enum Com {
  Sleep = 0x00,
  Quit = 0x01,
  InitDb = 0x02,
  Query = 0x03,
  FieldList = 0x04,
  CreateDb = 0x05,
  DropDb = 0x06,
  Refresh = 0x07,
  Shutdown = 0x08,
  Statistics = 0x09,
  ProcessInfo = 0x0a,
  Connect = 0x0b,
  ProcessKill = 0x0c,
  Debug = 0x0d,
  Ping = 0x0e,
  Time = 0x0f,
  DelayedInsert = 0x10,
  ChangeUser = 0x11,
  BinlogDump = 0x12,
  TableDump = 0x13,
  ConnectOut = 0x14,
  RegisterSlave = 0x15,
  StmtPrepare = 0x16,
  StmtExecute = 0x17,
  StmtSendLongData = 0x18,
  StmtClose = 0x19,
  StmtReset = 0x1a,
  SetOption = 0x1b,
  StmtFetch = 0x1c,
  Daemon = 0x1d,
  BinlogDumpGtid = 0x1e,
  ResetConnection = 0x1f,
}

/** Names of the commands shown by name (the request line and the stats' command). */
export const COMMAND_NAMES: readonly string[] = [
  'SLEEP', 'QUIT', 'INIT_DB', 'QUERY', 'FIELD_LIST', 'CREATE_DB', 'DROP_DB', 'REFRESH', 'SHUTDOWN', 'STATISTICS',
  'PROCESS_INFO', 'CONNECT', 'PROCESS_KILL', 'DEBUG', 'PING', 'TIME', 'DELAYED_INSERT', 'CHANGE_USER', 'BINLOG_DUMP',
  'TABLE_DUMP', 'CONNECT_OUT', 'REGISTER_SLAVE', 'STMT_PREPARE', 'STMT_EXECUTE', 'STMT_SEND_LONG_DATA', 'STMT_CLOSE',
  'STMT_RESET', 'SET_OPTION', 'STMT_FETCH', 'DAEMON', 'BINLOG_DUMP_GTID', 'RESET_CONNECTION',
];

/** Commands that get no response. */
export function expectsNoReply(com: number): boolean {
  return com === Com.Quit || com === Com.StmtClose || com === Com.StmtSendLongData;
}

/** Capability flags (the handshake's). */
export const enum Cap {
  ConnectWithDb = 0x00000008,
  Compress = 0x00000020,
  Protocol41 = 0x00000200,
  Ssl = 0x00000800,
  SecureConnection = 0x00008000,
  PluginAuthLenencData = 0x00200000,
  DeprecateEof = 0x01000000,
  QueryAttributes = 0x08000000,
}

/** Server status flags (OK and EOF packets). */
export const enum ServerStatus {
  CursorExists = 0x0040,
  MoreResultsExist = 0x0008,
}

/** First payload bytes of server packets. */
export const enum Header {
  Ok = 0x00,
  LocalInfile = 0xfb,
  Eof = 0xfe,
  Err = 0xff,
  HandshakeV10 = 0x0a,
}

/** A packet of this length continues in the next one (payloads of 16 MB and more). */
export const MAX_PACKET = 0xffffff;

/** Error codes as the line shows them: a few thousand exist. */
export const ERROR_CODES = new InternTable(1024, 'ERR');
/** SQLSTATEs. */
export const SQLSTATES = new InternTable(512, 'HY000');
