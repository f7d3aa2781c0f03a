/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * caps.c - capability reduction. See caps.h for the contract.
 *
 * libcap-ng sets the capability sets; the bounding set is trimmed here with
 * PR_CAPBSET_DROP, and the checking is done here, straight from the
 * kernel, because capng_apply() can report success for a bounding-set drop
 * it skipped (no CAP_SETPCAP) when capabilities are applied in the same
 * call, and because it reads the bounding set through /proc/<tid>, which in
 * a fresh PID namespace with the host's /proc names another process (and
 * costs two procfs reads per call).
 */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <cap-ng.h>

#include "caps.h"

/* The kernel's highest capability number: probe the bounding set, which
 * answers EINVAL past the last one (no /proc needed). It cannot change
 * while the system runs, so it is probed once. */
static int last_cap(struct enc_err *err)
{
	static int cached = -1;
	int c;

	if (cached >= 0)
		return cached;
	for (c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0L, 0L, 0L) < 0) {
			if (errno != EINVAL)
				return enc_err_sys(err, -errno,
						   "cannot read the capability bounding set");
			break;
		}
	if (c == 0)
		return enc_err_set(err, -EINVAL, "the kernel reports no capabilities");
	cached = c - 1;
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

int enc_caps_get(struct enc_caps_sets *out, struct enc_err *err)
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
		int r = prctl(PR_CAPBSET_READ, (unsigned long)c, 0L, 0L, 0L);

		if (r < 0)
			return enc_err_sys(err, -errno,
					   "cannot read the capability bounding set");
		if (r)
			out->bnd |= ENC_CAP_BIT(c);
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

static const char *cap_name(int c)
{
	const char *n = capng_capability_to_name((unsigned)c);

	return n ? n : "unknown";
}

static int lowest_bit(uint64_t m)
{
	return __builtin_ctzll(m);
}

/* Load mask into libcap-ng's state for the sets in `type`. */
static int capng_set_mask(capng_type_t type, uint64_t mask)
{
	for (int c = 0; c < 64; c++)
		if ((mask & ENC_CAP_BIT(c)) &&
		    capng_update(CAPNG_ADD, type, (unsigned)c) < 0)
			return -1;
	return 0;
}

static int check_sets(uint64_t caps, uint64_t bnd, struct enc_err *err)
{
	struct enc_caps_sets s;
	int r = enc_caps_get(&s, err);

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
 */
static int apply_sets(uint64_t caps, uint64_t bnd, struct enc_err *err)
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
	r = enc_caps_get(&cur, err);
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

	capng_clear(CAPNG_SELECT_BOTH);
	/* pid 0 is "this thread" to capget/capset: libcap-ng otherwise keeps
	 * the tid it saw first, which after a raw clone(2) is the parent's. */
	capng_setpid(0);
	if (capng_set_mask(CAPNG_EFFECTIVE | CAPNG_PERMITTED, caps) < 0 ||
	    capng_set_mask(CAPNG_BOUNDING_SET, bnd) < 0)
		return enc_err_set(err, -EINVAL, "libcap-ng rejected the capability set");
	/* The bounding set is trimmed here, not by capng_apply(), and only
	 * by the capabilities still in it: libcap-ng rereads
	 * /proc/<tid>/status twice per apply and drops every capability,
	 * present or not, and each drop is a credential commit. That was
	 * ~150 us of every workspace start; check_sets() still verifies
	 * the result from the kernel. Done before the capset below, while
	 * CAP_SETPCAP is still effective. */
	for (int c = 0; trim && c < 64; c++) {
		if (!(cur.bnd & ~bnd & ENC_CAP_BIT(c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0L, 0L, 0L) < 0)
			return enc_err_sys(err, -errno, "cannot drop %s from the bounding set",
					   cap_name(c));
	}
	errno = 0;
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return enc_err_sys(err, errno ? -errno : -EPERM,
				   "cannot set capabilities");
	return check_sets(caps, bnd, err);
}

int enc_caps_keep(uint64_t mask, struct enc_err *err)
{
	return apply_sets(mask, mask, err);
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
	r = apply_sets(setid, 0, err);
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
	r = apply_sets(0, 0, err);
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
