// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpkit's kernel side. One program body (tk_packet), two ways to attach it:
 *
 * - tcx (Linux 6.6 and later), on a named Ethernet or loopback interface:
 *   tk_tcx_ingress and tk_tcx_egress run at the interface's own hooks
 *   through bpf_links that close with tcpkit, so a killed tcpkit leaves
 *   nothing attached. No AF_PACKET tap: the kernel clones no outgoing packet
 *   to hand to one, on watched and unwatched traffic alike.
 * - Elsewhere (-i any, other link types, older kernels, no CAP_NET_ADMIN): a
 *   socket filter (tk_filter) on an AF_PACKET (SOCK_DGRAM) socket. It always
 *   returns 0, so nothing is ever queued on the socket itself, and it lives
 *   and dies with its socket.
 *
 * Either way it keeps packets to or from the watched ports (and servers,
 * with -s) and copies them into a ring buffer, the only way out. Offsets are
 * from the IP header: at l3, 0 on the SOCK_DGRAM socket (every link type
 * starts at its network header there), the Ethernet header's length at tc.
 *
 * Having parsed the headers to filter, it hands up what it learned (see
 * sample.h): the flow's id from an LRU map keyed by both ends (so user space
 * indexes an array instead of hashing addresses), which end sent the packet,
 * seq, ack, flags and lengths, then the transport payload alone.  In full
 * mode (-S, -w, raw mode) the whole IP packet follows instead.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sample.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before the program is loaded. */
const volatile __u32 cfg_snaplen = TK_SNAPLEN_MAX;
const volatile __u8 cfg_l4proto = IPPROTO_TCP; /* 0: TCP and UDP */
const volatile __u8 cfg_want_empty = 0;   /* keep pure ACKs (raw mode, Lua) */
const volatile __u8 cfg_has_servers = 0;  /* -s given: match addresses too */
const volatile __u32 cfg_lo_ifindex = 1;  /* loopback: seen twice, keep once */
const volatile __u8 cfg_full = 0;         /* send whole IP packets (-S, -w, raw) */
const volatile __u32 cfg_wake_bytes = 0;  /* unread bytes past which the reader is woken (0: never) */

/*
 * The reader's, in the mapped .bss: 1 while it sleeps (the ring was empty).
 * Samples are then submitted with a wake-up, until the reader, awake, clears
 * it. Otherwise the reader drains on its own timer, and is woken only when
 * the ring holds more than cfg_wake_bytes it has not read (a burst).
 *
 * A sample submitted without a wake-up looks at the flag once more after its
 * commit (woken_if_asleep): the reader sets the flag and then looks at the
 * ring, this program commits and then looks at the flag, each with a full
 * barrier between (the commit's xchg, the reader's seq_cst store), so one of
 * them sees the other. A sample is never left behind a sleeping reader, and
 * the reader needs no timer while it sleeps.
 */
volatile __u32 reader_sleeps = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized from -B by the loader */
} samples SEC(".maps");

/* Watched ports: 1 at the port's index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TK_MAX_SERVERS);
	__type(key, struct tk_addr);
	__type(value, __u8);
} servers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tk_counters);
} counters SEC(".maps");

/* Flows by both ends; the least recently used goes when it is full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TK_FLOWS_DEFAULT); /* resized by the loader */
	__type(key, struct tk_flow_key);
	__type(value, struct tk_flow);
} flows SEC(".maps");

/*
 * Per-CPU scratch: the sample header being filled and the flow key, kept off
 * the 512-byte stack.
 */
struct scratch {
	struct tk_sample hdr;
	/* A small sample's payload, right behind its header (see EMIT_EXACT). */
	__u8 payload[TK_SAMPLE_SMALL - TK_SAMPLE_HDR_LEN];
	struct tk_flow_key key;
	struct tk_addr msrc, mdst; /* for -s: IPv4 mapped */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The last flow id handed out: ids are never reused. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flow_ids SEC(".maps");

#define TCP_FLAGS_KEEP 0x07 /* FIN, SYN, RST: state changes, always sent */

static __always_inline int watched_port(__u16 port)
{
	__u32 key = port;
	__u8 *on = bpf_map_lookup_elem(&ports, &key);
	return on && *on;
}

static __always_inline int watched_server(const struct tk_addr *a)
{
	return bpf_map_lookup_elem(&servers, a) != NULL;
}

/*
 * Loads the sample's bytes: cap bytes of the packet from offset off (the
 * payload, or the IP header in full mode), at most MAX, into DST; n is the
 * count loaded. FAIL runs before the program returns when the load fails.
 * Both ways of writing a sample below share it.
 */
#define LOAD_CAPPED(DST, MAX, FAIL)                                             \
	__u64 n = cap; /* 64-bit: no zero-extended copies */                  \
	if (n > (MAX))                                                          \
		n = (MAX);                                                      \
	if (n > 0) {                                                            \
		/* The verifier must see 1 <= n <= MAX on this very register. */ \
		asm volatile("" : "+r"(n));                                     \
		if (n < 1 || n > (MAX) || bpf_skb_load_bytes(skb, off, (DST), n)) { \
			FAIL;                                                   \
			c->unread++;                                            \
			return 0;                                               \
		}                                                               \
	}                                                                       \
	h->cap_len = n

/*
 * After a commit without a wake-up: if the reader went to sleep meanwhile, an
 * empty record, discarded with a wake-up, wakes it (it skips discarded ones).
 */
static __always_inline void woken_if_asleep(__u64 wake)
{
	if (wake != BPF_RB_NO_WAKEUP || !reader_sleeps)
		return;
	void *p = bpf_ringbuf_reserve(&samples, 8, 0);
	if (p)
		bpf_ringbuf_discard(p, BPF_RB_FORCE_WAKEUP);
}

/*
 * Reserves a sample of SIZE bytes and writes it in place: the header, then
 * the bytes LOAD_CAPPED loads.
 */
#define EMIT(SIZE)                                                              \
	do {                                                                    \
		__u8 *s = bpf_ringbuf_reserve(&samples, SIZE, 0);               \
		if (!s) {                                                       \
			c->lost++;                                              \
			return 0;                                               \
		}                                                               \
		LOAD_CAPPED(s + TK_SAMPLE_HDR_LEN, (SIZE) - TK_SAMPLE_HDR_LEN,  \
			    bpf_ringbuf_discard(s, BPF_RB_NO_WAKEUP));          \
		__builtin_memcpy(s, h, TK_SAMPLE_HDR_LEN);                      \
		bpf_ringbuf_submit(s, wake);                                    \
		woken_if_asleep(wake);                                          \
		c->sent++;                                                      \
		return 0;                                                       \
	} while (0)

/*
 * A small sample (header and payload within TK_SAMPLE_SMALL bytes) at its
 * exact size: the payload is loaded behind the header in the per-CPU
 * scratch, and bpf_ringbuf_output() reserves, copies and commits header and
 * payload together. A reservation must have a constant size, so a sample
 * written in place takes its whole size class (256 bytes for a 40-byte
 * request); written exactly, consecutive samples share cache lines, and the
 * reader, on another CPU, touches about half as many lines per sample. The
 * extra copy is of at most 256 bytes already in this CPU's cache.
 */
#define EMIT_EXACT()                                                            \
	do {                                                                    \
		LOAD_CAPPED(sc->payload, sizeof(sc->payload), (void)0);         \
		if (bpf_ringbuf_output(&samples, h, TK_SAMPLE_HDR_LEN + n, wake)) { \
			c->lost++;                                              \
			return 0;                                               \
		}                                                               \
		woken_if_asleep(wake);                                          \
		c->sent++;                                                      \
		return 0;                                                       \
	} while (0)

/* -1, 0, 1 as (a, ap) is below, equal to or above (b, bp). */
static __always_inline int endpoint_cmp(const struct tk_addr *a, __u16 ap, const struct tk_addr *b, __u16 bp)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (a->bytes[i] != b->bytes[i])
			return a->bytes[i] < b->bytes[i] ? -1 : 1;
	}
	return ap < bp ? -1 : ap > bp ? 1 : 0;
}

/*
 * One packet, wherever the program is attached. l3: where the IP header
 * starts (0 on the SOCK_DGRAM socket, the Ethernet header's length at a tc
 * hook); egress: a tc egress hook (the packet is going out); tap: the socket
 * filter, which sees a loopback packet twice. Returns nothing the caller
 * passes on: each entry point returns its own "carry on".
 */
static __always_inline int tk_packet(struct __sk_buff *skb, const __u32 l3, const int egress, const int tap)
{
	__u32 zero = 0;
	struct tk_counters *c = bpf_map_lookup_elem(&counters, &zero);
	if (!c)
		return 0;
	c->seen++;

	/* On loopback a packet passes the tap going out and coming back in. */
	if (tap && skb->pkt_type == PACKET_OUTGOING && skb->ifindex == cfg_lo_ifindex)
		return 0;

	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	struct tk_sample *h = &sc->hdr;
	/* Addresses as compared and keyed: IPv4 in the first 4 bytes. */
	struct tk_addr *src = (struct tk_addr *)h->saddr, *dst = (struct tk_addr *)h->daddr;
	struct tk_addr *msrc = &sc->msrc, *mdst = &sc->mdst;
	__builtin_memset(h, 0, sizeof(*h));
	__u32 l4off, iplen;
	__u8 l4proto, family;
	__u16 ethertype = bpf_ntohs(skb->protocol);

	if (ethertype == ETH_P_IP) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)))
			return 0;
		if (ip.version != 4 || (ip.frag_off & bpf_htons(0x1fff)))
			return 0; /* not IPv4, or a later fragment: no ports in it */
		family = 4;
		l4proto = ip.protocol;
		l4off = ip.ihl * 4;
		iplen = bpf_ntohs(ip.tot_len);
		/* 0: a GSO packet past 64 KiB (BIG TCP, Linux 6.3+), as long as the skb. */
		if (iplen == 0)
			iplen = skb->len - l3;
		__builtin_memcpy(&src->bytes[0], &ip.saddr, 4);
		__builtin_memcpy(&dst->bytes[0], &ip.daddr, 4);
		if (cfg_has_servers) {
			__builtin_memset(msrc, 0, sizeof(*msrc));
			__builtin_memset(mdst, 0, sizeof(*mdst));
			msrc->bytes[10] = msrc->bytes[11] = 0xff;
			mdst->bytes[10] = mdst->bytes[11] = 0xff;
			__builtin_memcpy(&msrc->bytes[12], &ip.saddr, 4);
			__builtin_memcpy(&mdst->bytes[12], &ip.daddr, 4);
		}
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)))
			return 0;
		family = 6;
		l4proto = ip6.nexthdr;
		l4off = sizeof(ip6);
		iplen = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		/* 0: a jumbogram (BIG TCP's hop-by-hop jumbo option), as long as the skb. */
		if (ip6.payload_len == 0)
			iplen = skb->len - l3;
		__builtin_memcpy(src->bytes, &ip6.saddr, 16);
		__builtin_memcpy(dst->bytes, &ip6.daddr, 16);
		__builtin_memcpy(msrc->bytes, &ip6.saddr, 16);
		__builtin_memcpy(mdst->bytes, &ip6.daddr, 16);
		/* Hop-by-hop, routing and destination options may come first. */
#pragma unroll
		for (int i = 0; i < 3; i++) {
			if (l4proto != 0 && l4proto != 43 && l4proto != 60)
				break;
			__u8 ext[2];
			if (bpf_skb_load_bytes(skb, l3 + l4off, ext, 2))
				return 0;
			l4proto = ext[0];
			l4off += (ext[1] + 1) * 8;
		}
	} else {
		return 0;
	}
	if (l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP)
		return 0;
	if (cfg_l4proto && l4proto != cfg_l4proto)
		return 0;

	__be16 pp[2];
	if (bpf_skb_load_bytes(skb, l3 + l4off, pp, sizeof(pp)))
		return 0;
	__u16 sport = bpf_ntohs(pp[0]), dport = bpf_ntohs(pp[1]);
	int from_server = watched_port(sport) && (!cfg_has_servers || watched_server(msrc));
	int to_server = watched_port(dport) && (!cfg_has_servers || watched_server(mdst));
	if (!from_server && !to_server)
		return 0;
	c->matched++;

	/* The transport header: where the payload starts, seq, ack, flags. */
	__u32 seq = 0, ack = 0, hdrs;
	__u8 tcp_flags = 0;
	if (l4proto == IPPROTO_TCP) {
		struct {
			__be32 seq;
			__be32 ack;
			__u8 doff;
			__u8 flags;
		} th;
		if (bpf_skb_load_bytes(skb, l3 + l4off + 4, &th, sizeof(th)))
			return 0;
		seq = bpf_ntohl(th.seq);
		ack = bpf_ntohl(th.ack);
		tcp_flags = th.flags;
		hdrs = l4off + (th.doff >> 4) * 4;
		if (iplen <= hdrs && !(tcp_flags & TCP_FLAGS_KEEP) && !cfg_want_empty) {
			c->skipped++;
			return 0;
		}
	} else {
		hdrs = l4off + 8;
	}
	__u32 payload_len = iplen > hdrs ? iplen - hdrs : 0;

	/* The flow: one entry for both directions, the lower end first. */
	struct tk_flow_key *key = &sc->key;
	__u8 info = 0;
	if (endpoint_cmp(src, sport, dst, dport) <= 0) {
		info |= TK_INFO_SRC_LOW;
		__builtin_memcpy(key->lo_addr, src->bytes, 16);
		__builtin_memcpy(key->hi_addr, dst->bytes, 16);
		key->lo_port = sport;
		key->hi_port = dport;
	} else {
		__builtin_memcpy(key->lo_addr, dst->bytes, 16);
		__builtin_memcpy(key->hi_addr, src->bytes, 16);
		key->lo_port = dport;
		key->hi_port = sport;
	}
	key->proto = l4proto;
	key->pad[0] = key->pad[1] = key->pad[2] = 0;
	__u32 flow_id = 0;
	struct tk_flow *f = bpf_map_lookup_elem(&flows, key);
	if (f) {
		flow_id = f->id;
	} else {
		__u64 *last = bpf_map_lookup_elem(&flow_ids, &zero);
		if (last) {
			struct tk_flow nf = {};
			nf.id = (__u32)__sync_fetch_and_add(last, 1) + 1;
			if (nf.id == 0) /* 0 means none: skip it when the ids wrap */
				nf.id = (__u32)__sync_fetch_and_add(last, 1) + 1;
			if (bpf_map_update_elem(&flows, key, &nf, BPF_NOEXIST) == 0) {
				flow_id = nf.id;
				info |= TK_INFO_NEW_FLOW;
				c->flows++;
			} else {
				/* Another CPU added it first, or the map could not take it. */
				f = bpf_map_lookup_elem(&flows, key);
				if (f)
					flow_id = f->id;
			}
		}
		if (flow_id == 0) {
			info |= TK_INFO_NO_FLOW;
			c->no_flow++;
		}
	}

	__u64 now = bpf_ktime_get_ns();
	__u64 sec = now / 1000000000ULL; /* one division: the JIT emits div for both / and % */
	h->ts_sec = sec;
	h->ts_nsec = now - sec * 1000000000ULL;
	h->flow_id = flow_id;
	h->seq = seq;
	h->ack = ack;
	h->payload_len = payload_len;
	h->orig_len = skb->len - l3;
	h->ifindex = skb->ifindex;
	h->sport = sport;
	h->dport = dport;
	h->tcp_flags = tcp_flags;
	h->proto = l4proto;
	h->family = family;
	h->pkt_type = egress ? PACKET_OUTGOING : skb->pkt_type;
	/* The reader drains on a timer, unless it sleeps (idle) or a burst fills the ring: wake it then. */
	__u64 wake = reader_sleeps || (cfg_wake_bytes && bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) > cfg_wake_bytes) ?
		     BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	__u32 off, cap;
	if (cfg_full) {
		h->info = info | TK_INFO_FULL;
		off = l3;
		cap = skb->len - l3;
		if (cap > cfg_snaplen)
			cap = cfg_snaplen;
		if (cap <= TK_SAMPLE_SMALL - TK_SAMPLE_HDR_LEN)
			EMIT(TK_SAMPLE_SMALL);
		if (cap <= TK_SAMPLE_MEDIUM - TK_SAMPLE_HDR_LEN)
			EMIT(TK_SAMPLE_MEDIUM);
		if (cap <= TK_SAMPLE_LARGE - TK_SAMPLE_HDR_LEN)
			EMIT(TK_SAMPLE_LARGE);
		EMIT(TK_SAMPLE_HUGE);
	}
	/* Only the payload: the parsers step over what a sample could not hold. */
	h->info = info;
	off = l3 + hdrs;
	cap = payload_len;
	if (off + cap > skb->len)
		cap = skb->len > off ? skb->len - off : 0;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	if (cap <= TK_SAMPLE_SMALL - TK_SAMPLE_HDR_LEN)
		EMIT_EXACT();
	if (cap <= TK_SAMPLE_MEDIUM - TK_SAMPLE_HDR_LEN)
		EMIT(TK_SAMPLE_MEDIUM);
	/*
	 * Up to 64 KiB, as in full mode: a packet past the MTU (loopback, a
	 * send before segmentation at tcx egress, GRO) can hold many messages
	 * (pipelined requests, result rows), and a parser can step over cut
	 * bytes only inside one message whose length it knows.
	 */
	if (cap <= TK_SAMPLE_LARGE - TK_SAMPLE_HDR_LEN)
		EMIT(TK_SAMPLE_LARGE);
	EMIT(TK_SAMPLE_HUGE);
}

/* The tap: a socket filter on an AF_PACKET socket. 0: nothing is queued on the socket. */
SEC("socket")
int tk_filter(struct __sk_buff *skb)
{
	tk_packet(skb, 0, 0, 1);
	return 0;
}

/*
 * tcx (Linux 6.6 and later), on an Ethernet or loopback interface: the
 * program runs at the interface's own hooks, with no AF_PACKET tap, so the
 * kernel clones no outgoing packet for it, and loopback is watched at
 * ingress only (each packet once). -1 (TCX_NEXT): the packet goes on as if
 * nothing were attached.
 */
#define TK_TCX_NEXT (-1)

SEC("tc")
int tk_tcx_ingress(struct __sk_buff *skb)
{
	tk_packet(skb, ETH_HLEN, 0, 0);
	return TK_TCX_NEXT;
}

SEC("tc")
int tk_tcx_egress(struct __sk_buff *skb)
{
	tk_packet(skb, ETH_HLEN, 1, 0);
	return TK_TCX_NEXT;
}
