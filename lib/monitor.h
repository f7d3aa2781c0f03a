/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor.h - what the monitor (monitor.c) and the workspace's PID 1
 * (init.c) share: the state the monitor builds before it clones PID 1,
 * which PID 1 inherits as its copy. Internal to the runtime.
 */
#ifndef ENCLAVE_MONITOR_H
#define ENCLAVE_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include "audit.h"
#include "auth.h"
#include "cgroup.h"
#include "config.h"
#include "logfile.h"
#include "mounts.h"
#include "runtime.h"
#include "runtime-internal.h"
#include "sandbox.h"
#include "seccomp.h"
#include "wsnet.h"

/* How long the caller waits for the workspace to come up. */
#define START_TIMEOUT_MS 60000
/* How long the monitor drains output after init died. */
#define DRAIN_MS 500
/* The workload's own result file, inside /run/enclave. */
#define WL_RESULT_MAX (1024 * 1024)
/* v1 pids.events is not pollable: check the counter this often. */
#define PIDS_POLL_MS 100

struct monitor {
	const struct enc_state *st;
	const struct enc_spawn_spec *spec;
	const struct enc_workspace_conf *ws;
	struct enc_ws *w;
	char gen[ENC_GEN_ID_SIZE];
	char *rootfs;
	uid_t base;		/* host uid of uid 0 inside */
	gid_t gbase;		/* host gid of gid 0 inside */
	bool unpriv;		/* an ordinary user: the privileged steps go
				 * through enclave-helper (unpriv.h) */
	const struct enc_seccomp_prog *seccomp;
	char **envp;
	/* auth (issue 7): built by the caller, installed by PID 1, values
	 * wiped by every process as soon as it no longer needs them. */
	struct enc_auth_plan auth;
	char *const *argv;	/* NULL: idle */
	char *sh_argv[4];
	char home[PATH_MAX];
	const char *cwd;
	struct enc_mount_sources src;
	char persist_path[PATH_MAX];
	char home_path[PATH_MAX];

	int status_sock;	/* to the caller */
	pid_t self;

	struct enc_cgroup_sys cgsys;
	struct enc_cgroup cg;
	bool have_cg;
	struct enc_log log;
	struct enc_audit audit;
	struct enc_wsnet net;
	int netns;		/* the workspace's network namespace, -1 */
	bool setup;		/* sandbox setup (spec->setup_root) */
	bool ephemeral;		/* --rm, or setup */
	uid_t uid;		/* the workload's uid inside: ws->uid, 0 for setup */

	int sync[2];
	int out[2], err[2], in[2];
	/* v1 "tasks" files PID 1 writes itself into (enc_cgroup_join()) */
	int join_fd[ENC_CGROUP_HIER_MAX];
	int njoin;
	int master;
	int rundir;		/* the workspace's /run/enclave, from init */

	pid_t init_pid;
	int init_pidfd;
	pid_t wl_pid;		/* as init sees it */

	uint64_t started_ms, start_mono;
	/* ENCLAVE_TIMING=1: where the time goes, printed at the end (the
	 * benchmark in test/bench reads it). */
	bool timing;
	int nmarks;
	const char *mark_name[32];
	uint64_t mark_ns[32];
	bool timed_out, oom, pids_hit, net_lost;
	bool have_wl_status;
	int wl_status;
	int attach_in, attach_out, attach_err;
};

static inline void mclose(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Wipe the workload environment's strings in place: it holds the token
 * variables, and a process past its fork or clone has no use for it. */
static inline void wipe_envp(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		explicit_bzero(envp[i], strlen(envp[i]));
}

/* enc_workload_fork() (runtime-internal.h) in two halves, for PID 1 to do
 * its own work while the workload gets ready (spawn.c): start the workload,
 * and later learn whether its exec worked (*failed: the wrapper status
 * 125-127, or 0; reads and closes exec_rd). */
pid_t enc_workload_start(struct enc_workload *wl, int *exec_rd);
void enc_workload_started(int exec_rd, int *failed, int *stage, int *errnum);

/* The workspace's PID 1 (init.c): runs in the child clone3() made, never
 * returns. */
ENC_NORETURN void enc_init_main(struct monitor *m);

#endif
