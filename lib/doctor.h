/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * doctor.h - `enclave doctor`: every kernel feature and host condition
 * enclave relies on, each reported ok or what is missing and how to fix it
 * (DESIGN.md §14: honesty about what this host can enforce).
 *
 * Contract:
 *  - enc_doctor_run() changes nothing on the system and creates nothing:
 *    no file, directory, cgroup, mount, namespace, nft table or user
 *    outlives it. Functional probes (a user namespace, an idmapped clone, an
 *    overlay, an nf_tables query, loading the seccomp filter) run in forked
 *    children that exit when done; their mounts are detached trees or live
 *    in the child's own mount namespace, never in the host's. The state
 *    directory is only looked at: a missing one is probed through its
 *    nearest existing ancestor.
 *  - Each check has a fixed id, a title, a status, whether it is needed, a
 *    detail and (when not ok) a fix. A needed check whose status is
 *    ENC_DOCTOR_MISSING makes the whole report fail (enc_doctor_ok()).
 *    Warnings never fail it. Whether a check is needed may depend on the
 *    caller: the setuid helper and subordinate ids are needed by ordinary
 *    users, not by root.
 *  - The classification is pure: the enc_doctor_check_*() functions take
 *    what the system said (strings from /proc, stat results, syscall
 *    errnos) and fill one check, so the unit test feeds them fake inputs.
 *    enc_doctor_run() gathers the real inputs and calls them.
 *  - Never prints except to the FILE* given to the writers; never exits.
 *
 * Checks, in report order (ids): kernel, userns, apparmor-userns,
 * userns-clone, syscalls, idmap, overlay, cgroup, cgroup-memory,
 * cgroup-swap, cgroup-pids, cgroup-cpu, cgroup-delegation, nftables,
 * ipv4-forward, ipv6-forward, seccomp, landlock, helper, subid,
 * bootstrap-tools, free-space, state-dir.
 *
 * Part of libenclave (system code), not the helper core.
 */
#ifndef ENCLAVE_DOCTOR_H
#define ENCLAVE_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "cgroup.h"
#include "err.h"
#include "json.h"

enum enc_doctor_status {
	ENC_DOCTOR_OK,
	ENC_DOCTOR_MISSING,	/* fails the report when the check is needed */
	ENC_DOCTOR_WARN,	/* works, but weaker or slower than it could */
	ENC_DOCTOR_SKIP,	/* does not apply here (or cannot be probed) */
};

#define ENC_DOCTOR_TEXT_MAX 512
#define ENC_DOCTOR_MAX_CHECKS 32

/* The kernel floor (DESIGN §14). */
#define ENC_DOCTOR_KERNEL_MAJOR 6
#define ENC_DOCTOR_KERNEL_MINOR 1

/* Free space on the state file system below this is a warning. */
#define ENC_DOCTOR_MIN_FREE (UINT64_C(1) << 30)

/* Subordinate ids one workspace maps (mounts.h: 0..65535 inside). */
#define ENC_DOCTOR_IDS_PER_WS 65536u

struct enc_doctor_check {
	const char *id;		/* static: "kernel", "userns", ... */
	const char *title;	/* static, human */
	enum enc_doctor_status status;
	bool needed;
	char detail[ENC_DOCTOR_TEXT_MAX];
	char fix[ENC_DOCTOR_TEXT_MAX];	/* "" when there is nothing to fix */
};

struct enc_doctor_report {
	size_t n;
	struct enc_doctor_check checks[ENC_DOCTOR_MAX_CHECKS];
};

struct enc_doctor_opts {
	/* Where the sysctl-style files are read: "<proc_root>/sys/kernel/
	 * osrelease", ".../sys/user/max_user_namespaces", the AppArmor and
	 * userns_clone sysctls, seccomp's actions_avail, the forwarding
	 * sysctls and self/attr. NULL: "/proc". A fake tree lets tests make
	 * a needed check fail; the functional probes always use the real
	 * kernel. */
	const char *proc_root;
	/* NULL: $ENCLAVE_HELPER when it is an absolute path (the helper a
	 * build-local install or a test uses), else ENCLAVE_HELPERDIR
	 * "/enclave-helper". */
	const char *helper_path;
	/* NULL: every check. Otherwise a NULL-terminated list of check ids:
	 * only those run (and only their probes), in report order. The
	 * cgroup checks come as one group: naming any of cgroup,
	 * cgroup-memory, cgroup-swap, cgroup-pids or cgroup-cpu runs all
	 * five. */
	const char *const *only;
	/* enc_doctor_require only: check just what the workspace asked for
	 * (limits, a network policy), not the baseline. For a start, whose
	 * own steps fail with their own words when the baseline is missing,
	 * and which must not pay the baseline's probes every time. */
	bool asked_only;
};

/* Run every check into rep (zeroed first). Cannot fail: a check that cannot
 * be evaluated says so in its own status and detail. */
void enc_doctor_run(const struct enc_doctor_opts *opts, struct enc_doctor_report *rep);

/* True when no needed check is missing. */
bool enc_doctor_ok(const struct enc_doctor_report *rep);

/* The check with this id, or NULL. */
const struct enc_doctor_check *enc_doctor_find(const struct enc_doctor_report *rep,
					       const char *id);

/* "ok", "missing", "warn", "skip". */
const char *enc_doctor_status_str(enum enc_doctor_status s);

/* {"ok": bool, "checks": [{"id", "title", "status", "needed", "detail",
 * "fix"}...]}; fix is null when there is nothing to fix. */
void enc_doctor_to_json(const struct enc_doctor_report *rep, struct enc_json *j);

/* One line per check: status (8 columns), id (18 columns), detail; each
 * missing or warn line is followed by "        fix: ..." when there is a
 * fix. Returns 0 or -errno from the stream. */
int enc_doctor_write_table(const struct enc_doctor_report *rep, FILE *f);

/* A new check at the end of rep (zeroed, status ok), or NULL when full. */
struct enc_doctor_check *enc_doctor_add(struct enc_doctor_report *rep, const char *id,
					const char *title);

/* Set a check's status, whether it is needed, and its detail (formatted,
 * cut at ENC_DOCTOR_TEXT_MAX); enc_doctor_fix() sets the fix. */
void enc_doctor_set(struct enc_doctor_check *c, enum enc_doctor_status s, bool needed,
		    const char *fmt, ...) ENC_PRINTF(4, 5);
void enc_doctor_fix(struct enc_doctor_check *c, const char *fmt, ...) ENC_PRINTF(2, 3);

/* ---- refusing to start (DESIGN §14) ------------------------------------
 *
 * A command that needs a guarantee this host cannot give refuses to start
 * with the very words `enclave doctor` prints for it, never runs weaker.
 *
 *   unsigned needs = enc_doctor_needs_of(ws);      (or'ed over workspaces)
 *   if (enc_doctor_require(NULL, needs, &err) < 0)
 *           die_err(&err, ...);   // "cannot enforce ...: cgroup-pids: no
 *                                 //  pids controller: ... (fix: ...)"
 *
 * Every workspace needs the baseline (kernel, user namespaces and their
 * AppArmor/sysctl restrictions, the syscalls, idmapped mounts on the state
 * file system, overlay, a cgroup hierarchy, seccomp, the helper and
 * subordinate ids for ordinary users, the state dirs): refused when such a
 * check is needed and missing. What a workspace asks for on top (a limit,
 * an egress policy) is refused when its check is anything but ok or skip,
 * even a warning: a swap limit asked on a host without swap accounting
 * would otherwise be silently dropped. */
enum {
	ENC_NEED_MEMORY = 1 << 0,	/* memory = ...: cgroup-memory */
	ENC_NEED_SWAP = 1 << 1,		/* swap = ...: cgroup-swap */
	ENC_NEED_PIDS = 1 << 2,		/* pids = ...: cgroup-pids */
	ENC_NEED_CPU = 1 << 3,		/* cpus = ...: cgroup-cpu */
	ENC_NEED_NFTABLES = 1 << 4,	/* network deny or nat: nftables */
};

struct enc_workspace_conf;

/* What starting this workspace needs beyond the baseline. Pure. */
unsigned enc_doctor_needs_of(const struct enc_workspace_conf *ws);

/* The check ids a start with these needs depends on, baseline first,
 * NULL-terminated, static storage (fits ENC_DOCTOR_MAX_CHECKS). */
void enc_doctor_needed_ids(unsigned needs, const char *ids[ENC_DOCTOR_MAX_CHECKS + 1]);
/* The same without the baseline: only what was asked for. */
void enc_doctor_asked_ids(unsigned needs, const char *ids[ENC_DOCTOR_MAX_CHECKS + 1]);

/* Decide from a report (pure, unit-tested): 0 when the start may go on,
 * else -EOPNOTSUPP with err->msg "this host cannot give what the
 * workspace needs: ID: DETAIL (fix: FIX)" for the first check that fails,
 * DETAIL and FIX being exactly the doctor check's own words (no fix part
 * when the check has none). A check absent from the report is not
 * judged. */
int enc_doctor_refusal(const struct enc_doctor_report *rep, unsigned needs,
		       struct enc_err *err);

/* Run the checks a start with these needs depends on (only those, so it
 * takes milliseconds) and apply enc_doctor_refusal(). opts may be NULL;
 * its `only` is ignored. -ENOMEM possible. */
int enc_doctor_require(const struct enc_doctor_opts *opts, unsigned needs, struct enc_err *err);

/* ---- pure classification (unit-tested with fake inputs) -------------- */

/* "6.18.44-fc-v669" -> 6, 18. -EINVAL when it does not start with
 * MAJOR.MINOR. */
int enc_doctor_kernel_parse(const char *release, unsigned *major, unsigned *minor);

/* kernel: needed; release NULL means unknown (missing). */
void enc_doctor_check_kernel(struct enc_doctor_check *c, const char *release);

/* userns: needed. max_userns is the content of
 * /proc/sys/user/max_user_namespaces (NULL: absent); probe_code/probe_msg
 * the functional probe's result (0 worked; a user namespace with an id map
 * and a mount namespace inside it). */
void enc_doctor_check_userns(struct enc_doctor_check *c, const char *max_userns,
			     int probe_code, const char *probe_msg);

/* apparmor-userns: the kernel.apparmor_restrict_unprivileged_userns value
 * (NULL: absent) and this process's AppArmor label (NULL: unknown).
 * Restricted is a warning for root, needed-and-missing for an unconfined
 * ordinary user, ok for one running under a profile. */
void enc_doctor_check_apparmor(struct enc_doctor_check *c, const char *restrict_value,
			       const char *label, bool root);

/* userns-clone: kernel.unprivileged_userns_clone (Debian < 11 style
 * patch); NULL: absent (skip). */
void enc_doctor_check_userns_clone(struct enc_doctor_check *c, const char *value, bool root);

/* syscalls: one entry per system call probed. err is 0 when the call
 * behaved as on a kernel that has it, else the errno it gave. must_work:
 * any error means missing (pidfd_open, clone3, openat2, close_range);
 * otherwise only ENOSYS does (the mount API, which ordinary users get
 * EPERM from). */
struct enc_doctor_syscall {
	const char *name;
	int err;
	bool must_work;
};
void enc_doctor_check_syscalls(struct enc_doctor_check *c,
			       const struct enc_doctor_syscall *sc, size_t n);

/* ipv4-forward / ipv6-forward (family AF_INET or AF_INET6): the sysctl's
 * content, NULL when absent. Never needed: a warning with the sysctl. */
void enc_doctor_check_forward(struct enc_doctor_check *c, int family, const char *value);

/* seccomp: needed. mode is prctl(PR_GET_SECCOMP) (0, 1, 2) or -errno;
 * actions is /proc/sys/kernel/seccomp/actions_avail (NULL: absent);
 * ninsns the size of enclave's filter; filter_code/filter_msg the result
 * of building and loading it in a child (0: loaded). */
void enc_doctor_check_seccomp(struct enc_doctor_check *c, int mode, const char *actions,
			      size_t ninsns, int filter_code, const char *filter_msg);

/* landlock: not needed. abi is landlock_create_ruleset(VERSION)'s result,
 * > 0, or -errno. */
void enc_doctor_check_landlock(struct enc_doctor_check *c, int abi);

/* helper: st NULL when lstat failed with -err (e.g. -ENOENT); dir the
 * stat of its directory (NULL: unknown). Needed by ordinary users; a
 * helper or directory others can write is a hole, needed for everyone. */
void enc_doctor_check_helper(struct enc_doctor_check *c, const char *path,
			     const struct stat *st, int err, const struct stat *dir,
			     bool root);

/* Subordinate ids of one user in /etc/subuid or /etc/subgid format
 * ("name-or-uid:start:count" per line). */
struct enc_subid {
	uint64_t total;		/* ids in all the user's ranges */
	unsigned ranges;	/* the user's ranges */
	uint64_t blocks;	/* disjoint whole 65536-id blocks (workspaces) */
	unsigned bad;		/* malformed lines (any user's) */
};
/* Fill out from content (NUL-terminated). Lines for user (by name) or for
 * uid (numeric) count; blank and '#' lines are ignored. */
void enc_doctor_subid_parse(const char *content, const char *user, uid_t uid,
			    struct enc_subid *out);

/* subid: root uses enclave's own pool (ok). Otherwise uid_err/gid_err
 * are 0 or -errno reading the files. Fewer than 65536 ids: missing
 * (needed); one block: warn (workspaces share it); more: ok. */
void enc_doctor_check_subid(struct enc_doctor_check *c, bool root, const char *user,
			    const struct enc_subid *uids, int uid_err,
			    const struct enc_subid *gids, int gid_err);

/* bootstrap-tools: the paths found (NULL: not found). Warn only. */
void enc_doctor_check_bootstrap(struct enc_doctor_check *c, const char *debootstrap,
				const char *mmdebstrap, bool root);

/* free-space: avail bytes on fs_name at path; err -errno when statvfs
 * failed. */
void enc_doctor_check_space(struct enc_doctor_check *c, const char *path, const char *fs_name,
			    uint64_t avail, int err);

/* One state root as doctor saw it. */
struct enc_doctor_dir {
	const char *what;	/* "data", "runtime" */
	const char *path;
	int err;		/* 0: st valid; -ENOENT: does not exist yet; -errno */
	struct stat st;		/* lstat of path */
	const char *ancestor;	/* when missing: nearest existing ancestor */
	bool ancestor_writable;	/* the caller could create path beneath it */
};

/* Why a state root is unusable, the same rules as enc_state_open(): a real
 * directory (not a symlink), owned by euid, not writable by group or
 * others. Writes the reason to buf and returns true when there is one. */
bool enc_doctor_dir_problem(const struct stat *st, uid_t euid, char *buf, size_t len);

/* state-dir: needed. paths_msg non-NULL when enc_state_paths() failed
 * (then data and run are ignored). */
void enc_doctor_check_state(struct enc_doctor_check *c, const char *paths_msg,
			    const struct enc_doctor_dir *data, const struct enc_doctor_dir *run,
			    uid_t euid);

/* cgroup, cgroup-memory, cgroup-swap, cgroup-pids, cgroup-cpu appended to
 * rep from a probed (or fake) sys. probe_code/probe_msg: enc_cgroup_probe()'s
 * result. ro_hiers: bit i set when sys->hier[i] is not writable by root
 * (read-only mount); ignored for ordinary users, who reach cgroups through
 * delegation only. */
void enc_doctor_check_cgroups(struct enc_doctor_report *rep, const struct enc_cgroup_sys *sys,
			      int probe_code, const char *probe_msg, unsigned ro_hiers, bool root);

/* cgroup-delegation: for ordinary users, systemd's user@UID.service
 * subtree. path is where it would be; err 0 when it exists (owner is its
 * owner), -errno otherwise; controllers its cgroup.controllers (NULL:
 * unread). Root: skip. Never needed: without it enclave-helper delegates. */
void enc_doctor_check_delegation(struct enc_doctor_check *c, bool root,
				 enum enc_cgroup_mode mode, const char *path, int err,
				 uid_t owner, uid_t euid, const char *controllers);

#endif
