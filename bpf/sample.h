/* SPDX-License-Identifier: MIT */
/*
 * The contract between the eBPF program (bpf/tcpkit.bpf.c) and the reader:
 * what a ring-buffer sample holds, and the maps the native loader
 * (native/ebpf.cc) fills before it attaches.
 *
 * The program has parsed IP and TCP/UDP to filter, so it hands up what it
 * learned in a fixed header: the flow (an id from the kernel's flow map, and
 * which end sent this packet), seq, ack, flags, lengths and the time.  What
 * follows the header is the transport payload only; in full mode (-S, -w,
 * raw mode) it is the whole packet from its IP header on, as before.
 *
 * JavaScript reads the ring in place (src/engine/ring.ts) and decodes this
 * header (src/decode/sample.ts mirrors these offsets; a test compiles this
 * header and checks them): no copy, no native call per packet.
 *
 * A small sample (header and bytes within TK_SAMPLE_SMALL) is written at its
 * exact size, so that consecutive samples share cache lines. A larger one is
 * a fixed-size reservation (a reservation's size must be a constant): the
 * smallest class that holds the header and the bytes. Either way the ring
 * record's length word says how far the next record is, and cap_len how
 * many bytes follow this header.
 */
#ifndef TCPKIT_SAMPLE_H
#define TCPKIT_SAMPLE_H

#include <linux/types.h>

#define TK_SAMPLE_HDR_LEN 80
#define TK_SAMPLE_SMALL 256 /* bytes reserved, header included */
#define TK_SAMPLE_MEDIUM 2048
#define TK_SAMPLE_LARGE 16384
#define TK_SAMPLE_HUGE 65616 /* a 64 KiB frame (lo, GSO, GRO), whole */
#define TK_SNAPLEN_MAX (TK_SAMPLE_HUGE - TK_SAMPLE_HDR_LEN)

/* tk_sample.info bits */
#define TK_INFO_SRC_LOW 0x01  /* the sender is the flow key's low end */
#define TK_INFO_FULL 0x02     /* the bytes are the IP packet, not the payload */
#define TK_INFO_NEW_FLOW 0x04 /* the first packet the kernel saw of this flow */
#define TK_INFO_NO_FLOW 0x08  /* the flow map was full: flow_id is 0 */

struct tk_sample {
	__u32 ts_sec;      /* 0: CLOCK_MONOTONIC, seconds (the reader adds the wall offset) */
	__u32 ts_nsec;     /* 4 */
	__u32 flow_id;     /* 8: the kernel's flow id, never reused; 0 when none */
	__u32 seq;         /* 12: TCP sequence number (0 for UDP) */
	__u32 ack;         /* 16: TCP acknowledgment number */
	__u32 payload_len; /* 20: transport payload bytes on the wire */
	__u32 cap_len;     /* 24: bytes that follow this header */
	__u32 orig_len;    /* 28: the packet's length from its IP header on */
	__u32 ifindex;     /* 32: interface the packet crossed */
	__u16 sport;       /* 36: host order */
	__u16 dport;       /* 38 */
	__u8 tcp_flags;    /* 40 */
	__u8 info;         /* 41: TK_INFO_* */
	__u8 proto;        /* 42: IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;       /* 43: 4 or 6 */
	__u8 pkt_type;     /* 44: PACKET_HOST, PACKET_OUTGOING, ... */
	__u8 reserved[3];  /* 45 */
	__u8 saddr[16];    /* 48: IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];    /* 64 */
};

/* Per-CPU counters, summed by the reader. */
struct tk_counters {
	__u64 seen;      /* packets the filter ran on */
	__u64 matched;   /* to or from a watched port (and server, with -s) */
	__u64 sent;      /* samples submitted to the ring buffer */
	__u64 lost;      /* matched, wanted, but the ring buffer was full */
	__u64 skipped;   /* matched but not wanted: pure ACKs */
	__u64 flows;     /* flows added to the flow map */
	__u64 no_flow;   /* samples sent without a flow id: the flow map was full */
	__u64 unread;    /* matched, wanted, but its bytes could not be loaded */
};

/* A server address for -s: IPv6, or IPv4 mapped (::ffff:a.b.c.d). */
struct tk_addr {
	__u8 bytes[16];
};

/*
 * A flow, both directions under one key: the lower (address, port) end
 * first, so that a request and its response find the same entry.
 */
struct tk_flow_key {
	__u8 lo_addr[16];
	__u8 hi_addr[16];
	__u16 lo_port;
	__u16 hi_port;
	__u8 proto;
	__u8 pad[3];
};

struct tk_flow {
	__u32 id;
	__u32 pad;
};

#define TK_MAX_SERVERS 256
#define TK_FLOWS_DEFAULT 131072

#endif /* TCPKIT_SAMPLE_H */
