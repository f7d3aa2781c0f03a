/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portfwd.h - port publishing (DESIGN.md §7): a workspace port made
 * reachable from the host at exactly one host address.
 *
 * How: a userspace forwarder, no DNAT. The publishing process binds the
 * host address and port in the HOST network namespace (so the port is
 * reachable there and nowhere else, by construction: a socket bound to
 * 127.0.0.1 cannot be reached from another address), then forks the
 * forwarder, which
 *   - joins the workspace's cgroup, so every kill of the workspace (stop,
 *     a quota, the crash sweep: they kill the whole cgroup) ends it too;
 *   - setns()es into the workspace's network namespace;
 *   - drops privilege for good: no_new_privs, no supplementary groups, the
 *     workspace's mapped "nobody" id on the host (ENC_IDPOOL_BASE + slot *
 *     ENC_IDPOOL_SIZE + 65534; 65534 when the workspace has no id slot),
 *     every capability gone, every fd but its sockets closed;
 *   - relays: each TCP connection accepted on the host socket becomes a
 *     connection to the workspace's own loopback (127.0.0.1 for an IPv4
 *     host address, ::1 for IPv6) at the workspace port; each UDP client
 *     address gets a connected socket inside, dropped after
 *     ENC_PORTFWD_UDP_IDLE_MS without traffic.
 * This works in every network mode with a namespace (none, deny, nat) and
 * for services bound to loopback or to any address inside. It is never
 * used with network = host (there is no namespace to forward into).
 *
 * The forwarder does not die with the process that published (no
 * PR_SET_PDEATHSIG): `enclave-net publish` returns while the port stays
 * published. It lives in its own session, reparented to init.
 *
 * Records: <run>/workspaces/SB/WS/ports/<name>, one fact file per
 * published port; name "<proto>-<address>-<hostport>" (for example
 * "tcp-127.0.0.1-3001", "udp-::1-5353"), content one line:
 *
 *   <spec as enc_format_port() writes it> <pid> <starttime>
 *
 * The forwarder is only ever signalled through its verified pidref
 * (proc.h), never by bare pid. ports/lock serialises publish/unpublish.
 *
 * Contract: 0 or -errno with err filled; never prints. Publishing needs
 * CAP_SYS_ADMIN over the workspace's network namespace (root), and
 * CAP_NET_BIND_SERVICE for a host port below 1024.
 */
#ifndef ENCLAVE_PORTFWD_H
#define ENCLAVE_PORTFWD_H

#include <stddef.h>
#include "cgroup.h"
#include "err.h"
#include "netaddr.h"
#include "proc.h"
#include "workspace.h"

#define ENC_PORTS_DIR "ports"
#define ENC_PORTFWD_MAX_CONN 256	/* concurrent TCP connections / UDP flows */
#define ENC_PORTFWD_BUF 32768		/* per direction per connection */
#define ENC_PORTFWD_UDP_IDLE_MS 60000
#define ENC_PORTFWD_START_MS 10000	/* how long publish waits for the forwarder */

/* Longest record name: "udp-" + an IPv6 address + "-65535". */
#define ENC_PORT_NAME_MAX 64
/* Longest spec "[v6]:65535:65535/udp" and "127.0.0.1:3001/tcp". */
#define ENC_PORT_SPEC_MAX 80

/* A published port: the spec and its forwarder. */
struct enc_port_rec {
	struct enc_port port;
	struct enc_pidref fwd;
};

/*
 * Publish p for workspace w. netns_fd: an nsfs fd of the workspace's
 * network namespace (-1: the workspace has none, i.e. network = host:
 * -EINVAL "ports: not with network = host"). cg: the workspace's cgroup.
 *
 * Errors: -EEXIST "127.0.0.1:3001/tcp is already published by workspace
 * SB/WS"; -EADDRINUSE "127.0.0.1:3001/tcp is already in use on the host";
 * another bind error "cannot bind 127.0.0.1:3001/tcp on the host: why";
 * the forwarder's own failure to start with its reason. On error nothing
 * is recorded and no forwarder is left.
 *
 * Returns once the forwarder serves: a client may connect right away.
 */
int enc_ports_publish(const struct enc_ws *w, int netns_fd, struct enc_cgroup *cg,
		      const struct enc_port *p, struct enc_err *err);

/* Kill the forwarder of p (SIGKILL through its verified pidref; waits
 * until it is gone so the host port is free on return) and remove the
 * record. -ENOENT "127.0.0.1:3001/tcp is not published by workspace
 * SB/WS". Matches on host address, host port and protocol (the workspace
 * port of p is ignored). */
int enc_ports_unpublish(const struct enc_ws *w, const struct enc_port *p,
			struct enc_err *err);

/* The records, sorted by protocol, address, port. *out is malloc'd (free()
 * it); none (or no ports dir) is 0 with *n = 0. A record whose forwarder
 * is gone is still listed (enc_ports_alive() tells). A malformed record
 * is -EINVAL naming it. */
int enc_ports_list(const struct enc_ws *w, struct enc_port_rec **out, size_t *n,
		   struct enc_err *err);

/* 1 when the forwarder of r is alive, 0 when it is gone. */
int enc_ports_alive(const struct enc_port_rec *r);

/* Remove every record (teardown, crash sweep: the forwarders die with the
 * cgroup). Best effort, idempotent. */
void enc_ports_clear(const struct enc_ws *w);

/* ---- pure helpers (unit tested) ---- */

/* "127.0.0.1:3001/tcp", "[::1]:3001/udp": the host side, for messages. */
int enc_port_host_str(const struct enc_port *p, char *buf, size_t len);

/* The record name of p ("tcp-127.0.0.1-3001"). */
int enc_port_rec_name(const struct enc_port *p, char *buf, size_t len);

/* One record line ("127.0.0.1:3001:3000/tcp 4242 123456\n") and back.
 * Parsing is strict: a spec enc_parse_port() accepts, one space, a pidref. */
int enc_port_rec_format(const struct enc_port_rec *r, char *buf, size_t len);
int enc_port_rec_parse(const char *s, struct enc_port_rec *r, struct enc_err *err);

/* Same host address, host port and protocol. */
bool enc_port_same_host(const struct enc_port *a, const struct enc_port *b);

#endif
