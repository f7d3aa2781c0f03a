/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wsnet.h - a running workspace's network (DESIGN.md §7): what the monitor
 * builds from lib/netlink.h and lib/nft.h before the workload's first
 * instruction, and takes down again, or a later command sweeps.
 *
 * Modes: none (the workspace's own netns, loopback only: nothing here),
 * host (no network namespace at all: nothing here), deny and nat (a veth
 * into the workspace's netns, an address pair from the host-wide pool, and
 * the workspace's chains in table inet enclave).
 *
 * Order at start (monitor, after the child's namespaces exist and before
 * it runs anything of the workload's): the pool slot (under
 * ENC_WSNET_POOL_DIR/net/lock), the `net` record in the workspace's runtime
 * dir, the veth with addresses and routes, the nft add batch, the NFLOG
 * socket. Any failure undoes what was made and the workspace does not
 * start; the error names the step. Teardown and the crash sweep undo in
 * the opposite order and are idempotent: veth, nft remove (+ remove-table,
 * whose -EBUSY means other workspaces remain), the pool slot, the record.
 *
 * The record `<run>/workspaces/SB/WS/net` (0600, written before the veth
 * exists so a crash after any later step is swept) is one line of
 * space-separated key=value words:
 *
 *   mode=deny slot=3 ifname=en000c1a2b id=000c1a2b group=32771
 *   addr4=10.213.0.14 host4=10.213.0.13 addr6=fd65:6e63:6c61:3::2
 *   host6=fd65:6e63:6c61:3::1 log_allowed=0
 *
 * (one line in the file). Unknown keys are ignored by readers.
 *
 * Denied (and, with log_allowed, allowed) connection attempts reach the
 * monitor through NFLOG and become audit records (event "net"):
 *
 *   {"seq":..,"time":..,"event":"net","verdict":"deny","reason":"metadata",
 *    "proto":"tcp","src":"10.213.0.14","dst":"169.254.77.1","sport":40312,
 *    "dport":80,"prev":..}
 *
 * verdict: deny|allow; reason: spoof|host|metadata|pool|deny|allow;
 * proto: tcp|udp|icmp|icmpv6|sctp|udplite|dccp or the protocol number as a
 * string; sport/dport only for protocols with ports. The kernel's log
 * budget (ENC_NFT_LOG_RATE per second, burst ENC_NFT_LOG_BURST) bounds the
 * rate; at most ENC_WSNET_AUDIT_MAX such records are written per run, then
 * one "net_suppressed" record, and the final count of suppressed events is
 * in the "teardown" record ("net_suppressed": N), so a workload hammering a
 * denied address cannot fill the disk.
 */
#ifndef ENCLAVE_WSNET_H
#define ENCLAVE_WSNET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "err.h"
#include "netaddr.h"
#include "netlink.h"
#include "nft.h"
#include "workspace.h"

/* The host-wide pool of workspace addresses: one per host, not per store
 * or user (the addresses are the host's). */
#define ENC_WSNET_POOL_DIR ENC_NETPOOL_DIR
#define ENC_WSNET_FILE "net"
#define ENC_WSNET_AUDIT_MAX 10000

struct enc_wsnet_info {
	enum enc_net_mode mode;		/* ENC_NET_DENY or ENC_NET_NAT */
	unsigned slot;
	char ifname[IFNAMSIZ];		/* host end */
	char id[ENC_NFT_ID_MAX + 1];	/* nft chain ws_<id> */
	uint16_t group;			/* NFLOG group */
	struct enc_ip addr4, host4;	/* the workspace's address, the gateway */
	struct enc_ip addr6, host6;	/* family 0: none */
	bool log_allowed;
};

/* Read the record of a workspace: 0, -ENOENT when it has none (not
 * running, or mode none/host), -EINVAL for a malformed one. */
int enc_wsnet_read(const struct enc_ws *w, struct enc_wsnet_info *out, struct enc_err *err);

struct enc_wsnet_spec {
	enum enc_net_mode mode;
	const struct enc_cidr *allow;
	size_t n_allow;
	bool log_allowed;
	uid_t uid;			/* whose workspace (pool quota, record) */
	int netns_fd;			/* the workspace's network namespace */
};

/* The monitor's side. */
struct enc_wsnet {
	struct enc_wsnet_info info;
	bool have_slot, have_record, have_veth, have_rules;
	struct enc_nflog *nflog;
	int watch;			/* nftables change events, -1 */
	size_t nrules;			/* counted rules when installed */
	struct enc_wsnet_spec spec;	/* to reinstall (allow: not owned) */
	uint64_t audited;		/* "net" records written this run */
	uint64_t suppressed;		/* events past ENC_WSNET_AUDIT_MAX */
	uid_t uid;
	const struct enc_ws *w;
};


/* Build it all (see above). On failure nothing is left and *n is reset. */
int enc_wsnet_setup(struct enc_wsnet *n, const struct enc_ws *w,
		    const struct enc_wsnet_spec *spec, struct enc_err *err);

/* The NFLOG fd to poll (-1: none). */
int enc_wsnet_log_fd(const struct enc_wsnet *n);

/* Turn what NFLOG has for this workspace into audit records (bounded, see
 * above). Returns how many were written, or -errno from the socket. */
struct enc_audit;
int enc_wsnet_log_drain(struct enc_wsnet *n, struct enc_audit *a);

/* Watching the policy. Whoever administers the host may replace the
 * whole ruleset (`nft flush ruleset`, a reload of nftables.service, a
 * firewall manager), which would leave a running workspace unfiltered.
 * The monitor listens to nftables' change events; after any removal
 * (additions cannot take its rules away, and every other workspace's start
 * is one) it checks that its workspace's chains are still there with all their
 * rules, and if not, reinstalls them in one batch (audit record
 * "net_policy_restored"). If that fails, the caller must kill the
 * workspace (fail closed): the call returns < 0 and err says why. The
 * window is the time between the change and the monitor's reinstall
 * (milliseconds); it exists only for changes made by the host's root,
 * never by anything inside the workspace. Returns 0 when intact, 1 when
 * reinstalled. */
int enc_wsnet_watch_fd(const struct enc_wsnet *n);
int enc_wsnet_watch_check(struct enc_wsnet *n, struct enc_audit *a, struct enc_err *err);

/* Take down what setup made. Idempotent. */
int enc_wsnet_teardown(struct enc_wsnet *n, struct enc_err *err);

/* After a crash, with the workspace lock held: undo what the record says.
 * No record is success. */
int enc_wsnet_sweep(const struct enc_ws *w, struct enc_err *err);

/* Enable IPv4 forwarding on the host when it is off (deny with an
 * allowlist and nat need it). IPv6 forwarding is never switched on by
 * enclave (it changes how the host takes router advertisements); without
 * it, workspaces have no IPv6 egress and `enclave doctor` says so. */
int enc_wsnet_forwarding(struct enc_err *err);

#endif
