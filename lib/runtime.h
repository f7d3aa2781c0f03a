/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime.h - running workspaces: the monitor, the PID 1 init, the workload
 * exec, enter, stop, and the crash sweep (DESIGN.md §3, §5, §6, §8, §10).
 *
 * Process model:
 *
 *   caller (enclave-spawn run/start)
 *     └─ monitor: setsid, holds workspaces/SB/WS/lock LOCK_EX for its life;
 *        cgroup, namespaces, mounts, log relay, limits, result, audit,
 *        teardown
 *          └─ init: PID 1 of the workspace's PID namespace; reaps, forwards
 *             signals, exits with the workload's status
 *               └─ workload: the workspace user (or uid 0 with --root-like
 *                  setups), no capabilities, no_new_privs, seccomp
 *
 * enc_spawn_start() returns once the workload has been exec'd (or could
 * not be): the caller then either detaches (start) or waits (run) with
 * enc_spawn_wait(). Everything the monitor needs it gets before the fork;
 * it never reads the workspace's files as trusted input.
 *
 * Contract: 0 or -errno with err filled; never prints. Exit statuses of
 * commands follow DESIGN §13 (125/126/127/128+N): see enc_result.
 */
#ifndef ENCLAVE_RUNTIME_H
#define ENCLAVE_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "err.h"
#include "state.h"
#include "workspace.h"

/* Why a workload ended (result.json "reason"). */
enum enc_reason {
	ENC_REASON_EXITED,
	ENC_REASON_SIGNALED,
	ENC_REASON_OOM,
	ENC_REASON_PIDS,	/* "pids_exceeded" */
	ENC_REASON_TIMEOUT,
	ENC_REASON_CPU,
	ENC_REASON_FAILED,	/* enclave could not start it (exit 125) */
	ENC_REASON_NET_POLICY,	/* "net_policy_lost": its network policy was
				 * removed on the host and could not be put
				 * back; killed (fail closed) */
};

const char *enc_reason_str(enum enc_reason r);

struct enc_spawn_spec {
	const char *sandbox;
	const struct enc_workspace_conf *ws;	/* validated; ws->name is the workspace */
	char *const *argv;	/* the command; NULL: ws->run through /bin/sh -c,
				 * and with no run either the workspace idles
				 * (init waits) ready for enter */
	bool tty;		/* the workload gets a pty of the workspace's own
				 * devpts, relayed to attach_* */
	bool interactive;	/* relay attach_in to the workload's stdin */
	bool ephemeral;		/* --rm: keep only result.json and audit.jsonl */
	int attach_in;		/* caller's fds for run; -1 when detached */
	int attach_out;
	int attach_err;
	uint64_t log_limit;	/* bytes; 0: default */
	/* Sandbox setup (enclave-bootstrap, DESIGN §6): when set, the command
	 * runs as root with the root capability set directly on this
	 * writable directory (a generation being built, owned by host root):
	 * no overlay, no home, no project dir, no auth. The workspace's state
	 * lives under the reserved name "_setup" of the sandbox, which no user
	 * workspace can have and `ps` does not list; only one setup of a
	 * sandbox runs at a time (-EBUSY). Network, limits and output are the
	 * ws conf's and the attach fds' as for any run; the result is not
	 * kept (ephemeral is implied). */
	const char *setup_root;
};

/* A started workspace, as seen by the caller. */
struct enc_spawn_handle {
	struct enc_pidref monitor;
	struct enc_pidref init;
	int status_fd;		/* the monitor writes the final status here */
	pid_t monitor_child;	/* attached: the monitor is our child to reap */
	int fail_status;	/* after a failed start: 125, 126 or 127 */
};

#define ENC_SPAWN_HANDLE_INIT { .status_fd = -1, .fail_status = 125 }

/* Start: lock, sweep leftovers of a crashed run, fork the monitor and wait
 * until the workload runs. -EBUSY "workspace SB/WS is running". */
int enc_spawn_start(const struct enc_state *st, const struct enc_spawn_spec *spec,
		    struct enc_spawn_handle *h, struct enc_err *err);

/* Send the monitor a control message: "W ROWS COLS" (window size of the
 * caller's terminal), "S SIGNO" (forward a signal to the workload). */
int enc_spawn_send(struct enc_spawn_handle *h, const char *msg);

/* Wait for the monitor to finish; *exit_status is what `run` exits with. */
int enc_spawn_wait(struct enc_spawn_handle *h, int *exit_status, struct enc_err *err);
void enc_spawn_handle_close(struct enc_spawn_handle *h);

/* enter/exec: join a running workspace. */
struct enc_enter_spec {
	char *const *argv;	/* NULL: the user's login shell, else /bin/sh */
	bool root;		/* uid 0 with the documented root caps */
	bool tty;
	bool interactive;	/* pass stdin on; else the command reads /dev/null */
	struct enc_strv env;	/* extra K=V */
	const char *cwd;	/* NULL: the project dir or home */
};

/* Runs the command inside and returns its exit status (125/126/127 like
 * run). */
int enc_spawn_enter(const struct enc_state *st, const char *sandbox, const char *ws,
		    const struct enc_enter_spec *spec, int *exit_status, struct enc_err *err);

/* Signal the workspace's init (which forwards to the workload). */
int enc_spawn_kill(const struct enc_state *st, struct enc_ws *w, int sig, struct enc_err *err);

/* SIGTERM, wait grace_ms, then kill the whole cgroup; returns when the
 * monitor finished its teardown. Not running is success (*was_running 0). */
int enc_spawn_stop(const struct enc_state *st, struct enc_ws *w, int grace_ms,
		   bool *was_running, struct enc_err *err);

/* Crash sweep: with the lock held by the caller, remove what a dead
 * monitor left (cgroup, runtime files). Idempotent; nothing to do is 0. */
int enc_spawn_sweep(const struct enc_state *st, struct enc_ws *w, struct enc_err *err);

/* The same, for any command that merely touches a workspace (ps, stats,
 * stop, ...): when its monitor died without a teardown, take the lock,
 * sweep, release. Nothing to do, or someone else holding the lock, is 0. */
int enc_spawn_sweep_if_crashed(const struct enc_state *st, struct enc_ws *w,
			       struct enc_err *err);

#endif
