/* SPDX-License-Identifier: MIT */
/*
 * The one contract between the capture engines and JavaScript.
 *
 * Every engine (the eBPF program through the native ring-buffer reader, the
 * libpcap live engine, the pcap file reader) hands JavaScript a batch: one
 * Buffer holding records laid end to end.  Each record is this fixed header
 * followed by cap_len captured bytes, starting at the link header named by
 * link_type, padded so that the next record starts on TK_RECORD_ALIGN.
 *
 * src/engine/record.ts mirrors these offsets; test/unit/engine/record.test.ts
 * checks the two agree by compiling this header.
 */
#ifndef TCPKIT_RECORD_H
#define TCPKIT_RECORD_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define TK_RECORD_HDR_LEN 24 /* bytes before the captured data */
#define TK_RECORD_ALIGN 8    /* every record starts on this boundary */

/* link_type values: libpcap's DLT_* numbers for what we decode */
#define TK_LINK_NULL 0        /* BSD loopback: 4-byte host-order family */
#define TK_LINK_ETHERNET 1    /* Ethernet II, optional 802.1Q/802.1ad tags */
#define TK_LINK_RAW 12        /* raw IP (v4 or v6 from the version nibble) */
#define TK_LINK_RAW_ALT 101   /* LINKTYPE_RAW as written in some files */
#define TK_LINK_LOOP 108      /* OpenBSD loopback: 4-byte network-order family */
#define TK_LINK_LINUX_SLL 113 /* Linux cooked v1, 16-byte header */
#define TK_LINK_IPV4 228      /* raw IPv4 */
#define TK_LINK_IPV6 229      /* raw IPv6 */
#define TK_LINK_LINUX_SLL2 276 /* Linux cooked v2, 20-byte header */

/* direction values, where the engine knows it */
#define TK_DIR_UNKNOWN 0
#define TK_DIR_INGRESS 1
#define TK_DIR_EGRESS 2

struct tk_record {
	__u32 ts_sec;    /* wall clock, seconds since the epoch */
	__u32 ts_nsec;   /* nanoseconds within that second */
	__u32 ifindex;   /* interface the packet crossed, 0 when unknown */
	__u32 orig_len;  /* length on the wire */
	__u32 cap_len;   /* captured bytes that follow this header */
	__u16 link_type; /* TK_LINK_* of those bytes */
	__u8 direction;  /* TK_DIR_* */
	__u8 reserved;
};

#endif /* TCPKIT_RECORD_H */
