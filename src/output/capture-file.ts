// -w FILE: the captured packets as a pcap file (nanosecond timestamps) that
// tcpdump, Wireshark and `tcpkit -r` read. One write per batch.
import fs from 'node:fs';
import { RECORD_HDR_LEN, RecordField, nextRecord } from '../engine/record';
import { RING_DISCARD, RING_HDR_LEN, nextRingRecord } from '../engine/ring';
import { SAMPLE_HDR_LEN, SampleField, SampleInfo } from '../decode/sample';
import { openForWriting, outputError } from './writer';

const PCAP_MAGIC_NS = 0xa1b23c4d;
const FILE_HDR_LEN = 24;
const PKT_HDR_LEN = 16;

/** DLT numbers that differ from the LINKTYPE numbers files carry. */
function fileLinkType(dlt: number): number {
  if (dlt === 12 || dlt === 14) return 101; // DLT_RAW -> LINKTYPE_RAW
  return dlt;
}

export class CaptureFileWriter {
  private readonly fd: number;
  private arena = Buffer.allocUnsafeSlow(1 << 20);
  packets = 0;

  /** Opens the file: before capture starts, so that a path that cannot be written stops the run first. */
  constructor(readonly file: string) {
    this.fd = openForWriting('-w', file);
  }

  /** Gives the file to the user tcpkit will run as (-Z). */
  chown(uid: number, gid: number): void {
    fs.fchownSync(this.fd, uid, gid);
  }

  /** The file header, once the engine's link type is known. */
  start(linkType: number, snaplen: number): void {
    const h = Buffer.alloc(FILE_HDR_LEN);
    h.writeUInt32LE(PCAP_MAGIC_NS, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(fileLinkType(linkType), 20);
    this.writeAll(h, h.length);
  }

  private writeAll(buf: Buffer, n: number): void {
    try {
      for (let done = 0; done < n; ) done += fs.writeSync(this.fd, buf, done, n - done);
    } catch (e) {
      throw outputError(`-w ${this.file}`, e as NodeJS.ErrnoException);
    }
  }

  /** Appends every record of a batch. */
  write(buf: Buffer, used: number): void {
    // Records are at least as long as their pcap headers (24 vs 16 bytes): the
    // batch's size bounds the output's.
    if (this.arena.length < used) this.arena = Buffer.allocUnsafeSlow(used);
    const out = this.arena;
    let o = 0;
    for (let off = 0; off < used; ) {
      const cap = buf.readUInt32LE(off + RecordField.CapLen);
      out.writeUInt32LE(buf.readUInt32LE(off + RecordField.TsSec), o);
      out.writeUInt32LE(buf.readUInt32LE(off + RecordField.TsNsec), o + 4);
      out.writeUInt32LE(cap, o + 8);
      out.writeUInt32LE(buf.readUInt32LE(off + RecordField.OrigLen), o + 12);
      const data = off + RECORD_HDR_LEN;
      out.set(buf.subarray(data, data + cap), o + PKT_HDR_LEN);
      o += PKT_HDR_LEN + cap;
      off = nextRecord(off, cap);
      this.packets++;
    }
    this.writeAll(out, o);
  }

  /**
   * Appends the whole-packet samples of an eBPF drain (engine/engine.ts
   * SampleHandler; -w makes the program send whole packets, pure ACKs
   * included, so the file holds what libpcap would have written).
   */
  writeSamples(data: Buffer, start: number, end: number, offSec: number, offNsec: number): void {
    // Samples are longer than their pcap headers (80 vs 16 bytes).
    if (this.arena.length < end - start) this.arena = Buffer.allocUnsafeSlow(end - start);
    const out = this.arena;
    let o = 0;
    for (let off = start; off < end; ) {
      const lenWord = data.readUInt32LE(off);
      const s = off + RING_HDR_LEN;
      off = nextRingRecord(off, lenWord);
      if ((lenWord & RING_DISCARD) !== 0 || (data[s + SampleField.Info] & SampleInfo.Full) === 0) continue;
      let sec = data.readUInt32LE(s + SampleField.TsSec) + offSec;
      let nsec = data.readUInt32LE(s + SampleField.TsNsec) + offNsec;
      if (nsec >= 1e9) {
        nsec -= 1e9;
        sec++;
      }
      const cap = data.readUInt32LE(s + SampleField.CapLen);
      out.writeUInt32LE(sec >>> 0, o);
      out.writeUInt32LE(nsec, o + 4);
      out.writeUInt32LE(cap, o + 8);
      out.writeUInt32LE(data.readUInt32LE(s + SampleField.OrigLen), o + 12);
      data.copy(out, o + PKT_HDR_LEN, s + SAMPLE_HDR_LEN, s + SAMPLE_HDR_LEN + cap);
      o += PKT_HDR_LEN + cap;
      this.packets++;
    }
    this.writeAll(out, o);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
