/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto.h - the enclave-helper request format, shared by the helper, its
 * client library, the unit tests and the fuzzer.
 *
 * Transport: the caller execs enclave-helper with one end of a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) as fd 3 and sends ONE message: the
 * request text below, with the fds it names attached as SCM_RIGHTS, in
 * order. The helper answers with one message ("ok" + key=value lines, fds
 * attached) or "error <text>", and exits. SEQPACKET keeps message
 * boundaries, so an oversize message is seen as truncated (MSG_TRUNC) and
 * refused, and a second queued message is seen and refused.
 *
 * Request text (at most HREQ_MAX bytes, printable ASCII, '\n' lines):
 *   enclave-helper 1          magic and version
 *   op=<operation>            second line, always
 *   key=value ...             the operation's keys, each at most once
 *                             except the list keys uid, gid, allow
 *   end                       last line: anything after it, or a missing
 *                             "end", is a truncated request
 *
 * Operations, their keys (* = required) and fds:
 *   uidmap      uid=IN OUT COUNT (1..HREQ_MAP_MAX)*, gid=... (1..)*
 *               fds: pidfd of the process whose user namespace is mapped
 *   mount       tree=rootfs|build|home|project|persist*
 *               rootfs: store=/abs* path=SB/gen/HASH/rootfs*  fds: userns
 *               build: store=/abs* path=.tmp/SB.SFX/gen/HASH/rootfs*  fds: userns
 *                 (a generation being set up: writable, and only when it
 *                 is stored with the caller's subordinate ids)
 *               home, project: path=REL* user=UID group=GID  fds: userns, dir
 *               persist: path=REL*  fds: userns, dir (a plain clone of a
 *                 persistent upper layer owned by the target's root)
 *   net-up      sandbox=* workspace=* mode=deny|nat* allow=CIDR (0..)
 *               log_allowed=0|1          fds: netns
 *   net-down    sandbox=* workspace=*    fds: none
 *   cgroup-add  fds: none, or the pidfd of a process to move in
 *   cgroup-del  fds: none
 *
 * Replies: "ok\n" then, per operation: uidmap, net-down, cgroup-del:
 * nothing; mount: one mount fd (detached, for move_mount(2)); net-up:
 * slot= ifname= id= group= addr4= host4= addr6= host6= and the bound
 * NFLOG socket; cgroup-add: one path= line per hierarchy. Or one line
 * "error <message>\n" and no fds. Exit status 0, 1 (refused or failed),
 * 2 (malformed request, policy file unusable).
 */
#ifndef ENCLAVE_HELPER_PROTO_H
#define ENCLAVE_HELPER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"	/* enum enc_net_mode only (header, nothing linked) */
#include "err.h"
#include "names.h"
#include "netaddr.h"

#define HREQ_MAGIC "enclave-helper 1"
#define HREQ_MAX 8192		/* bytes in a request message */
#define HREPLY_MAX 2048
#define HREQ_FD 3		/* the socket's fd number in the helper */
#define HREQ_FDS_MAX 2
#define HREQ_MAP_MAX 8		/* extents per uid/gid map */
#define HREQ_ALLOW_MAX 64
#define HREQ_PATH_MAX 512

/* Ids of one workspace: ENC_IDPOOL_SIZE of lib/workspace.h, the runtime's
 * (the helper links only its own core; lib/unpriv.c asserts they agree). */
#define HREQ_WS_IDS 65536u

enum hreq_op {
	HOP_NONE,
	HOP_UIDMAP,
	HOP_MOUNT,
	HOP_NET_UP,
	HOP_NET_DOWN,
	HOP_CGROUP_ADD,
	HOP_CGROUP_DEL,
};

enum hreq_tree {
	HTREE_NONE,
	HTREE_ROOTFS,
	HTREE_BUILD,
	HTREE_HOME,
	HTREE_PROJECT,
	HTREE_PERSIST,
};

struct hreq_ext {
	uint32_t inside, outside, count;
};

struct hreq {
	enum hreq_op op;
	struct hreq_ext uid[HREQ_MAP_MAX], gid[HREQ_MAP_MAX];
	unsigned nuid, ngid;
	enum hreq_tree tree;
	char store[HREQ_PATH_MAX];
	char path[HREQ_PATH_MAX];
	uint32_t user, group;		/* ids inside, default 1000 */
	char sandbox[ENC_NAME_MAX + 1];
	char workspace[ENC_NAME_MAX + 1];
	enum enc_net_mode mode;
	struct enc_cidr allow[HREQ_ALLOW_MAX];
	unsigned nallow;
	bool log_allowed;
	unsigned nfds_min, nfds_max;	/* fds this request must carry */
	unsigned seen;			/* bit per key: repeated-key check */
};

/* Decode and validate one request of len bytes (not NUL-terminated).
 * Returns 0 or -EINVAL/-EMSGSIZE with err saying what is wrong. Pure. */
int hreq_decode(const char *buf, size_t len, struct hreq *r, struct enc_err *err);

const char *hreq_op_str(enum hreq_op op);

#endif
