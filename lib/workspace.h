/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workspace.h - a workspace's state on disk (DESIGN.md §3, §11).
 *
 * Layout:
 *   <data>/workspaces/<sandbox>/<ws>/   generation      sandbox generation id
 *                                       idslot          its host id range
 *                                       lock            held LOCK_EX by the monitor
 *                                       home/           the workspace user's home
 *                                       fs/upper fs/work  persistent overlay
 *                                       log log.1 result.json audit.jsonl
 *   <run>/workspaces/<sandbox>/<ws>/    monitor, init   pid + start time
 *                                       exec            how enter runs commands
 *
 * Liveness is the lock (DESIGN §3): "running" means someone holds the lock;
 * the pid files only say *which* processes, and are trusted only through
 * enc_pidref_open() (start time checked), never by number alone.
 *
 * Contract: 0 or -errno with err filled; never prints.
 */
#ifndef ENCLAVE_WORKSPACE_H
#define ENCLAVE_WORKSPACE_H

#include <stdbool.h>
#include <stdint.h>
#include "err.h"
#include "proc.h"
#include "state.h"

/* Host id ranges for root-run workspaces: slot k maps ids 0..65535 inside to
 * ENC_IDPOOL_BASE + k * 65536 on the host. 2^31 keeps clear of the ranges
 * distributions hand out in /etc/subuid (100000 and up, a few million). */
#define ENC_IDPOOL_BASE 2147483648u
#define ENC_IDPOOL_SIZE 65536u
#define ENC_IDPOOL_SLOTS 32000u

struct enc_ws {
	char *sandbox;
	char *name;
	int dir_fd;		/* <data>/workspaces/<sandbox>/<ws> */
	int run_fd;		/* <run>/workspaces/<sandbox>/<ws> */
	int lock_fd;		/* >= 0 while this process holds the lock */
	char *dir_path;
	char *run_path;
};

#define ENC_WS_INIT { .dir_fd = -1, .run_fd = -1, .lock_fd = -1 }

/* Open a workspace; with create, make its directories (0700). Without
 * create a missing one is -ENOENT "no workspace SB/WS". */
int enc_ws_open(const struct enc_state *st, const char *sandbox, const char *name,
		bool create, struct enc_ws *w, struct enc_err *err);
void enc_ws_close(struct enc_ws *w);

/* The reserved workspace a sandbox's setup commands run in (runtime.h
 * setup_root): not a valid workspace name, so no user workspace can
 * collide with it and listings skip it. */
#define ENC_WS_SETUP "_setup"
int enc_ws_open_setup(const struct enc_state *st, const char *sandbox, bool create,
		      struct enc_ws *w, struct enc_err *err);

/* A monitor that has reported the workload's end (result.json written,
 * the caller answered) and only undoes the workspace's network still holds
 * the lock: it says so with this file in the runtime dir, which the next
 * holder of the lock removes (enc_ws_lock()). Such a
 * workspace is not running (enc_ws_running() is 0), and enc_ws_lock()
 * waits for it rather than failing. */
#define ENC_WS_STOPPING "stopping"
#define ENC_WS_STOPPING_WAIT_MS 30000

/* Take the workspace lock exclusively. Not waiting, a held lock is -EBUSY
 * "workspace SB/WS is running" (after waiting for a stopping monitor, see
 * ENC_WS_STOPPING). */
int enc_ws_lock(struct enc_ws *w, bool wait, struct enc_err *err);
void enc_ws_unlock(struct enc_ws *w);

/* 1 running (lock held by someone else), 0 not, -errno. */
int enc_ws_running(const struct enc_ws *w, struct enc_err *err);

/* Wait until the lock is free (the monitor finished its teardown), at most
 * timeout_ms (-1: forever). -ETIMEDOUT when it is still held. */
int enc_ws_wait_stopped(const struct enc_ws *w, int timeout_ms, struct enc_err *err);

/* Pid files in the runtime dir. */
int enc_ws_pid_write(const struct enc_ws *w, const char *which, const struct enc_pidref *ref,
		     struct enc_err *err);
int enc_ws_pid_read(const struct enc_ws *w, const char *which, struct enc_pidref *ref,
		    struct enc_err *err);

/* The workspace's host id slot: read it, or allocate the lowest slot no
 * other workspace of the store records (under the store-wide
 * workspaces/.lock) and record it. */
int enc_ws_idslot(const struct enc_state *st, const struct enc_ws *w, uint32_t *slot,
		  struct enc_err *err);

/* A workspace found in the store. */
struct enc_ws_entry {
	char *sandbox;
	char *name;
};

/* Every workspace (of one sandbox, or all with sandbox NULL), sorted. */
int enc_ws_list(const struct enc_state *st, const char *sandbox, struct enc_ws_entry **out,
		size_t *n, struct enc_err *err);
void enc_ws_list_free(struct enc_ws_entry *e, size_t n);

/* The workspace's cgroup name, "SANDBOX:WS:DEV-INO" with the device and
 * inode of its state directory. cgroups are global to the host while
 * names are only unique within one store: the directory's identity keeps
 * two stores (two users, two test runs) with the same names apart, and
 * ':' (not allowed in names) keeps a.b/c and a/b.c apart. len >= 192. */
#define ENC_WS_CGROUP_NAME_MAX 192
void enc_ws_cgroup_name(const struct enc_ws *w, char *buf, size_t len);

/* Remove the workspace's directories. The caller holds its lock. */
int enc_ws_remove(const struct enc_state *st, struct enc_ws *w, struct enc_err *err);

#endif
