/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft.c - the egress policy as nftables objects (see nft.h for the ruleset).
 *
 * Every change is one nfnetlink batch, and a batch is one kernel
 * transaction: it is applied whole or not at all, and other batches (other
 * monitors starting or stopping workspaces) never see it half-done. That is
 * what makes the policy fail closed and lets several processes share the
 * table without a lock of our own.
 *
 * Messages are built with libnftnl straight into one growing buffer; each
 * carries NLM_F_ACK and its own sequence number, and a description of what
 * it does is kept by sequence number, so the first error the kernel reports
 * can be named ("add rule 19 of chain ws_1a2b3c4d (allow ...)").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nft.h"

/* Userspace data types, as nft(8) names them, so `nft list` prints the sets
 * readably (the kernel only stores them). Values from nftables' datatype.h. */
#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_INET_PROTOCOL 12
#define TYPE_IFNAME 41
#define BYTEORDER_HOST_ENDIAN 1
#define BYTEORDER_BIG_ENDIAN 2

/* Room reserved for one message: our largest (a rule with a 128-byte
 * comment, a 16-byte address, mask and prefix) is under 1 KiB. */
#define MSG_ROOM 8192
#define REPLY_TIMEOUT_SEC 10

struct enc_nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0;		/* BATCH_BEGIN; message i has seq0 + 1 + i */
	uint32_t seq;		/* next sequence number */
	char **what;		/* what[i]: description of message i */
	size_t n, what_cap;
	bool closed, sent, broken;
};

/* ------------------------------------------------------------------ */
/* the model */

static const struct enc_cidr meta4[] = {
	{ .net = { AF_INET, { 169, 254 } }, .prefix = 16 },
};

/* fd00:ec2::254 (AWS over IPv6), and 169.254.0.0/16 spelled in IPv6 through
 * NAT64 (64:ff9b::/96) and v4-mapped addresses, which a NAT64 gateway or a
 * dual-stack socket could turn back into the IPv4 metadata address. */
static const struct enc_cidr meta6[] = {
	{ .net = { AF_INET6, { 0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 } }, .prefix = 128 },
	{ .net = { AF_INET6, { 0, 0x64, 0xff, 0x9b, [12] = 169, [13] = 254 } }, .prefix = 112 },
	{ .net = { AF_INET6, { [10] = 0xff, [11] = 0xff, [12] = 169, [13] = 254 } }, .prefix = 112 },
};

void enc_nft_base_init(struct enc_nft_base *b)
{
	static const struct enc_nft_base def = {
		.pool4 = { .net = { AF_INET, { 10, 213 } }, .prefix = 16 },
		.pool6 = { .net = { AF_INET6, { 0xfd, 0x65, 0x6e, 0x63, 0x6c, 0x61 } }, .prefix = 48 },
	};

	*b = def;
}

void enc_nft_ws_init(struct enc_nft_ws *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->mode = ENC_NET_DENY;
	ws->log_group = ENC_NFT_LOG_GROUP;
	ws->log_rate = ENC_NFT_LOG_RATE;
	ws->log_burst = ENC_NFT_LOG_BURST;
}

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static unsigned family_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void prefix_mask(uint8_t mask[16], unsigned prefix)
{
	memset(mask, 0, 16);
	for (unsigned i = 0; i < prefix && i < 128; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* net/prefix with every bit below the prefix clear. */
static bool cidr_canonical(const struct enc_cidr *c)
{
	uint8_t mask[16];

	prefix_mask(mask, c->prefix);
	for (unsigned i = 0; i < family_bytes(c->net.family); i++)
		if (c->net.addr[i] & ~mask[i])
			return false;
	return true;
}

static int check_cidr(const struct enc_cidr *c, const char *what, struct enc_err *err)
{
	if (c->net.family != AF_INET && c->net.family != AF_INET6)
		return enc_err_set(err, -EINVAL, "%s: not an IPv4 or IPv6 network", what);
	if (c->prefix > family_bits(c->net.family))
		return enc_err_set(err, -EINVAL, "%s: prefix /%u out of range", what, c->prefix);
	if (!cidr_canonical(c))
		return enc_err_set(err, -EINVAL, "%s: address has bits set below the /%u prefix",
				   what, c->prefix);
	switch (c->proto) {
	case ENC_PROTO_ANY:
	case ENC_PROTO_TCP:
	case ENC_PROTO_UDP:
		break;
	default:
		return enc_err_set(err, -EINVAL, "%s: protocol must be tcp or udp", what);
	}
	if (c->port == 0 && c->proto != ENC_PROTO_ANY)
		return enc_err_set(err, -EINVAL, "%s: a protocol needs a port", what);
	return 0;
}

static int check_base(const struct enc_nft_base *base, struct enc_err *err)
{
	int r;

	if ((r = check_cidr(&base->pool4, "IPv4 pool", err)) < 0 ||
	    (r = check_cidr(&base->pool6, "IPv6 pool", err)) < 0)
		return r;
	if (base->pool4.net.family != AF_INET || base->pool6.net.family != AF_INET6 ||
	    base->pool4.port || base->pool6.port)
		return enc_err_set(err, -EINVAL, "address pools: want one IPv4 and one IPv6 network, without ports");
	return 0;
}

static int check_id(const char *id, struct enc_err *err)
{
	size_t n = strnlen(id, ENC_NFT_ID_MAX + 1);

	if (n == 0 || n > ENC_NFT_ID_MAX)
		return enc_err_set(err, -EINVAL, "workspace id: want 1 to %d hex digits", ENC_NFT_ID_MAX);
	if (strspn(id, "0123456789abcdef") != n)
		return enc_err_set(err, -EINVAL, "workspace id '%s': want lowercase hex digits", id);
	return 0;
}

/* Interface names as iproute2 accepts them, minus the odd ones: the name is
 * a map key compared byte for byte, so no wildcard meaning can sneak in. */
static int check_ifname(const char *ifname, struct enc_err *err)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
	size_t n = strnlen(ifname, IFNAMSIZ), good = strspn(ifname, ok);

	if (n == 0 || n >= IFNAMSIZ)
		return enc_err_set(err, -EINVAL, "interface name: want 1 to %d characters", IFNAMSIZ - 1);
	if (good != n || ifname[0] == '.')
		return enc_err_set(err, -EINVAL, "interface name '%s': unexpected character '%c'",
				   ifname, ifname[good == n ? 0 : good]);
	return 0;
}

int enc_nft_ws_check(const struct enc_nft_ws *ws, struct enc_err *err)
{
	char what[96];
	int r;

	if ((r = check_id(ws->id, err)) < 0 || (r = check_ifname(ws->ifname, err)) < 0)
		return r;
	if (ws->addr4.family != 0 && ws->addr4.family != AF_INET)
		return enc_err_set(err, -EINVAL, "workspace %s: IPv4 address of the wrong family", ws->id);
	if (ws->addr6.family != 0 && ws->addr6.family != AF_INET6)
		return enc_err_set(err, -EINVAL, "workspace %s: IPv6 address of the wrong family", ws->id);
	if (ws->addr4.family == 0 && ws->addr6.family == 0)
		return enc_err_set(err, -EINVAL, "workspace %s: no address (use network mode none)", ws->id);
	switch (ws->mode) {
	case ENC_NET_DENY:
	case ENC_NET_NAT:
		break;
	case ENC_NET_NONE:
	case ENC_NET_HOST:
	default:
		/* Spelled out here rather than with config.c's table, which
		 * the setuid helper (linking this file) does not link. */
		return enc_err_set(err, -EINVAL, "workspace %s: network mode %s has no nftables policy",
				   ws->id, ws->mode == ENC_NET_NONE ? "none"
					   : ws->mode == ENC_NET_HOST ? "host" : "(unknown)");
	}
	if (ws->n_allow > ENC_NFT_ALLOW_MAX)
		return enc_err_set(err, -EINVAL, "workspace %s: %zu allow rules, at most %d",
				   ws->id, ws->n_allow, ENC_NFT_ALLOW_MAX);
	if (ws->n_allow && !ws->allow)
		return enc_err_set(err, -EINVAL, "workspace %s: allow rules missing", ws->id);
	for (size_t i = 0; i < ws->n_allow; i++) {
		snprintf(what, sizeof(what), "workspace %s: allow rule %zu", ws->id, i + 1);
		if ((r = check_cidr(&ws->allow[i], what, err)) < 0)
			return r;
	}
	if (ws->log_rate == 0 || ws->log_burst == 0)
		return enc_err_set(err, -EINVAL, "workspace %s: log rate and burst must be at least 1",
				   ws->id);
	return 0;
}

/* c lies entirely inside range. */
static bool cidr_within(const struct enc_cidr *c, const struct enc_cidr *range)
{
	return c->net.family == range->net.family && c->prefix >= range->prefix &&
	       enc_cidr_contains(range, &c->net);
}

static bool within_any(const struct enc_cidr *c, const struct enc_cidr *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_within(c, &r[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* the batch buffer */

struct enc_nft_batch *enc_nft_batch_new(void)
{
	struct enc_nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cap = 4 * MSG_ROOM;
	b->buf = malloc(b->cap);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	/* Any sequence numbers do: each batch gets its own socket. */
	b->seq0 = (uint32_t)time(NULL);
	nftnl_batch_begin(b->buf, b->seq0);
	b->len = NLMSG_ALIGN(((struct nlmsghdr *)b->buf)->nlmsg_len);
	b->seq = b->seq0 + 1;
	return b;
}

void enc_nft_batch_free(struct enc_nft_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->what[i]);
	free(b->what);
	free(b->buf);
	free(b);
}

static bool reserve(struct enc_nft_batch *b)
{
	if (b->cap - b->len >= MSG_ROOM)
		return true;

	size_t cap = b->cap * 2;
	char *buf = realloc(b->buf, cap);

	if (!buf)
		return false;
	b->buf = buf;
	b->cap = cap;
	return true;
}

/* Start a message at the end of the batch, or NULL (batch marked broken). */
static struct nlmsghdr *msg_start(struct enc_nft_batch *b, uint16_t type, uint16_t flags)
{
	if (b->broken || b->closed || !reserve(b)) {
		b->broken = true;
		return NULL;
	}
	/* Padding and unterminated strings (libnftnl puts some names
	 * without their NUL) must not carry stale heap bytes. */
	memset(b->buf + b->len, 0, MSG_ROOM);
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET,
				     flags | NLM_F_ACK, b->seq);
}

__attribute__((format(printf, 3, 4)))
static void msg_end(struct enc_nft_batch *b, struct nlmsghdr *nlh, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	if (nlh->nlmsg_len > MSG_ROOM) {	/* cannot happen with our objects */
		b->broken = true;
		return;
	}
	if (b->n == b->what_cap) {
		size_t cap = b->what_cap ? b->what_cap * 2 : 64;
		char **w = realloc(b->what, cap * sizeof(*w));

		if (!w) {
			b->broken = true;
			return;
		}
		b->what = w;
		b->what_cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what) {
		b->broken = true;
		return;
	}
	b->what[b->n++] = what;
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
}

static void batch_close(struct enc_nft_batch *b)
{
	if (b->closed)
		return;
	if (!reserve(b)) {
		b->broken = true;
		return;
	}
	nftnl_batch_end(b->buf + b->len, b->seq);
	b->len += NLMSG_ALIGN(((struct nlmsghdr *)(b->buf + b->len))->nlmsg_len);
	b->closed = true;
}

const void *enc_nft_batch_data(struct enc_nft_batch *b, size_t *len)
{
	batch_close(b);
	*len = b->len;
	return b->buf;
}

size_t enc_nft_batch_count(const struct enc_nft_batch *b)
{
	return b->n;
}

const char *enc_nft_batch_what(const struct enc_nft_batch *b, size_t i)
{
	return i < b->n ? b->what[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* tables, chains, sets, elements, objects */

static void put_table(struct enc_nft_batch *b, uint16_t type, uint16_t flags, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		b->broken = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, ENC_NFT_TABLE);
	nlh = msg_start(b, type, flags);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_end(b, nlh, "%s", what);
	}
	nftnl_table_free(t);
}

struct base_chain {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
};

static const struct base_chain base_chains[] = {
	/* Just ahead of the usual filter chains; order does not decide
	 * anything (a drop anywhere is final, our accept is not), it only
	 * keeps other tables from spending work on packets we drop. */
	{ "forward", "filter", NF_INET_FORWARD, -1 },
	{ "input", "filter", NF_INET_LOCAL_IN, -1 },
	{ "postrouting", "nat", NF_INET_POST_ROUTING, 100 },	/* srcnat */
};

static void put_chain(struct enc_nft_batch *b, uint16_t type, uint16_t flags, const char *name,
		      const struct base_chain *hook, const char *verb)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		b->broken = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, ENC_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, hook->prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, hook->type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = msg_start(b, type, flags);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		msg_end(b, nlh, "%s chain %s", verb, name);
	}
	nftnl_chain_free(c);
}

/* Flush: delete every rule of the chain (DELRULE without a handle). */
static void flush_chain(struct enc_nft_batch *b, const char *name)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r) {
		b->broken = true;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ENC_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nlh = msg_start(b, NFT_MSG_DELRULE, 0);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_end(b, nlh, "flush chain %s", name);
	}
	nftnl_rule_free(r);
}

struct set_def {
	const char *name;
	uint32_t flags;		/* NFT_SET_MAP, NFT_SET_INTERVAL */
	uint32_t key_type, key_len, key_order;
};

static const struct set_def set_ws_fwd = { "ws_fwd", NFT_SET_MAP, TYPE_IFNAME, IFNAMSIZ, BYTEORDER_HOST_ENDIAN };
static const struct set_def set_ws_host = { "ws_host", NFT_SET_MAP, TYPE_IFNAME, IFNAMSIZ, BYTEORDER_HOST_ENDIAN };
static const struct set_def set_ws_ifaces = { "ws_ifaces", 0, TYPE_IFNAME, IFNAMSIZ, BYTEORDER_HOST_ENDIAN };
static const struct set_def set_pool4 = { "pool4", NFT_SET_INTERVAL, TYPE_IPADDR, 4, BYTEORDER_BIG_ENDIAN };
static const struct set_def set_pool6 = { "pool6", NFT_SET_INTERVAL, TYPE_IP6ADDR, 16, BYTEORDER_BIG_ENDIAN };
static const struct set_def set_meta4 = { "meta4", NFT_SET_INTERVAL, TYPE_IPADDR, 4, BYTEORDER_BIG_ENDIAN };
static const struct set_def set_meta6 = { "meta6", NFT_SET_INTERVAL, TYPE_IP6ADDR, 16, BYTEORDER_BIG_ENDIAN };
static const struct set_def set_tcp_udp = { "tcp_udp", 0, TYPE_INET_PROTOCOL, 1, BYTEORDER_HOST_ENDIAN };

/* Per-workspace entries live in these; the others are static content. */
static const struct set_def *const ws_sets[] = { &set_ws_fwd, &set_ws_host, &set_ws_ifaces };
static const struct set_def *const all_sets[] = {
	&set_ws_fwd, &set_ws_host, &set_ws_ifaces, &set_pool4, &set_pool6,
	&set_meta4, &set_meta6, &set_tcp_udp,
};

static struct nftnl_set *set_ref(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s) {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, ENC_NFT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	}
	return s;
}

static void put_set(struct enc_nft_batch *b, uint16_t type, const struct set_def *d, const char *verb)
{
	struct nftnl_set *s = set_ref(d->name);
	struct nftnl_udata_buf *ud = NULL;
	struct nlmsghdr *nlh;

	if (!s) {
		b->broken = true;
		return;
	}
	if (type == NFT_MSG_NEWSET) {
		/* The kernel insists on a batch-unique id for new sets. */
		nftnl_set_set_u32(s, NFTNL_SET_ID, b->seq);
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
		if (d->flags & NFT_SET_MAP) {
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
		}
		/* Only for nft(8)'s display of the elements. */
		ud = nftnl_udata_buf_alloc(64);
		if (!ud || !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, d->key_order)) {
			b->broken = true;
			goto out;
		}
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
	}
	nlh = msg_start(b, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_end(b, nlh, "%s %s %s", verb, d->flags & NFT_SET_MAP ? "map" : "set", d->name);
	}
out:
	if (ud)
		nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
}

/* Send the elements collected in s as NEWSETELEM or DELSETELEM; an s
 * without elements and DELSETELEM flushes the set. Consumes s. */
static void put_elems(struct enc_nft_batch *b, struct nftnl_set *s, uint16_t type,
		      uint16_t flags, const char *what)
{
	struct nlmsghdr *nlh;

	if (!s) {
		b->broken = true;
		return;
	}
	nlh = msg_start(b, type, flags);
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		msg_end(b, nlh, "%s", what);
	}
	nftnl_set_free(s);
}

static bool add_elem(struct nftnl_set *s, const void *key, uint32_t key_len, uint32_t flags,
		     const char *jump_chain);

/* One workspace's element (its host end's name) in set d. */
static void put_iface(struct enc_nft_batch *b, const struct set_def *d, const char *ifname,
		      const char *jump_chain, uint16_t type, uint16_t flags)
{
	struct nftnl_set *s = set_ref(d->name);
	char key[IFNAMSIZ] = { 0 }, what[64];

	memcpy(key, ifname, strnlen(ifname, sizeof(key) - 1));
	if (s && !add_elem(s, key, IFNAMSIZ, 0, jump_chain))
		b->broken = true;
	snprintf(what, sizeof(what), "%s element %s %s %s", type == NFT_MSG_NEWSETELEM ? "add" : "delete",
		 type == NFT_MSG_NEWSETELEM ? "to" : "from", d->flags & NFT_SET_MAP ? "map" : "set", d->name);
	put_elems(b, s, type, flags, what);
}

static bool add_elem(struct nftnl_set *s, const void *key, uint32_t key_len, uint32_t flags,
		     const char *jump_chain)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return false;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (jump_chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, jump_chain);
	}
	nftnl_set_elem_add(s, e);
	return true;
}

/* An interval set holds [start, end): the start element and an
 * interval-end element at the first address past the network. A network
 * reaching the top of the address space has no end element. */
static bool add_interval(struct nftnl_set *s, const struct enc_cidr *c)
{
	unsigned bytes = family_bytes(c->net.family), carry;
	uint8_t end[16];
	int i;

	if (!add_elem(s, c->net.addr, bytes, 0, NULL))
		return false;
	if (c->prefix == 0)
		return true;
	/* end = net + 2^(bits - prefix), big endian; net has no host bits. */
	memcpy(end, c->net.addr, bytes);
	i = (c->prefix - 1) / 8;
	carry = 1u << (7 - (c->prefix - 1) % 8);
	for (; i >= 0 && carry; i--) {
		unsigned v = end[i] + carry;

		end[i] = (uint8_t)v;
		carry = v >> 8;
	}
	if (carry)
		return true;
	return add_elem(s, end, bytes, NFT_SET_ELEM_INTERVAL_END, NULL);
}

/* Rewrite an interval set's content: flush, then the networks c. */
static void fill_interval_set(struct enc_nft_batch *b, const struct set_def *d,
			      const struct enc_cidr *c, size_t n)
{
	struct nftnl_set *s;
	char what[64];

	snprintf(what, sizeof(what), "flush set %s", d->name);
	put_elems(b, set_ref(d->name), NFT_MSG_DELSETELEM, 0, what);
	s = set_ref(d->name);
	for (size_t i = 0; s && i < n; i++)
		if (!add_interval(s, &c[i]))
			b->broken = true;
	snprintf(what, sizeof(what), "add elements to set %s", d->name);
	put_elems(b, s, NFT_MSG_NEWSETELEM, NLM_F_CREATE, what);
}

static void put_limit(struct enc_nft_batch *b, uint16_t type, uint16_t flags, const char *name,
		      const struct enc_nft_ws *ws, const char *verb)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (!o) {
		b->broken = true;
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, ENC_NFT_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_LIMIT);
	if (type == NFT_MSG_NEWOBJ) {
		nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_RATE, ws ? ws->log_rate : ENC_NFT_LOG_RATE);
		nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_UNIT, 1);	/* per second */
		nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_BURST, ws ? ws->log_burst : ENC_NFT_LOG_BURST);
		nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_TYPE, NFT_LIMIT_PKTS);
		nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_FLAGS, 0);
	}
	nlh = msg_start(b, type, flags);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, o);
		msg_end(b, nlh, "%s limit %s", verb, name);
	}
	nftnl_obj_free(o);
}

/* ------------------------------------------------------------------ */
/* rules */

struct rule {
	struct enc_nft_batch *b;
	struct nftnl_rule *r;
	const char *chain;
	unsigned *count;	/* rules appended to this chain so far */
};

static void rule_begin(struct rule *rb, struct enc_nft_batch *b, const char *chain, unsigned *count)
{
	rb->b = b;
	rb->chain = chain;
	rb->count = count;
	rb->r = nftnl_rule_alloc();
	if (!rb->r) {
		b->broken = true;
		return;
	}
	nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, ENC_NFT_TABLE);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
}

static struct nftnl_expr *expr(struct rule *rb, const char *name)
{
	struct nftnl_expr *e;

	if (!rb->r)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		rb->b->broken = true;
		return NULL;
	}
	nftnl_rule_add_expr(rb->r, e);
	return e;
}

/* An expression with n u32 attributes, given as (attribute, value) pairs. */
static struct nftnl_expr *ex(struct rule *rb, const char *name, int n, ...)
{
	struct nftnl_expr *e = expr(rb, name);
	va_list ap;

	va_start(ap, n);
	for (int i = 0; e && i < n; i++) {
		uint16_t attr = (uint16_t)va_arg(ap, int);

		nftnl_expr_set_u32(e, attr, (uint32_t)va_arg(ap, int));
	}
	va_end(ap);
	return e;
}

static void e_meta(struct rule *rb, uint32_t key)
{
	ex(rb, "meta", 2, NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void e_ct(struct rule *rb, uint32_t key)
{
	ex(rb, "ct", 2, NFTNL_EXPR_CT_KEY, key, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

static void e_payload(struct rule *rb, uint32_t base, uint32_t offset, uint32_t len)
{
	ex(rb, "payload", 4, NFTNL_EXPR_PAYLOAD_BASE, base, NFTNL_EXPR_PAYLOAD_OFFSET, offset,
	   NFTNL_EXPR_PAYLOAD_LEN, len, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

static void e_cmp(struct rule *rb, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = ex(rb, "cmp", 2, NFTNL_EXPR_CMP_SREG, NFT_REG_1, NFTNL_EXPR_CMP_OP, op);

	if (e)
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

/* reg1 = reg1 & mask */
static void e_mask(struct rule *rb, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = ex(rb, "bitwise", 3, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1,
				  NFTNL_EXPR_BITWISE_DREG, NFT_REG_1, NFTNL_EXPR_BITWISE_LEN, len);

	if (e) {
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
}

/* Set membership of reg1; with vmap, the element's verdict is applied. */
static void e_lookup(struct rule *rb, const char *set, bool vmap, bool invert)
{
	struct nftnl_expr *e = ex(rb, "lookup", 1, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

static void e_range(struct rule *rb, uint8_t from, uint8_t to)
{
	struct nftnl_expr *e = ex(rb, "range", 2, NFTNL_EXPR_RANGE_SREG, NFT_REG_1,
				  NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);

	if (e) {
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &from, 1);
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &to, 1);
	}
}

/* reg1 & bits != 0 (a 32-bit bitmask such as ct state or ct status) */
static void m_bits(struct rule *rb, uint32_t bits)
{
	static const uint32_t zero;

	e_mask(rb, &bits, sizeof(bits));
	e_cmp(rb, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void e_counter(struct rule *rb)
{
	expr(rb, "counter");
}

static void e_verdict(struct rule *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = ex(rb, "immediate", 2, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT,
				  NFTNL_EXPR_IMM_VERDICT, verdict);

	if (e && chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* The log half of a drop: over the limit the rule stops here (and the
 * next rule, with the same match, still drops). */
static void e_limited_log(struct rule *rb, const char *limit, const struct enc_nft_ws *ws,
			  const char *reason)
{
	char prefix[ENC_NFT_ID_MAX + 32];
	struct nftnl_expr *e;

	if (limit) {
		e = ex(rb, "objref", 1, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_LIMIT);
		if (e)
			nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, limit);
	} else {
		e = ex(rb, "limit", 3, NFTNL_EXPR_LIMIT_BURST, ws->log_burst,
		       NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS, NFTNL_EXPR_LIMIT_FLAGS, 0);
		if (e) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, ws->log_rate);
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
		}
	}
	snprintf(prefix, sizeof(prefix), "enc:%s %s ", ws->id, reason);
	e = expr(rb, "log");
	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, ws->log_group);
	}
}

static void rule_end(struct rule *rb, const char *comment)
{
	struct nftnl_udata_buf *ud;
	struct nlmsghdr *nlh;
	unsigned n = ++*rb->count;

	if (!rb->r)
		return;
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment)) {
		rb->b->broken = true;
		goto out;
	}
	nftnl_rule_set_data(rb->r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nlh = msg_start(rb->b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, rb->r);
		msg_end(rb->b, nlh, "add rule %u of chain %s (%s)", n, rb->chain, comment);
	}
out:
	if (ud)
		nftnl_udata_buf_free(ud);
	nftnl_rule_free(rb->r);
	rb->r = NULL;
}

static void m_nfproto(struct rule *rb, int family)
{
	uint8_t p = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	e_meta(rb, NFT_META_NFPROTO);
	e_cmp(rb, NFT_CMP_EQ, &p, 1);
}

/* Offsets of saddr/daddr in the IPv4 and IPv6 headers. */
static uint32_t addr_offset(int family, bool dst)
{
	if (family == AF_INET)
		return dst ? 16 : 12;
	return dst ? 24 : 8;
}

/* As nft(8) does it: a prefix on a byte boundary compares just those
 * bytes; any other prefix masks the whole address. */
static void m_daddr_cidr(struct rule *rb, const struct enc_cidr *c)
{
	unsigned bytes = family_bytes(c->net.family);
	uint8_t mask[16];

	m_nfproto(rb, c->net.family);
	if (c->prefix == 0)
		return;
	if (c->prefix % 8 == 0) {
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(c->net.family, true),
			  c->prefix / 8u);
		e_cmp(rb, NFT_CMP_EQ, c->net.addr, c->prefix / 8u);
		return;
	}
	prefix_mask(mask, c->prefix);
	e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(c->net.family, true), bytes);
	e_mask(rb, mask, bytes);
	e_cmp(rb, NFT_CMP_EQ, c->net.addr, bytes);
}

static void m_port(struct rule *rb, enum enc_proto proto, uint16_t port)
{
	uint16_t be = htons(port);
	uint8_t p = (uint8_t)proto;

	if (proto == ENC_PROTO_ANY && port == 0)
		return;
	e_meta(rb, NFT_META_L4PROTO);
	if (proto == ENC_PROTO_ANY)
		e_lookup(rb, set_tcp_udp.name, false, false);
	else
		e_cmp(rb, NFT_CMP_EQ, &p, 1);
	if (port) {
		/* th dport: TCP and UDP both keep it at offset 2. */
		e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		e_cmp(rb, NFT_CMP_EQ, &be, 2);
	}
}

static void m_iface(struct rule *rb, bool out, const char *set, bool vmap, bool invert)
{
	e_meta(rb, out ? NFT_META_OIFNAME : NFT_META_IIFNAME);
	e_lookup(rb, set, vmap, invert);
}

/* What a drop category matches. */
enum match_kind { M_SPOOF, M_FIB_LOCAL, M_CT_DNAT, M_DADDR_SET, M_ALL };

struct match {
	enum match_kind kind;
	int family;			/* M_SPOOF, M_DADDR_SET */
	const struct enc_ip *ip;	/* M_SPOOF: the only valid source; NULL: none */
	const char *set;		/* M_DADDR_SET */
};

static void add_match(struct rule *rb, const struct match *m)
{
	switch (m->kind) {
	case M_SPOOF:
		m_nfproto(rb, m->family);
		if (m->ip) {
			e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m->family, false),
				  family_bytes(m->family));
			e_cmp(rb, NFT_CMP_NEQ, m->ip->addr, family_bytes(m->family));
		}
		break;
	case M_FIB_LOCAL: {
		uint32_t local = RTN_LOCAL;

		/* Any address of the host: without iif/oif flags fib asks
		 * the whole namespace, not one interface. */
		ex(rb, "fib", 3, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR,
		   NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		e_cmp(rb, NFT_CMP_EQ, &local, sizeof(local));
		break;
	}
	case M_CT_DNAT:
		e_ct(rb, NFT_CT_STATUS);
		m_bits(rb, IPS_DST_NAT);
		break;
	case M_DADDR_SET:
		m_nfproto(rb, m->family);
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(m->family, true),
			  family_bytes(m->family));
		e_lookup(rb, m->set, false, false);
		break;
	case M_ALL:
		break;
	}
}

/* A logged drop: a limited log rule, then the counted drop. */
static void deny_pair(struct enc_nft_batch *b, const char *chain, unsigned *count,
		      const struct enc_nft_ws *ws, const char *limit, const struct match *m,
		      const char *reason, const char *comment)
{
	struct rule rb;

	rule_begin(&rb, b, chain, count);
	add_match(&rb, m);
	e_limited_log(&rb, limit, ws, reason);
	rule_end(&rb, comment);

	rule_begin(&rb, b, chain, count);
	add_match(&rb, m);
	e_counter(&rb);
	e_verdict(&rb, NF_DROP, NULL);
	rule_end(&rb, comment);
}

static void allow_rule(struct enc_nft_batch *b, const char *chain, unsigned *count,
		       const struct enc_cidr *c, const char *allow_chain)
{
	char spec[96], comment[ENC_NFT_COMMENT_MAX];
	struct rule rb;

	if (enc_format_cidr(c, spec, sizeof(spec)) < 0)
		snprintf(spec, sizeof(spec), "?");
	snprintf(comment, sizeof(comment), "allow %s", spec);
	rule_begin(&rb, b, chain, count);
	m_daddr_cidr(&rb, c);
	m_port(&rb, c->proto, c->port);
	e_counter(&rb);
	e_verdict(&rb, allow_chain ? NFT_GOTO : NF_ACCEPT, allow_chain);
	rule_end(&rb, comment);
}

/* ------------------------------------------------------------------ */
/* builders */

struct ws_names {
	char fwd[ENC_NFT_ID_MAX + 8];	/* ws_<id>, also the limit's name */
	char host[ENC_NFT_ID_MAX + 16];	/* ws_<id>_host */
	char allow[ENC_NFT_ID_MAX + 16];	/* ws_<id>_allow */
};

static void ws_names(struct ws_names *n, const char *id)
{
	snprintf(n->fwd, sizeof(n->fwd), "ws_%s", id);
	snprintf(n->host, sizeof(n->host), "ws_%s_host", id);
	snprintf(n->allow, sizeof(n->allow), "ws_%s_allow", id);
}

static int finish(struct enc_nft_batch *b, struct enc_err *err)
{
	if (b->broken)
		return enc_err_set(err, -ENOMEM, "nftables: out of memory building a batch");
	return 0;
}

static int usable(struct enc_nft_batch *b, struct enc_err *err)
{
	if (b->broken)
		return enc_err_set(err, -ENOMEM, "nftables: out of memory building a batch");
	if (b->closed)
		return enc_err_set(err, -EINVAL, "nftables: batch already closed");
	return 0;
}

/* One rule: its match and action as statements, then its comment. */
#define RULE(chain, count, comment, ...)                                       \
	do {                                                                   \
		rule_begin(&rb, b, chain, count);                              \
		__VA_ARGS__;                                                   \
		rule_end(&rb, comment);                                        \
	} while (0)

static void base_rules(struct enc_nft_batch *b)
{
	static const uint8_t icmpv6 = IPPROTO_ICMPV6;
	static const struct enc_cidr ll_mcast = { .net = { AF_INET6, { 0xff, 0x02 } }, .prefix = 16 };
	const uint32_t reply = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	unsigned nf = 0, ni = 0, np = 0;
	struct rule rb;

	/* forward: a workspace's packets go to its own chain, which always
	 * ends in a verdict; the drop after it catches anything that comes
	 * back or a host end missing from the map. Into a workspace: only
	 * what answers its own connections. */
	RULE("forward", &nf, "workspace policy", m_iface(&rb, false, "ws_fwd", true, false));
	RULE("forward", &nf, "workspace without policy", m_iface(&rb, false, "ws_ifaces", false, false);
	     e_counter(&rb); e_verdict(&rb, NF_DROP, NULL));
	RULE("forward", &nf, "replies to workspaces", m_iface(&rb, true, "ws_ifaces", false, false);
	     e_ct(&rb, NFT_CT_STATE); m_bits(&rb, reply); e_verdict(&rb, NF_ACCEPT, NULL));
	RULE("forward", &nf, "inbound to workspaces", m_iface(&rb, true, "ws_ifaces", false, false);
	     e_counter(&rb); e_verdict(&rb, NF_DROP, NULL));

	/* input: packets to the host itself. IPv6 neighbour discovery with
	 * the host end (135 solicitation, 136 advertisement) must pass, or
	 * the host's neighbour entry for the workspace goes stale and IPv6
	 * stops. ARP is not IP and never gets here. The rest of ICMPv6 to
	 * link-local multicast (router solicitations, MLD reports: the
	 * workspace kernel's own housekeeping) is dropped without a log
	 * record, so the audit log shows attempts, not link chatter. */
	RULE("input", &ni, "replies from workspaces", m_iface(&rb, false, "ws_ifaces", false, false);
	     e_ct(&rb, NFT_CT_STATE); m_bits(&rb, reply); e_verdict(&rb, NF_ACCEPT, NULL));
	RULE("input", &ni, "neighbour discovery", m_iface(&rb, false, "ws_ifaces", false, false);
	     m_nfproto(&rb, AF_INET6); e_meta(&rb, NFT_META_L4PROTO); e_cmp(&rb, NFT_CMP_EQ, &icmpv6, 1);
	     e_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1); e_range(&rb, 135, 136);
	     e_verdict(&rb, NF_ACCEPT, NULL));
	RULE("input", &ni, "link-local ICMPv6", m_iface(&rb, false, "ws_ifaces", false, false);
	     m_daddr_cidr(&rb, &ll_mcast); e_meta(&rb, NFT_META_L4PROTO);
	     e_cmp(&rb, NFT_CMP_EQ, &icmpv6, 1); e_counter(&rb); e_verdict(&rb, NF_DROP, NULL));
	RULE("input", &ni, "workspace host policy", m_iface(&rb, false, "ws_host", true, false));
	RULE("input", &ni, "workspace without host policy", m_iface(&rb, false, "ws_ifaces", false, false);
	     e_counter(&rb); e_verdict(&rb, NF_DROP, NULL));

	/* postrouting: pool addresses leaving for anywhere but another
	 * workspace take the host's address (deny mode too: an allowed
	 * server cannot answer a pool address). The forward chains already
	 * dropped foreign sources, so a pool source is the workspace's. */
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		RULE("postrouting", &np, f ? "masquerade ipv6" : "masquerade ipv4",
		     m_nfproto(&rb, family);
		     e_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, false),
			       family_bytes(family));
		     e_lookup(&rb, f ? "pool6" : "pool4", false, false);
		     m_iface(&rb, true, "ws_ifaces", false, true); expr(&rb, "masq"));
	}
}

int enc_nft_build_ensure(struct enc_nft_batch *b, const struct enc_nft_base *base,
			 struct enc_err *err)
{
	static const uint8_t tcp = IPPROTO_TCP, udp = IPPROTO_UDP;
	struct nftnl_set *s;
	int r;

	if ((r = usable(b, err)) < 0 || (r = check_base(base, err)) < 0)
		return r;

	put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table inet " ENC_NFT_TABLE);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(all_sets); i++)
		put_set(b, NFT_MSG_NEWSET, all_sets[i], "add");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(base_chains); i++)
		put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, base_chains[i].name,
			  &base_chains[i], "add");

	/* Static content: rewritten whole, in this same transaction. */
	fill_interval_set(b, &set_pool4, &base->pool4, 1);
	fill_interval_set(b, &set_pool6, &base->pool6, 1);
	fill_interval_set(b, &set_meta4, meta4, ENC_ARRAY_SIZE(meta4));
	fill_interval_set(b, &set_meta6, meta6, ENC_ARRAY_SIZE(meta6));
	put_elems(b, set_ref(set_tcp_udp.name), NFT_MSG_DELSETELEM, 0, "flush set tcp_udp");
	s = set_ref(set_tcp_udp.name);
	if (s && (!add_elem(s, &tcp, 1, 0, NULL) || !add_elem(s, &udp, 1, 0, NULL)))
		b->broken = true;
	put_elems(b, s, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "add elements to set tcp_udp");

	for (size_t i = 0; i < ENC_ARRAY_SIZE(base_chains); i++)
		flush_chain(b, base_chains[i].name);
	base_rules(b);
	return finish(b, err);
}

/* Where an allow rule goes: an allow rule lying inside a blocked range
 * names it explicitly and goes before that range's drop; a wider one
 * (0.0.0.0/0) does not. 0: metadata, 1: other workspaces, 2: the rest. */
static int allow_phase(const struct enc_cidr *c, const struct enc_nft_base *base)
{
	const struct enc_cidr pools[] = { base->pool4, base->pool6 };

	if (within_any(c, meta4, ENC_ARRAY_SIZE(meta4)) || within_any(c, meta6, ENC_ARRAY_SIZE(meta6)))
		return 0;
	return within_any(c, pools, ENC_ARRAY_SIZE(pools)) ? 1 : 2;
}

static void ws_chain_rules(struct enc_nft_batch *b, const struct enc_nft_base *base,
			   const struct enc_nft_ws *ws, const struct ws_names *n)
{
	const char *allow_chain = ws->log_allowed ? n->allow : NULL, *lim = n->fwd;
	const struct match spoof4 = { M_SPOOF, AF_INET, ws->addr4.family ? &ws->addr4 : NULL, NULL };
	const struct match spoof6 = { M_SPOOF, AF_INET6, ws->addr6.family ? &ws->addr6 : NULL, NULL };
	const struct match local = { M_FIB_LOCAL, 0, NULL, NULL }, dnat = { M_CT_DNAT, 0, NULL, NULL };
	const struct match after[2][2] = {
		{ { M_DADDR_SET, AF_INET, NULL, "meta4" }, { M_DADDR_SET, AF_INET6, NULL, "meta6" } },
		{ { M_DADDR_SET, AF_INET, NULL, "pool4" }, { M_DADDR_SET, AF_INET6, NULL, "pool6" } },
	};
	const char *reason[2] = { "metadata", "pool" };
	const struct match all = { M_ALL, 0, NULL, NULL };
	unsigned cnt = 0;
	struct rule rb;

	/* Forward path. */
	deny_pair(b, n->fwd, &cnt, ws, lim, &spoof4, "spoof", "spoof ipv4");
	deny_pair(b, n->fwd, &cnt, ws, lim, &spoof6, "spoof", "spoof ipv6");
	deny_pair(b, n->fwd, &cnt, ws, lim, &local, "host", "host local");
	deny_pair(b, n->fwd, &cnt, ws, lim, &dnat, "host", "host dnat");
	for (int phase = 0; phase < 3; phase++) {
		char comment[32];

		for (size_t i = 0; i < ws->n_allow; i++)
			if (allow_phase(&ws->allow[i], base) == phase)
				allow_rule(b, n->fwd, &cnt, &ws->allow[i], allow_chain);
		for (int f = 0; phase < 2 && f < 2; f++) {
			snprintf(comment, sizeof(comment), "%s ipv%c", reason[phase], f ? '6' : '4');
			deny_pair(b, n->fwd, &cnt, ws, lim, &after[phase][f], reason[phase], comment);
		}
	}
	if (ws->mode == ENC_NET_NAT)
		RULE(n->fwd, &cnt, "nat", e_counter(&rb);
		     e_verdict(&rb, allow_chain ? NFT_GOTO : NF_ACCEPT, allow_chain));
	else
		deny_pair(b, n->fwd, &cnt, ws, lim, &all, "deny", "deny");

	/* Input path: the host itself. A host address is "explicitly listed"
	 * only by an allow rule naming exactly that one address. */
	cnt = 0;
	deny_pair(b, n->host, &cnt, ws, lim, &spoof4, "spoof", "spoof ipv4");
	deny_pair(b, n->host, &cnt, ws, lim, &spoof6, "spoof", "spoof ipv6");
	for (size_t i = 0; i < ws->n_allow; i++)
		if (ws->allow[i].prefix == family_bits(ws->allow[i].net.family))
			allow_rule(b, n->host, &cnt, &ws->allow[i], allow_chain);
	deny_pair(b, n->host, &cnt, ws, lim, &all, "host", "host");

	/* Logged acceptance: new connections only, with a budget of its own
	 * so busy allowed traffic cannot crowd the denials out of the log. */
	if (allow_chain) {
		cnt = 0;
		RULE(n->allow, &cnt, "log allowed", e_ct(&rb, NFT_CT_STATE);
		     m_bits(&rb, NF_CT_STATE_BIT(IP_CT_NEW)); e_limited_log(&rb, NULL, ws, "allow"));
		RULE(n->allow, &cnt, "allowed", e_verdict(&rb, NF_ACCEPT, NULL));
	}
}

int enc_nft_build_add(struct enc_nft_batch *b, const struct enc_nft_base *base,
		      const struct enc_nft_ws *ws, struct enc_err *err)
{
	struct ws_names n;
	int r;

	if ((r = usable(b, err)) < 0 || (r = check_base(base, err)) < 0 ||
	    (r = enc_nft_ws_check(ws, err)) < 0)
		return r;
	if ((r = enc_nft_build_ensure(b, base, err)) < 0)
		return r;
	ws_names(&n, ws->id);

	/* NLM_F_EXCL throughout: finding any of it already there means a
	 * stale or duplicate workspace, and the start must fail. */
	put_limit(b, NFT_MSG_NEWOBJ, NLM_F_CREATE | NLM_F_EXCL, n.fwd, ws, "add");
	put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, n.fwd, NULL, "add");
	put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, n.host, NULL, "add");
	if (ws->log_allowed)
		put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, n.allow, NULL, "add");
	ws_chain_rules(b, base, ws, &n);

	/* Elements last: the chains are complete before any packet can be
	 * sent to them (all in one transaction anyway). */
	put_iface(b, &set_ws_fwd, ws->ifname, n.fwd, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL);
	put_iface(b, &set_ws_host, ws->ifname, n.host, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL);
	put_iface(b, &set_ws_ifaces, ws->ifname, NULL, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL);
	return finish(b, err);
}

int enc_nft_build_remove(struct enc_nft_batch *b, const char *id, const char *ifname,
			 struct enc_err *err)
{
	struct ws_names n;
	int r;

	if ((r = usable(b, err)) < 0 || (r = check_id(id, err)) < 0 ||
	    (r = check_ifname(ifname, err)) < 0)
		return r;
	ws_names(&n, id);

	const char *chains[] = { n.fwd, n.host, n.allow };
	const char *maps[] = { n.fwd, n.host, NULL };	/* as ws_sets */

	/* First make sure every object exists (creating without EXCL is a
	 * no-op for what is there), so the deletes below cannot fail with
	 * ENOENT on a half-installed or already removed workspace. */
	put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table inet " ENC_NFT_TABLE);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(ws_sets); i++)
		put_set(b, NFT_MSG_NEWSET, ws_sets[i], "add");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(chains); i++)
		put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, chains[i], NULL, "add");
	put_limit(b, NFT_MSG_NEWOBJ, NLM_F_CREATE, n.fwd, NULL, "add");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(ws_sets); i++)
		put_iface(b, ws_sets[i], ifname, maps[i], NFT_MSG_NEWSETELEM, NLM_F_CREATE);

	/* Then delete: elements (the references), chains (and their rules),
	 * then the limit their rules referred to. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(ws_sets); i++)
		put_iface(b, ws_sets[i], ifname, NULL, NFT_MSG_DELSETELEM, 0);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(chains); i++)
		put_chain(b, NFT_MSG_DELCHAIN, 0, chains[i], NULL, "delete");
	put_limit(b, NFT_MSG_DELOBJ, 0, n.fwd, NULL, "delete");
	return finish(b, err);
}

int enc_nft_build_remove_table(struct enc_nft_batch *b, struct enc_err *err)
{
	int r;

	if ((r = usable(b, err)) < 0)
		return r;
	/* Create-then-delete the base objects (so a missing one is no error),
	 * then the table with NLM_F_NONREC: the kernel refuses with EBUSY
	 * if anything else (a workspace's chain or limit) is still in it,
	 * and the whole batch is void. Twice safe: a workspace's rules also
	 * hold the pool and metadata sets, whose deletion fails first. */
	put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table inet " ENC_NFT_TABLE);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(all_sets); i++)
		put_set(b, NFT_MSG_NEWSET, all_sets[i], "add");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(base_chains); i++)
		put_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, base_chains[i].name,
			  &base_chains[i], "add");
	/* Named for the error message: EBUSY on a set means a workspace's
	 * rules still use it. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(base_chains); i++)
		put_chain(b, NFT_MSG_DELCHAIN, 0, base_chains[i].name, NULL,
			  "remove table inet " ENC_NFT_TABLE ": delete");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(all_sets); i++)
		put_set(b, NFT_MSG_DELSET, all_sets[i], "remove table inet " ENC_NFT_TABLE ": delete");

	put_table(b, NFT_MSG_DELTABLE, NLM_F_NONREC, "remove table inet " ENC_NFT_TABLE ": delete table");
	return finish(b, err);
}

int enc_nft_build_purge(struct enc_nft_batch *b, struct enc_err *err)
{
	int r;

	if ((r = usable(b, err)) < 0)
		return r;
	put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table inet " ENC_NFT_TABLE);
	put_table(b, NFT_MSG_DELTABLE, 0, "delete table inet " ENC_NFT_TABLE);
	return finish(b, err);
}

/* ------------------------------------------------------------------ */
/* talking to the kernel */

static int nft_socket(struct mnl_socket **out, struct enc_err *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SEC };
	int one = 1;

	if (!nl)
		return enc_err_sys(err, -errno, "nftables: cannot open a netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(nl);
		return enc_err_sys(err, e, "nftables: cannot bind a netlink socket");
	}
	/* Short acks, without a copy of each request (optional). nf_tables
	 * points at attributes rather than explaining, so no NETLINK_EXT_ACK:
	 * our own description of each message says more. */
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A reply that never comes must not hang a workspace start. */
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*out = nl;
	return 0;
}

/* Make room for n replies (every ack is a separate skb, accounted at its
 * true size): a dropped ack would leave us unable to tell success. */
static void grow_buffers(struct mnl_socket *nl, size_t n, size_t len)
{
	int fd = mnl_socket_get_fd(nl);
	int rcv = (int)((n + 8) * 2048), snd = (int)(len + 65536);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
}

int enc_nft_batch_send(struct enc_nft_batch *b, struct enc_err *err)
{
	static const size_t bufsz = 65536;
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ bool *acked = NULL;
	struct mnl_socket *nl;
	size_t left = b->n, first = SIZE_MAX;
	int code = 0, r;

	if (b->sent)
		return enc_err_set(err, -EINVAL, "nftables: batch already sent");
	batch_close(b);
	if (b->broken)
		return enc_err_set(err, -ENOMEM, "nftables: out of memory building a batch");
	b->sent = true;
	if (b->n == 0)
		return 0;
	buf = malloc(bufsz);
	acked = calloc(b->n, sizeof(*acked));
	if (!buf || !acked)
		return enc_err_set(err, -ENOMEM, "nftables: out of memory");
	if ((r = nft_socket(&nl, err)) < 0)
		return r;
	grow_buffers(nl, b->n, b->len);

	if (mnl_socket_sendto(nl, b->buf, b->len) != (ssize_t)b->len) {
		int e = errno ? -errno : -EIO;

		mnl_socket_close(nl);
		return enc_err_sys(err, e, "nftables: cannot send a batch of %zu messages", b->n);
	}

	/* The kernel processes the batch inside sendmsg() and queues one
	 * reply per message (NLM_F_ACK), errors included, in order. A reply
	 * to BEGIN or END is about the batch as a whole (EPERM, ENOMEM). */
	while (left > 0) {
		ssize_t got = mnl_socket_recvfrom(nl, buf, bufsz);
		const struct nlmsghdr *nlh;
		bool whole = false;
		int len;

		if (got < 0) {
			int e = errno == EAGAIN ? -ETIMEDOUT : -errno;

			if (code)
				break;	/* report the error we have */
			mnl_socket_close(nl);
			return enc_err_sys(err, e, "nftables: no reply for %zu of %zu messages",
					   left, b->n);
		}
		len = (int)got;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;
			uint32_t i;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			i = nlh->nlmsg_seq - b->seq0;
			if (i == 0 || i > b->n) {	/* BEGIN or END */
				if (e->error && !code) {
					code = e->error;
					first = SIZE_MAX;
				}
				whole = true;
				continue;
			}
			i--;
			if (acked[i])
				continue;
			acked[i] = true;
			left--;
			if (e->error && !code) {	/* replies come in batch order */
				code = e->error;
				first = i;
			}
		}
		if (whole && code)
			break;
	}
	mnl_socket_close(nl);

	if (code == 0)
		return 0;
	if (first == SIZE_MAX)
		return enc_err_sys(err, code, "nftables: cannot apply a batch of %zu messages", b->n);
	return enc_err_sys(err, code, "nftables: cannot %s", b->what[first]);
}

/* ------------------------------------------------------------------ */
/* reading counters back */

struct counters {
	const char *chain;
	struct enc_nft_counter *v;
	size_t n, cap;
	bool oom;
};

static int comment_cb(const struct nftnl_udata *a, void *data)
{
	const char **comment = data;
	uint8_t len = nftnl_udata_len(a);
	const char *s = nftnl_udata_get(a);

	if (nftnl_udata_type(a) == NFTNL_UDATA_RULE_COMMENT && len > 0 && s[len - 1] == '\0')
		*comment = s;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters *c = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it = NULL;
	struct nftnl_expr *e;
	const char *comment = NULL;
	const void *ud;
	uint32_t udlen = 0;
	bool have = false;
	uint64_t pk = 0, by = 0;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	it = nftnl_expr_iter_create(r);
	while (it && (e = nftnl_expr_iter_next(it))) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
			pk = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			by = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
			have = true;
		}
	}
	if (!have)
		goto out;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud)
		nftnl_udata_parse(ud, udlen, comment_cb, &comment);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct enc_nft_counter *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			c->oom = true;
			goto out;
		}
		c->v = v;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	snprintf(c->v[c->n].chain, sizeof(c->v[c->n].chain), "%s", c->chain);
	snprintf(c->v[c->n].what, sizeof(c->v[c->n].what), "%s", comment ? comment : "");
	c->v[c->n].packets = pk;
	c->v[c->n].bytes = by;
	c->n++;
out:
	if (it)
		nftnl_expr_iter_destroy(it);
	if (r)
		nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Dump one chain's rules into c. 0, or -errno (ENOENT: no such table). */
static int dump_chain(struct mnl_socket *nl, struct counters *c, char *buf, size_t bufsz)
{
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	ssize_t got;
	int ret;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ENC_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		got = mnl_socket_recvfrom(nl, buf, bufsz);
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)got, seq, portid, rule_cb, c);
	} while (ret > 0);
	if (ret < 0)
		return -errno;
	return c->oom ? -ENOMEM : 0;
}

int enc_nft_counters(const char *id, struct enc_nft_counter **out, size_t *n,
		     struct enc_err *err)
{
	static const size_t bufsz = 65536;
	_cleanup_free_ char *buf = NULL;
	struct counters c = { 0 };
	struct mnl_socket *nl;
	struct ws_names names;
	size_t in_fwd = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = check_id(id, err)) < 0)
		return r;
	ws_names(&names, id);

	const char *chains[] = { names.fwd, names.host };

	buf = malloc(bufsz);
	if (!buf)
		return enc_err_set(err, -ENOMEM, "nftables: out of memory");
	if ((r = nft_socket(&nl, err)) < 0)
		return r;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(chains); i++) {
		/* A dump interrupted by a concurrent change is retried. */
		for (int tries = 0; tries < 5; tries++) {
			size_t keep = c.n;

			c.chain = chains[i];
			r = dump_chain(nl, &c, buf, bufsz);
			if (r != -EINTR)
				break;
			c.n = keep;
		}
		if (r < 0 && r != -ENOENT)
			break;
		if (i == 0)
			in_fwd = c.n;
		r = 0;
	}
	mnl_socket_close(nl);
	if (r < 0) {
		free(c.v);
		return enc_err_sys(err, r, "nftables: cannot list the rules of workspace %s", id);
	}
	if (in_fwd == 0) {
		free(c.v);
		return enc_err_set(err, -ENOENT, "nftables: workspace %s has no rules installed", id);
	}
	*out = c.v;
	*n = c.n;
	return 0;
}
