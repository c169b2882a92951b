// -m raw: one line per packet with payload, as the original printed them:
// time sip:sport=>dip:dport REQ|RSP seq ack flags size payload
import { IpProto, type Packet } from '../decode/packet';
import { formatEndpoint } from '../connections/address';
import { WallClockFormatter } from './clock';
import type { FdWriter } from './writer';

/** Payload bytes shown per packet; the rest is marked "...". */
const PAYLOAD_SHOWN = 1024;

/** Printable ASCII as is; \r \n \t and other bytes escaped, so one packet stays one line. */
export function escapePayload(buf: Buffer, start: number, end: number): string {
  let out = '';
  let run = start;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) continue;
    out += buf.toString('latin1', run, i);
    out += b === 13 ? '\\r' : b === 10 ? '\\n' : b === 9 ? '\\t' : b === 0x5c ? '\\\\' : `\\x${b.toString(16).padStart(2, '0')}`;
    run = i + 1;
  }
  return out + buf.toString('latin1', run, end);
}

export class RawPacketOutput {
  private readonly clock = new WallClockFormatter();

  constructor(private readonly writer: FdWriter) {}

  packet(p: Packet, buf: Buffer, fromClient: boolean): void {
    if (p.payloadLen === 0) return;
    const src = formatEndpoint(p.family, p.s0, p.s1, p.s2, p.s3, p.sport);
    const dst = formatEndpoint(p.family, p.d0, p.d1, p.d2, p.d3, p.dport);
    const shown = p.payloadCap < PAYLOAD_SHOWN ? p.payloadCap : PAYLOAD_SHOWN;
    let payload = escapePayload(buf, p.payloadOff, p.payloadOff + shown);
    if (shown < p.payloadLen) payload += '...';
    const kind = fromClient ? 'REQ' : 'RSP';
    const time = this.clock.format(p.tsSec, p.tsNsec);
    if (p.proto === IpProto.Tcp) {
      this.writer.write(`${time} ${src}=>${dst} ${kind} ${p.seq} ${p.ack} ${p.flags} ${p.payloadLen} ${payload}\n`);
    } else {
      this.writer.write(`${time} ${src}=>${dst} ${kind} ${p.payloadLen} ${payload}\n`);
    }
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}
