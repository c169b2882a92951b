// IP fragment reassembly (IPv4 and IPv6), for datagrams too big for one
// packet: a DNS answer with DNSSEC or a large EDNS payload, a big memcached
// UDP request. Fragments are rare, so this path may allocate; it is bounded
// (datagrams in progress, bytes held, time waited) and never throws.
import { DecodeResult, Packet, decodeTransport } from './packet';

/** Datagrams being put together at once, the bytes they may hold, and how long one may wait. */
export const MAX_DATAGRAMS = 1024;
export const MAX_BYTES = 8 << 20;
export const MAX_WAIT_SEC = 30;
/** The largest IP datagram. */
const MAX_DATAGRAM_LEN = 65535;

export interface FragmentCounters {
  /** Fragments seen. */
  fragments: number;
  /** Datagrams put together from them. */
  reassembled: number;
  /** Fragments given up on: cut by snaplen, overlapping inconsistently, over a limit, or never completed. */
  dropped: number;
}

class Datagram {
  readonly pieces: { off: number; data: Buffer }[] = [];
  /** The datagram's length, known once its last fragment arrived (-1 before). */
  total = -1;
  have = 0;
  /** When the fragment at offset 0 was captured: the datagram's time. */
  tsSec = 0;
  tsNsec = 0;
  haveFirst = false;
  constructor(readonly firstSeen: number) {}
}

export class Reassembler {
  readonly counters: FragmentCounters = { fragments: 0, reassembled: 0, dropped: 0 };
  private readonly pending = new Map<string, Datagram>();
  private bytes = 0;

  /** Datagrams waiting for fragments. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Takes the fragment decodePacket() just described in `p` (its data in
   * `buf`). When it completes a datagram, decodes the datagram's transport
   * header into `p` and returns the buffer p's payload offsets now refer to;
   * otherwise null.
   */
  add(p: Packet, buf: Buffer): Buffer | null {
    const c = this.counters;
    c.fragments++;
    if (p.payloadCap < p.payloadLen || p.fragOffset + p.payloadLen > MAX_DATAGRAM_LEN || (p.fragMore && (p.payloadLen & 7) !== 0)) {
      c.dropped++; // cut by snaplen, or not a fragment IP would make
      return null;
    }
    const key = `${p.family}/${p.proto}/${p.s0}.${p.s1}.${p.s2}.${p.s3}/${p.d0}.${p.d1}.${p.d2}.${p.d3}/${p.fragId}`;
    let d = this.pending.get(key);
    if (d === undefined) {
      if (this.pending.size >= MAX_DATAGRAMS) this.evictOldest();
      d = new Datagram(p.tsSec);
      this.pending.set(key, d);
    }
    if (this.bytes + p.payloadLen > MAX_BYTES) {
      this.forget(key, d);
      c.dropped++;
      return null;
    }
    const off = p.fragOffset;
    const end = off + p.payloadLen;
    if (!p.fragMore) {
      if ((d.total >= 0 && d.total !== end) || d.pieces.some((x) => x.off + x.data.length > end)) {
        this.forget(key, d);
        c.dropped++;
        return null;
      }
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      this.forget(key, d);
      c.dropped++;
      return null;
    }
    // A retransmitted fragment adds nothing; overlaps are trimmed when put together.
    if (d.pieces.some((x) => x.off === off && x.data.length === p.payloadLen)) return null;
    d.pieces.push({ off, data: Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen)) });
    d.have += p.payloadLen;
    this.bytes += p.payloadLen;
    if (off === 0) {
      d.haveFirst = true;
      d.tsSec = p.tsSec;
      d.tsNsec = p.tsNsec;
    }
    if (d.total < 0 || !d.haveFirst || d.have < d.total) return null;
    const whole = assemble(d);
    if (whole === null) return null; // overlaps: some bytes are still missing
    this.forget(key, d);
    c.reassembled++;
    p.tsSec = d.tsSec;
    p.tsNsec = d.tsNsec;
    return decodeTransport(whole, 0, whole.length, whole.length, p) === DecodeResult.Ok ? whole : null;
  }

  /** Gives up on datagrams still incomplete after MAX_WAIT_SEC of capture time. */
  sweep(nowSec: number): void {
    for (const [key, d] of this.pending) {
      if (nowSec - d.firstSeen >= MAX_WAIT_SEC) {
        this.counters.dropped += d.pieces.length;
        this.forget(key, d);
      }
    }
  }

  private evictOldest(): void {
    const first = this.pending.entries().next();
    if (first.done === true) return;
    this.counters.dropped += first.value[1].pieces.length;
    this.forget(first.value[0], first.value[1]);
  }

  private forget(key: string, d: Datagram): void {
    for (const x of d.pieces) this.bytes -= x.data.length;
    this.pending.delete(key);
  }
}

/** The datagram's bytes, in order, or null while a hole remains. */
function assemble(d: Datagram): Buffer | null {
  d.pieces.sort((a, b) => a.off - b.off);
  const out = Buffer.allocUnsafe(d.total);
  let filled = 0;
  for (const x of d.pieces) {
    if (x.off > filled) return null;
    const from = filled - x.off;
    if (from < x.data.length) filled += x.data.copy(out, filled, from);
  }
  return filled === d.total ? out : null;
}
