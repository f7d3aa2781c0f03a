/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * caps.h - capability reduction (capset(2), prctl(2)) and no_new_privs for the
 * workload, `enter` and `enter --root` (DESIGN.md §5, §15.4).
 *
 * Contract:
 *  - Capabilities are relative to the caller's user namespace: the same calls
 *    work for real root and for root inside a workspace's user namespace.
 *  - Every call that changes capabilities ends by reading the five sets
 *    back from the kernel (capget(2), PR_CAPBSET_READ,
 *    PR_CAP_AMBIENT_IS_SET), not from /proc, which may not be mounted yet or
 *    may belong to another PID namespace.
 *    If they are not exactly as documented the call fails: it never leaves
 *    a process running with more than it asked for and reports success.
 *  - On failure the process may be half-way (e.g. bounding set trimmed but
 *    uid unchanged): the caller must exit, never carry on (§4).
 *  - Plain system calls on the calling thread only (what execve(2)
 *    carries over): call in a single-threaded process, e.g. the workspace
 *    child after fork() of a single-threaded monitor.
 *  - Order before exec: enc_caps_become_user() (workload, `enter`) or
 *    enc_caps_reduce_root() (`enter --root`), then enc_seccomp_load(), then
 *    execve(2). The seccomp filter denies nothing these calls use, so the
 *    opposite order works too.
 *
 * Default sets:
 *  - workspace user: none. Effective, permitted, inheritable, ambient and
 *    bounding sets all empty, so nothing it execs can gain any (and
 *    no_new_privs makes setuid bits and file capabilities inert anyway).
 *  - workspace root: ENC_CAPS_ROOT_MASK in effective, permitted and bounding;
 *    inheritable and ambient empty. Root regains exactly the bounding set at
 *    every exec, so the bounding set is the real limit. Why each one is kept
 *    is in enclave-spawn(1), SECURITY.
 *
 * libcap-ng is not used here: its setup (procfs reads, per-thread state)
 * cost about 0.2 ms per start for what is a handful of system calls; the
 * unit test reads the sets back through libcap-ng, independently.
 */
#ifndef ENCLAVE_CAPS_H
#define ENCLAVE_CAPS_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/capability.h>
#include "err.h"

#define ENC_CAP_BIT(c) (UINT64_C(1) << (c))

/* The default set for uid 0 inside a workspace (podman's default set). */
#define ENC_CAPS_ROOT_MASK                                                     \
	(ENC_CAP_BIT(CAP_CHOWN) | ENC_CAP_BIT(CAP_DAC_OVERRIDE) |              \
	 ENC_CAP_BIT(CAP_FOWNER) | ENC_CAP_BIT(CAP_FSETID) |                   \
	 ENC_CAP_BIT(CAP_KILL) | ENC_CAP_BIT(CAP_SETGID) |                     \
	 ENC_CAP_BIT(CAP_SETUID) | ENC_CAP_BIT(CAP_SETPCAP) |                  \
	 ENC_CAP_BIT(CAP_NET_BIND_SERVICE) | ENC_CAP_BIT(CAP_SYS_CHROOT) |     \
	 ENC_CAP_BIT(CAP_SETFCAP))

/* The five sets as 64-bit masks (bit n = capability n). */
struct enc_caps_sets {
	uint64_t eff, prm, inh, bnd, amb;
};

/* Read the calling thread's sets from the kernel. */
int enc_caps_get(struct enc_caps_sets *out, struct enc_err *err);

/* Mask of every capability this kernel knows (bits 0..cap_last_cap). */
int enc_caps_all(uint64_t *out, struct enc_err *err);

/* Make effective = permitted = bounding = mask and inheritable = ambient =
 * empty. mask must be a subset of the permitted set (-EPERM otherwise) and
 * of enc_caps_all() (-EINVAL otherwise). Trimming the bounding set needs
 * CAP_SETPCAP in the effective set; without it and with a bounding set
 * larger than mask this fails with -EPERM and changes nothing. */
int enc_caps_keep(uint64_t mask, struct enc_err *err);

/* enc_caps_keep() with a bounding set of its own: effective and
 * permitted exactly caps, bounding exactly bnd. */
int enc_caps_keep_bounded(uint64_t caps, uint64_t bnd, struct enc_err *err);

/* enc_caps_keep(ENC_CAPS_ROOT_MASK): for uid 0 in the workspace's user
 * namespace (setup and `enter --root`). */
int enc_caps_reduce_root(struct enc_err *err);

/* enc_caps_keep(0): every set empty. Needs CAP_SETPCAP unless the bounding
 * set is already empty; to end up as a non-root user use
 * enc_caps_become_user(), which orders the steps for you. */
int enc_caps_drop_all(struct enc_err *err);

/* Become uid/gid with no supplementary groups and no capabilities at all:
 * empty the bounding set (while CAP_SETPCAP is still held), keep only
 * CAP_SETUID and CAP_SETGID, setgroups(0), setresgid, setresuid, then empty
 * every set and check ids, groups and sets. Needs CAP_SETPCAP, CAP_SETUID
 * and CAP_SETGID, and /proc/PID/setgroups "allow" in a user namespace:
 * supplementary groups carried in from the host still grant access to
 * host-group-owned files, so failing to drop them is an error. */
int enc_caps_become_user(uid_t uid, gid_t gid, struct enc_err *err);

/* Set no_new_privs and check it stuck. enc_seccomp_load() sets it too;
 * this is for paths that want it without a filter. */
int enc_caps_no_new_privs(struct enc_err *err);

#endif
