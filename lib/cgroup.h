/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup.h - per-workspace cgroups (DESIGN.md §8, §10): detection, limits,
 * placement, stats, kill reasons, kill and teardown, on pure cgroup v2,
 * hybrid (v1 controllers + cgroup2 "unified") and v1-only hosts.
 *
 * Contract:
 *  - enc_cgroup_probe() reads /proc/self/mountinfo, opens the root of each
 *    hierarchy enclave uses (checked with fstatfs to really be cgroupfs) and
 *    says which controller lives where. It changes nothing on the system;
 *    `enclave doctor` may call it. Paths are never assumed.
 *  - Hierarchies known: the cgroup2 hierarchy whenever one is mounted (even
 *    with no controllers, as on hybrid hosts: it still gives cgroup.kill,
 *    cgroup.events, cpu.stat and clone3(CLONE_INTO_CGROUP)), plus each v1
 *    hierarchy carrying memory, pids, cpu, cpuacct or freezer that cgroup2
 *    does not provide. A controller is bound to one hierarchy at a time, so
 *    each controller maps to exactly one hierarchy (sys->ctrl_hier[]);
 *    the CPU usage (ENC_CG_CPUACCT) maps to cgroup2's core cpu.stat
 *    whenever cgroup2 is mounted, to v1 cpuacct only without it.
 *  - Hierarchies used by one workspace (enc_cgroup_create()): cgroup2,
 *    memory's and pids' (with or without limits: stats, kill reasons),
 *    cpu's only when a CPU quota is set, cpuacct's only without cgroup2,
 *    the v1 freezer only without cgroup.kill. A hierarchy not used has
 *    cg->dir_fd[i] == -1. enc_cgroup_open() and the sweep look in every
 *    known hierarchy, so a cgroup made with another set is still found.
 *  - Layout as root: "<mount root>/enclave/<name>" in every hierarchy used.
 *    The "enclave" parent is created on first use by enc_cgroup_create()
 *    and never removed by this module (it is shared by all workspaces).
 *    Delegation hook for ordinary users: enc_cgroup_probe_delegated().
 *  - cgroup v2 controllers are enabled (never disabled) in the
 *    cgroup.subtree_control of enclave's parent chain only: the mount root
 *    (so that "enclave" gets them) and "enclave" itself (so that each
 *    workspace gets them), and only the ones a workspace needs (memory and
 *    pids whenever the hierarchy offers them, cpu only when a CPU quota is
 *    requested). Nothing else on the host is written.
 *  - Names: one path component, no '/', not "." or "..", at most
 *    ENC_CGROUP_NAME_MAX bytes. Callers pass already validated names
 *    (e.g. "devbox.api"); the check here is a second line of defence.
 *  - Every file access is openat() with O_NOFOLLOW relative to the
 *    O_DIRECTORY fds of the hierarchies; every fd is O_CLOEXEC.
 *  - Functions return 0 (or an fd) on success, -errno on failure, and fill
 *    err when given. A limit that cannot be enforced here is an error
 *    naming the missing kernel file (DESIGN.md §14: never silently weaker).
 *  - struct enc_cgroup_sys must be released with enc_cgroup_sys_close(),
 *    struct enc_cgroup with enc_cgroup_close() (which keeps the cgroup) or
 *    enc_cgroup_destroy() (which removes it).
 *  - Not thread-safe per object; separate objects are independent.
 *
 * How the runtime uses it (monitor):
 *   enc_cgroup_probe(&sys, err);
 *   enc_cgroup_create(&sys, "devbox.api", &lim, &cg, err);
 *   pid = clone3({.flags = CLONE_INTO_CGROUP, .cgroup = enc_cgroup_fd(&cg)})
 *       (fall back to fork() when enc_cgroup_fd() < 0);
 *   if (enc_cgroup_needs_attach(&cg)) enc_cgroup_attach(&cg, pid, err)
 *       while the child waits on a pipe, before it runs workload code and
 *       before it enters its user namespace (cgroupfs is owned by the
 *       host's root: a process in a child user namespace cannot move
 *       itself any more).
 *   poll(enc_cgroup_event_fd(&cg)) together with the pidfd, signalfd and
 *       timerfd; on POLLIN call enc_cgroup_events() (which also re-arms).
 *   When the workload's init dies: enc_cgroup_events() to classify
 *       (oom_kill > 0 -> "oom", pids_max > 0 -> "pids_exceeded"),
 *       enc_cgroup_stats() for the result, enc_cgroup_kill(),
 *       enc_cgroup_destroy().
 *   Crash sweep by the next command: enc_cgroup_sweep_name(&sys, name).
 *
 * Waiting for kill reasons: the OOM and pids counters are incremented by
 * the kernel before the victim sees SIGKILL or the failing fork returns,
 * so reading them after the workload died is enough to classify its death.
 * The event fd is for reacting while it runs: on cgroup v1 the OOM killer
 * kills one task (there is no memory.oom.group), so the monitor should
 * enc_cgroup_kill() the rest when it sees oom_kill grow.
 *
 * Part of libenclave (system code), not the helper core.
 */
#ifndef ENCLAVE_CGROUP_H
#define ENCLAVE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"

#define ENC_CGROUP_NAME_MAX 255
#define ENC_CGROUP_HIER_MAX 8
#define ENC_CGROUP_PARENT "enclave"

/* How long enc_cgroup_kill() waits for the cgroup to empty and
 * enc_cgroup_destroy() retries rmdir while the kernel still reports it
 * populated. A task in uninterruptible sleep (e.g. on a dead NFS server)
 * can outlive both; the functions then return -EBUSY. */
#define ENC_CGROUP_KILL_TIMEOUT_MS 5000
#define ENC_CGROUP_RMDIR_TIMEOUT_MS 2000

enum enc_cgroup_mode {
	ENC_CGROUP_MODE_NONE,		/* no usable cgroup hierarchy */
	ENC_CGROUP_MODE_UNIFIED,	/* cgroup2 only */
	ENC_CGROUP_MODE_HYBRID,		/* v1 controllers and cgroup2 */
	ENC_CGROUP_MODE_LEGACY,		/* v1 only */
};

/* The controllers enclave uses. */
enum enc_cgroup_ctrl {
	ENC_CG_MEMORY,
	ENC_CG_PIDS,
	ENC_CG_CPU,		/* quota: v2 cpu.max, v1 cpu.cfs_*  */
	ENC_CG_CPUACCT,		/* usage: v2 cpu.stat (core), v1 cpuacct */
	ENC_CG_FREEZER,		/* v1 only; v2 kills with cgroup.kill */
	ENC_CG_NCTRL,
};

/* sys->features: what the probe found. Best effort where the kernel only
 * shows a file in non-root cgroups (see below); enc_cgroup_create() checks
 * the real files and is authoritative. A caller (tests, `doctor`) may clear
 * bits before enc_cgroup_create() to keep a mechanism from being used. */
enum {
	ENC_CGROUP_F_MEMORY = 1u << 0,		/* memory limit + stats */
	ENC_CGROUP_F_MEMORY_SWAP = 1u << 1,	/* swap limit (v2 memory.swap.max, v1 memsw) */
	ENC_CGROUP_F_MEMORY_PEAK = 1u << 2,	/* v2 memory.peak (5.19) or v1 max_usage */
	ENC_CGROUP_F_PIDS = 1u << 3,
	ENC_CGROUP_F_CPU = 1u << 4,		/* CPU quota */
	ENC_CGROUP_F_CPU_STAT = 1u << 5,	/* CPU usage */
	ENC_CGROUP_F_KILL = 1u << 6,		/* v2 cgroup.kill (5.14) */
	ENC_CGROUP_F_FREEZER = 1u << 7,		/* v1 freezer */
	ENC_CGROUP_F_OOM_GROUP = 1u << 8,	/* v2 memory.oom.group */
	ENC_CGROUP_F_CLONE_INTO = 1u << 9,	/* cgroup2 present: enc_cgroup_fd() */
};

struct enc_cgroup_hier {
	int version;		/* 1 or 2 */
	unsigned ctrls;		/* 1u << enc_cgroup_ctrl it provides */
	dev_t dev;		/* superblock; co-mounted v1 controllers share it */
	int mnt_fd;		/* O_DIRECTORY fd of the mount's root */
	int parent_fd;		/* enclave's parent, opened on first use, or -1 */
	bool delegated;		/* parent_fd given by the caller: touch nothing above */
	unsigned enabled;	/* v2: controllers known enabled down to parent_fd */
	char mount[256];	/* mount point, for messages and `doctor` */
};

struct enc_cgroup_sys {
	enum enc_cgroup_mode mode;
	unsigned features;			/* ENC_CGROUP_F_* */
	int nhier;
	struct enc_cgroup_hier hier[ENC_CGROUP_HIER_MAX];
	int ctrl_hier[ENC_CG_NCTRL];		/* index into hier[] or -1 */
	int v2;					/* index of cgroup2 or -1 */
};

/* Limits. A zeroed struct means "no limits". */
struct enc_cgroup_limits {
	uint64_t memory_max;	/* bytes; 0 = unlimited */
	bool limit_swap;	/* false: swap is not limited */
	uint64_t swap_max;	/* bytes of swap beyond memory_max (0 = none);
				 * needs memory_max on cgroup v1, where it is
				 * written as memsw = memory_max + swap_max */
	uint32_t cpu_quota_us;	/* per period; 0 = unlimited; >= 1000 */
	uint32_t cpu_period_us;	/* 0 = 100000; 1000 .. 1000000 */
	uint64_t pids_max;	/* 0 = unlimited */
};

struct enc_cgroup {
	char name[ENC_CGROUP_NAME_MAX + 1];
	int nhier;
	int version[ENC_CGROUP_HIER_MAX];
	unsigned ctrls[ENC_CGROUP_HIER_MAX];
	int dir_fd[ENC_CGROUP_HIER_MAX];	/* the workspace's cgroup, -1 absent */
	int parent_fd[ENC_CGROUP_HIER_MAX];	/* dup of enclave's parent, -1 absent */
	int ctrl_hier[ENC_CG_NCTRL];
	int v2;
	unsigned features;	/* sys features confirmed by this cgroup's files */
	/* enc_cgroup_event_fd() state, -1 until used: the epoll fd, the
	 * watched files (cgroup.events, memory.events, pids.events,
	 * v1 memory.oom_control) and the v1 OOM eventfd */
	int ep_fd;
	int ev_fd[4];
	int oom_efd;
};

/* Stats; `valid` says which fields were read (ENC_CGROUP_ST_*). */
enum {
	ENC_CGROUP_ST_MEMORY = 1u << 0,
	ENC_CGROUP_ST_MEMORY_PEAK = 1u << 1,
	ENC_CGROUP_ST_CPU = 1u << 2,
	ENC_CGROUP_ST_PIDS = 1u << 3,
};
struct enc_cgroup_stats {
	unsigned valid;
	uint64_t memory_current;	/* bytes */
	uint64_t memory_peak;		/* bytes, since creation */
	uint64_t cpu_usage_usec;	/* user + system */
	uint64_t pids_current;		/* tasks, including zombies */
};

/* Kill-reason counters; `valid` says which were read (ENC_CGROUP_EV_*). */
enum {
	ENC_CGROUP_EV_OOM = 1u << 0,
	ENC_CGROUP_EV_PIDS = 1u << 1,
	ENC_CGROUP_EV_POPULATED = 1u << 2,
};
struct enc_cgroup_events {
	unsigned valid;
	uint64_t oom;		/* times the memory limit invoked the OOM killer */
	uint64_t oom_kill;	/* tasks the OOM killer killed in the cgroup */
	uint64_t pids_max;	/* forks refused by pids.max */
	bool populated;		/* v2 cgroup.events: any live task left */
};

/* Detection. Fills sys (zeroes it first). -ENOENT with a message when no
 * cgroup hierarchy is mounted at all. */
int enc_cgroup_probe(struct enc_cgroup_sys *sys, struct enc_err *err);

/* Delegation hook (ordinary users, DESIGN.md §4, §8; not used yet):
 * like enc_cgroup_probe() but enclave's parent in the cgroup2 hierarchy
 * is `dirfd` (dup'ed), a cgroup the caller may write: systemd's
 * user@UID.service subtree or one enclave-helper delegated. Only pure
 * cgroup v2 hosts qualify (v1 has no safe delegation): -EOPNOTSUPP
 * otherwise. Controllers are then enabled in dirfd's own
 * cgroup.subtree_control only; whatever lies above is the delegator's. */
int enc_cgroup_probe_delegated(struct enc_cgroup_sys *sys, int dirfd,
			       struct enc_err *err);

/* Ordinary users (DESIGN.md §4, §8), on any host layout (v2, hybrid,
 * v1): like enc_cgroup_probe(), with enclave's parent in every hierarchy
 * being the caller's "enclave/user-EUID" that enclave-helper's cgroup-add
 * made and gave to the caller (must exist and be owned by the effective
 * uid, else -ENOENT/-EPERM naming it). Nothing above it is ever written.
 * Without it, enc_cgroup_open() (and the sweep) run by a non-root caller
 * also look beneath "enclave/user-EUID" rather than "enclave". */
int enc_cgroup_probe_user(struct enc_cgroup_sys *sys, struct enc_err *err);

void enc_cgroup_sys_close(struct enc_cgroup_sys *sys);

const char *enc_cgroup_mode_str(enum enc_cgroup_mode mode);
const char *enc_cgroup_ctrl_str(enum enc_cgroup_ctrl ctrl);

/* Create "enclave/<name>" in every hierarchy it needs (see the contract
 * above) and apply the limits. An
 * existing cgroup of that name is -EEXIST (sweep first). On failure
 * everything created is removed again and cg is left closed. */
int enc_cgroup_create(struct enc_cgroup_sys *sys, const char *name,
		      const struct enc_cgroup_limits *lim, struct enc_cgroup *cg,
		      struct enc_err *err);

/* Open an existing workspace cgroup (another process's `stats`, the sweep).
 * Hierarchies where it does not exist are left absent; -ENOENT when it
 * exists nowhere. */
int enc_cgroup_open(struct enc_cgroup_sys *sys, const char *name,
		    struct enc_cgroup *cg, struct enc_err *err);

/* Release fds; the cgroup stays. Safe on a closed or zeroed-and-closed cg. */
void enc_cgroup_close(struct enc_cgroup *cg);

/* An O_DIRECTORY fd of the cgroup2 cgroup for clone3(CLONE_INTO_CGROUP),
 * owned by cg; -EOPNOTSUPP when there is no cgroup2 hierarchy. */
int enc_cgroup_fd(const struct enc_cgroup *cg);

/* True when clone3 into enc_cgroup_fd() does not place the child in every
 * hierarchy used (v1 hierarchies are in use) or there is no fd at all: the
 * runtime must then call enc_cgroup_attach(). */
bool enc_cgroup_needs_attach(const struct enc_cgroup *cg);

/* Move process pid (0: the caller) into the cgroup in every hierarchy used by
 * writing cgroup.procs. Already being there is fine.
 * Cost: a cgroup.procs write takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
 * period unless another migration happened within the last one: about
 * 10-16 ms on a 2-CPU host for an isolated start. Placing a new child
 * should use clone3(CLONE_INTO_CGROUP) for cgroup2 and
 * enc_cgroup_join_open() + enc_cgroup_join() for v1 instead. */
int enc_cgroup_attach(struct enc_cgroup *cg, pid_t pid, struct enc_err *err);

/* Placement without the grace period, for a child that joins by itself
 * before it runs anything else (the workspace's PID 1):
 *  - the parent calls enc_cgroup_join_open() before creating the child:
 *    it opens, write-only and close-on-exec, the v1 "tasks" file of every
 *    v1 hierarchy the cgroup uses (not cgroup2's, which the child enters
 *    by clone3(CLONE_INTO_CGROUP)), fills fds[] and returns their number
 *    (0 when there is nothing to join, e.g. pure cgroup2), or -errno.
 *    The fds belong to the caller (enc_cgroup_join_close()).
 *  - the child, still single-threaded, calls enc_cgroup_join() first
 *    thing: it writes "0" to each fd, which moves the calling thread (the
 *    whole process, being its only thread) into that v1 cgroup. Moving
 *    oneself through "tasks" is the one migration that needs no global
 *    lock. The kernel checks permission against the credentials the file
 *    was opened with (the parent's), so it works after clone(CLONE_NEWUSER)
 *    too. Returns 0 or -errno; *failed gets the index of the fd that
 *    failed. Only write(2): safe right after fork or clone.
 *  - the child must close the fds before running anything untrusted
 *    (enclave's PID 1 closes every fd it does not keep).
 * When enc_cgroup_join_open() returned > 0 and the child joined, no
 * enc_cgroup_attach() is needed. */
int enc_cgroup_join_open(const struct enc_cgroup *cg, int fds[ENC_CGROUP_HIER_MAX],
			 struct enc_err *err);
int enc_cgroup_join(const int *fds, int n, int *failed);
void enc_cgroup_join_close(int *fds, int n);

int enc_cgroup_stats(struct enc_cgroup *cg, struct enc_cgroup_stats *st,
		     struct enc_err *err);
int enc_cgroup_events(struct enc_cgroup *cg, struct enc_cgroup_events *ev,
		      struct enc_err *err);

/* A pollable fd (an epoll fd owned by cg) that turns readable (POLLIN)
 * when a kill-reason counter or the populated state may have changed:
 * v2 memory.events, pids.events and cgroup.events (POLLPRI on kernfs,
 * rate-limited by the kernel to one notification per 10 ms per file) and
 * the v1 memory.oom_control eventfd. v1 pids.events is not pollable: on
 * v1 a pids.max hit is seen only by reading the counters (at each wakeup
 * and at the workload's death). Level-triggered until enc_cgroup_events()
 * reads the sources again. Spurious wakeups happen; always compare
 * counters. */
int enc_cgroup_event_fd(struct enc_cgroup *cg, struct enc_err *err);

/* SIGKILL every process in the cgroup and its descendants and wait until
 * none is left (ENC_CGROUP_KILL_TIMEOUT_MS, then -EBUSY). cgroup v2:
 * cgroup.kill. v1: freeze through the freezer when there is one, SIGKILL
 * each pid in cgroup.procs of every hierarchy until all are empty, thaw.
 * Killed zombies need not be reaped for this to return. */
int enc_cgroup_kill(struct enc_cgroup *cg, struct enc_err *err);

/* rmdir the cgroup (and any sub-cgroups) in every hierarchy, retrying
 * while the kernel still reports it busy; then close cg. Missing is
 * success, so it is idempotent. Does not kill: call enc_cgroup_kill()
 * first. On -EBUSY cg stays open so the caller may retry. */
int enc_cgroup_destroy(struct enc_cgroup *cg, struct enc_err *err);

/* Crash sweep without a handle: open by name, kill, destroy. Nothing
 * there is success. */
int enc_cgroup_sweep_name(struct enc_cgroup_sys *sys, const char *name,
			  struct enc_err *err);

#endif
