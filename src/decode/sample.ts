// An eBPF sample (bpf/sample.h) decoded in place: the kernel program has
// already parsed IP and TCP/UDP to filter, so its header says what a packet
// is (flow, direction, seq, ack, flags, lengths) and the payload follows.
// Only the fields pairing needs are read per packet; the addresses only when
// the connection table meets a flow for the first time.
// test/unit/engine/record.test.ts compiles bpf/sample.h and checks these offsets.
import { Packet } from './packet';

export const SAMPLE_HDR_LEN = 80;

/** Byte offsets of struct tk_sample's fields (little-endian, as the host). */
export const enum SampleField {
  TsSec = 0, // __u32 CLOCK_MONOTONIC seconds
  TsNsec = 4, // __u32
  FlowId = 8, // __u32 the kernel's flow id; 0: none
  Seq = 12, // __u32
  Ack = 16, // __u32
  PayloadLen = 20, // __u32 transport payload on the wire
  CapLen = 24, // __u32 bytes that follow the header
  OrigLen = 28, // __u32 from the IP header on
  Ifindex = 32, // __u32
  Sport = 36, // __u16
  Dport = 38, // __u16
  TcpFlags = 40, // __u8
  Info = 41, // __u8 SampleInfo bits
  Proto = 42, // __u8
  Family = 43, // __u8
  PktType = 44, // __u8
  Saddr = 48, // 16 bytes, IPv4 in the first 4
  Daddr = 64, // 16 bytes
}

export const enum SampleInfo {
  /** The sender is the flow key's lower (address, port) end. */
  SrcLow = 0x01,
  /** The bytes are the whole IP packet (-S, -w, raw mode), not the payload. */
  Full = 0x02,
  NewFlow = 0x04,
  /** The kernel's flow map could not take the flow: FlowId is 0. */
  NoFlow = 0x08,
}

/** The layout as a value, for the test that checks it against bpf/sample.h. */
export const SAMPLE_LAYOUT = {
  size: SAMPLE_HDR_LEN,
  ts_sec: SampleField.TsSec,
  ts_nsec: SampleField.TsNsec,
  flow_id: SampleField.FlowId,
  seq: SampleField.Seq,
  ack: SampleField.Ack,
  payload_len: SampleField.PayloadLen,
  cap_len: SampleField.CapLen,
  orig_len: SampleField.OrigLen,
  ifindex: SampleField.Ifindex,
  sport: SampleField.Sport,
  dport: SampleField.Dport,
  tcp_flags: SampleField.TcpFlags,
  info: SampleField.Info,
  proto: SampleField.Proto,
  family: SampleField.Family,
  pkt_type: SampleField.PktType,
  saddr: SampleField.Saddr,
  daddr: SampleField.Daddr,
} as const;

/** The 5-tuple of the sample at buf[off]: what the connection table needs the first time it meets a flow. */
export function sampleAddresses(buf: Buffer, off: number, p: Packet): void {
  p.family = buf[off + SampleField.Family];
  p.proto = buf[off + SampleField.Proto];
  p.sport = buf[off + SampleField.Sport] | (buf[off + SampleField.Sport + 1] << 8);
  p.dport = buf[off + SampleField.Dport] | (buf[off + SampleField.Dport + 1] << 8);
  const s = off + SampleField.Saddr;
  const d = off + SampleField.Daddr;
  if (p.family === 4) {
    p.s0 = p.s1 = p.s2 = 0;
    p.d0 = p.d1 = p.d2 = 0;
    p.s3 = buf.readUInt32BE(s);
    p.d3 = buf.readUInt32BE(d);
  } else {
    p.s0 = buf.readUInt32BE(s);
    p.s1 = buf.readUInt32BE(s + 4);
    p.s2 = buf.readUInt32BE(s + 8);
    p.s3 = buf.readUInt32BE(s + 12);
    p.d0 = buf.readUInt32BE(d);
    p.d1 = buf.readUInt32BE(d + 4);
    p.d2 = buf.readUInt32BE(d + 8);
    p.d3 = buf.readUInt32BE(d + 12);
  }
}
