/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * caps.c - capability reduction. See caps.h for the contract.
 *
 * Straight system calls: capset(2) for the effective, permitted and
 * inheritable sets, PR_CAPBSET_DROP for the bounding set and
 * PR_CAP_AMBIENT_CLEAR_ALL for the ambient set, each checked afterwards
 * from the kernel. libcap-ng did the capset part until it became clear
 * that it brought nothing the three calls do not: its capng_apply() can
 * report success for a bounding-set drop it skipped (no CAP_SETPCAP), it
 * reads the bounding set through /proc/<tid> (another process in a fresh
 * PID namespace with the host's /proc), and loading it cost every program
 * that links the runtime a shared library at exec and in each fork.
 */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "caps.h"

/* The kernel's highest capability number: the bounding set answers EINVAL
 * for a number past the last one (no /proc needed), and every number up to
 * it is valid, so a binary search finds it in six calls. It cannot change
 * while the system runs, so it is probed once per process. */
static int last_cap(struct enc_err *err)
{
	static int cached = -1;
	int lo = 0, hi = 63;	/* lo: known valid; hi: highest still possible */

	if (cached >= 0)
		return cached;
	if (prctl(PR_CAPBSET_READ, 0L, 0L, 0L, 0L) < 0) {
		if (errno != EINVAL)
			return enc_err_sys(err, -errno, "cannot read the capability bounding set");
		return enc_err_set(err, -EINVAL, "the kernel reports no capabilities");
	}
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;

		if (prctl(PR_CAPBSET_READ, (unsigned long)mid, 0L, 0L, 0L) >= 0)
			lo = mid;
		else if (errno == EINVAL)
			hi = mid - 1;
		else
			return enc_err_sys(err, -errno, "cannot read the capability bounding set");
	}
	cached = lo;
	return cached;
}

int enc_caps_all(uint64_t *out, struct enc_err *err)
{
	int last = last_cap(err);

	if (last < 0)
		return last;
	*out = last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
	return 0;
}

/* Read the sets; the bounding set only when bnd_empty is false. It is
 * skipped where this thread found it empty earlier and has since entered
 * no new user namespace (the one event that refills it): a bounding set
 * otherwise only shrinks, by PR_CAPBSET_DROP of the thread itself. */
static int caps_read(struct enc_caps_sets *out, bool bnd_empty, struct enc_err *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int last;

	memset(out, 0, sizeof(*out));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return enc_err_sys(err, -errno, "cannot read capabilities");
	out->eff = data[0].effective | (uint64_t)data[1].effective << 32;
	out->prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	out->inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;

	last = last_cap(err);
	if (last < 0)
		return last;
	for (int c = 0; c <= last; c++) {
		int r;

		if (!bnd_empty) {
			r = prctl(PR_CAPBSET_READ, (unsigned long)c, 0L, 0L, 0L);
			if (r < 0)
				return enc_err_sys(err, -errno,
						   "cannot read the capability bounding set");
			if (r)
				out->bnd |= ENC_CAP_BIT(c);
		}
		/* The kernel keeps the ambient set inside permitted and
		 * inheritable (it drops ambient capabilities as soon as either
		 * loses them; capabilities(7)), so only those can be set. */
		if (!(out->prm & out->inh & ENC_CAP_BIT(c)))
			continue;
		r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET,
			  (unsigned long)c, 0L, 0L);
		if (r < 0)
			return enc_err_sys(err, -errno,
					   "cannot read the ambient capability set");
		if (r)
			out->amb |= ENC_CAP_BIT(c);
	}
	return 0;
}

int enc_caps_get(struct enc_caps_sets *out, struct enc_err *err)
{
	return caps_read(out, false, err);
}

/* For messages: the names capabilities(7) uses, without "CAP_", in lower
 * case (as libcap and libcap-ng print them). */
static const char *const cap_names[] = {
	[CAP_CHOWN] = "chown",
	[CAP_DAC_OVERRIDE] = "dac_override",
	[CAP_DAC_READ_SEARCH] = "dac_read_search",
	[CAP_FOWNER] = "fowner",
	[CAP_FSETID] = "fsetid",
	[CAP_KILL] = "kill",
	[CAP_SETGID] = "setgid",
	[CAP_SETUID] = "setuid",
	[CAP_SETPCAP] = "setpcap",
	[CAP_LINUX_IMMUTABLE] = "linux_immutable",
	[CAP_NET_BIND_SERVICE] = "net_bind_service",
	[CAP_NET_BROADCAST] = "net_broadcast",
	[CAP_NET_ADMIN] = "net_admin",
	[CAP_NET_RAW] = "net_raw",
	[CAP_IPC_LOCK] = "ipc_lock",
	[CAP_IPC_OWNER] = "ipc_owner",
	[CAP_SYS_MODULE] = "sys_module",
	[CAP_SYS_RAWIO] = "sys_rawio",
	[CAP_SYS_CHROOT] = "sys_chroot",
	[CAP_SYS_PTRACE] = "sys_ptrace",
	[CAP_SYS_PACCT] = "sys_pacct",
	[CAP_SYS_ADMIN] = "sys_admin",
	[CAP_SYS_BOOT] = "sys_boot",
	[CAP_SYS_NICE] = "sys_nice",
	[CAP_SYS_RESOURCE] = "sys_resource",
	[CAP_SYS_TIME] = "sys_time",
	[CAP_SYS_TTY_CONFIG] = "sys_tty_config",
	[CAP_MKNOD] = "mknod",
	[CAP_LEASE] = "lease",
	[CAP_AUDIT_WRITE] = "audit_write",
	[CAP_AUDIT_CONTROL] = "audit_control",
	[CAP_SETFCAP] = "setfcap",
	[CAP_MAC_OVERRIDE] = "mac_override",
	[CAP_MAC_ADMIN] = "mac_admin",
	[CAP_SYSLOG] = "syslog",
	[CAP_WAKE_ALARM] = "wake_alarm",
	[CAP_BLOCK_SUSPEND] = "block_suspend",
	[CAP_AUDIT_READ] = "audit_read",
	[CAP_PERFMON] = "perfmon",
	[CAP_BPF] = "bpf",
	[CAP_CHECKPOINT_RESTORE] = "checkpoint_restore",
};

static const char *cap_name(int c)
{
	if (c >= 0 && (size_t)c < ENC_ARRAY_SIZE(cap_names) && cap_names[c])
		return cap_names[c];
	return "unknown";
}

static int lowest_bit(uint64_t m)
{
	return __builtin_ctzll(m);
}

/* bnd_empty: an earlier check found the bounding set empty (caps_read). */
static int check_sets(uint64_t caps, uint64_t bnd, bool bnd_empty, struct enc_err *err)
{
	struct enc_caps_sets s;
	int r = caps_read(&s, bnd_empty, err);

	if (r < 0)
		return r;
	if (s.eff != caps || s.prm != caps || s.bnd != bnd || s.inh != 0 ||
	    s.amb != 0)
		return enc_err_set(err, -EPERM,
				   "capabilities not as requested: eff=%016llx prm=%016llx inh=%016llx bnd=%016llx amb=%016llx, wanted eff=prm=%016llx bnd=%016llx inh=amb=0",
				   (unsigned long long)s.eff, (unsigned long long)s.prm,
				   (unsigned long long)s.inh, (unsigned long long)s.bnd,
				   (unsigned long long)s.amb, (unsigned long long)caps,
				   (unsigned long long)bnd);
	return 0;
}

/*
 * Effective = permitted = caps, bounding = bnd, inheritable = ambient = 0.
 * The bounding set goes first, while CAP_SETPCAP may still be effective;
 * caps and bnd may differ (become_user keeps CAP_SETUID with an empty
 * bounding set, since the bounding set limits only what exec grants).
 * bnd_empty: the bounding set was already checked empty (then bnd is 0).
 */
static int apply_sets(uint64_t caps, uint64_t bnd, bool bnd_empty, struct enc_err *err)
{
	struct enc_caps_sets cur;
	uint64_t all;
	int r;

	r = enc_caps_all(&all, err);
	if (r < 0)
		return r;
	if ((caps | bnd) & ~all)
		return enc_err_set(err, -EINVAL,
				   "capability %d is unknown to this kernel",
				   lowest_bit((caps | bnd) & ~all));
	r = caps_read(&cur, bnd_empty, err);
	if (r < 0)
		return r;
	if (caps & ~cur.prm)
		return enc_err_set(err, -EPERM,
				   "cannot keep %s: not in the permitted set",
				   cap_name(lowest_bit(caps & ~cur.prm)));
	if (bnd & ~cur.bnd)
		return enc_err_set(err, -EPERM,
				   "cannot keep %s in the bounding set: already dropped",
				   cap_name(lowest_bit(bnd & ~cur.bnd)));
	bool trim = (cur.bnd & ~bnd) != 0;
	if (trim && !(cur.eff & ENC_CAP_BIT(CAP_SETPCAP)))
		return enc_err_set(err, -EPERM,
				   "cannot drop %s from the bounding set without CAP_SETPCAP (trim it before changing to a non-root uid)",
				   cap_name(lowest_bit(cur.bnd & ~bnd)));

	/* Ambient capabilities survive exec for non-root programs; nothing
	 * in a workspace is meant to inherit any. No privilege needed. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0)
		return enc_err_sys(err, -errno, "cannot clear the ambient capability set");

	/* Only the capabilities still in the bounding set are dropped: each
	 * drop is a credential commit. Done before the capset below, while
	 * CAP_SETPCAP is still effective. */
	for (int c = 0; trim && c < 64; c++) {
		if (!(cur.bnd & ~bnd & ENC_CAP_BIT(c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0L, 0L, 0L) < 0)
			return enc_err_sys(err, -errno, "cannot drop %s from the bounding set",
					   cap_name(c));
	}

	/* pid 0 is the calling thread: what execve(2) carries over. Lowering
	 * permitted and inheritable needs no privilege; caps is a subset of
	 * the permitted set (checked above). */
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return enc_err_sys(err, -errno, "cannot set capabilities");
	return check_sets(caps, bnd, bnd_empty, err);
}

int enc_caps_keep(uint64_t mask, struct enc_err *err)
{
	return apply_sets(mask, mask, false, err);
}

int enc_caps_keep_bounded(uint64_t caps, uint64_t bnd, struct enc_err *err)
{
	return apply_sets(caps, bnd, false, err);
}

int enc_caps_reduce_root(struct enc_err *err)
{
	return enc_caps_keep(ENC_CAPS_ROOT_MASK, err);
}

int enc_caps_drop_all(struct enc_err *err)
{
	return enc_caps_keep(0, err);
}

int enc_caps_become_user(uid_t uid, gid_t gid, struct enc_err *err)
{
	const uint64_t setid = ENC_CAP_BIT(CAP_SETUID) | ENC_CAP_BIT(CAP_SETGID);
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r;

	/* Empty the bounding set now: after the uid change CAP_SETPCAP is
	 * gone and it could not be trimmed any more. */
	r = apply_sets(setid, 0, false, err);
	if (r < 0)
		return r;
	/* Without KEEPCAPS the kernel also clears permitted and effective
	 * when every uid becomes non-zero; the sets are emptied explicitly
	 * below anyway, for uid 0 and for securebits set by someone else. */
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return enc_err_sys(err, -errno, "cannot clear keep-capabilities");
	if (setgroups(0, NULL) < 0)
		return enc_err_sys(err, -errno,
				   "cannot drop supplementary groups");
	if (setresgid(gid, gid, gid) < 0)
		return enc_err_sys(err, -errno, "cannot change to gid %u",
				   (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return enc_err_sys(err, -errno, "cannot change to uid %u",
				   (unsigned)uid);
	r = apply_sets(0, 0, true, err);	/* emptied and checked above */
	if (r < 0)
		return r;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return enc_err_sys(err, -errno, "cannot read back uids and gids");
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return enc_err_set(err, -EPERM,
				   "ids not as requested: uid %u/%u/%u gid %u/%u/%u, wanted %u:%u",
				   (unsigned)ru, (unsigned)eu, (unsigned)su,
				   (unsigned)rg, (unsigned)eg, (unsigned)sg,
				   (unsigned)uid, (unsigned)gid);
	r = getgroups(0, NULL);
	if (r != 0)
		return enc_err_set(err, r < 0 ? -errno : -EPERM,
				   "supplementary groups remain after setgroups(0)");
	return 0;
}

int enc_caps_no_new_privs(struct enc_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return enc_err_sys(err, -errno, "cannot set no_new_privs");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		return enc_err_set(err, -EPERM, "no_new_privs did not stick");
	return 0;
}
