/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-nft.c - the egress policy in nftables (lib/nft.c).
 *
 * Without privileges: every builder's batch is parsed back with libnftnl
 * and compared message by message. Rule expressions are compared, as text
 * in libnftnl's debug format, with what nft(8) itself generates for the
 * same rule written in nft syntax (`nft --debug=netlink`), so a builder
 * that drifts from the intended rule fails here.
 *
 * As root: a forked child moves into a private network namespace (the
 * "host") and never touches the real host's ruleset: it installs and
 * removes workspaces through the kernel, checks the result with
 * `nft list` inside that namespace, then builds a small topology (two
 * "workspace" namespaces on veths, an "internet" namespace with listeners
 * on an allowed and a denied address, a link-local stand-in 169.254.77.1,
 * listeners on the host end and the host's "LAN" address) and checks what
 * a workspace can reach. When the child exits its namespaces, and every
 * veth in them, are gone. The real host is checked for leftovers before
 * and after. Not root: skipped, or a failure with ENCLAVE_MUST_WORK=1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"
#include "tap.h"

static bool must_work(void)
{
	const char *m = getenv("ENCLAVE_MUST_WORK");

	return m && strcmp(m, "1") == 0;
}

__attribute__((format(printf, 1, 2)))
static void skip(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (must_work()) {
		ok(0, "%s (skipped, but ENCLAVE_MUST_WORK=1)", why);
		return;
	}
	tap_n++;
	printf("ok %d # SKIP %s\n", tap_n, why);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* parsing a batch back */

struct pmsg {
	uint16_t type;		/* NFT_MSG_*, or NFNL_MSG_BATCH_* */
	uint16_t flags;
	uint32_t seq;
	char name[64];		/* table, chain, set or object */
	char chain[64];		/* of a rule */
	char comment[128];
	char expr[4096];	/* "[ meta load nfproto => reg 1 ]\n[ ... ]" */
	bool hook;
	uint32_t hooknum, policy;
	int32_t prio;
	char ctype[16];
	uint32_t set_flags, key_type, key_len, data_type;
	char elems[1024];	/* "10.213.0.0, 10.214.0.0 end" */
	uint32_t obj_type, burst;
	uint64_t rate, unit;
};

static void render_key(char *out, size_t len, const uint8_t *k, uint32_t n)
{
	if (n == 16 && ((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		snprintf(out, len, "%.16s", (const char *)k);
	else if (n == 4)
		inet_ntop(AF_INET, k, out, (socklen_t)len);
	else if (n == 16)
		inet_ntop(AF_INET6, k, out, (socklen_t)len);
	else if (n == 1)
		snprintf(out, len, "%u", k[0]);
	else
		snprintf(out, len, "?%u", n);
}

/* Elements are parsed by hand: libnftnl numbers the nested elements 1, 2,
 * ... when building (the kernel ignores the type) but its own parser only
 * accepts NFTA_LIST_ELEM, so it stops after the first. */
static void parse_elems(const struct nlmsghdr *nlh, struct pmsg *m)
{
	const struct nlattr *a, *el, *x, *y, *z;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
			snprintf(m->name, sizeof(m->name), "%s", mnl_attr_get_str(a));
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a) {
			char key[64] = "", one[160];
			const char *chain = NULL;
			uint32_t flags = 0;

			mnl_attr_for_each_nested(x, el) {
				switch (mnl_attr_get_type(x)) {
				case NFTA_SET_ELEM_KEY:
					mnl_attr_for_each_nested(y, x)
						render_key(key, sizeof(key), mnl_attr_get_payload(y),
							   mnl_attr_get_payload_len(y));
					break;
				case NFTA_SET_ELEM_FLAGS:
					flags = ntohl(mnl_attr_get_u32(x));
					break;
				case NFTA_SET_ELEM_DATA:
					mnl_attr_for_each_nested(y, x)
						mnl_attr_for_each_nested(z, y)
							if (mnl_attr_get_type(z) == NFTA_VERDICT_CHAIN)
								chain = mnl_attr_get_str(z);
					break;
				default:
					break;
				}
			}
			snprintf(one, sizeof(one), "%s%s%s%s%s", m->elems[0] ? ", " : "", key,
				 flags & NFT_SET_ELEM_INTERVAL_END ? " end" : "",
				 chain ? " jump " : "", chain ? chain : "");
			strncat(m->elems, one, sizeof(m->elems) - strlen(m->elems) - 1);
		}
	}
}

static int comment_cb(const struct nftnl_udata *a, void *data)
{
	if (nftnl_udata_type(a) == NFTNL_UDATA_RULE_COMMENT)
		snprintf(data, 128, "%s", (const char *)nftnl_udata_get(a));
	return 0;
}

static void parse_rule(const struct nlmsghdr *nlh, struct pmsg *m)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	const void *ud;
	uint32_t udlen = 0;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		snprintf(m->expr, sizeof(m->expr), "unparsable");
		nftnl_rule_free(r);
		return;
	}
	snprintf(m->chain, sizeof(m->chain), "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	it = nftnl_expr_iter_create(r);
	while ((e = nftnl_expr_iter_next(it))) {
		char one[512];
		size_t l = strlen(m->expr);

		nftnl_expr_snprintf(one, sizeof(one), e, NFTNL_OUTPUT_DEFAULT, 0);
		snprintf(m->expr + l, sizeof(m->expr) - l, "%s[ %s %s]", l ? "\n" : "",
			 nftnl_expr_get_str(e, NFTNL_EXPR_NAME), one);
	}
	nftnl_expr_iter_destroy(it);
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud)
		nftnl_udata_parse(ud, udlen, comment_cb, m->comment);
	nftnl_rule_free(r);
}

static void parse_one(const struct nlmsghdr *nlh, struct pmsg *m)
{
	m->type = nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END ?
		  nlh->nlmsg_type : NFNL_MSG_TYPE(nlh->nlmsg_type);
	m->flags = nlh->nlmsg_flags;
	m->seq = nlh->nlmsg_seq;
	switch (m->type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE: {
		struct nftnl_table *t = nftnl_table_alloc();

		nftnl_table_nlmsg_parse(nlh, t);
		snprintf(m->name, sizeof(m->name), "%s", nftnl_table_get_str(t, NFTNL_TABLE_NAME));
		nftnl_table_free(t);
		break;
	}
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();

		nftnl_chain_nlmsg_parse(nlh, c);
		snprintf(m->name, sizeof(m->name), "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
		m->hook = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
		if (m->hook) {
			m->hooknum = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
			m->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
			m->policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
			snprintf(m->ctype, sizeof(m->ctype), "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
		}
		nftnl_chain_free(c);
		break;
	}
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		parse_rule(nlh, m);
		break;
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET: {
		struct nftnl_set *s = nftnl_set_alloc();

		nftnl_set_nlmsg_parse(nlh, s);
		snprintf(m->name, sizeof(m->name), "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
		m->set_flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		m->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
		m->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
		m->data_type = nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE);
		nftnl_set_free(s);
		break;
	}
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		parse_elems(nlh, m);
		break;
	case NFT_MSG_NEWOBJ:
	case NFT_MSG_DELOBJ: {
		struct nftnl_obj *o = nftnl_obj_alloc();

		nftnl_obj_nlmsg_parse(nlh, o);
		snprintf(m->name, sizeof(m->name), "%s", nftnl_obj_get_str(o, NFTNL_OBJ_NAME));
		m->obj_type = nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE);
		if (nftnl_obj_is_set(o, NFTNL_OBJ_LIMIT_RATE)) {
			m->rate = nftnl_obj_get_u64(o, NFTNL_OBJ_LIMIT_RATE);
			m->unit = nftnl_obj_get_u64(o, NFTNL_OBJ_LIMIT_UNIT);
			m->burst = nftnl_obj_get_u32(o, NFTNL_OBJ_LIMIT_BURST);
		}
		nftnl_obj_free(o);
		break;
	}
	default:
		break;
	}
}

/* All messages of a closed batch, BEGIN and END included. */
static struct pmsg *parse_batch(struct enc_nft_batch *b, size_t *n)
{
	size_t len;
	const void *data = enc_nft_batch_data(b, &len);
	const struct nlmsghdr *nlh = data;
	int left = (int)len;
	struct pmsg *v = NULL;

	*n = 0;
	while (mnl_nlmsg_ok(nlh, left)) {
		v = realloc(v, (*n + 1) * sizeof(*v));
		memset(&v[*n], 0, sizeof(*v));
		parse_one(nlh, &v[(*n)++]);
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return v;
}

/* The rules of one chain, in batch order. */
static size_t rules_of(const struct pmsg *m, size_t n, const char *chain, const struct pmsg **out,
		       size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (m[i].type == NFT_MSG_NEWRULE && strcmp(m[i].chain, chain) == 0 && k < max)
			out[k++] = &m[i];
	return k;
}

static const struct pmsg *find(const struct pmsg *m, size_t n, uint16_t type, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].type == type && strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

/* Comments of a chain's rules, joined by '|'. */
static char *comments(const struct pmsg *m, size_t n, const char *chain)
{
	static char buf[4096];
	const struct pmsg *r[128];
	size_t k = rules_of(m, n, chain, r, 128);

	buf[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		strncat(buf, i ? "|" : "", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, r[i]->comment, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* fixtures */

static struct enc_cidr allow_a[5];

static void cidr(struct enc_cidr *c, const char *s)
{
	struct enc_err e = { 0 };

	if (enc_parse_cidr(s, c, &e) < 0) {
		printf("# bad fixture %s: %s\n", s, e.msg);
		exit(1);
	}
}

static void ws_a(struct enc_nft_ws *ws, const char *id)
{
	enc_nft_ws_init(ws);
	snprintf(ws->id, sizeof(ws->id), "%s", id);
	snprintf(ws->ifname, sizeof(ws->ifname), "en%s", id);
	enc_parse_ip("10.213.0.2", &ws->addr4, NULL);
	enc_parse_ip("fd65:6e63:6c61::2", &ws->addr6, NULL);
	cidr(&allow_a[0], "140.82.112.0/20:443");
	cidr(&allow_a[1], "169.254.77.1:80/tcp");
	cidr(&allow_a[2], "[2001:db8::/32]:443/tcp");
	cidr(&allow_a[3], "10.213.0.6:8080/tcp");
	cidr(&allow_a[4], "192.0.2.7");
	ws->allow = allow_a;
	ws->n_allow = 5;
}

/* ------------------------------------------------------------------ */
/* unprivileged: validation */

static void expect_invalid(const struct enc_nft_ws *ws, const char *msg, const char *name)
{
	struct enc_nft_base base;
	struct enc_err e = { 0 };
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	enc_nft_base_init(&base);
	is_int(enc_nft_build_add(b, &base, ws, &e), -EINVAL, name);
	is_str(e.msg, msg, name);
	is_int(enc_nft_batch_count(b), 0, "nothing appended");
}

static void test_validation(void)
{
	struct enc_nft_ws ws;
	struct enc_nft_base base;
	struct enc_cidr bad[ENC_NFT_ALLOW_MAX + 1];
	struct enc_err e = { 0 };
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	ws_a(&ws, "1a2b3c4d");
	is_int(enc_nft_ws_check(&ws, NULL), 0, "the fixture is valid");
	ws.id[0] = '\0';
	expect_invalid(&ws, "workspace id: want 1 to 32 hex digits", "empty id");
	ws_a(&ws, "1A2B");
	expect_invalid(&ws, "workspace id '1A2B': want lowercase hex digits", "uppercase id");
	ws_a(&ws, "1a2b3c4d");
	snprintf(ws.ifname, sizeof(ws.ifname), "en*");
	expect_invalid(&ws, "interface name 'en*': unexpected character '*'",
		       "a wildcard interface name is refused");
	ws.ifname[0] = '\0';
	expect_invalid(&ws, "interface name: want 1 to 15 characters", "empty interface name");
	ws_a(&ws, "1a2b3c4d");
	ws.mode = ENC_NET_NONE;
	expect_invalid(&ws, "workspace 1a2b3c4d: network mode none has no nftables policy", "mode none");
	ws.mode = ENC_NET_HOST;
	expect_invalid(&ws, "workspace 1a2b3c4d: network mode host has no nftables policy", "mode host");
	ws_a(&ws, "1a2b3c4d");
	ws.addr4.family = 0;
	ws.addr6.family = 0;
	expect_invalid(&ws, "workspace 1a2b3c4d: no address (use network mode none)", "no address");
	ws_a(&ws, "1a2b3c4d");
	memset(bad, 0, sizeof(bad));
	enc_parse_ip("10.0.0.1", &bad[0].net, NULL);
	bad[0].prefix = 8;
	ws.allow = bad;
	ws.n_allow = 1;
	expect_invalid(&ws, "workspace 1a2b3c4d: allow rule 1: address has bits set below the /8 prefix",
		       "host bits below the prefix (the rule would never match)");
	bad[0].prefix = 32;
	bad[0].proto = ENC_PROTO_TCP;
	expect_invalid(&ws, "workspace 1a2b3c4d: allow rule 1: a protocol needs a port", "proto without port");
	ws.n_allow = ENC_NFT_ALLOW_MAX + 1;
	expect_invalid(&ws, "workspace 1a2b3c4d: 257 allow rules, at most 256", "too many allow rules");
	ws_a(&ws, "1a2b3c4d");
	ws.log_rate = 0;
	expect_invalid(&ws, "workspace 1a2b3c4d: log rate and burst must be at least 1", "log rate 0");

	ws_a(&ws, "1a2b3c4d");
	enc_nft_base_init(&base);
	base.pool4 = base.pool6;
	is_int(enc_nft_build_add(b, &base, &ws, &e), -EINVAL, "an IPv6 pool as the IPv4 pool");
	is_str(e.msg, "address pools: want one IPv4 and one IPv6 network, without ports", "pool message");
	enc_err_clear(&e);
	is_int(enc_nft_build_remove(b, "xyz", "en1", &e), -EINVAL, "remove checks the id");
	is_int(enc_nft_batch_count(b), 0, "nothing appended");
	/* An empty batch is never sent (safe even as root: no socket). */
	is_int(enc_nft_batch_send(b, NULL), 0, "an empty batch sends nothing");
	enc_err_clear(&e);
	is_int(enc_nft_batch_send(b, &e), -EINVAL, "a batch is sent once");
	is_str(e.msg, "nftables: batch already sent", "second send message");
	enc_err_clear(&e);
	is_int(enc_nft_build_purge(b, &e), -EINVAL, "no building into a closed batch");
	is_str(e.msg, "nftables: batch already closed", "closed batch message");
}

/* ------------------------------------------------------------------ */
/* unprivileged: shapes */

#define NFP4 "[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n"
#define NFP6 "[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x0000000a ]\n"
#define CNT "[ counter pkts 0 bytes 0 ]\n"
#define DROP CNT "[ immediate reg 0 drop ]"
#define ACCEPT CNT "[ immediate reg 0 accept ]"
#define LOG(reason) "[ objref type 4 name ws_1a2b3c4d ]\n" \
	"[ log prefix enc:1a2b3c4d " reason "  group 2049 snaplen 0 qthreshold 0 ]"

static void test_ensure(void)
{
	struct enc_nft_base base;
	struct enc_err e = { 0 };
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m = NULL;
	const struct pmsg *r[16], *p;
	size_t n, k;

	enc_nft_base_init(&base);
	is_int(enc_nft_build_ensure(b, &base, &e), 0, "ensure builds");
	m = parse_batch(b, &n);
	is_int(n, enc_nft_batch_count(b) + 2, "BEGIN + messages + END");
	is_int(m[0].type, NFNL_MSG_BATCH_BEGIN, "batch begins");
	is_int(m[n - 1].type, NFNL_MSG_BATCH_END, "batch ends");
	bool acks = true, seqs = true;
	for (size_t i = 1; i < n - 1; i++) {
		acks &= (m[i].flags & NLM_F_ACK) != 0;
		seqs &= m[i].seq == m[0].seq + i;
	}
	ok(acks, "every message asks for an ack");
	ok(seqs && m[n - 1].seq == m[0].seq + n - 1, "consecutive sequence numbers");
	is_int(enc_nft_batch_count(b), 36, "ensure: 36 messages");
	is_int(m[1].type, NFT_MSG_NEWTABLE, "table first");
	is_str(m[1].name, "enclave", "table inet enclave");
	ok(!(m[1].flags & NLM_F_EXCL), "table created without EXCL (idempotent)");

	/* Sets: exact definitions. */
	p = find(m, n, NFT_MSG_NEWSET, "ws_fwd");
	ok(p && p->set_flags == NFT_SET_MAP && p->key_type == 41 && p->key_len == 16 &&
	   p->data_type == NFT_DATA_VERDICT, "map ws_fwd: ifname : verdict");
	p = find(m, n, NFT_MSG_NEWSET, "ws_host");
	ok(p && p->set_flags == NFT_SET_MAP && p->key_len == 16, "map ws_host");
	p = find(m, n, NFT_MSG_NEWSET, "ws_ifaces");
	ok(p && p->set_flags == 0 && p->key_type == 41 && p->key_len == 16, "set ws_ifaces: ifname");
	p = find(m, n, NFT_MSG_NEWSET, "pool6");
	ok(p && p->set_flags == NFT_SET_INTERVAL && p->key_type == 8 && p->key_len == 16,
	   "set pool6: ipv6_addr interval");
	p = find(m, n, NFT_MSG_NEWSET, "meta4");
	ok(p && p->set_flags == NFT_SET_INTERVAL && p->key_type == 7 && p->key_len == 4,
	   "set meta4: ipv4_addr interval");
	p = find(m, n, NFT_MSG_NEWSET, "tcp_udp");
	ok(p && p->key_type == 12 && p->key_len == 1, "set tcp_udp: inet_proto");

	/* Base chains. */
	p = find(m, n, NFT_MSG_NEWCHAIN, "forward");
	ok(p && p->hook && p->hooknum == NF_INET_FORWARD && p->prio == -1 &&
	   strcmp(p->ctype, "filter") == 0 && p->policy == NF_ACCEPT,
	   "chain forward: filter hook forward priority filter - 1 policy accept");
	p = find(m, n, NFT_MSG_NEWCHAIN, "input");
	ok(p && p->hook && p->hooknum == NF_INET_LOCAL_IN && p->prio == -1 && p->policy == NF_ACCEPT,
	   "chain input: hook input priority filter - 1");
	p = find(m, n, NFT_MSG_NEWCHAIN, "postrouting");
	ok(p && p->hook && p->hooknum == NF_INET_POST_ROUTING && p->prio == 100 &&
	   strcmp(p->ctype, "nat") == 0, "chain postrouting: nat hook postrouting priority srcnat");

	/* Static set content: flushed, then refilled. */
	p = find(m, n, NFT_MSG_DELSETELEM, "pool4");
	ok(p && p->elems[0] == '\0', "pool4 flushed (DELSETELEM without elements)");
	ok(p && p[1].type == NFT_MSG_NEWSETELEM, "then refilled");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "pool4")->elems, "10.213.0.0, 10.214.0.0 end", "pool4 interval");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "pool6")->elems, "fd65:6e63:6c61::, fd65:6e63:6c62:: end",
	       "pool6 interval");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "meta4")->elems, "169.254.0.0, 169.255.0.0 end",
	       "meta4: 169.254.0.0/16");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "meta6")->elems,
	       "fd00:ec2::254, fd00:ec2::255 end, 64:ff9b::a9fe:0, 64:ff9b::a9ff:0 end, "
	       "::ffff:169.254.0.0, ::ffff:169.255.0.0 end", "meta6: fd00:ec2::254 and 169.254/16 in IPv6");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "tcp_udp")->elems, "6, 17", "tcp_udp: tcp, udp");

	/* Base chain rules: flushed, then exactly these. */
	k = 0;
	for (size_t i = 0; i < n; i++)
		k += m[i].type == NFT_MSG_DELRULE;
	is_int(k, 3, "the three base chains are flushed");
	k = rules_of(m, n, "forward", r, 16);
	is_int(k, 4, "forward: 4 rules");
	is_str(r[0]->expr, "[ meta load iifname => reg 1 ]\n[ lookup reg 1 set ws_fwd dreg 0 ]",
	       "forward 1: iifname vmap @ws_fwd (as nft generates it)");
	is_str(r[1]->expr, "[ meta load iifname => reg 1 ]\n[ lookup reg 1 set ws_ifaces ]\n" DROP,
	       "forward 2: iifname @ws_ifaces counter drop");
	is_str(r[2]->expr, "[ meta load oifname => reg 1 ]\n[ lookup reg 1 set ws_ifaces ]\n"
	       "[ ct load state => reg 1 ]\n[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n"
	       "[ cmp neq reg 1 0x00000000 ]\n[ immediate reg 0 accept ]",
	       "forward 3: oifname @ws_ifaces ct state established,related accept");
	is_str(r[3]->expr, "[ meta load oifname => reg 1 ]\n[ lookup reg 1 set ws_ifaces ]\n" DROP,
	       "forward 4: oifname @ws_ifaces counter drop (no inbound)");
	k = rules_of(m, n, "input", r, 16);
	is_int(k, 5, "input: 5 rules");
	is_str(r[1]->expr, "[ meta load iifname => reg 1 ]\n[ lookup reg 1 set ws_ifaces ]\n" NFP6
	       "[ meta load l4proto => reg 1 ]\n[ cmp eq reg 1 0x0000003a ]\n"
	       "[ payload load 1b @ transport header + 0 => reg 1 ]\n"
	       "[ range eq reg 1 0x00000087 0x00000088 ]\n[ immediate reg 0 accept ]",
	       "input 2: icmpv6 type 135-136 accept (neighbour discovery)");
	is_str(r[2]->expr, "[ meta load iifname => reg 1 ]\n[ lookup reg 1 set ws_ifaces ]\n" NFP6
	       "[ payload load 2b @ network header + 24 => reg 1 ]\n[ cmp eq reg 1 0x000002ff ]\n"
	       "[ meta load l4proto => reg 1 ]\n[ cmp eq reg 1 0x0000003a ]\n" DROP,
	       "input 3: ip6 daddr ff02::/16 meta l4proto ipv6-icmp counter drop (no log)");
	is_str(r[3]->expr, "[ meta load iifname => reg 1 ]\n[ lookup reg 1 set ws_host dreg 0 ]",
	       "input 4: iifname vmap @ws_host");
	is_str(r[4]->comment, "workspace without host policy", "input 5: the final drop");
	k = rules_of(m, n, "postrouting", r, 16);
	is_int(k, 2, "postrouting: 2 rules");
	is_str(r[0]->expr, NFP4 "[ payload load 4b @ network header + 12 => reg 1 ]\n"
	       "[ lookup reg 1 set pool4 ]\n[ meta load oifname => reg 1 ]\n"
	       "[ lookup reg 1 set ws_ifaces 0x1 ]\n[ masq ]",
	       "postrouting 1: ip saddr @pool4 oifname != @ws_ifaces masquerade");

	/* Interval edges: a non-byte prefix, and ranges reaching the top. */
	_cleanup_nft_batch_ struct enc_nft_batch *b2 = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m2 = NULL;

	cidr(&base.pool4, "10.213.128.0/17");
	cidr(&base.pool6, "::/0");
	is_int(enc_nft_build_ensure(b2, &base, NULL), 0, "ensure with other pools");
	m2 = parse_batch(b2, &n);
	is_str(find(m2, n, NFT_MSG_NEWSETELEM, "pool4")->elems, "10.213.128.0, 10.214.0.0 end",
	       "a /17 ends with a carry into the next byte");
	is_str(find(m2, n, NFT_MSG_NEWSETELEM, "pool6")->elems, "::", "::/0 has no end element");
	free(m2);
	m2 = NULL;
	enc_nft_batch_free(b2);
	b2 = enc_nft_batch_new();
	cidr(&base.pool4, "255.255.255.0/24");
	enc_nft_build_ensure(b2, &base, NULL);
	m2 = parse_batch(b2, &n);
	is_str(find(m2, n, NFT_MSG_NEWSETELEM, "pool4")->elems, "255.255.255.0",
	       "a range up to 255.255.255.255 has no end element");
}

static void test_add(void)
{
	struct enc_nft_base base;
	struct enc_nft_ws ws;
	struct enc_err e = { 0 };
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m = NULL;
	const struct pmsg *r[64], *p;
	size_t n, k, first_ws = 0;

	enc_nft_base_init(&base);
	ws_a(&ws, "1a2b3c4d");
	is_int(enc_nft_build_add(b, &base, &ws, &e), 0, "add builds");
	is_int(enc_nft_batch_count(b), 74, "add: ensure (36) + limit, 2 chains, 23 + 9 rules, 3 elements");
	m = parse_batch(b, &n);
	for (size_t i = 0; i < n && !first_ws; i++)
		if (m[i].type == NFT_MSG_NEWOBJ)
			first_ws = i;
	is_int(first_ws, 37, "the workspace's objects follow the ensure part");

	p = find(m, n, NFT_MSG_NEWOBJ, "ws_1a2b3c4d");
	ok(p && p->obj_type == NFT_OBJECT_LIMIT && p->rate == 10 && p->unit == 1 && p->burst == 20,
	   "limit ws_1a2b3c4d: rate 10/second burst 20");
	ok(p && (p->flags & NLM_F_EXCL), "limit created with EXCL");
	p = find(m, n, NFT_MSG_NEWCHAIN, "ws_1a2b3c4d");
	ok(p && !p->hook && (p->flags & NLM_F_EXCL), "chain ws_1a2b3c4d: regular, EXCL");
	p = find(m, n, NFT_MSG_NEWCHAIN, "ws_1a2b3c4d_host");
	ok(p && !p->hook && (p->flags & NLM_F_EXCL), "chain ws_1a2b3c4d_host");
	ok(!find(m, n, NFT_MSG_NEWCHAIN, "ws_1a2b3c4d_allow"), "no allow chain without log_allowed");

	is_str(comments(m, n, "ws_1a2b3c4d"),
	       "spoof ipv4|spoof ipv4|spoof ipv6|spoof ipv6|host local|host local|host dnat|host dnat|"
	       "allow 169.254.77.1/32:80/tcp|metadata ipv4|metadata ipv4|metadata ipv6|metadata ipv6|"
	       "allow 10.213.0.6/32:8080/tcp|pool ipv4|pool ipv4|pool ipv6|pool ipv6|"
	       "allow 140.82.112.0/20:443|allow [2001:db8::/32]:443/tcp|allow 192.0.2.7/32|deny|deny",
	       "ws chain: the rules in order (explicit metadata/pool allows before their drops)");
	k = rules_of(m, n, "ws_1a2b3c4d", r, 64);
	is_int(k, 23, "ws chain: 23 rules");
	is_str(r[0]->expr, NFP4 "[ payload load 4b @ network header + 12 => reg 1 ]\n"
	       "[ cmp neq reg 1 0x0200d50a ]\n" LOG("spoof"),
	       "rule 1: ip saddr != 10.213.0.2 limit name ws_1a2b3c4d log (no verdict)");
	is_str(r[1]->expr, NFP4 "[ payload load 4b @ network header + 12 => reg 1 ]\n"
	       "[ cmp neq reg 1 0x0200d50a ]\n" DROP, "rule 2: ip saddr != 10.213.0.2 counter drop");
	is_str(r[3]->expr, NFP6 "[ payload load 16b @ network header + 8 => reg 1 ]\n"
	       "[ cmp neq reg 1 0x636e65fd 0x0000616c 0x00000000 0x02000000 ]\n" DROP,
	       "rule 4: ip6 saddr != fd65:6e63:6c61::2 counter drop");
	is_str(r[5]->expr, "[ fib daddr type => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n" DROP,
	       "rule 6: fib daddr type local counter drop");
	is_str(r[7]->expr, "[ ct load status => reg 1 ]\n"
	       "[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n"
	       "[ cmp neq reg 1 0x00000000 ]\n" DROP, "rule 8: ct status dnat counter drop");
	is_str(r[8]->expr, NFP4 "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	       "[ cmp eq reg 1 0x014dfea9 ]\n[ meta load l4proto => reg 1 ]\n[ cmp eq reg 1 0x00000006 ]\n"
	       "[ payload load 2b @ transport header + 2 => reg 1 ]\n[ cmp eq reg 1 0x00005000 ]\n" ACCEPT,
	       "rule 9: ip daddr 169.254.77.1 tcp dport 80 counter accept");
	is_str(r[12]->expr, NFP6 "[ payload load 16b @ network header + 24 => reg 1 ]\n"
	       "[ lookup reg 1 set meta6 ]\n" DROP, "rule 13: ip6 daddr @meta6 counter drop");
	is_str(r[14]->expr, NFP4 "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	       "[ lookup reg 1 set pool4 ]\n" LOG("pool"), "rule 15: ip daddr @pool4 limit log");
	is_str(r[18]->expr, NFP4 "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	       "[ bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000 ]\n[ cmp eq reg 1 0x0070528c ]\n"
	       "[ meta load l4proto => reg 1 ]\n[ lookup reg 1 set tcp_udp ]\n"
	       "[ payload load 2b @ transport header + 2 => reg 1 ]\n[ cmp eq reg 1 0x0000bb01 ]\n" ACCEPT,
	       "rule 19: ip daddr 140.82.112.0/20 meta l4proto @tcp_udp th dport 443 counter accept");
	is_str(r[19]->expr, NFP6 "[ payload load 4b @ network header + 24 => reg 1 ]\n"
	       "[ cmp eq reg 1 0xb80d0120 ]\n[ meta load l4proto => reg 1 ]\n[ cmp eq reg 1 0x00000006 ]\n"
	       "[ payload load 2b @ transport header + 2 => reg 1 ]\n[ cmp eq reg 1 0x0000bb01 ]\n" ACCEPT,
	       "rule 20: ip6 daddr 2001:db8::/32 tcp dport 443 counter accept");
	is_str(r[20]->expr, NFP4 "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	       "[ cmp eq reg 1 0x070200c0 ]\n" ACCEPT, "rule 21: ip daddr 192.0.2.7 counter accept");
	is_str(r[21]->expr, LOG("deny"), "rule 22: limit name ws_1a2b3c4d log prefix \"enc:1a2b3c4d deny \"");
	is_str(r[22]->expr, DROP, "rule 23: counter drop");
	for (size_t i = 0; i < n; i++)
		if (&m[i] == r[18])
			is_str(enc_nft_batch_what(b, i - 1),
			       "add rule 19 of chain ws_1a2b3c4d (allow 140.82.112.0/20:443)",
			       "each message is described for errors");

	is_str(comments(m, n, "ws_1a2b3c4d_host"),
	       "spoof ipv4|spoof ipv4|spoof ipv6|spoof ipv6|allow 169.254.77.1/32:80/tcp|"
	       "allow 10.213.0.6/32:8080/tcp|allow 192.0.2.7/32|host|host",
	       "host chain: single-address allows only, then log + drop");
	k = rules_of(m, n, "ws_1a2b3c4d_host", r, 64);
	is_str(r[8]->expr, DROP, "host chain ends in counter drop");
	is_str(r[7]->expr, LOG("host"), "host chain logs with reason host");

	p = find(m, n, NFT_MSG_NEWSETELEM, "ws_fwd");
	ok(p && strcmp(p->elems, "en1a2b3c4d jump ws_1a2b3c4d") == 0 && (p->flags & NLM_F_EXCL),
	   "ws_fwd element: \"en1a2b3c4d\" : jump ws_1a2b3c4d (EXCL)");
	p = find(m, n, NFT_MSG_NEWSETELEM, "ws_host");
	is_str(p ? p->elems : NULL, "en1a2b3c4d jump ws_1a2b3c4d_host", "ws_host element");
	p = find(m, n, NFT_MSG_NEWSETELEM, "ws_ifaces");
	is_str(p ? p->elems : NULL, "en1a2b3c4d", "ws_ifaces element");
	ok(p == &m[n - 2], "elements come last");
}

static void test_add_variants(void)
{
	struct enc_nft_base base;
	struct enc_nft_ws ws;
	struct enc_cidr dns;
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m = NULL;
	const struct pmsg *r[64];
	size_t n, k;

	enc_nft_base_init(&base);
	ws_a(&ws, "1a2b3c4d");
	cidr(&dns, "0.0.0.0/0:53/udp");
	ws.allow = &dns;
	ws.n_allow = 1;
	ws.mode = ENC_NET_NAT;
	ws.log_allowed = true;
	ws.addr6.family = 0;
	ws.log_group = 7;
	ws.log_rate = 3;
	ws.log_burst = 4;
	is_int(enc_nft_build_add(b, &base, &ws, NULL), 0, "nat + log_allowed + no IPv6 builds");
	m = parse_batch(b, &n);
	ok(find(m, n, NFT_MSG_NEWCHAIN, "ws_1a2b3c4d_allow") != NULL, "allow chain created");
	is_str(comments(m, n, "ws_1a2b3c4d"),
	       "spoof ipv4|spoof ipv4|spoof ipv6|spoof ipv6|host local|host local|host dnat|host dnat|"
	       "metadata ipv4|metadata ipv4|metadata ipv6|metadata ipv6|pool ipv4|pool ipv4|"
	       "pool ipv6|pool ipv6|allow 0.0.0.0/0:53/udp|nat", "nat: accepts at the end instead of deny");
	k = rules_of(m, n, "ws_1a2b3c4d", r, 64);
	is_int(k, 18, "nat chain: 18 rules");
	is_str(r[3]->expr, NFP6 DROP, "no IPv6 address: every IPv6 packet is spoofed (meta nfproto ipv6 drop)");
	is_str(r[2]->expr, NFP6 "[ objref type 4 name ws_1a2b3c4d ]\n"
	       "[ log prefix enc:1a2b3c4d spoof  group 7 snaplen 0 qthreshold 0 ]", "log group 7");
	is_str(r[16]->expr, NFP4 "[ meta load l4proto => reg 1 ]\n[ cmp eq reg 1 0x00000011 ]\n"
	       "[ payload load 2b @ transport header + 2 => reg 1 ]\n[ cmp eq reg 1 0x00003500 ]\n" CNT
	       "[ immediate reg 0 goto -> ws_1a2b3c4d_allow ]",
	       "0.0.0.0/0:53/udp: no address match, udp dport 53, goto the allow chain");
	is_str(r[17]->expr, CNT "[ immediate reg 0 goto -> ws_1a2b3c4d_allow ]", "nat: counter goto allow");
	k = rules_of(m, n, "ws_1a2b3c4d_allow", r, 64);
	is_int(k, 2, "allow chain: 2 rules");
	is_str(r[0]->expr, "[ ct load state => reg 1 ]\n"
	       "[ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]\n[ cmp neq reg 1 0x00000000 ]\n"
	       "[ limit rate 3/second burst 4 type packets flags 0x0 ]\n"
	       "[ log prefix enc:1a2b3c4d allow  group 7 snaplen 0 qthreshold 0 ]",
	       "ct state new limit rate 3/second burst 4 log prefix \"enc:1a2b3c4d allow \" group 7");
	is_str(r[1]->expr, "[ immediate reg 0 accept ]", "then accept");
	ok(find(m, n, NFT_MSG_NEWOBJ, "ws_1a2b3c4d")->rate == 3, "limit object takes log_rate");

	/* Two workspaces in one batch: one transaction. */
	struct enc_nft_ws w2;
	_cleanup_nft_batch_ struct enc_nft_batch *b2 = enc_nft_batch_new();

	ws_a(&ws, "1a2b3c4d");
	ws_a(&w2, "5e6f");
	ok(enc_nft_build_add(b2, &base, &ws, NULL) == 0 && enc_nft_build_add(b2, &base, &w2, NULL) == 0,
	   "two adds in one batch");
	is_int(enc_nft_batch_count(b2), 148, "twice 74 messages");
}

static void test_remove_shapes(void)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m = NULL;
	char kinds[512] = "";
	size_t n;

	is_int(enc_nft_build_remove(b, "1a2b3c4d", "en1a2b3c4d", NULL), 0, "remove builds");
	m = parse_batch(b, &n);
	for (size_t i = 1; i + 1 < n; i++) {
		char one[96];

		snprintf(one, sizeof(one), "%s%s%s %s", i > 1 ? "," : "",
			 m[i].type == NFT_MSG_NEWTABLE ? "+table" : m[i].type == NFT_MSG_NEWSET ? "+set" :
			 m[i].type == NFT_MSG_NEWCHAIN ? "+chain" : m[i].type == NFT_MSG_NEWOBJ ? "+obj" :
			 m[i].type == NFT_MSG_NEWSETELEM ? "+elem" : m[i].type == NFT_MSG_DELSETELEM ? "-elem" :
			 m[i].type == NFT_MSG_DELCHAIN ? "-chain" : m[i].type == NFT_MSG_DELOBJ ? "-obj" : "?",
			 m[i].flags & NLM_F_EXCL ? "!" : "", m[i].name);
		strncat(kinds, one, sizeof(kinds) - strlen(kinds) - 1);
	}
	is_str(kinds, "+table enclave,+set ws_fwd,+set ws_host,+set ws_ifaces,+chain ws_1a2b3c4d,"
	       "+chain ws_1a2b3c4d_host,+chain ws_1a2b3c4d_allow,+obj ws_1a2b3c4d,+elem ws_fwd,"
	       "+elem ws_host,+elem ws_ifaces,-elem ws_fwd,-elem ws_host,-elem ws_ifaces,"
	       "-chain ws_1a2b3c4d,-chain ws_1a2b3c4d_host,-chain ws_1a2b3c4d_allow,-obj ws_1a2b3c4d",
	       "remove: create everything without EXCL, then delete elements, chains, limit");
	is_str(find(m, n, NFT_MSG_DELSETELEM, "ws_fwd")->elems, "en1a2b3c4d", "deletes the key");
	is_str(find(m, n, NFT_MSG_NEWSETELEM, "ws_fwd")->elems, "en1a2b3c4d jump ws_1a2b3c4d",
	       "recreates the exact element (a different verdict would clash)");

	_cleanup_nft_batch_ struct enc_nft_batch *b2 = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m2 = NULL;

	is_int(enc_nft_build_remove_table(b2, NULL), 0, "remove_table builds");
	m2 = parse_batch(b2, &n);
	ok(m2[n - 2].type == NFT_MSG_DELTABLE && (m2[n - 2].flags & NLM_F_NONREC),
	   "remove_table ends with DELTABLE NLM_F_NONREC (refused while workspaces remain)");
	is_int(enc_nft_batch_count(b2), 1 + 8 + 3 + 3 + 8 + 1, "remove_table: 24 messages");
	is_str(enc_nft_batch_what(b2, 23), "remove table inet enclave: delete table", "described");

	_cleanup_nft_batch_ struct enc_nft_batch *b3 = enc_nft_batch_new();
	_cleanup_free_ struct pmsg *m3 = NULL;

	is_int(enc_nft_build_purge(b3, NULL), 0, "purge builds");
	m3 = parse_batch(b3, &n);
	ok(n == 4 && m3[1].type == NFT_MSG_NEWTABLE && m3[2].type == NFT_MSG_DELTABLE &&
	   !(m3[2].flags & NLM_F_NONREC), "purge: add table, delete table (recursive)");
}

/* ------------------------------------------------------------------ */
/* root: helpers */

static int hfd = -1;	/* the private "host" namespace */

/* Run a shell command (tests only: ip/nft to build and inspect) in netns
 * nsfd (-1: current), output in *out. Returns its exit status. */
__attribute__((format(printf, 3, 4)))
static int sh(int nsfd, char **out, const char *fmt, ...)
{
	char cmd[1024], *buf = calloc(1, 65536);
	size_t len = 0;
	int p[2], st;
	ssize_t got;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (pipe2(p, O_CLOEXEC) < 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((got = read(p[0], buf + len, 65535 - len)) > 0)
		len += (size_t)got;
	close(p[0]);
	waitpid(pid, &st, 0);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (st != 0 && !out)
		printf("# '%s' exited %d: %s\n", cmd, st, buf);
	if (out)
		*out = buf;
	else
		free(buf);
	return st;
}

static size_t count(const char *hay, const char *needle)
{
	size_t k = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		k++;
	return k;
}

static char *ruleset(void)
{
	char *out = NULL;

	sh(-1, &out, "nft list ruleset");
	return out;
}

static int send_batch(struct enc_nft_batch *b, struct enc_err *e)
{
	enc_err_clear(e);
	return enc_nft_batch_send(b, e);
}

static int apply_add(const struct enc_nft_ws *ws, struct enc_err *e)
{
	struct enc_nft_base base;
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	enc_nft_base_init(&base);
	if (enc_nft_build_add(b, &base, ws, e) < 0)
		return -1000;
	return send_batch(b, e);
}

static int apply_remove(const char *id, const char *ifname, struct enc_err *e)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	enc_nft_build_remove(b, id, ifname, NULL);
	return send_batch(b, e);
}

static int apply_remove_table(struct enc_err *e)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	enc_nft_build_remove_table(b, NULL);
	return send_batch(b, e);
}

/* Packets counted by the rule with this comment; 0 when there is none. */
static uint64_t counter(const char *id, const char *chain_suffix, const char *what)
{
	struct enc_nft_counter *c = NULL;
	char chain[64];
	size_t n = 0;
	uint64_t v = 0;
	bool found = false;

	snprintf(chain, sizeof(chain), "ws_%s%s", id, chain_suffix);
	if (enc_nft_counters(id, &c, &n, NULL) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].chain, chain) == 0 && strcmp(c[i].what, what) == 0) {
			v = c[i].packets;
			found = true;
		}
	if (!found)
		printf("# no counter '%s' in chain %s\n", what, chain);
	free(c);
	return v;
}

/* Flip the cmp operator of the last cmp in the rule with this comment to
 * an invalid value: a rule the kernel must refuse. */
static bool corrupt_rule(struct enc_nft_batch *b, const char *comment)
{
	size_t len;
	struct nlmsghdr *nlh = (struct nlmsghdr *)enc_nft_batch_data(b, &len); /* deliberately writable */
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct pmsg pm = { 0 };
		struct nlattr *a, *el, *x, *op = NULL;

		if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWRULE)
			continue;
		parse_rule(nlh, &pm);
		if (strcmp(pm.comment, comment) != 0)
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS)
				continue;
			mnl_attr_for_each_nested(el, a) {
				bool is_cmp = false;

				mnl_attr_for_each_nested(x, el) {
					if (mnl_attr_get_type(x) == NFTA_EXPR_NAME)
						is_cmp = strcmp(mnl_attr_get_str(x), "cmp") == 0;
					if (mnl_attr_get_type(x) == NFTA_EXPR_DATA && is_cmp) {
						struct nlattr *y;

						mnl_attr_for_each_nested(y, x)
							if (mnl_attr_get_type(y) == NFTA_CMP_OP)
								op = y;
					}
				}
			}
		}
		if (op) {
			*(uint32_t *)mnl_attr_get_payload(op) = htonl(99);
			return true;
		}
	}
	return false;
}

/* In a new user namespace the process has no capability over the
 * current network namespace, whoever it was: the kernel must refuse the
 * batch as a whole, before looking at it. */
static void eperm_check(const struct enc_nft_ws *ws)
{
	struct enc_err ce = { 0 };
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) == 0) {
			ce.code = apply_add(ws, &ce);
		} else {
			ce.code = 1;
			snprintf(ce.msg, sizeof(ce.msg), "%s", strerror(errno));
		}
		if (write(p[1], &ce, sizeof(ce)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &ce, sizeof(ce)) != sizeof(ce))
		ce.code = 2;
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (ce.code == 1) {
		skip("no user namespace for the EPERM check: %s", ce.msg);
		return;
	}
	is_int(ce.code, -EPERM, "no CAP_NET_ADMIN over the namespace: EPERM");
	is_str(ce.msg, "nftables: cannot apply a batch of 74 messages: Operation not permitted",
	       "EPERM message");
}

/* ------------------------------------------------------------------ */
/* root: lifecycle against the kernel, in the private namespace */

static void test_lifecycle(const char *ida, const char *idb)
{
	struct enc_nft_ws a, bws, dup;
	struct enc_err e = { 0 };
	char *rs, ifa[IFNAMSIZ], want[256];

	ws_a(&a, ida);
	ws_a(&bws, idb);
	snprintf(ifa, sizeof(ifa), "en%.8s", ida);
	rs = ruleset();
	is_str(rs, "", "private namespace starts with an empty ruleset");
	free(rs);

	is_int(apply_add(&a, &e), 0, "add workspace A");
	is_str(e.msg, "", "no error");
	is_int(apply_add(&bws, &e), 0, "add workspace B");
	rs = ruleset();
	is_int(count(rs, "table inet enclave {"), 1, "one table inet enclave");
	is_int(count(rs, "\tchain "), 7, "3 base chains + 2 per workspace");
	snprintf(want, sizeof(want), "\"en%s\" : jump ws_%s", ida, ida);
	is_int(count(rs, want), 2, "A in ws_fwd and ws_host");
	snprintf(want, sizeof(want), "\"en%s\" : jump ws_%s_host", idb, idb);
	is_int(count(rs, want), 1, "B in ws_host");
	is_int(count(rs, "limit name"), 2 * (9 + 3), "every drop has its limited log rule");
	free(rs);

	struct enc_nft_counter *c = NULL;
	size_t n = 0;

	is_int(enc_nft_counters(ida, &c, &n, &e), 0, "counters read back");
	is_int(n, 9 + 5 + 3 + 3, "A: 14 counted rules in ws chain, 6 in host chain");
	snprintf(want, sizeof(want), "ws_%s", ida);
	ok(n > 0 && strcmp(c[0].chain, want) == 0 && strcmp(c[0].what, "spoof ipv4") == 0 &&
	   c[0].packets == 0, "first counter: spoof ipv4 in ws_<id>, zero");
	ok(n == 20 && strcmp(c[n - 1].what, "host") == 0 && strstr(c[n - 1].chain, "_host"),
	   "last counter: the host chain's drop");
	free(c);

	is_int(apply_remove(ida, ifa, &e), 0, "remove A");
	rs = ruleset();
	snprintf(want, sizeof(want), "ws_%s", ida);
	is_int(count(rs, want), 0, "nothing of A left");
	snprintf(want, sizeof(want), "chain ws_%s {", idb);
	is_int(count(rs, want), 1, "B untouched");
	free(rs);
	is_int(apply_remove(ida, ifa, &e), 0, "removing A again succeeds (idempotent sweep)");
	is_int(enc_nft_counters(ida, &c, &n, &e), -ENOENT, "no counters for a removed workspace");

	is_int(apply_remove_table(&e), -EBUSY, "remove_table refuses while B remains");
	is_str(e.msg, "nftables: cannot remove table inet enclave: delete set pool4: Device or resource busy",
	       "and says why");
	rs = ruleset();
	snprintf(want, sizeof(want), "chain ws_%s {", idb);
	is_int(count(rs, want), 1, "B still in place after the refused batch");
	free(rs);

	snprintf(want, sizeof(want), "en%s", idb);
	is_int(apply_remove(idb, want, &e), 0, "remove B");
	is_int(apply_remove_table(&e), 0, "remove_table with no workspace left");
	rs = ruleset();
	is_str(rs, "", "nothing of the table left");
	free(rs);
	is_int(apply_remove(ida, ifa, &e), 0, "remove on an empty ruleset");
	is_int(apply_remove_table(&e), 0, "remove_table on a (re)created empty table");
	rs = ruleset();
	is_str(rs, "", "still nothing left");
	free(rs);

	/* Fail closed: one bad rule rejects the whole batch, base included. */
	{
		struct enc_nft_base base;
		_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

		enc_nft_base_init(&base);
		enc_nft_build_add(b, &base, &a, NULL);
		ok(corrupt_rule(b, "allow 140.82.112.0/20:443"), "corrupted the allow rule's cmp");
		is_int(send_batch(b, &e), -EINVAL, "the kernel refuses the batch");
		snprintf(want, sizeof(want), "nftables: cannot add rule 19 of chain ws_%s "
			 "(allow 140.82.112.0/20:443): Invalid argument", ida);
		is_str(e.msg, want, "the error names the rule");
		rs = ruleset();
		is_str(rs, "", "fail closed: nothing of the batch was applied");
		free(rs);
	}

	/* The largest workspace: 256 single-address allow rules, each also
	 * in the host chain: over 600 messages, every one acknowledged. */
	{
		static struct enc_cidr many[ENC_NFT_ALLOW_MAX];
		struct enc_nft_ws big;
		struct timespec t0, t1;

		ws_a(&big, ida);
		for (int i = 0; i < ENC_NFT_ALLOW_MAX; i++) {
			char spec[64];

			snprintf(spec, sizeof(spec), "198.18.%d.%d:%d/tcp", i / 250, i % 250 + 1, 1000 + i);
			cidr(&many[i], spec);
		}
		big.allow = many;
		big.n_allow = ENC_NFT_ALLOW_MAX;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		is_int(apply_add(&big, &e), 0, "a workspace with 256 allow rules");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# 256-rule add batch: %.2f ms\n",
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		is_int(enc_nft_counters(ida, &c, &n, &e), 0, "its counters");
		is_int(n, 9 + 256 + 3 + 256, "9 + 256 counted rules in ws chain, 3 + 256 in host chain");
		free(c);
		is_int(apply_remove(ida, ifa, &e), 0, "removed");
		is_int(apply_remove_table(&e), 0, "table removed");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		is_int(apply_add(&a, &e), 0, "a typical workspace");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# typical add batch (74 messages, table created): %.2f ms\n",
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		is_int(apply_remove(ida, ifa, &e), 0, "removed");
		is_int(apply_remove_table(&e), 0, "table removed");
	}

	/* A second workspace on the same host end is refused. */
	is_int(apply_add(&a, &e), 0, "add A");
	ws_a(&dup, idb);
	snprintf(dup.ifname, sizeof(dup.ifname), "%s", ifa);
	is_int(apply_add(&dup, &e), -EEXIST, "same host end, other id: refused");
	is_str(e.msg, "nftables: cannot add element to map ws_fwd: File exists", "named");
	rs = ruleset();
	snprintf(want, sizeof(want), "ws_%s", idb);
	is_int(count(rs, want), 0, "nothing of the refused workspace");
	free(rs);
	is_int(apply_add(&a, &e), -EEXIST, "adding A twice is refused");
	snprintf(want, sizeof(want), "nftables: cannot add limit ws_%s: File exists", ida);
	is_str(e.msg, want, "named");
	{
		_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

		enc_nft_build_purge(b, NULL);
		is_int(send_batch(b, &e), 0, "purge");
		rs = ruleset();
		is_str(rs, "", "purge leaves nothing");
		free(rs);
	}

	eperm_check(&a);
	rs = ruleset();
	is_str(rs, "", "and nothing applied");
	free(rs);
}

/* ------------------------------------------------------------------ */
/* root: traffic */

static int new_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(hfd, CLONE_NEWNET) < 0)
		exit(1);
	return fd;
}

static void in_ns(int fd)
{
	if (setns(fd, CLONE_NEWNET) < 0)
		exit(1);
}

static int sockaddr_of(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
		exit(1);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*s6);
	return AF_INET6;
}

/* A socket of type in namespace ns bound to ip:port (listening if TCP). */
static int bound(int ns, int type, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = sockaddr_of(ip, port, &ss, &len), fd, one = 1;

	in_ns(ns);
	fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	in_ns(hfd);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		printf("# bind %s:%d: %s\n", ip, port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Connect from namespace ns (optionally from address src): 0 when the
 * handshake completes within ms, else -errno (-ETIMEDOUT: dropped). */
static int tcp_try(int ns, const char *src, const char *ip, int port, int ms)
{
	struct sockaddr_storage ss, sl;
	socklen_t len, ll;
	int fam = sockaddr_of(ip, port, &ss, &len), fd, err = 0;
	socklen_t el = sizeof(err);
	struct pollfd pfd;

	in_ns(ns);
	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	in_ns(hfd);
	if (src) {
		sockaddr_of(src, 0, &sl, &ll);
		if (bind(fd, (struct sockaddr *)&sl, ll) < 0)
			printf("# bind %s: %s\n", src, strerror(errno));
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		goto out;
	if (errno != EINPROGRESS) {
		err = errno;
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, ms) != 1) {
		err = ETIMEDOUT;
		goto out;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
out:
	close(fd);
	return -err;
}

/* Accept one pending connection on listener l; its peer address or "". */
static const char *accepted_from(int l)
{
	static char peer[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct pollfd pfd = { .fd = l, .events = POLLIN };
	int c;

	peer[0] = '\0';
	if (poll(&pfd, 1, 1000) != 1 || (c = accept4(l, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC)) < 0)
		return peer;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof(peer));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof(peer));
	close(c);
	return peer;
}

/* Send a datagram from ns to ip:port; true if listener u received it. */
static bool udp_try(int ns, const char *ip, int port, int u)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = sockaddr_of(ip, port, &ss, &len), fd;
	struct pollfd pfd = { .fd = u, .events = POLLIN };
	char buf[16];
	bool got;

	in_ns(ns);
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	in_ns(hfd);
	sendto(fd, "ping", 4, 0, (struct sockaddr *)&ss, len);
	got = poll(&pfd, 1, 400) == 1 && recv(u, buf, sizeof(buf), 0) == 4;
	close(fd);
	return got;
}

static void wsysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		printf("# cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

#define DENIED_MS 300

static void test_traffic(const char *ida, const char *idb)
{
	int wfd = new_netns(), w2fd = new_netns(), ifd = new_netns(), me = getpid(), r;
	char ifa[IFNAMSIZ], ifb[IFNAMSIZ], *out = NULL;
	struct enc_nft_ws a, b;
	struct enc_cidr allow[3];
	struct enc_err e = { 0 };
	uint64_t before;

	if (wfd < 0 || w2fd < 0 || ifd < 0) {
		ok(0, "cannot create namespaces: %s", strerror(errno));
		return;
	}
	snprintf(ifa, sizeof(ifa), "en%.8s", ida);
	snprintf(ifb, sizeof(ifb), "en%.8s", idb);
	/* The private "host": forwarding on, and no reverse-path filter, so
	 * the spoofing rule is what is tested. */
	wsysctl("/proc/sys/net/ipv4/ip_forward", "1");
	wsysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	wsysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
	wsysctl("/proc/sys/net/ipv4/conf/default/rp_filter", "0");
	r = sh(-1, NULL,
	       "set -e; ip link set lo up\n"
	       "ip link add %s type veth peer name eth0 netns /proc/%d/fd/%d\n"
	       "ip link add %s type veth peer name eth0 netns /proc/%d/fd/%d\n"
	       "ip link add up0 type veth peer name eth0 netns /proc/%d/fd/%d\n"
	       "ip addr add 10.213.0.1/30 dev %s; ip addr add fd65:6e63:6c61::1/64 dev %s nodad; ip link set %s up\n"
	       "ip addr add 10.213.0.5/30 dev %s; ip addr add fd65:6e63:6c61:1::1/64 dev %s nodad; ip link set %s up\n"
	       "ip addr add 192.0.2.1/24 dev up0; ip addr add 2001:db8:1::1/64 dev up0 nodad; ip link set up0 up\n"
	       "ip route add default via 192.0.2.2; ip -6 route add default via 2001:db8:1::2\n",
	       ifa, me, wfd, ifb, me, w2fd, me, ifd, ifa, ifa, ifa, ifb, ifb, ifb);
	r |= sh(wfd, NULL, "set -e; ip link set lo up; ip addr add 10.213.0.2/30 dev eth0\n"
		"ip addr add fd65:6e63:6c61::2/64 dev eth0 nodad; ip link set eth0 up\n"
		"ip route add default via 10.213.0.1; ip -6 route add default via fd65:6e63:6c61::1");
	r |= sh(w2fd, NULL, "set -e; ip link set lo up; ip addr add 10.213.0.6/30 dev eth0\n"
		"ip addr add fd65:6e63:6c61:1::2/64 dev eth0 nodad; ip link set eth0 up\n"
		"ip route add default via 10.213.0.5; ip -6 route add default via fd65:6e63:6c61:1::1");
	r |= sh(ifd, NULL, "set -e; ip link set lo up\n"
		"for a in 198.51.100.10 203.0.113.10 169.254.77.1; do ip addr add $a/32 dev lo; done\n"
		"ip addr add 2001:db8:100::10/128 dev lo; ip addr add fd00:ec2::254/128 dev lo\n"
		"ip addr add 192.0.2.2/24 dev eth0; ip addr add 2001:db8:1::2/64 dev eth0 nodad\n"
		"ip link set eth0 up; ip route add 10.213.0.0/16 via 192.0.2.1");
	is_int(r, 0, "topology built (host, 2 workspaces, internet)");

	/* A listener behind every denied destination: a packet that got
	 * through would connect, not time out. */
	int l_ok = bound(ifd, SOCK_STREAM, "198.51.100.10", 443);
	int l_port = bound(ifd, SOCK_STREAM, "198.51.100.10", 8443);
	int l_other = bound(ifd, SOCK_STREAM, "203.0.113.10", 443);
	int l6_ok = bound(ifd, SOCK_STREAM, "2001:db8:100::10", 443);
	int u_ok = bound(ifd, SOCK_DGRAM, "198.51.100.10", 443);
	int u_no = bound(ifd, SOCK_DGRAM, "198.51.100.10", 53);
	int quiet[] = {
		bound(ifd, SOCK_STREAM, "169.254.77.1", 80),
		bound(ifd, SOCK_STREAM, "2001:db8:100::10", 8443),
		bound(ifd, SOCK_STREAM, "fd00:ec2::254", 80),
		bound(hfd, SOCK_STREAM, "10.213.0.1", 8022),
		bound(hfd, SOCK_STREAM, "192.0.2.1", 8022),
		bound(hfd, SOCK_STREAM, "fd65:6e63:6c61::1", 8022),
		bound(w2fd, SOCK_STREAM, "10.213.0.6", 8080),
		bound(wfd, SOCK_STREAM, "10.213.0.2", 8080),
	};

	/* Before any policy the path is open: the checks below mean
	 * something. */
	is_int(tcp_try(wfd, NULL, "198.51.100.10", 8443, 2000), 0, "no policy yet: other port reachable");
	accepted_from(l_port);

	ws_a(&a, ida);
	cidr(&allow[0], "198.51.100.0/24:443");
	cidr(&allow[1], "[2001:db8:100::/64]:443/tcp");
	cidr(&allow[2], "10.213.0.1:9999/tcp");	/* the host end, other port */
	a.allow = allow;
	a.n_allow = 3;
	enc_nft_ws_init(&b);
	snprintf(b.id, sizeof(b.id), "%s", idb);
	snprintf(b.ifname, sizeof(b.ifname), "%s", ifb);
	enc_parse_ip("10.213.0.6", &b.addr4, NULL);
	enc_parse_ip("fd65:6e63:6c61:1::2", &b.addr6, NULL);
	b.mode = ENC_NET_NAT;
	is_int(apply_add(&a, &e), 0, "policy for A (deny, allow 198.51.100.0/24:443)");
	is_int(apply_add(&b, &e), 0, "policy for B (nat)");

	is_int(tcp_try(wfd, NULL, "198.51.100.10", 443, 2000), 0, "A: allowed address and port connects");
	is_str(accepted_from(l_ok), "192.0.2.1", "A: masqueraded to the host's address (deny mode too)");
	is_int(tcp_try(wfd, NULL, "2001:db8:100::10", 443, 2000), 0, "A: allowed IPv6 connects (NDP works)");
	is_str(accepted_from(l6_ok), "2001:db8:1::1", "A: IPv6 masqueraded");
	ok(udp_try(wfd, "198.51.100.10", 443, u_ok), "A: UDP to the allowed port (port without proto)");
	before = counter(ida, "", "deny");
	is_int(tcp_try(wfd, NULL, "198.51.100.10", 8443, DENIED_MS), -ETIMEDOUT, "A: same address, other port: dropped");
	ok(counter(ida, "", "deny") > before, "A: the deny counter went up");
	ok(!udp_try(wfd, "198.51.100.10", 53, u_no), "A: UDP to another port: dropped");
	is_int(tcp_try(wfd, NULL, "203.0.113.10", 443, DENIED_MS), -ETIMEDOUT, "A: other address: dropped");
	is_int(tcp_try(wfd, NULL, "2001:db8:100::10", 8443, DENIED_MS), -ETIMEDOUT, "A: IPv6 other port: dropped");
	is_int(tcp_try(wfd, NULL, "169.254.77.1", 80, DENIED_MS), -ETIMEDOUT, "A: metadata stand-in 169.254.77.1: dropped");
	ok(counter(ida, "", "metadata ipv4") > 0, "A: metadata ipv4 counter");
	is_int(tcp_try(wfd, NULL, "fd00:ec2::254", 80, DENIED_MS), -ETIMEDOUT, "A: fd00:ec2::254: dropped");
	ok(counter(ida, "", "metadata ipv6") > 0, "A: metadata ipv6 counter");
	is_int(tcp_try(wfd, NULL, "10.213.0.1", 8022, DENIED_MS), -ETIMEDOUT, "A: host end: dropped");
	is_int(tcp_try(wfd, NULL, "fd65:6e63:6c61::1", 8022, DENIED_MS), -ETIMEDOUT, "A: host end IPv6: dropped");
	is_int(tcp_try(wfd, NULL, "192.0.2.1", 8022, DENIED_MS), -ETIMEDOUT, "A: host LAN address: dropped");
	ok(counter(ida, "_host", "host") >= 3, "A: host counter");
	is_int(tcp_try(wfd, NULL, "10.213.0.1", 9999, 2000), -ECONNREFUSED,
	       "A: a host address named exactly by an allow rule is reachable (refused: no listener)");
	is_int(tcp_try(wfd, NULL, "10.213.0.6", 8080, DENIED_MS), -ETIMEDOUT, "A: other workspace: dropped");
	ok(counter(ida, "", "pool ipv4") > 0, "A: pool counter");

	is_int(tcp_try(w2fd, NULL, "203.0.113.10", 443, 2000), 0, "B (nat): any address connects");
	accepted_from(l_other);
	is_int(tcp_try(w2fd, NULL, "169.254.77.1", 80, DENIED_MS), -ETIMEDOUT, "B: metadata still dropped");
	is_int(tcp_try(w2fd, NULL, "192.0.2.1", 8022, DENIED_MS), -ETIMEDOUT, "B: host still dropped");
	is_int(tcp_try(w2fd, NULL, "10.213.0.2", 8080, DENIED_MS), -ETIMEDOUT, "B: workspace A dropped");
	is_int(tcp_try(ifd, NULL, "10.213.0.2", 8080, DENIED_MS), -ETIMEDOUT,
	       "from outside into a workspace: dropped");

	/* Root inside A flushes everything it can see and rewires itself. */
	is_int(sh(wfd, &out, "nft list tables"), 0, "nft runs inside A");
	is_str(out, "", "A sees no table of its own");
	free(out);
	is_int(sh(wfd, NULL, "nft flush ruleset && ip route replace default via 10.213.0.1 dev eth0 "
		  "&& ip addr add 10.213.0.10/32 dev eth0"), 0, "A flushes its ruleset, replaces its route, adds an address");
	is_int(tcp_try(wfd, NULL, "198.51.100.10", 8443, DENIED_MS), -ETIMEDOUT, "after the flush: other port still dropped");
	is_int(tcp_try(wfd, NULL, "169.254.77.1", 80, DENIED_MS), -ETIMEDOUT, "after the flush: metadata still dropped");
	is_int(tcp_try(wfd, NULL, "192.0.2.1", 8022, DENIED_MS), -ETIMEDOUT, "after the flush: host still dropped");
	is_int(tcp_try(wfd, NULL, "198.51.100.10", 443, 2000), 0, "after the flush: allowed still allowed");
	accepted_from(l_ok);
	is_int(tcp_try(wfd, "10.213.0.10", "198.51.100.10", 443, DENIED_MS), -ETIMEDOUT,
	       "spoofed source (10.213.0.10) to an allowed destination: dropped");
	ok(counter(ida, "", "spoof ipv4") > 0, "spoof counter");
	out = ruleset();
	is_int(count(out, "table inet enclave {"), 1, "the host's table is intact");
	free(out);

	is_int(counter(ida, "_host", "spoof ipv6"), 0,
	       "the workspace's link-local housekeeping (router solicitations) is not logged as spoofing");
	/* Teardown in the documented order: veths first, then the policy. */
	is_int(sh(-1, NULL, "ip link del %s && ip link del %s && ip link del up0", ifa, ifb), 0, "veths deleted");
	is_int(apply_remove(ida, ifa, &e), 0, "A's policy removed");
	is_int(apply_remove(idb, ifb, &e), 0, "B's policy removed");
	is_int(apply_remove_table(&e), 0, "table removed");
	out = ruleset();
	is_str(out, "", "nothing left in the namespace's ruleset");
	free(out);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(quiet); i++)
		close(quiet[i]);
	close(l_ok);
	close(l_port);
	close(l_other);
	close(l6_ok);
	close(u_ok);
	close(u_no);
	close(wfd);
	close(w2fd);
	close(ifd);
}

static void root_child(int report)
{
	struct stat host, priv;
	char ida[16], idb[16];

	snprintf(ida, sizeof(ida), "%08x", (unsigned)getpid());
	snprintf(idb, sizeof(idb), "%08x", (unsigned)getpid() ^ 0x5a5a5a5au);
	/* Everything below runs in a namespace of our own, or not at all. */
	if (stat("/proc/self/ns/net", &host) < 0 || unshare(CLONE_NEWNET) < 0 ||
	    stat("/proc/self/ns/net", &priv) < 0 || priv.st_ino == host.st_ino) {
		ok(0, "cannot create a private network namespace: %s", strerror(errno));
		goto out;
	}
	hfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	test_lifecycle(ida, idb);
	test_traffic(ida, idb);
out:;
	int v[2] = { tap_n, tap_failed };

	if (write(report, v, sizeof(v)) != sizeof(v))
		_exit(1);
	fflush(stdout);
	exit(0);	/* not _exit: let the sanitizers check the child too */
}

/* Does the host's ruleset hold a chain of the workspaces this test makes
 * (ids from the child's pid, see root_child)? Other tests' workspaces may
 * have the host's table at any moment; ours must never be in it. */
static bool host_has_ours(pid_t child)
{
	char *out = NULL, a[32], b[32];
	bool has;

	snprintf(a, sizeof(a), "ws_%08x", (unsigned)child);
	snprintf(b, sizeof(b), "ws_%08x", (unsigned)child ^ 0x5a5a5a5au);
	sh(-1, &out, "nft list table inet enclave 2>/dev/null; true");
	has = strstr(out, a) != NULL || strstr(out, b) != NULL;
	free(out);
	return has;
}

static void root_tests(void)
{
	int p[2], v[2], st;
	pid_t pid;

	if (sh(-1, NULL, "command -v ip >/dev/null && command -v nft >/dev/null") != 0) {
		skip("ip and nft are needed to build and inspect the test namespaces");
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		root_child(p[1]);
	}
	close(p[1]);
	/* Checked while the child works in its own namespace (its chains
	 * exist there from its first add on) and again after. */
	bool leaked = host_has_ours(pid);
	if (read(p[0], v, sizeof(v)) == sizeof(v)) {
		tap_n = v[0];
		tap_failed = v[1];
	} else {
		ok(0, "the namespace child died");
	}
	close(p[0]);
	ok(!leaked && !host_has_ours(pid), "host ruleset: none of this test's chains, "
	   "during or after");
	waitpid(pid, &st, 0);
}

int main(void)
{
	test_validation();
	test_ensure();
	test_add();
	test_add_variants();
	test_remove_shapes();

	if (geteuid() != 0) {
		struct enc_nft_ws a;

		ws_a(&a, "1a2b3c4d");
		eperm_check(&a);
		skip("kernel tests need root");
		return tap_done();
	}
	root_tests();
	return tap_done();
}
