/* SPDX-License-Identifier: MIT */
/*
 * What the eBPF program (bpf/tcpkit.bpf.c) puts in the ring buffer, and the
 * maps the native loader (native/ebpf.cc) fills before it attaches.
 *
 * A sample is a fixed-size reservation: a header, then the packet from its
 * IP header on, cut at the sample's size or the snaplen.  Three sizes keep
 * small packets (requests, ACK-carrying replies) from taking the space of a
 * large one; each reservation is a constant, which every verifier accepts.
 * The native reader turns samples into tk_record batches (bpf/record.h),
 * stamping them with the wall clock.
 */
#ifndef TCPKIT_SAMPLE_H
#define TCPKIT_SAMPLE_H

#include <linux/types.h>

#define TK_SAMPLE_HDR_LEN 24
#define TK_SAMPLE_SMALL 256    /* bytes reserved, header included */
#define TK_SAMPLE_MEDIUM 2048
#define TK_SAMPLE_LARGE 16384
#define TK_SNAPLEN_MAX (TK_SAMPLE_LARGE - TK_SAMPLE_HDR_LEN)

struct tk_sample {
	__u64 mono_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;   /* interface the packet crossed */
	__u32 orig_len;  /* length from the IP header on */
	__u32 cap_len;   /* bytes of it that follow this header */
	__u8 pkt_type;   /* PACKET_HOST, PACKET_OUTGOING, ... */
	__u8 reserved[3];
};

/* Per-CPU counters, summed by the reader. */
struct tk_counters {
	__u64 seen;    /* packets the filter ran on */
	__u64 matched; /* to or from a watched port (and server, with -s) */
	__u64 sent;    /* samples submitted to the ring buffer */
	__u64 lost;    /* matched, wanted, but the ring buffer was full */
	__u64 skipped; /* matched but not wanted: pure ACKs */
};

/* A server address for -s: IPv6, or IPv4 mapped (::ffff:a.b.c.d). */
struct tk_addr {
	__u8 bytes[16];
};

#define TK_MAX_SERVERS 256

#endif /* TCPKIT_SAMPLE_H */
