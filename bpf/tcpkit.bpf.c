// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpkit's kernel side: a socket filter on an AF_PACKET (SOCK_DGRAM) socket.
 *
 * It runs on every packet the socket would see, keeps those to or from the
 * watched ports (and servers, with -s), and copies them into a ring buffer.
 * It always returns 0, so nothing is ever queued on the socket itself: the
 * ring buffer is the only way out.  A socket filter lives and dies with its
 * socket, so a killed tcpkit leaves nothing attached to the host.
 *
 * With SOCK_DGRAM the packet starts at its network header on every link type
 * (Ethernet, loopback, tunnels), so offsets below are from the IP header.
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
 * The reader polls the ring every few milliseconds on its own; waking it for
 * each sample would cost an interrupt per packet.  It is woken only when the
 * ring is filling up.
 */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&samples, BPF_RB_RING_SIZE);
	return avail > size / 8 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Reserves a sample of SIZE bytes and copies cap bytes of the packet into it. */
#define EMIT(SIZE)                                                              \
	do {                                                                    \
		struct tk_sample *s = bpf_ringbuf_reserve(&samples, SIZE, 0);   \
		if (!s) {                                                       \
			c->lost++;                                              \
			return 0;                                               \
		}                                                               \
		__u32 n = cap;                                                  \
		if (n > (SIZE) - TK_SAMPLE_HDR_LEN)                             \
			n = (SIZE) - TK_SAMPLE_HDR_LEN;                         \
		if (n == 0 || bpf_skb_load_bytes(skb, 0, (__u8 *)s + TK_SAMPLE_HDR_LEN, n)) { \
			bpf_ringbuf_discard(s, 0);                              \
			return 0;                                               \
		}                                                               \
		s->mono_ns = now;                                               \
		s->ifindex = skb->ifindex;                                      \
		s->orig_len = skb->len;                                         \
		s->cap_len = n;                                                 \
		s->pkt_type = skb->pkt_type;                                    \
		bpf_ringbuf_submit(s, wakeup_flags());                          \
		c->sent++;                                                      \
		return 0;                                                       \
	} while (0)

SEC("socket")
int tk_filter(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct tk_counters *c = bpf_map_lookup_elem(&counters, &zero);
	if (!c)
		return 0;
	c->seen++;

	/* On loopback a packet passes the tap going out and coming back in. */
	if (skb->pkt_type == PACKET_OUTGOING && skb->ifindex == cfg_lo_ifindex)
		return 0;

	struct tk_addr src = {}, dst = {};
	__u32 l4off, iplen;
	__u8 l4proto;
	__u16 ethertype = bpf_ntohs(skb->protocol);

	if (ethertype == ETH_P_IP) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return 0;
		if (ip.version != 4 || (ip.frag_off & bpf_htons(0x1fff)))
			return 0; /* not IPv4, or a later fragment: no ports in it */
		l4proto = ip.protocol;
		l4off = ip.ihl * 4;
		iplen = bpf_ntohs(ip.tot_len);
		src.bytes[10] = src.bytes[11] = 0xff;
		dst.bytes[10] = dst.bytes[11] = 0xff;
		__builtin_memcpy(&src.bytes[12], &ip.saddr, 4);
		__builtin_memcpy(&dst.bytes[12], &ip.daddr, 4);
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return 0;
		l4proto = ip6.nexthdr;
		l4off = sizeof(ip6);
		iplen = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(src.bytes, &ip6.saddr, 16);
		__builtin_memcpy(dst.bytes, &ip6.daddr, 16);
		/* Hop-by-hop, routing and destination options may come first. */
#pragma unroll
		for (int i = 0; i < 3; i++) {
			if (l4proto != 0 && l4proto != 43 && l4proto != 60)
				break;
			__u8 ext[2];
			if (bpf_skb_load_bytes(skb, l4off, ext, 2))
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
	if (bpf_skb_load_bytes(skb, l4off, pp, sizeof(pp)))
		return 0;
	__u16 sport = bpf_ntohs(pp[0]), dport = bpf_ntohs(pp[1]);
	int from_server = watched_port(sport) && (!cfg_has_servers || watched_server(&src));
	int to_server = watched_port(dport) && (!cfg_has_servers || watched_server(&dst));
	if (!from_server && !to_server)
		return 0;
	c->matched++;

	if (l4proto == IPPROTO_TCP && !cfg_want_empty) {
		__u8 th[2]; /* data offset, flags */
		if (bpf_skb_load_bytes(skb, l4off + 12, th, 2))
			return 0;
		__u32 hdrs = l4off + (th[0] >> 4) * 4;
		if (iplen <= hdrs && !(th[1] & TCP_FLAGS_KEEP)) {
			c->skipped++;
			return 0;
		}
	}

	__u64 now = bpf_ktime_get_ns();
	__u32 cap = skb->len;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	if (cap <= TK_SAMPLE_SMALL - TK_SAMPLE_HDR_LEN)
		EMIT(TK_SAMPLE_SMALL);
	if (cap <= TK_SAMPLE_MEDIUM - TK_SAMPLE_HDR_LEN)
		EMIT(TK_SAMPLE_MEDIUM);
	EMIT(TK_SAMPLE_LARGE);
}
