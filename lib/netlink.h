/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink.h - the rtnetlink side of enclave-net: a workspace's veth pair,
 * its addresses and routes, the address pool, and the NFLOG reader that
 * turns denied packets into audit records. The nftables rules are lib/nft.h.
 *
 * Contract:
 *
 * Sockets. A struct enc_nl is an rtnetlink socket (libmnl, NETLINK_ROUTE,
 * close-on-exec) and acts on the network namespace it was opened in, for
 * its whole life, wherever the caller is when it uses it. enc_nl_open()
 * with a namespace fd opens the socket *inside* that namespace: the calling
 * thread setns()es in, creates the socket and setns()es back before
 * returning (two setns and one socket(2), a few microseconds; no thread,
 * no fork). The caller needs CAP_SYS_ADMIN over both namespaces (root, or
 * the setuid helper). If the way back fails, which needs the kernel to
 * refuse our own original namespace, the call returns -errno with a message
 * saying so and the caller must exit: its thread is then in the other
 * namespace. Nothing else in this module changes the caller's namespace;
 * the monitor stays single-threaded and ends where it began.
 *
 * Requests. enc_nl_queue_*() append one request each to the socket's
 * pending batch; enc_nl_commit() sends the batch in one sendmsg(2) and
 * reads until every sequence number has been answered, so the socket is
 * never left out of step. Each request asks for an ACK. The first failure
 * is returned (-errno) and worded "cannot <what>: <strerror>", followed by
 * the kernel's extended-ack text in parentheses when it gave one, e.g.
 * "cannot create veth en1a2b3c4d: File exists". rtnetlink is not
 * transactional: requests after a failed one are still applied. Everything
 * enclave adds hangs off the veth, so deleting it undoes a partial setup;
 * enc_veth_setup() does that itself on failure. A queueing error (batch
 * full, bad argument) is kept and reported by the next commit.
 *
 * Interface names. Host ends are "en" + 8 lowercase hex digits
 * (enc_veth_name()); enc_veth_create() and enc_veth_delete() refuse any
 * other name, and enc_veth_delete() also refuses an interface that is not a
 * veth, so enclave never deletes an interface it did not make. The peer is
 * created directly inside the workspace's namespace (IFLA_NET_NS_FD in the
 * peer's own attributes): it never exists in the host namespace, under any
 * name, not even for an instant.
 *
 * Pool. Slot N (0 <= N < ENC_NETPOOL_SLOTS) owns the N-th /30 of
 * 10.213.0.0/16 (host end .1, workspace .2 within the block) and
 * fd65:6e63:6c61:N::/64 (N in hex; ::1 host end, ::2 workspace). Records
 * live beneath the directory fd the caller gives: "net/lock" (flock,
 * exclusive around every change) and one fact file per held slot,
 * "net/<N>" (mode 0600), containing "<uid> <sandbox>/<workspace>[ <owner>]\n". The
 * addresses are the host's, so there is one pool per host: the root
 * runtime dir (/run/enclave), written by root or the helper only, never a
 * per-user one (two users' slot 0 would collide). The uid tells users'
 * same-named workspaces apart, lets the predicate find a holder's state
 * and carries the per-user quota. The pool knows nothing about liveness:
 * the caller's predicate decides whether a holder is still alive
 * (normally: is its workspace lock held?) and, for one that is gone,
 * sweeps what it left (its veth: enc_veth_delete(enc_veth_name(...)), its
 * nft chain) before answering "gone", because the next holder of the slot
 * would collide with its routes.
 *
 * NFLOG. One reader per workspace, on the workspace's own group
 * (enc_nflog_group(slot)): the kernel allows one listener per NFLOG group
 * and namespace (a second bind fails with EBUSY/EPERM), so monitors cannot
 * share one group and filter by prefix. Binding needs CAP_NET_ADMIN in the
 * namespace that logs (the host's); reading does not, so the helper may
 * bind (enc_nflog_bind()) and hand the fd to an unprivileged monitor
 * (enc_nflog_new()). Closing the socket unbinds the group. The reader does
 * not register nfnetlink_log as the namespace's default logger (PF_BIND):
 * nft's "log group N" selects it by type, and a PF_BIND would change the
 * host's logging for every other user and outlive enclave.
 *
 * Not part of the helper core (libmnl).
 */
#ifndef ENCLAVE_NETLINK_H
#define ENCLAVE_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include "err.h"
#include "names.h"
#include "netaddr.h"

/* ---- rtnetlink sockets and batches ---------------------------------- */

struct enc_nl;

/* Open an rtnetlink socket in the namespace of netns_fd (an nsfs fd such
 * as /proc/PID/ns/net), or in the caller's own when netns_fd is -1. */
int enc_nl_open(int netns_fd, struct enc_nl **out, struct enc_err *err);
void enc_nl_close(struct enc_nl *nl);

/* Send the pending batch and wait for every answer (see above). An empty
 * batch is success. */
int enc_nl_commit(struct enc_nl *nl, struct enc_err *err);

/* Queue requests. ifname only words messages ("ifindex N" when NULL).
 * Addresses: IPv6 ones always get IFA_F_NODAD (usable at once, there is
 * nothing on a veth to collide with). */
#define ENC_NL_ADDR_NOPREFIXROUTE 0x1u	/* no automatic prefix route */
void enc_nl_queue_addr(struct enc_nl *nl, int ifindex, const char *ifname,
		       const struct enc_ip *ip, unsigned prefix, unsigned flags);
void enc_nl_queue_link_up(struct enc_nl *nl, int ifindex, const char *ifname);
/* Route to dst/prefix in the main table, via gw (NULL: directly on the
 * link) out of oif. */
void enc_nl_queue_route(struct enc_nl *nl, const struct enc_ip *dst, unsigned prefix,
			const struct enc_ip *gw, int oif, const char *ifname);

/* Immediate operations (one round trip each; the batch must be empty). */

/* ifindex of name, -ENODEV when there is none. kind (optional, >= 16
 * bytes) receives IFLA_INFO_KIND ("veth", "" for none). */
int enc_nl_link_index(struct enc_nl *nl, const char *name, int *ifindex,
		      char *kind, size_t kind_len, struct enc_err *err);

/* Dump every link; cb returns 0 to go on, < 0 to stop with that error. */
typedef int (*enc_nl_link_fn)(int ifindex, const char *name, const char *kind,
			      void *arg);
int enc_nl_link_list(struct enc_nl *nl, enc_nl_link_fn cb, void *arg,
		     struct enc_err *err);

/* ---- the veth pair --------------------------------------------------- */

#define ENC_VETH_NAME_SIZE 11		/* "en" + 8 hex + NUL */
#define ENC_VETH_PEER_DEFAULT "eth0"

/* "en" + 8 hex: the slot in the top 14 bits (so the veths of concurrent
 * workspaces can never collide) and 18 bits of SHA-256 over sandbox,
 * workspace and slot (so a stale veth of an earlier holder of the slot has
 * another name). Returns -EINVAL for bad names, -ERANGE for a bad slot. */
int enc_veth_name(const char *sandbox, const char *workspace, unsigned slot,
		  char name[ENC_VETH_NAME_SIZE]);
/* ^en[0-9a-f]{8}$ */
bool enc_veth_name_valid(const char *name);

/* Create host <-> peer, the host end up, the peer (down) placed straight
 * into the namespace of netns_fd. */
int enc_veth_create(struct enc_nl *nl, const char *host, const char *peer,
		    int netns_fd, struct enc_err *err);

/* Delete the veth whose host end is name (both ends go). A missing one is
 * success; a bad name -EINVAL and an interface that is not a veth -EPERM,
 * both before anything is touched. */
int enc_veth_delete(struct enc_nl *nl, const char *name, struct enc_err *err);

/* ---- addresses ------------------------------------------------------- */

#define ENC_NETPOOL_SLOTS 16384u	/* /30 blocks in 10.213.0.0/16 */
/* The host-wide pool's directory (one per host: the addresses are the
 * host's); its records are beneath, in net/. */
#define ENC_NETPOOL_DIR "/run/enclave"
#define ENC_NETPOOL_OWNER_MAX 1024

struct enc_net_addrs {
	struct enc_ip host4, ws4;	/* 10.213.x.y+1, +2 */
	struct enc_ip host6, ws6;	/* fd65:6e63:6c61:N::1, ::2; family 0: no IPv6 */
	uint8_t prefix4;		/* 30 */
	uint8_t prefix6;		/* 64 */
};

/* The addresses of slot; -ERANGE past the pool. */
int enc_netpool_addrs(unsigned slot, struct enc_net_addrs *a);

/* ---- the whole wiring ------------------------------------------------ */

struct enc_veth_config {
	const char *host;		/* host end, en<8 hex> */
	const char *peer;		/* name inside, NULL: "eth0" */
	int netns_fd;			/* the workspace's network namespace */
	struct enc_net_addrs addrs;
};

/*
 * On nl's namespace (the host): create the veth (host end up), give the
 * host end host4/prefix4 and host6/prefix6 without prefix routes and route
 * exactly ws4/32 and ws6/128 to it. Inside netns_fd, on a socket opened
 * there: lo and the peer up, the peer gets ws4/prefix4 and ws6/prefix6,
 * default routes via host4 and host6. Four round trips in all (about
 * 0.5 ms, most of it the kernel creating the veth). Run it before the
 * workload's first instruction. On failure a veth this call created is
 * deleted again and nothing is left; an existing one of that name
 * (-EEXIST) is left alone.
 */
int enc_veth_setup(struct enc_nl *nl, const struct enc_veth_config *c,
		   struct enc_err *err);

/* ---- the address pool ------------------------------------------------ */

struct enc_netpool_holder {
	unsigned slot;
	uid_t uid;			/* the user the workspace belongs to */
	char sandbox[ENC_NAME_MAX + 1];
	char workspace[ENC_NAME_MAX + 1];
	char owner[ENC_NETPOOL_OWNER_MAX + 1];	/* "" when not recorded */
};

/* 1: alive, keep the slot. 0: gone and swept, the slot may be reused.
 * < 0: cannot tell, keep it. Called with the pool lock held: it must not
 * call back into the pool. */
typedef int (*enc_netpool_alive_fn)(const struct enc_netpool_holder *h, void *arg);

struct enc_netpool_req {
	uid_t uid;
	const char *sandbox;
	const char *workspace;
	/* Optional: the absolute path of the holder's workspace state dir.
	 * One user may run several stores (tests do); the path tells their
	 * same-named workspaces apart and lets a liveness check find the
	 * holder's lock. No spaces or newlines. */
	const char *owner;
	unsigned quota;			/* most slots uid may hold; 0: no limit */
	enc_netpool_alive_fn alive;	/* NULL: never reclaim */
	void *arg;
};

/*
 * Take the lowest free slot for uid's sandbox/workspace. A holder has at
 * most one slot: if it already has one, -EEXIST naming it (a leftover of an
 * earlier run that its sweep must release first). When every slot is
 * taken, or uid is at its quota, the predicate (if given) is asked about
 * every holder and the gone ones are reclaimed; then still none: -ENOSPC,
 * or -EDQUOT for the quota.
 */
int enc_netpool_alloc(int dirfd, const struct enc_netpool_req *q, unsigned *slot,
		      struct enc_err *err);

/* Free slot if uid's sandbox/workspace holds it. Not held at all: success;
 * held by another: -EPERM, untouched. */
int enc_netpool_release(int dirfd, unsigned slot, uid_t uid, const char *sandbox,
			const char *workspace, struct enc_err *err);

/* The slot uid's sandbox/workspace holds, -ENOENT when none. */
int enc_netpool_find(int dirfd, uid_t uid, const char *sandbox, const char *workspace,
		     unsigned *slot, struct enc_err *err);

/* Ask the predicate about every holder and free the slots of the gone
 * ones; *reclaimed (optional) gets their number. For sweeping commands. */
int enc_netpool_reclaim(int dirfd, enc_netpool_alive_fn alive, void *arg,
			unsigned *reclaimed, struct enc_err *err);

/* ---- NFLOG ------------------------------------------------------------ */

/* Each workspace logs to its own group: base + slot (u16, below 65536). */
#define ENC_NFLOG_GROUP_BASE 32768u
static inline uint16_t enc_nflog_group(unsigned slot)
{
	return (uint16_t)(ENC_NFLOG_GROUP_BASE + slot);
}

#define ENC_NFLOG_PREFIX_MAX 128	/* the kernel's NF_LOG_PREFIXLEN */
#define ENC_NFLOG_COPY_RANGE 128	/* bytes of each packet copied */

struct enc_nflog_event {
	char prefix[ENC_NFLOG_PREFIX_MAX];	/* as logged, e.g. "enc:3a9f deny " */
	uint8_t protocol;		/* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, ... */
	struct enc_ip src, dst;
	uint16_t sport, dport;		/* 0 unless TCP, UDP, UDP-Lite, SCTP, DCCP */
	struct timespec time;		/* CLOCK_REALTIME: the kernel's stamp when
					 * the packet had one, else reception */
};

struct enc_nflog_stats {
	uint64_t received;	/* packet messages read from the socket */
	uint64_t delivered;	/* returned to the caller */
	uint64_t rate_dropped;	/* over the reader's rate */
	uint64_t malformed;	/* not IPv4/IPv6 or too short to decode */
	uint64_t overruns;	/* times the kernel found the socket full (ENOBUFS) */
};

struct enc_nflog;

/* Privileged part: a NETLINK_NETFILTER socket in netns_fd (-1: the
 * caller's), bound to group with copy mode packet (ENC_NFLOG_COPY_RANGE
 * bytes) and one packet per message; returns the fd (non-blocking,
 * close-on-exec). -EBUSY/-EPERM when the group has a listener already. */
int enc_nflog_bind(int netns_fd, uint16_t group, struct enc_err *err);

/* Unprivileged part: wrap a bound fd (ownership passes, also on failure).
 * rate: events per second delivered (burst as many), the rest dropped
 * and counted; 0 = unlimited. */
int enc_nflog_new(int fd, unsigned rate, struct enc_nflog **out, struct enc_err *err);

/* bind + new. */
int enc_nflog_open(int netns_fd, uint16_t group, unsigned rate,
		   struct enc_nflog **out, struct enc_err *err);

/* The fd to poll for POLLIN. */
int enc_nflog_fd(const struct enc_nflog *r);

/* Read at most max packet messages (so a flood costs the caller at most
 * max receives per call) and decode them into ev; returns how many events
 * were filled (0..max; fewer when some were dropped by the rate or the
 * socket ran empty), or -errno. Poll again before calling when it returns
 * less than max. */
int enc_nflog_read(struct enc_nflog *r, struct enc_nflog_event *ev, size_t max,
		   struct enc_err *err);

void enc_nflog_get_stats(const struct enc_nflog *r, struct enc_nflog_stats *st);
void enc_nflog_free(struct enc_nflog *r);

/* Decode one NFULNL_MSG_PACKET message (exposed for unit tests and
 * fuzzing): 0, -EINVAL for a message that is not a decodable packet. */
int enc_nflog_decode(const void *msg, size_t len, struct enc_nflog_event *ev);

#endif
