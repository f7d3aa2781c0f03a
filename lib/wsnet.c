/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wsnet.c - a running workspace's network: pool slot, veth, nft policy,
 * NFLOG reader, teardown and crash sweep (see wsnet.h).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "audit.h"
#include "fsutil.h"
#include "netlink.h"
#include "nftwatch.h"
#include "client.h"
#include "unpriv.h"
#include "util.h"
#include "wsnet.h"

/* The reader's own budget on top of the kernel's limit: a little above
 * it, so it only bites when the kernel's burst and rate add up. */
#define NFLOG_READ_RATE (2 * ENC_NFT_LOG_RATE)
#define RECORD_MAX 512

static int pool_dir(bool create, struct enc_err *err)
{
	int fd = open(ENC_WSNET_POOL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(ENC_WSNET_POOL_DIR, 0755) < 0 && errno != EEXIST)
			return enc_err_sys(err, -errno, "cannot create %s", ENC_WSNET_POOL_DIR);
		fd = open(ENC_WSNET_POOL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", ENC_WSNET_POOL_DIR);
	return fd;
}

/* The name the pool and the veth know a workspace by. The reserved
 * "_setup" (sandbox setup, not a valid workspace name) is "setup" there;
 * its owner path still tells it apart from a workspace named setup. */
static const char *pool_name(const struct enc_ws *w)
{
	return w->name[0] == '_' ? w->name + 1 : w->name;
}

/* ---- the record ---------------------------------------------------------- */

static int record_write(const struct enc_ws *w, const struct enc_wsnet_info *i,
			struct enc_err *err)
{
	char a4[64] = "", h4[64] = "", a6[64] = "", h6[64] = "";

	if (i->addr4.family)
		enc_format_ip(&i->addr4, a4, sizeof(a4));
	if (i->host4.family)
		enc_format_ip(&i->host4, h4, sizeof(h4));
	if (i->addr6.family)
		enc_format_ip(&i->addr6, a6, sizeof(a6));
	if (i->host6.family)
		enc_format_ip(&i->host6, h6, sizeof(h6));
	return enc_fact_printf(w->run_fd, ENC_WSNET_FILE, 0600, false, err,
			       "mode=%s slot=%u ifname=%s id=%s group=%u addr4=%s host4=%s "
			       "addr6=%s host6=%s log_allowed=%d\n",
			       enc_net_mode_str(i->mode), i->slot, i->ifname, i->id,
			       (unsigned)i->group, a4, h4, a6, h6, i->log_allowed ? 1 : 0);
}

static int record_ip(const char *v, struct enc_ip *ip)
{
	if (!*v) {
		memset(ip, 0, sizeof(*ip));
		return 0;
	}
	return enc_parse_ip(v, ip, NULL);
}

int enc_wsnet_read(const struct enc_ws *w, struct enc_wsnet_info *out, struct enc_err *err)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;
	unsigned seen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = enc_fact_read(w->run_fd, ENC_WSNET_FILE, RECORD_MAX, true, &buf, NULL, NULL);
	if (r == -ENOENT)
		return enc_err_set(err, -ENOENT, "workspace %s/%s has no network record",
				   w->sandbox, w->name);
	if (r < 0)
		return enc_err_sys(err, r, "cannot read the network record of %s/%s",
				   w->sandbox, w->name);
	for (char *word = strtok_r(buf, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		char *v = strchr(word, '=');
		unsigned long n;
		char *end;

		if (!v)
			goto bad;
		*v++ = '\0';
		if (strcmp(word, "mode") == 0) {
			if (enc_net_mode_parse(v, &out->mode) < 0 ||
			    (out->mode != ENC_NET_DENY && out->mode != ENC_NET_NAT))
				goto bad;
			seen |= 1;
		} else if (strcmp(word, "slot") == 0 || strcmp(word, "group") == 0) {
			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || !*v || n > UINT16_MAX ||
			    (word[0] == 's' && n >= ENC_NETPOOL_SLOTS))
				goto bad;
			if (word[0] == 's') {
				out->slot = (unsigned)n;
				seen |= 2;
			} else {
				out->group = (uint16_t)n;
			}
		} else if (strcmp(word, "ifname") == 0) {
			if (!enc_veth_name_valid(v))
				goto bad;
			snprintf(out->ifname, sizeof(out->ifname), "%s", v);
			seen |= 4;
		} else if (strcmp(word, "id") == 0) {
			size_t len = strlen(v);
			if (!len || len > ENC_NFT_ID_MAX || strspn(v, "0123456789abcdef") != len)
				goto bad;
			memcpy(out->id, v, len + 1);
			seen |= 8;
		} else if (strcmp(word, "addr4") == 0) {
			if (record_ip(v, &out->addr4) < 0)
				goto bad;
		} else if (strcmp(word, "host4") == 0) {
			if (record_ip(v, &out->host4) < 0)
				goto bad;
		} else if (strcmp(word, "addr6") == 0) {
			if (record_ip(v, &out->addr6) < 0)
				goto bad;
		} else if (strcmp(word, "host6") == 0) {
			if (record_ip(v, &out->host6) < 0)
				goto bad;
		} else if (strcmp(word, "log_allowed") == 0) {
			out->log_allowed = strcmp(v, "1") == 0;
		}
		/* unknown keys: ignored (a newer writer) */
	}
	if (seen != 15)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return enc_err_set(err, -EINVAL, "the network record of %s/%s is malformed",
			   w->sandbox, w->name);
}

/* ---- undoing ---------------------------------------------------------------- */

/* Remove veth and rules of one holder. Both steps are idempotent; the
 * first error is returned, but both are always tried. The veth goes first
 * (nft.h: nothing may leave through it once its rules are gone). With
 * last set (no other workspace holds a slot) the table goes in the same
 * transaction: every nft commit that deletes costs an RCU grace period
 * (~10 ms on a busy VM), so one batch, not two. If another workspace
 * appeared meanwhile the kernel refuses the whole batch (-EBUSY) and the
 * workspace's part is sent alone. */
static int undo_net(const char *ifname, const char *id, bool last, struct enc_err *err)
{
	struct enc_nl *nl = NULL;
	struct enc_err e2 = {};
	int r, r2 = -EBUSY;

	r = enc_nl_open(-1, &nl, err);
	if (r == 0) {
		r = enc_veth_delete(nl, ifname, err);
		enc_nl_close(nl);
	}
	for (int pass = last ? 0 : 1; pass < 2 && r2 == -EBUSY; pass++) {
		_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

		enc_err_clear(&e2);
		if (!b)
			r2 = enc_err_sys(&e2, -ENOMEM, "cannot build the nftables batch");
		else if ((r2 = enc_nft_build_remove(b, id, ifname, &e2)) == 0 &&
			 (pass == 1 || (r2 = enc_nft_build_remove_table(b, &e2)) == 0))
			r2 = enc_nft_batch_send(b, &e2);
	}
	if (r == 0 && r2 < 0) {
		if (err)
			*err = e2;
		r = r2;
	}
	return r;
}

/* Is slot the only one held in the pool? (Then the table may go.) */
static bool pool_last(unsigned slot)
{
	_cleanup_close_ int pool = pool_dir(false, NULL);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char mine[16];
	int fd;

	if (pool < 0)
		return false;
	fd = openat(pool, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	snprintf(mine, sizeof(mine), "%u", slot);
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && strcmp(de->d_name, mine))
			return false;
	return true;
}

/* Liveness of another holder of the pool, called under the pool lock:
 * alive while its workspace lock is held; gone ones are swept here
 * (veth and rules: the next holder of the slot would collide with its
 * routes). A holder without an owner path cannot be judged: keep. */
static int holder_alive(const struct enc_netpool_holder *h, void *arg)
{
	char ifname[ENC_VETH_NAME_SIZE], path[ENC_NETPOOL_OWNER_MAX + 8];
	int fd, r;

	(void)arg;
	if (!h->owner[0])
		return -1;
	snprintf(path, sizeof(path), "%s/lock", h->owner);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT)
		return -1;
	if (fd >= 0) {
		r = flock(fd, LOCK_SH | LOCK_NB);
		close(fd);
		if (r < 0)
			return errno == EWOULDBLOCK ? 1 : -1;
	}
	if (enc_veth_name(h->sandbox, h->workspace, h->slot, ifname) < 0)
		return -1;
	return undo_net(ifname, ifname + 2, false, NULL) == 0 ? 0 : -1;
}

/* ---- setup ------------------------------------------------------------------- */

int enc_wsnet_forwarding(struct enc_err *err)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char c = 0;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", path);
	if (pread(fd, &c, 1, 0) == 1 && c == '1')
		goto out;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		r = enc_err_sys(err, -errno, "cannot enable IPv4 forwarding (%s)", path);
out:
	close(fd);
	return r;
}

int enc_wsnet_log_fd(const struct enc_wsnet *n)
{
	return n->nflog ? enc_nflog_fd(n->nflog) : -1;
}

/* ---- watching the policy ------------------------------------------------ */

/* The workspace's policy as the template takes it. */
static void ws_of(const struct enc_wsnet *n, struct enc_nft_ws *ws)
{
	enc_nft_ws_init(ws);
	snprintf(ws->id, sizeof(ws->id), "%s", n->info.id);
	snprintf(ws->ifname, sizeof(ws->ifname), "%s", n->info.ifname);
	ws->addr4 = n->info.addr4;
	ws->addr6 = n->info.addr6;
	ws->mode = n->info.mode;
	ws->allow = n->spec.allow;
	ws->n_allow = n->spec.n_allow;
	ws->log_allowed = n->info.log_allowed;
	ws->log_group = n->info.group;
}

static int watch_open(struct enc_wsnet *n, struct enc_err *err)
{
	struct enc_nft_ws ws;

	ws_of(n, &ws);
	/* The count the watch compares against. The host's root may have
	 * replaced the ruleset between our batch and this read (the kernel
	 * serialises batches, not us): then put it back, as the watch would,
	 * a few times before giving up. */
	for (int tries = 0; enc_nftwatch_rules(n->info.id, &n->nrules) < 0 || !n->nrules; tries++) {
		if (tries == 3)
			return enc_err_set(err, -EIO, "nftables: the rules of workspace %s do not "
					   "stay installed", n->info.id);
		int r = enc_nftwatch_reinstall(&ws, err);
		if (r < 0)
			return r;
	}
	return enc_nftwatch_open(&n->watch, err);
}

int enc_wsnet_watch_fd(const struct enc_wsnet *n)
{
	return n->watch;
}

/* An ordinary user's watch is enclave-helper's watcher process: one line
 * per event on the socket the helper handed over. */
static int watch_check_unpriv(struct enc_wsnet *n, struct enc_audit *a, struct enc_err *err)
{
	char buf[1024];
	unsigned long found, expected;
	ssize_t k = recv(n->watch, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0)
		return enc_err_set(err, -EIO, "the policy watch of enclave-helper ended");
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "restored %lu %lu", &found, &expected) == 2) {
		struct enc_audit_field f[] = {
			ENC_AUDIT_UINT("rules_found", found),
			ENC_AUDIT_UINT("rules_expected", expected),
		};
		if (a)
			enc_audit_append(a, "net_policy_restored", f, ENC_ARRAY_SIZE(f), NULL);
		return 1;
	}
	return enc_err_set(err, -EIO, "enclave-helper: %s", strncmp(buf, "lost ", 5) ? buf : buf + 5);
}

int enc_wsnet_watch_check(struct enc_wsnet *n, struct enc_audit *a, struct enc_err *err)
{
	struct enc_nft_ws ws;
	size_t now = 0;
	int r;

	if (n->watch < 0)
		return 0;
	if (enc_unpriv())
		return watch_check_unpriv(n, a, err);
	/* What was removed does not matter, only whether ours is intact. */
	if (!enc_nftwatch_removal(n->watch))
		return 0;
	ws_of(n, &ws);
	r = enc_nftwatch_check(&ws, n->nrules, &now, err);
	if (r <= 0)
		return r;
	struct enc_audit_field f[] = {
		ENC_AUDIT_UINT("rules_found", now),
		ENC_AUDIT_UINT("rules_expected", n->nrules),
	};
	if (a)
		enc_audit_append(a, "net_policy_restored", f, ENC_ARRAY_SIZE(f), NULL);
	return 1;
}

/* An ordinary user's network: the same template, built by enclave-helper
 * (which owns the pool slot, the veth, the rules and the forwarding
 * sysctl), with the NFLOG fd handed back. The policy watch needs
 * CAP_NET_ADMIN over the host's namespace to read the rules back: the
 * helper leaves a watcher process behind, which reports on the socket it
 * handed over (enclave-helper(8)). */
static int setup_unpriv(struct enc_wsnet *n, const struct enc_ws *w,
			const struct enc_wsnet_spec *spec, struct enc_err *err)
{
	struct enc_wsnet_info *i = &n->info;
	char allow[ENC_NFT_ALLOW_MAX][64];
	const char *av[ENC_NFT_ALLOW_MAX];
	struct ench_net out = { .nflog_fd = -1, .watch_fd = -1 };
	int r;

	for (size_t k = 0; k < spec->n_allow; k++) {
		enc_format_cidr(&spec->allow[k], allow[k], sizeof(allow[k]));
		av[k] = allow[k];
	}
	r = ench_net_up(enc_helper_path(), spec->netns_fd, w->sandbox, pool_name(w),
			spec->mode == ENC_NET_NAT, av, spec->n_allow, spec->log_allowed, &out, err);
	if (r < 0)
		return r;
	n->have_slot = n->have_veth = n->have_rules = true;
	n->watch = out.watch_fd;
	i->slot = out.slot;
	i->group = out.group;
	snprintf(i->ifname, sizeof(i->ifname), "%s", out.ifname);
	snprintf(i->id, sizeof(i->id), "%s", out.id);
	if (record_ip(out.addr4, &i->addr4) < 0 || record_ip(out.host4, &i->host4) < 0 ||
	    record_ip(out.addr6, &i->addr6) < 0 || record_ip(out.host6, &i->host6) < 0) {
		close(out.nflog_fd);
		r = enc_err_set(err, -EPROTO, "enclave-helper: bad addresses in its net-up reply");
		goto fail;
	}
	r = record_write(w, i, err);
	if (r < 0) {
		close(out.nflog_fd);
		goto fail;
	}
	n->have_record = true;
	r = enc_nflog_new(out.nflog_fd, NFLOG_READ_RATE, &n->nflog, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	enc_wsnet_teardown(n, NULL);
	return r;
}

int enc_wsnet_setup(struct enc_wsnet *n, const struct enc_ws *w,
		    const struct enc_wsnet_spec *spec, struct enc_err *err)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = NULL;
	_cleanup_close_ int pool = -1;
	struct enc_wsnet_info *i = &n->info;
	struct enc_net_addrs a;
	struct enc_nl *nl = NULL;
	struct enc_nft_base base;
	struct enc_nft_ws ws;
	int r;

	memset(n, 0, sizeof(*n));
	n->watch = -1;
	n->w = w;
	n->uid = spec->uid;
	n->spec = *spec;
	if (spec->mode != ENC_NET_DENY && spec->mode != ENC_NET_NAT)
		return 0;
	i->mode = spec->mode;
	i->log_allowed = spec->log_allowed;

	/* Checked before anything exists, so a bad allowlist costs nothing. */
	if (spec->n_allow > ENC_NFT_ALLOW_MAX)
		return enc_err_set(err, -EINVAL, "allow: at most %u rules, got %zu",
				   ENC_NFT_ALLOW_MAX, spec->n_allow);
	if (enc_unpriv())
		return setup_unpriv(n, w, spec, err);
	if (spec->mode == ENC_NET_NAT || spec->n_allow) {
		r = enc_wsnet_forwarding(err);
		if (r < 0)
			return r;
	}

	pool = pool_dir(true, err);
	if (pool < 0)
		return pool;
	struct enc_netpool_req q = {
		.uid = spec->uid,
		.sandbox = w->sandbox,
		.workspace = pool_name(w),
		.owner = w->dir_path,
		.alive = holder_alive,
	};
	r = enc_netpool_alloc(pool, &q, &i->slot, err);
	if (r < 0)
		return r;
	n->have_slot = true;
	enc_netpool_addrs(i->slot, &a);
	r = enc_veth_name(w->sandbox, pool_name(w), i->slot, i->ifname);
	if (r < 0) {
		enc_err_set(err, r, "cannot name the veth of %s/%s", w->sandbox, w->name);
		goto fail;
	}
	snprintf(i->id, sizeof(i->id), "%s", i->ifname + 2);
	i->group = enc_nflog_group(i->slot);
	i->addr4 = a.ws4;
	i->host4 = a.host4;
	i->addr6 = a.ws6;
	i->host6 = a.host6;

	/* The record first: whatever exists after this point, a crash leaves
	 * a record that lets the next command sweep it. */
	r = record_write(w, i, err);
	if (r < 0)
		goto fail;
	n->have_record = true;

	r = enc_nl_open(-1, &nl, err);
	if (r < 0)
		goto fail;
	struct enc_veth_config vc = {
		.host = i->ifname,
		.peer = ENC_VETH_PEER_DEFAULT,
		.netns_fd = spec->netns_fd,
		.addrs = a,
	};
	r = enc_veth_setup(nl, &vc, err);
	enc_nl_close(nl);
	if (r < 0)
		goto fail;
	n->have_veth = true;

	ws_of(n, &ws);
	enc_nft_base_init(&base);
	b = enc_nft_batch_new();
	if (!b) {
		r = enc_err_sys(err, -ENOMEM, "cannot build the nftables batch");
		goto fail;
	}
	r = enc_nft_build_add(b, &base, &ws, err);
	if (r == 0)
		r = enc_nft_batch_send(b, err);
	if (r < 0)
		goto fail;
	n->have_rules = true;

	r = enc_nflog_open(-1, i->group, NFLOG_READ_RATE, &n->nflog, err);
	if (r < 0)
		goto fail;
	r = watch_open(n, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	enc_wsnet_teardown(n, NULL);
	memset(n, 0, sizeof(*n));
	n->watch = -1;
	return r;
}

/* ---- the log -------------------------------------------------------------- */

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	case IPPROTO_DCCP:
		return "dccp";
	default:
		snprintf(buf, len, "%u", (unsigned)p);
		return buf;
	}
}

static bool has_ports(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP ||
	       p == IPPROTO_UDPLITE || p == IPPROTO_DCCP;
}

int enc_wsnet_log_drain(struct enc_wsnet *n, struct enc_audit *a)
{
	struct enc_nflog_event ev[32];
	char want[ENC_NFT_ID_MAX + 8];
	int k, total = 0;

	if (!n->nflog)
		return 0;
	snprintf(want, sizeof(want), "enc:%s ", n->info.id);
	do {
		k = enc_nflog_read(n->nflog, ev, ENC_ARRAY_SIZE(ev), NULL);
		if (k < 0)
			return k;
		for (int j = 0; j < k; j++) {
			char reason[32] = "", src[64], dst[64], pb[8];
			const char *p;

			if (strncmp(ev[j].prefix, want, strlen(want)) != 0)
				continue;
			p = ev[j].prefix + strlen(want);
			sscanf(p, "%31[a-z0-9_]", reason);
			if (n->audited >= ENC_WSNET_AUDIT_MAX) {
				if (n->suppressed++ == 0) {
					struct enc_audit_field f[] = {
						ENC_AUDIT_UINT("limit", ENC_WSNET_AUDIT_MAX),
					};
					enc_audit_append(a, "net_suppressed", f, 1, NULL);
				}
				continue;
			}
			enc_format_ip(&ev[j].src, src, sizeof(src));
			enc_format_ip(&ev[j].dst, dst, sizeof(dst));
			bool ports = has_ports(ev[j].protocol);
			struct enc_audit_field f[] = {
				ENC_AUDIT_STR("verdict", strcmp(reason, "allow") ? "deny" : "allow"),
				ENC_AUDIT_STR("reason", reason[0] ? reason : "deny"),
				ENC_AUDIT_STR("proto", proto_name(ev[j].protocol, pb, sizeof(pb))),
				ENC_AUDIT_STR("src", src),
				ENC_AUDIT_STR("dst", dst),
				ENC_AUDIT_UINT("sport", ev[j].sport),
				ENC_AUDIT_UINT("dport", ev[j].dport),
			};
			enc_audit_append(a, "net", f, ports ? 7 : 5, NULL);
			n->audited++;
			total++;
		}
	} while (k == (int)ENC_ARRAY_SIZE(ev));
	return total;
}

/* ---- teardown and sweep ------------------------------------------------- */

int enc_wsnet_teardown(struct enc_wsnet *n, struct enc_err *err)
{
	struct enc_wsnet_info *i = &n->info;
	int r = 0, k;

	if (n->nflog) {
		enc_nflog_free(n->nflog);
		n->nflog = NULL;
	}
	if (n->watch >= 0 && enc_unpriv()) {
		/* The helper's watcher must be gone before the rules are: it
		 * would put them back. It answers "stop" by exiting. */
		struct pollfd pf = { .fd = n->watch, .events = POLLIN };
		char c;

		if (send(n->watch, "stop\n", 5, MSG_NOSIGNAL) == 5)
			while (poll(&pf, 1, 2000) == 1 && recv(n->watch, &c, 1, 0) > 0)
				;
	}
	if (n->watch >= 0) {
		close(n->watch);
		n->watch = -1;
	}
	if (enc_unpriv()) {
		/* The helper undoes what it made, for this user's workspace
		 * only; idempotent. */
		if (n->have_veth || n->have_rules || n->have_slot || n->have_record) {
			r = ench_net_down(enc_helper_path(), n->w->sandbox, pool_name(n->w), err);
			n->have_veth = n->have_rules = n->have_slot = false;
		}
		if (n->have_record && r == 0) {
			unlinkat(n->w->run_fd, ENC_WSNET_FILE, 0);
			n->have_record = false;
		}
		return r;
	}
	if (n->have_veth || n->have_rules || n->have_record) {
		k = undo_net(i->ifname, i->id, pool_last(i->slot), err);
		if (k < 0)
			r = k;
		n->have_veth = n->have_rules = false;
	}
	if (n->have_slot) {
		_cleanup_close_ int pool = pool_dir(false, NULL);
		k = pool < 0 ? pool
			     : enc_netpool_release(pool, i->slot, n->uid, n->w->sandbox,
						   pool_name(n->w), r < 0 ? NULL : err);
		if (k < 0 && r == 0)
			r = k;
		n->have_slot = false;
	}
	if (n->have_record && r == 0) {
		unlinkat(n->w->run_fd, ENC_WSNET_FILE, 0);
		n->have_record = false;
	}
	return r;
}

int enc_wsnet_sweep(const struct enc_ws *w, struct enc_err *err)
{
	struct enc_wsnet n = { .w = w, .uid = getuid(), .watch = -1 };
	int r;

	r = enc_wsnet_read(w, &n.info, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		/* Unreadable: nothing can be undone from it; drop it so it
		 * does not block every later start. */
		unlinkat(w->run_fd, ENC_WSNET_FILE, 0);
		return 0;
	}
	n.have_record = n.have_veth = n.have_rules = n.have_slot = true;
	r = enc_wsnet_teardown(&n, err);
	if (r == -EPERM) {
		/* The slot went to another workspace already (reclaimed while
		 * this one was dead): ours is gone, the record too. */
		unlinkat(w->run_fd, ENC_WSNET_FILE, 0);
		r = 0;
	}
	return r;
}
