// Kafka messages as the protocol specification lays them out, for tests, the
// benchmark capture and the live test's responder: a writer for the field
// types, and requests and responses of the APIs tcpkit decodes.
import { isFlexible } from '../../src/protocol/kafka';

export class Wire {
  private bufs: Buffer[] = [];
  constructor(readonly flex = false) {}

  raw(b: Buffer): this {
    this.bufs.push(b);
    return this;
  }
  i8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.raw(b);
  }
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.raw(b);
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.raw(b);
  }
  i64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.raw(b);
  }
  uvarint(v: number): this {
    const out: number[] = [];
    do {
      let b = v & 0x7f;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      out.push(b);
    } while (v > 0);
    return this.raw(Buffer.from(out));
  }
  /** A string (compact when flexible); null for a null string. */
  str(s: string | null): this {
    if (s === null) return this.flex ? this.uvarint(0) : this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    if (this.flex) this.uvarint(b.length + 1);
    else this.i16(b.length);
    return this.raw(b);
  }
  /** A classic string, whatever the version (a request header's client_id). */
  classicStr(s: string | null): this {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.i16(b.length).raw(b);
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.flex ? this.uvarint(0) : this.i32(-1);
    if (this.flex) this.uvarint(b.length + 1);
    else this.i32(b.length);
    return this.raw(b);
  }
  /** An array's count (compact when flexible), then each element written by `each`. */
  array<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.flex ? this.uvarint(0) : this.i32(-1);
    if (this.flex) this.uvarint(items.length + 1);
    else this.i32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  /** An empty tagged-field section (flexible only). */
  tags(): this {
    return this.flex ? this.uvarint(0) : this;
  }
  /** A tagged-field section with one field, to check that fields are stepped over. */
  tagsWith(tag: number, data: Buffer): this {
    if (!this.flex) return this;
    return this.uvarint(1).uvarint(tag).uvarint(data.length).raw(data);
  }
  build(): Buffer {
    return Buffer.concat(this.bufs);
  }
}

/** A whole request: size, header (v1, or v2 with tagged fields when flexible), body. */
export function request(key: number, ver: number, corr: number, clientId: string | null, body: (w: Wire) => void): Buffer {
  const flex = isFlexible(key, ver);
  const w = new Wire(flex).i16(key).i16(ver).i32(corr).classicStr(clientId);
  if (flex) w.tags();
  body(w);
  return framed(w.build());
}

/** A whole response: size, correlation id (and tagged fields when flexible, never for ApiVersions), body. */
export function response(key: number, ver: number, corr: number, body: (w: Wire) => void): Buffer {
  const flex = isFlexible(key, ver);
  const w = new Wire(flex).i32(corr);
  if (flex && key !== 18) w.tags();
  body(w);
  return framed(w.build());
}

export function framed(b: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(b.length);
  return Buffer.concat([size, b]);
}

export interface TopicParts {
  name: string;
  partitions: number[];
}

/** A record batch stand-in: the parser steps over records by their length. */
export const RECORDS = Buffer.alloc(70, 0x61);

export function produceRequest(ver: number, corr: number, acks: number, topics: TopicParts[], clientId = 'producer-1'): Buffer {
  return request(0, ver, corr, clientId, (w) => {
    if (ver >= 3) w.str(null);
    w.i16(acks).i32(30000);
    w.array(topics, (w, t) => {
      w.str(t.name);
      w.array(t.partitions, (w, p) => w.i32(p).bytes(RECORDS).tags());
      w.tags();
    });
    w.tags();
  });
}

/** Partition errors, by topic, in the order of `topics`. */
export function produceResponse(ver: number, corr: number, topics: TopicParts[], errors: number[][] = []): Buffer {
  return response(0, ver, corr, (w) => {
    w.array(topics, (w, t) => {
      const ti = topics.indexOf(t);
      w.str(t.name);
      w.array(t.partitions, (w, p) => {
        const pi = t.partitions.indexOf(p);
        w.i32(p).i16(errors[ti]?.[pi] ?? 0).i64(42);
        if (ver >= 2) w.i64(-1);
        if (ver >= 5) w.i64(0);
        if (ver >= 8) w.array([] as number[], () => {}).str(null);
        w.tags();
      });
      w.tags();
    });
    if (ver >= 1) w.i32(0);
    w.tags();
  });
}

export function fetchRequest(ver: number, corr: number, maxWaitMs: number, topics: TopicParts[], clientId = 'consumer-1'): Buffer {
  return request(1, ver, corr, clientId, (w) => {
    if (ver < 15) w.i32(-1);
    w.i32(maxWaitMs).i32(1);
    if (ver >= 3) w.i32(52428800);
    if (ver >= 4) w.i8(0);
    if (ver >= 7) w.i32(0).i32(-1);
    w.array(topics, (w, t) => {
      w.str(t.name);
      w.array(t.partitions, (w, p) => {
        w.i32(p);
        if (ver >= 9) w.i32(0);
        w.i64(36);
        if (ver >= 12) w.i32(-1);
        if (ver >= 5) w.i64(-1);
        w.i32(1048576).tags();
      });
      w.tags();
    });
    if (ver >= 7) w.array([] as number[], () => {});
    if (ver >= 11) w.str('');
    w.tags();
  });
}

/** A Fetch response; `records` per partition (same for all), and partition errors by topic. */
export function fetchResponse(ver: number, corr: number, topics: TopicParts[], records: Buffer | null, errors: number[][] = [], topError = 0): Buffer {
  return response(1, ver, corr, (w) => {
    if (ver >= 1) w.i32(0);
    if (ver >= 7) w.i16(topError).i32(0);
    w.array(topics, (w, t) => {
      const ti = topics.indexOf(t);
      w.str(t.name);
      w.array(t.partitions, (w, p) => {
        const pi = t.partitions.indexOf(p);
        w.i32(p).i16(errors[ti]?.[pi] ?? 0).i64(100);
        if (ver >= 4) w.i64(100);
        if (ver >= 5) w.i64(0);
        if (ver >= 4) w.array([] as number[], () => {});
        if (ver >= 11) w.i32(-1);
        w.bytes(records);
        w.tagsWith(1, Buffer.from([0, 0, 0, 1, 0, 0, 0, 5]));
      });
      w.tags();
    });
    w.tags();
  });
}

export function metadataRequest(ver: number, corr: number, topics: string[] | null, clientId = 'admin-1'): Buffer {
  return request(3, ver, corr, clientId, (w) => {
    w.array(topics, (w, t) => {
      if (ver >= 10) w.raw(Buffer.alloc(16));
      w.str(t).tags();
    });
    if (ver >= 4) w.i8(1);
    if (ver >= 8 && ver <= 10) w.i8(0);
    if (ver >= 8) w.i8(0);
    w.tags();
  });
}

export interface Broker {
  id: number;
  host: string;
  port: number;
}

/** A Metadata response: the brokers, and each topic with its partitions led by broker `brokers[0]`; topic errors by index. */
export function metadataResponse(ver: number, corr: number, brokers: Broker[], topics: TopicParts[], topicErrors: number[] = []): Buffer {
  return response(3, ver, corr, (w) => {
    if (ver >= 3) w.i32(0);
    w.array(brokers, (w, b) => {
      w.i32(b.id).str(b.host).i32(b.port);
      if (ver >= 1) w.str(null);
      w.tags();
    });
    if (ver >= 2) w.str('tcpkit-test');
    if (ver >= 1) w.i32(brokers[0]?.id ?? -1);
    w.array(topics, (w, t) => {
      w.i16(topicErrors[topics.indexOf(t)] ?? 0).str(t.name);
      if (ver >= 10) w.raw(Buffer.alloc(16, 1));
      if (ver >= 1) w.i8(0);
      w.array(t.partitions, (w, p) => {
        w.i16(0).i32(p).i32(brokers[0]?.id ?? -1);
        if (ver >= 7) w.i32(0);
        w.array([brokers[0]?.id ?? 0], (w, r) => w.i32(r));
        w.array([brokers[0]?.id ?? 0], (w, r) => w.i32(r));
        if (ver >= 5) w.array([] as number[], () => {});
        w.tags();
      });
      if (ver >= 8) w.i32(-2147483648);
      w.tags();
    });
    if (ver >= 8 && ver <= 10) w.i32(-2147483648);
    if (ver >= 13) w.i16(0);
    w.tags();
  });
}

/** An ApiVersions response listing `apis` ([key, min, max]); its header never has tagged fields. */
export function apiVersionsResponse(ver: number, corr: number, apis: [number, number, number][], error = 0): Buffer {
  return response(18, ver, corr, (w) => {
    w.i16(error);
    w.array(apis, (w, [k, lo, hi]) => w.i16(k).i16(lo).i16(hi).tags());
    if (ver >= 1) w.i32(0);
    w.tags();
  });
}

export function apiVersionsRequest(ver: number, corr: number, clientId = 'admin-1'): Buffer {
  return request(18, ver, corr, clientId, (w) => {
    if (ver >= 3) w.str('tcpkit-test').str('1.0').tags();
  });
}
