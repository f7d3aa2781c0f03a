/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.h - the unprivileged side of enclave-helper: build a request, run
 * the helper, read its answer and the fds it hands back. For the tools'
 * unprivileged path (lib-free apart from the helper core's err.h).
 *
 * Contract: every call runs the helper once (fork + execve with an empty
 * environment and the request socket as fd 3), returns 0 or -errno and
 * fills err with the helper's own message when it refused ("user bob is
 * not allowed by /etc/enclave/helper.conf"). Fds returned are O_CLOEXEC
 * and the caller's to close. Not async-signal-safe; fork-safe callers only
 * (the child calls nothing but dup2/fcntl/execve/_exit).
 */
#ifndef ENCLAVE_HELPER_CLIENT_H
#define ENCLAVE_HELPER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto.h"

struct ench_reply {
	char text[HREPLY_MAX + 1];	/* the "key=value\n" lines after "ok" */
	int fds[HREQ_FDS_MAX];
	unsigned nfds;
	int status;			/* the helper's exit status, -1: signal */
};

/* Low level (tests use these with their own process set-up). */
int ench_send(int sock, const void *req, size_t len, const int *fds, unsigned nfds,
	      struct enc_err *err);
int ench_recv(int sock, struct ench_reply *rep, struct enc_err *err);
/* The value of key in rep (copied into buf), NULL when absent. */
const char *ench_reply_get(const struct ench_reply *rep, const char *key, char *buf,
			   size_t size);
void ench_reply_close(struct ench_reply *rep);

/* One request: run helper (an absolute path; NULL: the installed one). */
int ench_call(const char *helper, const char *req, const int *fds, unsigned nfds,
	      struct ench_reply *rep, struct enc_err *err);

/* The operations (see proto.h for what each checks). */
int ench_uidmap(const char *helper, int pidfd, const struct hreq_ext *uid, unsigned nuid,
		const struct hreq_ext *gid, unsigned ngid, struct enc_err *err);
/* path SB/gen/ID/rootfs (tree=rootfs), or .tmp/... (tree=build). */
int ench_mount_rootfs(const char *helper, int userns_fd, const char *store,
		      const char *path, int *mount_fd, struct enc_err *err);
/* tree: HTREE_HOME, HTREE_PROJECT or HTREE_PERSIST; base_fd a directory of
 * the caller's, path beneath it ("." for itself); user/group: the workspace
 * user inside (not for persist). */
int ench_mount_dir(const char *helper, enum hreq_tree tree, int userns_fd, int base_fd,
		   const char *path, uint32_t user, uint32_t group, int *mount_fd,
		   struct enc_err *err);

struct ench_net {
	unsigned slot;
	uint16_t group;
	char ifname[16], id[16];
	char addr4[48], host4[48], addr6[48], host6[48];
	int nflog_fd;			/* bound to group; see enc_nflog_new() */
	int watch_fd;			/* the policy watcher's socket (proto.h) */
};
int ench_net_up(const char *helper, int netns_fd, const char *sandbox,
		const char *workspace, bool nat, const char *const *allow, size_t nallow,
		bool log_allowed, struct ench_net *out, struct enc_err *err);
int ench_net_down(const char *helper, const char *sandbox, const char *workspace,
		  struct enc_err *err);

/* The caller's delegated cgroup "enclave/user-UID" in each hierarchy; pidfd
 * (or -1) names a process of the caller's to move in (cgroup v2 needs it).
 * paths receives the reply's path= lines, '\n'-separated. */
int ench_cgroup_add(const char *helper, int pidfd, char *paths, size_t size,
		    struct enc_err *err);
int ench_cgroup_del(const char *helper, struct enc_err *err);

#endif
