// decode/: link, IP and transport headers, decoded in place from a batch
// buffer into one reused Packet: no allocation per packet. Imports engine's
// record layout only.
import { LinkType } from '../engine/record';

export const enum IpProto {
  Tcp = 6,
  Udp = 17,
}

/** TCP flags in the original tool's numbering (also the wire's low bits). */
export const enum TcpFlag {
  Fin = 1,
  Syn = 2,
  Rst = 4,
  Psh = 8,
  Ack = 16,
  Urg = 32,
}

/** Why a record was not decoded; 0 means it was. */
export const enum DecodeResult {
  Ok = 0,
  UnknownLink, // a link type we do not decode
  NotIp, // ARP, LLDP, ...
  Truncated, // headers cut short by snaplen or a broken packet
  Fragment, // a non-first IP fragment (or a first one whose rest we cannot see)
  OtherProto, // ICMP, SCTP, ...
  // Encapsulations whose inner packet is not IP, by name:
  PppoeNotIp, // PPPoE discovery, or PPP control (LCP, IPCP, ...) in a session
  MplsNotIp, // an MPLS label stack over something else (a pseudowire)
  GreNotIp, // GRE carrying neither IP nor Ethernet (nor ERSPAN)
  TunnelTooDeep, // more encapsulations nested than tcpkit opens
}

/** How many DecodeResult values there are: the size of a count array indexed by them. */
export const DECODE_RESULTS = DecodeResult.TunnelTooDeep + 1;

/** What the summary says of the packets not decoded, for each DecodeResult but Ok. */
const NOT_DECODED_TEXT = [
  '',
  'of a link type tcpkit does not decode',
  'not IP',
  'cut short or malformed',
  'IP fragments',
  'neither TCP nor UDP',
  'PPPoE discovery or PPP control',
  'MPLS not carrying IP',
  'GRE carrying neither IP nor Ethernet',
  'tunnels nested too deep',
];

/** "3 cut short or malformed, 1 not IP": why packets were not decoded, from counts by DecodeResult. */
export function notDecodedText(counts: readonly number[]): string {
  const parts: string[] = [];
  for (let r = 1; r < counts.length; r++) if (counts[r] > 0) parts.push(`${counts[r]} ${NOT_DECODED_TEXT[r]}`);
  return parts.join(', ');
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100; // 802.1Q
const ETHERTYPE_QINQ = 0x88a8; // 802.1ad
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_PPPOE_DISCOVERY = 0x8863;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
/** GRE protocol types: Ethernet bridged over GRE (NVGRE too), ERSPAN type II and type III. */
const ETHERTYPE_TEB = 0x6558;
const ETHERTYPE_ERSPAN2 = 0x88be;
const ETHERTYPE_ERSPAN3 = 0x22eb;
/** PPP protocol numbers of IPv4 and IPv6. */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
/** PPPoE header (version/type, code, session id, length) and the PPP protocol field after it. */
const PPPOE_HDR_LEN = 8;
const MPLS_LABEL_LEN = 4;
const GRE_MIN_HDR_LEN = 4;
const ERSPAN2_HDR_LEN = 8;
const ERSPAN3_HDR_LEN = 12;
const VXLAN_PORT = 4789;
const GENEVE_PORT = 6081;
const VXLAN_HDR_LEN = 8;
const GENEVE_MIN_HDR_LEN = 8;
const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
const IPPROTO_GRE = 47;
/** Most encapsulations opened inside one another (PPPoE in VLANs counts once, VXLAN in IP once). */
const MAX_TUNNELS = 4;
/** Marks an inner Ethernet frame (VXLAN, Geneve, GRE bridging, ERSPAN) where an ethertype goes. */
const INNER_ETHERNET = -1;
const ETH_HDR_LEN = 14;
const VLAN_TAG_LEN = 4;
const SLL_HDR_LEN = 16; // protocol at byte 14
const SLL2_HDR_LEN = 20; // protocol at byte 0
const NULL_HDR_LEN = 4;
const IPV6_HDR_LEN = 40;
const UDP_HDR_LEN = 8;
const TCP_MIN_HDR_LEN = 20;

/** One decoded packet. Addresses are four 32-bit words; IPv4 uses only the last. */
export class Packet {
  tsSec = 0;
  tsNsec = 0;
  family = 0; // 4 or 6
  proto = 0; // IpProto
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** Where the payload starts in the batch buffer. */
  payloadOff = 0;
  /** Payload bytes present in the capture. */
  payloadCap = 0;
  /** Payload bytes on the wire (payloadCap is less when snaplen cut the packet). */
  payloadLen = 0;
  /**
   * When decodePacket() says Fragment: the fragment's id, where its data goes
   * in the datagram, and whether more follow. payloadOff/Cap/Len then describe
   * the fragment's data (the IP payload, transport header included).
   */
  fragId = 0;
  fragOffset = 0;
  fragMore = false;
}

/** A DataView over the last buffer decoded from: fields are read big-endian in one access. */
let viewOf: Buffer | null = null;
let view: DataView = new DataView(new ArrayBuffer(0));

function viewFor(b: Buffer): DataView {
  if (b !== viewOf) {
    viewOf = b;
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return view;
}

/**
 * Decodes the record data at buf[off, off+capLen) of the given link type into `p`.
 * Returns DecodeResult.Ok or why it could not.
 */
export function decodePacket(buf: Buffer, off: number, capLen: number, linkType: number, p: Packet): DecodeResult {
  const end = off + capLen;
  const dv = viewFor(buf);
  let ip = off;
  let ethertype = 0;
  switch (linkType) {
    case LinkType.Ethernet: {
      if (capLen < ETH_HDR_LEN) return DecodeResult.Truncated;
      ethertype = dv.getUint16(off + 12);
      ip = off + ETH_HDR_LEN;
      while (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ || ethertype === ETHERTYPE_QINQ_OLD) {
        if (ip + VLAN_TAG_LEN > end) return DecodeResult.Truncated;
        ethertype = dv.getUint16(ip + 2);
        ip += VLAN_TAG_LEN;
      }
      break;
    }
    case LinkType.LinuxSll:
      if (capLen < SLL_HDR_LEN) return DecodeResult.Truncated;
      ethertype = dv.getUint16(off + 14);
      ip = off + SLL_HDR_LEN;
      break;
    case LinkType.LinuxSll2:
      if (capLen < SLL2_HDR_LEN) return DecodeResult.Truncated;
      ethertype = dv.getUint16(off);
      ip = off + SLL2_HDR_LEN;
      break;
    case LinkType.Null:
    case LinkType.Loop: {
      if (capLen < NULL_HDR_LEN) return DecodeResult.Truncated;
      // The family is in the writer's byte order (NULL) or network order (LOOP):
      // 2 is IPv4 everywhere; 24, 28 and 30 are IPv6 on the BSDs and macOS.
      const fam = buf[off] !== 0 ? buf[off] : buf[off + 3];
      ethertype = fam === 2 ? ETHERTYPE_IPV4 : fam === 24 || fam === 28 || fam === 30 ? ETHERTYPE_IPV6 : 0;
      ip = off + NULL_HDR_LEN;
      break;
    }
    case LinkType.Raw:
    case LinkType.RawAlt:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      if (capLen < 1) return DecodeResult.Truncated;
      ethertype = buf[off] >> 4 === 4 ? ETHERTYPE_IPV4 : buf[off] >> 4 === 6 ? ETHERTYPE_IPV6 : 0;
      break;
    default:
      return DecodeResult.UnknownLink;
  }

  let l4 = 0;
  let l4End = 0; // end of the transport segment on the wire, relative to buf
  let proto = 0;
  // Each pass decodes one IP header; a tunnel (IP in IP, GRE, VXLAN, Geneve) goes round again with its inner packet.
  for (let tunnels = 0; ; tunnels++) {
    if (ethertype !== ETHERTYPE_IPV4 && ethertype !== ETHERTYPE_IPV6) {
      // Encapsulations below IP: an inner Ethernet frame, VLAN tags, PPPoE, MPLS.
      for (let hops = 0; ; hops++) {
        if (hops === MAX_TUNNELS) return DecodeResult.TunnelTooDeep;
        if (ethertype === INNER_ETHERNET) {
          if (ip + ETH_HDR_LEN > end) return DecodeResult.Truncated;
          ethertype = dv.getUint16(ip + 12);
          ip += ETH_HDR_LEN;
        }
        while (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ || ethertype === ETHERTYPE_QINQ_OLD) {
          if (ip + VLAN_TAG_LEN > end) return DecodeResult.Truncated;
          ethertype = dv.getUint16(ip + 2);
          ip += VLAN_TAG_LEN;
        }
        if (ethertype === ETHERTYPE_PPPOE_SESSION) {
          if (ip + PPPOE_HDR_LEN > end) return DecodeResult.Truncated;
          const ppp = dv.getUint16(ip + 6);
          ip += PPPOE_HDR_LEN;
          if (ppp === PPP_IPV4) ethertype = ETHERTYPE_IPV4;
          else if (ppp === PPP_IPV6) ethertype = ETHERTYPE_IPV6;
          else return DecodeResult.PppoeNotIp;
        } else if (ethertype === ETHERTYPE_PPPOE_DISCOVERY) {
          return DecodeResult.PppoeNotIp;
        } else if (ethertype === ETHERTYPE_MPLS || ethertype === ETHERTYPE_MPLS_MULTICAST) {
          // Labels up to the one marked bottom of stack; then the payload says what it is by its first nibble.
          let bottom = false;
          while (!bottom) {
            if (ip + MPLS_LABEL_LEN > end) return DecodeResult.Truncated;
            bottom = (buf[ip + 2] & 1) !== 0;
            ip += MPLS_LABEL_LEN;
          }
          if (ip >= end) return DecodeResult.Truncated;
          const v = buf[ip] >> 4;
          if (v === 4) ethertype = ETHERTYPE_IPV4;
          else if (v === 6) ethertype = ETHERTYPE_IPV6;
          else return DecodeResult.MplsNotIp;
        }
        if (ethertype !== INNER_ETHERNET) break;
      }
    }
    if (ethertype === ETHERTYPE_IPV4) {
      if (ip + 20 > end) return DecodeResult.Truncated;
      const ihl = (buf[ip] & 0x0f) << 2;
      if (buf[ip] >> 4 !== 4 || ihl < 20) return DecodeResult.Truncated;
      let total = dv.getUint16(ip + 2);
      // Segmentation offload can leave 0 in a captured length; trust the capture then.
      if (total === 0) total = end - ip;
      if (total < ihl) return DecodeResult.Truncated;
      proto = buf[ip + 9];
      p.family = 4;
      p.s0 = p.s1 = p.s2 = 0;
      p.d0 = p.d1 = p.d2 = 0;
      p.s3 = dv.getUint32(ip + 12);
      p.d3 = dv.getUint32(ip + 16);
      l4 = ip + ihl;
      l4End = ip + total;
      const fragField = dv.getUint16(ip + 6);
      if ((fragField & 0x3fff) !== 0) {
        p.proto = proto;
        p.fragId = dv.getUint16(ip + 4);
        p.fragOffset = (fragField & 0x1fff) << 3;
        p.fragMore = (fragField & 0x2000) !== 0;
        return fragmentData(p, l4, end, l4End);
      }
    } else if (ethertype === ETHERTYPE_IPV6) {
      if (ip + IPV6_HDR_LEN > end) return DecodeResult.Truncated;
      if (buf[ip] >> 4 !== 6) return DecodeResult.Truncated;
      let payloadLen = dv.getUint16(ip + 4);
      if (payloadLen === 0) payloadLen = end - ip - IPV6_HDR_LEN; // jumbogram or offload
      proto = buf[ip + 6];
      p.family = 6;
      p.s0 = dv.getUint32(ip + 8);
      p.s1 = dv.getUint32(ip + 12);
      p.s2 = dv.getUint32(ip + 16);
      p.s3 = dv.getUint32(ip + 20);
      p.d0 = dv.getUint32(ip + 24);
      p.d1 = dv.getUint32(ip + 28);
      p.d2 = dv.getUint32(ip + 32);
      p.d3 = dv.getUint32(ip + 36);
      l4 = ip + IPV6_HDR_LEN;
      l4End = l4 + payloadLen;
      // Walk the extension headers to the transport header.
      for (let hops = 0; hops < 8; hops++) {
        if (proto === 0 || proto === 43 || proto === 60) {
          if (l4 + 8 > end) return DecodeResult.Truncated;
          proto = buf[l4];
          l4 += (buf[l4 + 1] + 1) << 3;
        } else if (proto === 44) {
          if (l4 + 8 > end) return DecodeResult.Truncated;
          const fragField = dv.getUint16(l4 + 2);
          proto = buf[l4];
          if ((fragField & 0xfff9) !== 0) {
            p.proto = proto;
            p.fragId = dv.getUint32(l4 + 4);
            p.fragOffset = fragField & 0xfff8;
            p.fragMore = (fragField & 1) !== 0;
            return fragmentData(p, l4 + 8, end, l4End);
          }
          l4 += 8;
        } else {
          break;
        }
      }
    } else {
      return DecodeResult.NotIp;
    }

    // A tunnel: its inner packet is what was sent.
    let inner = -1;
    if (proto === IPPROTO_IPIP || proto === IPPROTO_IPV6) {
      inner = l4;
      ethertype = proto === IPPROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    } else if (proto === IPPROTO_GRE) {
      if (l4 + GRE_MIN_HDR_LEN > end) return DecodeResult.Truncated;
      const flags = buf[l4];
      const type = dv.getUint16(l4 + 2);
      // Checksum (and reserved), key, sequence number: 4 bytes each when present.
      inner = l4 + GRE_MIN_HDR_LEN + ((flags & 0x80) !== 0 ? 4 : 0) + ((flags & 0x20) !== 0 ? 4 : 0) + ((flags & 0x10) !== 0 ? 4 : 0);
      if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) ethertype = type;
      else if (type === ETHERTYPE_TEB) ethertype = INNER_ETHERNET;
      else if (type === ETHERTYPE_ERSPAN2) {
        inner += ERSPAN2_HDR_LEN;
        ethertype = INNER_ETHERNET;
      } else if (type === ETHERTYPE_ERSPAN3) {
        if (inner + ERSPAN3_HDR_LEN > end) return DecodeResult.Truncated;
        // The optional platform subheader follows when the O bit (last of the header) is set.
        inner += ERSPAN3_HDR_LEN + ((buf[inner + ERSPAN3_HDR_LEN - 1] & 1) !== 0 ? 8 : 0);
        ethertype = INNER_ETHERNET;
      } else return DecodeResult.GreNotIp;
    } else if (proto === IpProto.Udp && l4 + UDP_HDR_LEN <= end) {
      const dport = dv.getUint16(l4 + 2);
      if (dport === VXLAN_PORT) {
        // The I flag says a network id is there: a VXLAN header, then an Ethernet frame.
        if (l4 + UDP_HDR_LEN + VXLAN_HDR_LEN <= end && (buf[l4 + UDP_HDR_LEN] & 0x08) !== 0) {
          inner = l4 + UDP_HDR_LEN + VXLAN_HDR_LEN;
          ethertype = INNER_ETHERNET;
        }
      } else if (dport === GENEVE_PORT && l4 + UDP_HDR_LEN + GENEVE_MIN_HDR_LEN <= end) {
        const g = l4 + UDP_HDR_LEN;
        const type = dv.getUint16(g + 2);
        if (buf[g] >> 6 === 0 && (type === ETHERTYPE_TEB || type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6)) {
          inner = g + GENEVE_MIN_HDR_LEN + ((buf[g] & 0x3f) << 2);
          ethertype = type === ETHERTYPE_TEB ? INNER_ETHERNET : type;
        }
      }
    }
    if (inner < 0) break;
    if (tunnels === MAX_TUNNELS) return DecodeResult.TunnelTooDeep;
    if (inner >= end) return DecodeResult.Truncated;
    ip = inner;
  }

  p.proto = proto;
  return decodeTransport(buf, l4, end, l4End, p);
}

/** A fragment's data is buf[from, l4End) on the wire, of which buf[from, end) was captured. */
function fragmentData(p: Packet, from: number, end: number, l4End: number): DecodeResult {
  if (from > l4End) return DecodeResult.Truncated;
  p.payloadOff = from;
  p.payloadLen = l4End - from;
  const present = end - from;
  p.payloadCap = present <= 0 ? 0 : present < p.payloadLen ? present : p.payloadLen;
  return DecodeResult.Fragment;
}

/**
 * Decodes the transport header of protocol p.proto at buf[l4, ...): the
 * segment ends at l4End on the wire, and the capture holds it up to `end`.
 * Used by decodePacket(), and for datagrams put together from fragments.
 */
export function decodeTransport(buf: Buffer, l4: number, end: number, l4End: number, p: Packet): DecodeResult {
  const dv = viewFor(buf);
  const proto = p.proto;
  let payload: number;
  if (proto === IpProto.Tcp) {
    if (l4 + TCP_MIN_HDR_LEN > end) return DecodeResult.Truncated;
    const hdrLen = (buf[l4 + 12] >> 4) << 2;
    if (hdrLen < TCP_MIN_HDR_LEN) return DecodeResult.Truncated;
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.seq = dv.getUint32(l4 + 4);
    p.ack = dv.getUint32(l4 + 8);
    p.flags = buf[l4 + 13] & 0x3f;
    payload = l4 + hdrLen;
  } else if (proto === IpProto.Udp) {
    if (l4 + UDP_HDR_LEN > end) return DecodeResult.Truncated;
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.seq = 0;
    p.ack = 0;
    p.flags = 0;
    payload = l4 + UDP_HDR_LEN;
  } else {
    return DecodeResult.OtherProto;
  }
  const wire = l4End - payload;
  p.payloadOff = payload;
  p.payloadLen = wire > 0 ? wire : 0;
  const present = end - payload;
  p.payloadCap = present <= 0 ? 0 : present < p.payloadLen ? present : p.payloadLen;
  return DecodeResult.Ok;
}
