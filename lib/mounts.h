/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mounts.h - a workspace's root filesystem (DESIGN.md §5, §6).
 *
 * Two halves, split at the privilege boundary:
 *
 *  1. enc_mounts_prepare_idmapped() runs in the initial user namespace with
 *     real privilege (as root today, inside enclave-helper later). Inputs:
 *     struct enc_mount_sources (host paths and ids) and the workspace's user
 *     namespace fd. Outputs: detached mount fds (struct enc_mount_fds). It
 *     keeps no other state and mounts nothing anywhere: every mount it makes
 *     is a detached tree owned by the returned fds, freed when they close.
 *
 *  2. enc_mounts_build_root() runs in the workspace's first process, after
 *     it has entered the workspace's user namespace as uid/gid 0 and
 *     unshared its mount namespace (and PID, network, ...), and after a fork
 *     so it is inside the new PID namespace. It builds the whole tree from
 *     the fds, pivots into it and detaches the old root. It never resolves a
 *     host path given by the caller, only fixed kernel paths (/dev/null, ...,
 *     /sys as a fallback).
 *
 * Nothing is ever mounted in the host's mount namespace: the detached trees
 * live until their fds close, everything else lives in the workspace's own
 * mount namespace and goes away with its last process. There is nothing for
 * a sweep to unmount after a crash. What stays on disk is data: the
 * persistent upper/work and the home directory.
 *
 * Identity (DESIGN §5). The workspace namespace maps 0..65535 inside onto
 * ns_uid_base.. (ns_gid_base..) on the host.
 *  - rootfs: one recursive open_tree clone, idmapped with the workspace's
 *    namespace (on-disk 0 is root inside) and read-only; the overlay's lower.
 *  - home and project: idmapped with a throwaway "carrier" user namespace
 *    whose only mapping is  owner_uid -> ns_uid_base + user_uid  (same for
 *    gids). Files the workspace user (user_uid inside) creates land on disk
 *    owned by owner_uid/owner_gid, and the owner's files show as user_uid
 *    inside. Every other on-disk id shows as the overflow id (65534), and ids
 *    outside that one mapping cannot create files there (EOVERFLOW) -- that
 *    includes root inside: nothing root does inside becomes a host-owned
 *    file. When the owner already is the workspace user's own host id (a
 *    root-run workspace's home, owned by ns_uid_base + user_uid) the clone is
 *    plain, not idmapped.
 *  - persistent upper/work: plain (not idmapped) clone; the directories are
 *    owned on disk by the workspace's mapped ids (ns_uid_base, like rootless
 *    podman's storage). An idmapped state dir would instead store files root
 *    creates inside as host uid 0 (a setuid-root file on the host's disk),
 *    and nothing is gained: the kernel has supported overlay upper layers on
 *    ext4/xfs/btrfs/tmpfs owned by mapped ids, with "userxattr", since 5.11.
 *
 * Tree built by enc_mounts_build_root(). Every mount enclave makes is
 * nosuid,nodev (the six device binds keep the host's /dev flags; devpts is
 * nosuid,noexec); the masks and /proc/sys are also noexec and read-only:
 *   /            overlay: lower = idmapped rootfs; upper = tmpfs (tmp),
 *                upper/work from persist (persistent), or no upper at all
 *                (readonly: a small "scaffold" tmpfs holding only missing
 *                mount points sits above the rootfs as a second lower layer,
 *                so the superblock itself is read-only)
 *   /proc        new procfs of the caller's PID namespace, hidepid=invisible
 *                (processes of other inside-users are invisible, not merely
 *                unreadable); /proc/sys bound read-only over itself (bus, fs,
 *                irq hold only files of the initial namespace's root, which
 *                DAC already keeps read-only inside); kcore, keys, key-users,
 *                kallsyms, timer_list, sched_debug, sysrq-trigger,
 *                latency_stats, timer_stats, acpi, scsi, asound masked (when
 *                the kernel has them) by an empty read-only file (mode 0444,
 *                reads 0 bytes) or directory (0555)
 *   /dev         tmpfs 0755 nosuid,nodev,noexec: null zero full random
 *                urandom tty bound from the host nodes (mknod is refused in a
 *                user namespace), pts = new devpts (newinstance,
 *                ptmxmode=0666,mode=0620,gid=5), ptmx -> pts/ptmx, shm = a
 *                1777 directory of this tmpfs, fd -> /proc/self/fd,
 *                stdin/stdout/stderr -> /proc/self/fd/0..2. Nothing else.
 *   /sys         new sysfs of the caller's network namespace, read-only;
 *                firmware and devices/virtual/powercap masked. When the
 *                network namespace is not owned by the workspace's user
 *                namespace (network=host), sysfs cannot be mounted (EPERM):
 *                the host /sys is bound recursively read-only instead and
 *                report->sys_from_host says so.
 *   /tmp         tmpfs 1777;  /run  tmpfs 0755
 *   home_dst     the home clone;  project_dst  the project clone, then the
 *                hide masks and the protect binds inside it
 * Missing mount points are created in the overlay's upper (tmp, persistent),
 * in the scaffold (readonly), in /tmp or /run when they lie there, and in the
 * home as the workspace user when project_dst lies under home_dst. A mount
 * point that is a symlink in the rootfs is refused (-ELOOP): resolution is
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) from the new root, so the
 * rootfs cannot redirect a mount elsewhere.
 *
 * Hidden globs (default ".env", ".env.*"): matched with fnmatch(3), no
 * flags, against every entry of the project tree at every depth (the tree is
 * walked once at start; a snapshot). A glob without '/' matches an entry's
 * name; a glob with '/' matches the entry's path relative to the project dir
 * (FNM_PATHNAME); a glob with '/' and no wildcard ("secrets/prod.json",
 * ".git/config") is simply looked up. A matched directory is masked whole
 * and not descended. A matched symlink masks its target when that resolves
 * beneath the project dir (RESOLVE_BENEATH); a target outside it is not the
 * host's file inside the workspace, so there is nothing to hide.
 * Directories root inside cannot read are skipped: the workload cannot read
 * them either. Directories named in hide_prune (default ".git" and
 * "node_modules") are not descended: git internals and dependency trees hold
 * no .env of the user's and can hold 10^5 entries, while the walk costs
 * ~6 us per directory (~45 ms for 7,000); literal paths are looked up
 * whatever the prune list says. An empty prune list walks everything. Trees
 * deeper than ENC_HIDE_MAX_DEPTH fail the start (-ELOOP) rather than hide
 * partially.
 *
 * Protected paths: relative to the project dir, no "..", not absolute;
 * resolved with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) from the
 * project mount (symlinks beneath are followed, one escaping is -EXDEV),
 * then a recursive clone of it is made read-only and mounted over it. A
 * missing path is -ENOENT unless protect_skip_missing.
 *
 * The mounts the workspace builds itself carry no MNT_LOCK_* flags: root
 * inside could remount them read-write. Read-only-ness and masks hold
 * because the workload runs without CAP_SYS_ADMIN and with the mount family
 * denied by seccomp (DESIGN §15.4), as in bubblewrap. The read-only rootfs
 * lower is additionally a read-only overlay layer.
 *
 * Overlay is mounted by root of the workspace's namespace, so it runs with
 * "userxattr" (user.overlay.* xattrs; trusted.* needs the initial
 * namespace): redirect_dir and metacopy stay off, and renaming a directory
 * that exists in the rootfs fails with EXDEV (mv(1) falls back to copying),
 * as in every rootless overlay.
 *
 * Kernel: open_tree/move_mount/fsopen/mount_setattr (5.12), idmapped
 * overlay layers (5.19), tmpfs user.* xattrs for a tmpfs upper with
 * userxattr (6.6; on 6.1 overlay falls back to no xattrs: no opaque
 * directories), idmapped tmpfs as a source (6.3). Floor 6.1 is DESIGN §14.
 *
 * Contract: 0 or -errno, err filled; never prints or exits; every fd is
 * O_CLOEXEC.
 */
#ifndef ENCLAVE_MOUNTS_H
#define ENCLAVE_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "err.h"

/* Deepest project tree the hide walk accepts. */
#define ENC_HIDE_MAX_DEPTH 64

/* enum enc_overlay_mode (config.h): ENC_OVERLAY_TMP (upper on a tmpfs,
 * discarded with the namespace), ENC_OVERLAY_PERSISTENT (upper/work in
 * persist_dir, kept), ENC_OVERLAY_READONLY (no upper: / is read-only). */

/* What the privileged side needs: host paths (absolute) and host ids. */
struct enc_mount_sources {
	uid_t ns_uid_base;	/* host uid of uid 0 inside; 65536 ids mapped */
	gid_t ns_gid_base;
	uid_t user_uid;		/* the workspace user inside (1000 by default) */
	gid_t user_gid;

	const char *rootfs;	/* the sandbox generation's rootfs directory */
	/* Sandbox setup only: rootfs is a generation being built, mounted
	 * writable as the root itself (no overlay; overlay must be tmp and
	 * is ignored). Never set for a workspace. */
	bool rootfs_writable;
	enum enc_overlay_mode overlay;
	/* persistent only: a directory holding (or to hold) upper/ and work/.
	 * They are created if missing. An empty one owned by anyone else (e.g.
	 * made root 0700 by the state code) is given to ns_uid_base:ns_gid_base
	 * with the rootfs root's mode, because the upper's root becomes "/"
	 * inside; a non-empty one owned by anyone else is -EPERM. */
	const char *persist_dir;

	/* Optional (NULL: none). Created 0700 if missing; an empty one not
	 * owned by home_owner is given to it; a non-empty one is left alone. */
	const char *home_src;
	uid_t home_owner_uid;	/* host owner of what the user creates there */
	gid_t home_owner_gid;

	/* Optional (NULL: none). Never created or chowned. */
	const char *project_src;
	uid_t project_owner_uid; /* the invoking user */
	gid_t project_owner_gid;
};

/* What the workspace side needs besides the fds. */
struct enc_mount_spec {
	struct enc_mount_sources src;

	const char *home_dst;		/* absolute path inside, e.g. /home/dev */
	const char *project_dst;	/* absolute path inside; NULL: project_src */
	/* NULL-terminated. hide NULL means the defaults (".env", ".env.*");
	 * an empty list hides nothing. */
	const char *const *hide;
	/* NULL-terminated directory names the walk does not descend; NULL
	 * means the defaults (".git", "node_modules"), empty walks all. */
	const char *const *hide_prune;
	const char *const *protect;
	bool protect_skip_missing;

	uint64_t upper_size;	/* tmp mode's upper tmpfs, bytes; 0: kernel default */
	uint64_t tmp_size;	/* each of /tmp, /run, /dev (shm), bytes; 0: kernel default */
};

/* Detached mount trees handed from the privileged side to the workspace.
 * -1 when absent. persist_upper/persist_work are O_PATH fds of upper/ and
 * work/ inside the persist clone: overlay reaches them through their
 * /proc/self/fd links, so the workspace never needs search permission on
 * the (0700, host-owned) directories above them. */
struct enc_mount_fds {
	int rootfs;
	int persist;
	int persist_upper;
	int persist_work;
	int home;
	int project;
};

#define ENC_MOUNT_FDS_INIT                                                    \
	{ .rootfs = -1, .persist = -1, .persist_upper = -1, .persist_work = -1,  \
	  .home = -1, .project = -1 }

void enc_mount_fds_close(struct enc_mount_fds *fds);

/* Steps, timed for diagnostics and the benchmark. */
enum enc_mount_step {
	ENC_MSTEP_IDMAP_ROOTFS,	/* parent: rootfs clone + idmap */
	ENC_MSTEP_PERSIST,	/* parent: upper/work check + clone */
	ENC_MSTEP_IDMAP_HOME,	/* parent: home (carrier namespace included) */
	ENC_MSTEP_IDMAP_PROJECT,/* parent: project (carrier included) */
	ENC_MSTEP_STAGE,	/* child: propagation, staging tmpfs, masks */
	ENC_MSTEP_OVERLAY,	/* child: lower attached, overlay mounted */
	ENC_MSTEP_PROC,
	ENC_MSTEP_DEV,
	ENC_MSTEP_SYS,
	ENC_MSTEP_TMPFS,	/* /tmp and /run */
	ENC_MSTEP_HOME,
	ENC_MSTEP_PROJECT,	/* attach */
	ENC_MSTEP_HIDE,		/* walk + masks */
	ENC_MSTEP_PROTECT,
	ENC_MSTEP_PIVOT,	/* pivot_root + detach of the old root */
	ENC_MSTEP__COUNT
};

struct enc_mount_report {
	uint64_t ns[ENC_MSTEP__COUNT];	/* wall time of each step */
	unsigned hidden;		/* entries masked by hide globs */
	unsigned protected_paths;	/* protect binds made */
	bool sys_from_host;		/* /sys is the host's, bound read-only */
};

const char *enc_mount_step_name(enum enc_mount_step step);

/* Check a spec without touching the system: absolute, normalised paths
 * (no "." or ".." components, no "//", no trailing '/'), home_dst and
 * project_dst not "/" and not under /proc, /dev or /sys, distinct, home_dst
 * not under project_dst; persist_dir set exactly in persistent mode; protect
 * paths relative without ".." and not empty; globs non-empty and relative;
 * prune entries plain names. Both sides
 * call it; the helper will re-check on its side. */
int enc_mount_spec_check(const struct enc_mount_spec *spec, struct enc_err *err);

/*
 * PRIVILEGED (initial user namespace, CAP_SYS_ADMIN + CAP_SETUID/SETGID +
 * CAP_CHOWN). Clone and idmap the host trees for the workspace whose user
 * namespace is userns_fd; see the identity notes above. On success every
 * field of *out that the sources ask for is a detached mount fd; on failure
 * nothing is left open. report (optional) gets the parent-side step times
 * added (zero it first).
 * Only src fields are read, so this is exactly what enclave-helper will
 * run, with paths it resolved itself as the caller.
 */
int enc_mounts_prepare_idmapped(const struct enc_mount_sources *src, int userns_fd,
				struct enc_mount_fds *out, struct enc_mount_report *report,
				struct enc_err *err);

/*
 * Workspace side. Preconditions: the caller is uid/gid 0 in the workspace's
 * user namespace (see enc_userns_enter()), in a mount namespace that
 * namespace owns, in the PID namespace the new /proc should show (a child
 * forked after unshare(CLONE_NEWPID)), and normally in a network namespace
 * the user namespace owns (for /sys). Builds the tree described above,
 * pivots into it and detaches the old root; cwd is "/" on return. The fds
 * are consumed (closed, set to -1) either way. On failure the mount
 * namespace is half built: the caller must exit, which discards it.
 * The process umask is 0 during the call and restored afterwards.
 * report (optional) gets the workspace-side step times added, plus the
 * hide/protect counts and sys_from_host.
 */
int enc_mounts_build_root(const struct enc_mount_spec *spec, struct enc_mount_fds *fds,
			  struct enc_mount_report *report, struct enc_err *err);

/* Namespace primitives. */

struct enc_idrange {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

/*
 * PRIVILEGED. Create a user namespace with exactly these uid and gid
 * mappings (up to 340 ranges each) and return an O_CLOEXEC fd to it. The
 * namespace has no process left in it: it is for setns() and for
 * MOUNT_ATTR_IDMAP. Costs one short-lived clone(CLONE_NEWUSER|CLONE_VM)
 * child. Writing arbitrary maps needs CAP_SETUID/CAP_SETGID in the initial
 * namespace, hence privileged.
 */
int enc_userns_new(const struct enc_idrange *uids, size_t nuids,
		   const struct enc_idrange *gids, size_t ngids, struct enc_err *err);

/* Join userns_fd and become uid/gid 0 there with no supplementary groups
 * (the ids the workspace's setup runs as). The calling process must be
 * single-threaded and privileged over the namespace (its creator's side). */
int enc_userns_enter(int userns_fd, struct enc_err *err);

#endif
