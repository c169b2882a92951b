// Mirror of bpf/record.h: the layout of one record in a batch.
// test/unit/engine/record.test.ts compiles the C header and checks these agree.

export const RECORD_HDR_LEN = 24;
export const RECORD_ALIGN = 8;

/** Byte offsets of the fields of struct tk_record (all little-endian). */
export const enum RecordField {
  TsSec = 0, // __u32 wall clock seconds
  TsNsec = 4, // __u32 nanoseconds within the second
  Ifindex = 8, // __u32 interface index, 0 when unknown
  OrigLen = 12, // __u32 length on the wire
  CapLen = 16, // __u32 captured bytes following the header
  LinkType = 20, // __u16 TK_LINK_* (libpcap DLT numbers)
  Direction = 22, // __u8 TK_DIR_*
}

export const enum LinkType {
  Null = 0,
  Ethernet = 1,
  Raw = 12,
  RawAlt = 101,
  Loop = 108,
  LinuxSll = 113,
  Ipv4 = 228,
  Ipv6 = 229,
  LinuxSll2 = 276,
}

export const enum Direction {
  Unknown = 0,
  Ingress = 1,
  Egress = 2,
}

/** Offset of the record after the one at `off` whose captured length is `capLen`. */
export function nextRecord(off: number, capLen: number): number {
  return off + ((RECORD_HDR_LEN + capLen + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1));
}

/** The layout as a value, for the test that checks it against bpf/record.h. */
export const RECORD_LAYOUT = {
  size: RECORD_HDR_LEN,
  align: RECORD_ALIGN,
  ts_sec: RecordField.TsSec,
  ts_nsec: RecordField.TsNsec,
  ifindex: RecordField.Ifindex,
  orig_len: RecordField.OrigLen,
  cap_len: RecordField.CapLen,
  link_type: RecordField.LinkType,
  direction: RecordField.Direction,
} as const;
