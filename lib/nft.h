/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft.h - a workspace's egress policy as nftables objects (DESIGN.md §7,
 * §15.3), built with libnftnl and applied in one atomic batch per change.
 *
 * Contract:
 *  - The policy lives in the HOST network namespace (the caller's), in one
 *    table `inet enclave`. The workspace holds CAP_NET_ADMIN only over its
 *    own netns, so it cannot touch these rules from inside.
 *  - Builders are pure: they validate their input and append netlink
 *    messages to a batch; nothing reaches the kernel until
 *    enc_nft_batch_send(). A batch is applied all or nothing: if any message
 *    fails the kernel rejects the whole batch, and send() returns the first
 *    error with a message naming the object or rule, e.g.
 *    "nftables: cannot add rule 19 of chain ws_1a2b3c4d (allow
 *    140.82.112.0/20:443): Invalid argument".
 *    A workspace whose add batch failed must not start (fail closed).
 *  - Every object is matched by exact interface name: the host end's name
 *    (chosen by the netlink module) is a plain parameter. There is no
 *    wildcard on "en*", which would also catch the host's own NICs (enp0s3,
 *    ens3, eno1 are "en*" too).
 *  - Order for a start: create veth and addresses, send an add batch, only
 *    then run the workload. For a stop: kill the workload, delete the veth,
 *    send a remove batch, then a remove-table batch (its -EBUSY means other
 *    workspaces remain and is not an error). A sweep after a crash is the
 *    same remove + remove-table: remove is idempotent (removing a workspace
 *    that has nothing installed succeeds), so the sweeper needs no record of
 *    what was installed.
 *  - Concurrent callers (several monitors) are safe: the kernel serialises
 *    batches, every add batch re-ensures the shared base in the same
 *    transaction, and remove-table refuses (-EBUSY) while any workspace
 *    chain exists.
 *  - Host sysctls are not touched here: forwarding (net.ipv4.ip_forward,
 *    net.ipv6.conf.all.forwarding) must be on for any egress at all.
 *
 * The ruleset (names are part of the contract; `enclave-net show` and the
 * tests read them):
 *
 *   table inet enclave
 *     map ws_fwd     ifname : verdict   host end -> jump ws_<id>
 *     map ws_host    ifname : verdict   host end -> jump ws_<id>_host
 *     set ws_ifaces  ifname             every host end
 *     set pool4/pool6 (intervals)       the address pools: other workspaces
 *     set meta4/meta6 (intervals)       cloud metadata: 169.254.0.0/16,
 *                                       fd00:ec2::254 (and its NAT64 and
 *                                       v4-mapped spellings of 169.254/16)
 *     set tcp_udp    inet_proto         {tcp, udp}: ports without a protocol
 *     chain forward      hook forward, priority filter - 1, policy accept:
 *         iifname vmap @ws_fwd; iifname @ws_ifaces drop (never reached);
 *         oifname @ws_ifaces: established/related accept, anything else drop
 *         (nothing outside may open a connection into a workspace)
 *     chain input        hook input, priority filter - 1, policy accept:
 *         from @ws_ifaces: established/related accept; IPv6 neighbour
 *         solicitation/advertisement accept (or IPv6 to the gateway
 *         breaks); other ICMPv6 to ff02::/16 (router solicitations, MLD:
 *         the workspace kernel's housekeeping) dropped without logging;
 *         iifname vmap @ws_host; then drop
 *     chain postrouting  nat hook postrouting: pool source leaving through a
 *         non-workspace interface is masqueraded (deny mode needs it too:
 *         an allowed destination cannot answer a pool address)
 *     limit ws_<id>      the workspace's log budget (log_rate/log_burst),
 *                        shared by all its deny log rules
 *     chain ws_<id>      (forward path, in order)
 *         spoof:    source other than the workspace's address: drop
 *         host:     fib daddr type local: drop; ct status dnat: drop
 *                   (host services published by DNAT, e.g. docker -p)
 *         metadata: allow rules lying inside a metadata range, then
 *                   daddr @meta4 / @meta6: drop
 *         pool:     allow rules lying inside a pool, then @pool4/@pool6: drop
 *         allow:    the remaining allow rules: counter accept
 *         final:    deny: log + counter drop; nat: counter accept
 *     chain ws_<id>_host (input path: packets to the host itself)
 *         spoof drop; allow rules naming exactly one address (/32, /128:
 *         "explicitly listed" host addresses); log + counter drop
 *     chain ws_<id>_allow (only with log_allowed): log new connections
 *         (a limit of its own, so allowed traffic cannot crowd denials out
 *         of the log), accept; allow rules (and the nat final rule) goto it
 *   Every drop is preceded by a rule with the same match, the shared limit
 *   and `log group <log_group> prefix "enc:<id> <reason> "` (no verdict),
 *   so the rate limit bounds the log, never the drop. Reasons: spoof, host,
 *   metadata, pool, deny; allowed packets: allow. The NFLOG reader filters on
 *   "enc:<id> " and takes the next word as the reason. Every rule carries a
 *   comment naming it ("metadata ipv4", "allow 140.82.112.0/20:443", ...),
 *   which enc_nft_counters() returns.
 */
#ifndef ENCLAVE_NFT_H
#define ENCLAVE_NFT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "netaddr.h"

#define ENC_NFT_TABLE "enclave"
#define ENC_NFT_ID_MAX 32		/* hex digits in a workspace id */
#define ENC_NFT_ALLOW_MAX 256		/* allow rules per workspace */
#define ENC_NFT_LOG_GROUP 2049		/* default NFLOG group */
#define ENC_NFT_LOG_RATE 10		/* default log records per second */
#define ENC_NFT_LOG_BURST 20
#define ENC_NFT_COMMENT_MAX 128		/* rule comments (libnftnl's limit) */

/* The shared part: which address ranges are "other workspaces". */
struct enc_nft_base {
	struct enc_cidr pool4;		/* IPv4 pool, port 0 */
	struct enc_cidr pool6;		/* IPv6 pool, port 0 */
};

/* Defaults: 10.213.0.0/16 and fd65:6e63:6c61::/48. */
void enc_nft_base_init(struct enc_nft_base *b);

/* One workspace's policy. */
struct enc_nft_ws {
	char id[ENC_NFT_ID_MAX + 1];	/* 1..32 lowercase hex digits */
	char ifname[IFNAMSIZ];		/* host end of its veth */
	struct enc_ip addr4;		/* family 0: no IPv4 (all IPv4 dropped) */
	struct enc_ip addr6;		/* family 0: no IPv6 (all IPv6 dropped) */
	enum enc_net_mode mode;		/* ENC_NET_DENY or ENC_NET_NAT */
	const struct enc_cidr *allow;	/* not owned; n_allow <= ENC_NFT_ALLOW_MAX */
	size_t n_allow;
	bool log_allowed;		/* also log new allowed connections */
	uint16_t log_group;		/* NFLOG group */
	uint32_t log_rate;		/* log records per second, >= 1 */
	uint32_t log_burst;		/* >= 1 */
};

/* Zero *ws, then mode deny, log group/rate/burst defaults. */
void enc_nft_ws_init(struct enc_nft_ws *ws);

/* -EINVAL with a message naming the field when ws cannot be installed. */
int enc_nft_ws_check(const struct enc_nft_ws *ws, struct enc_err *err);

/* A batch: NFNL_MSG_BATCH_BEGIN, the builders' messages, BATCH_END. */
struct enc_nft_batch;

struct enc_nft_batch *enc_nft_batch_new(void);	/* NULL: out of memory */
void enc_nft_batch_free(struct enc_nft_batch *b);

static inline void enc_nft_batch_freep(struct enc_nft_batch **b)
{
	if (*b)
		enc_nft_batch_free(*b);
}
#define _cleanup_nft_batch_ __attribute__((cleanup(enc_nft_batch_freep)))

/*
 * Builders. Each returns 0, -EINVAL (bad input, nothing appended) or
 * -ENOMEM; a batch that failed to build must not be sent (send refuses).
 *
 * ensure: the table, maps, sets and base chains, created if missing and
 *   never flushed as a whole: the static parts (base chain rules, pool,
 *   metadata and protocol sets) are flushed and rewritten inside the same
 *   transaction, so they self-heal and no packet sees them half-built; the
 *   per-workspace parts (map and set elements, ws_* chains) are untouched.
 * add: ensure + one workspace: its limit, chains, rules and elements. Fails
 *   in the kernel (-EEXIST) if a workspace with that id or host end is
 *   already installed: sweep it first.
 * remove: one workspace's elements, chains and limit. Idempotent: each
 *   object is first created without NLM_F_EXCL, then deleted, so the batch
 *   succeeds whether or not (any part of) the workspace was installed.
 * remove_table: the whole table, only if no workspace remains: send()
 *   returns -EBUSY (and changes nothing) while any ws_* object exists.
 * purge: the whole table whatever it holds (tests, `enclave doctor
 *   --cleanup`). Idempotent.
 */
int enc_nft_build_ensure(struct enc_nft_batch *b, const struct enc_nft_base *base,
			 struct enc_err *err);
int enc_nft_build_add(struct enc_nft_batch *b, const struct enc_nft_base *base,
		      const struct enc_nft_ws *ws, struct enc_err *err);
int enc_nft_build_remove(struct enc_nft_batch *b, const char *id, const char *ifname,
			 struct enc_err *err);
int enc_nft_build_remove_table(struct enc_nft_batch *b, struct enc_err *err);
int enc_nft_build_purge(struct enc_nft_batch *b, struct enc_err *err);

/*
 * Close the batch (BATCH_END) and send it on a fresh NETLINK_NETFILTER
 * socket in the caller's network namespace; read replies until every
 * message is acknowledged. Returns 0, or the first failing message's
 * -errno with err naming it. Needs CAP_NET_ADMIN over that namespace
 * (-EPERM otherwise). A batch is sent at most once.
 */
int enc_nft_batch_send(struct enc_nft_batch *b, struct enc_err *err);

/* Inspection (tests): close the batch and return its bytes; the number of
 * messages between BEGIN and END; what message i (0-based) does, as used
 * in error messages ("add rule 3 of chain ws_1a2b (pool ipv4)"). */
const void *enc_nft_batch_data(struct enc_nft_batch *b, size_t *len);
size_t enc_nft_batch_count(const struct enc_nft_batch *b);
const char *enc_nft_batch_what(const struct enc_nft_batch *b, size_t i);

/* Counters of one workspace's rules that carry a counter, in chain order
 * (chain ws_<id>, then ws_<id>_host). */
struct enc_nft_counter {
	char chain[ENC_NFT_ID_MAX + 16];
	char what[ENC_NFT_COMMENT_MAX];	/* the rule's comment */
	uint64_t packets;
	uint64_t bytes;
};

/* Lists the workspace's chains. *out is malloc'd (free() it), *n its
 * length. -ENOENT when the workspace has no rules installed. */
int enc_nft_counters(const char *id, struct enc_nft_counter **out, size_t *n,
		     struct enc_err *err);

#endif
