/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * doctor.c - `enclave doctor`, the pure half: the report, its JSON and
 * table forms, and the classifiers (enc_doctor_check_*) that turn what the
 * system said into a status, a detail and a fix. No system calls here
 * beyond writing to the caller's FILE*; doctor-probe.c asks the system.
 * See doctor.h for the contract.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "doctor.h"
#include "parse.h"
#include "util.h"
#include "workspace.h"

#define APPARMOR_FIX \
	"install the AppArmor profiles shipped in contrib/apparmor/ into /etc/apparmor.d/ " \
	"and load them (apparmor_parser -r /etc/apparmor.d/enclave*), or allow user " \
	"namespaces for every program: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"

/* ------------------------------------------------------------------ */
/* report plumbing */

const char *enc_doctor_status_str(enum enc_doctor_status s)
{
	switch (s) {
	case ENC_DOCTOR_OK: return "ok";
	case ENC_DOCTOR_MISSING: return "missing";
	case ENC_DOCTOR_WARN: return "warn";
	case ENC_DOCTOR_SKIP: return "skip";
	}
	return "?";
}

struct enc_doctor_check *enc_doctor_add(struct enc_doctor_report *rep, const char *id,
					const char *title)
{
	if (rep->n >= ENC_DOCTOR_MAX_CHECKS)
		return NULL;
	struct enc_doctor_check *c = &rep->checks[rep->n++];
	*c = (struct enc_doctor_check){ .id = id, .title = title, .status = ENC_DOCTOR_OK };
	return c;
}

bool enc_doctor_ok(const struct enc_doctor_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->checks[i].needed && rep->checks[i].status == ENC_DOCTOR_MISSING)
			return false;
	return true;
}

const struct enc_doctor_check *enc_doctor_find(const struct enc_doctor_report *rep,
					       const char *id)
{
	for (size_t i = 0; i < rep->n; i++)
		if (strcmp(rep->checks[i].id, id) == 0)
			return &rep->checks[i];
	return NULL;
}

void enc_doctor_to_json(const struct enc_doctor_report *rep, struct enc_json *j)
{
	enc_json_obj_begin(j);
	enc_json_kv_bool(j, "ok", enc_doctor_ok(rep));
	enc_json_key(j, "checks");
	enc_json_arr_begin(j);
	for (size_t i = 0; i < rep->n; i++) {
		const struct enc_doctor_check *c = &rep->checks[i];

		enc_json_obj_begin(j);
		enc_json_kv_str(j, "id", c->id);
		enc_json_kv_str(j, "title", c->title);
		enc_json_kv_str(j, "status", enc_doctor_status_str(c->status));
		enc_json_kv_bool(j, "needed", c->needed);
		enc_json_kv_str(j, "detail", c->detail);
		enc_json_kv_str(j, "fix", c->fix[0] ? c->fix : NULL);
		enc_json_obj_end(j);
	}
	enc_json_arr_end(j);
	enc_json_obj_end(j);
}

int enc_doctor_write_table(const struct enc_doctor_report *rep, FILE *f)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct enc_doctor_check *c = &rep->checks[i];

		fprintf(f, "%-7s %-17s %s\n", enc_doctor_status_str(c->status), c->id, c->detail);
		if ((c->status == ENC_DOCTOR_MISSING || c->status == ENC_DOCTOR_WARN) && c->fix[0])
			fprintf(f, "        fix: %s\n", c->fix);
	}
	if (fflush(f) == EOF || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

void enc_doctor_set(struct enc_doctor_check *c, enum enc_doctor_status s, bool needed,
		    const char *fmt, ...)
{
	va_list ap;

	c->status = s;
	c->needed = needed;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

void enc_doctor_fix(struct enc_doctor_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

/* A sysctl value as a number; -1 when absent or not a plain number. */
static long long sysctl_num(const char *v)
{
	uint64_t n;

	if (!v || enc_parse_u64(v, 0, INT64_MAX, &n, NULL) < 0)
		return -1;
	return (long long)n;
}

/* ------------------------------------------------------------------ */
/* pure classifiers */

int enc_doctor_kernel_parse(const char *release, unsigned *major, unsigned *minor)
{
	unsigned long a, b;
	char *end;

	if (!release || release[0] < '0' || release[0] > '9')
		return -EINVAL;
	errno = 0;
	a = strtoul(release, &end, 10);
	if (errno || *end != '.' || end[1] < '0' || end[1] > '9' || a > UINT_MAX)
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (errno || b > UINT_MAX)
		return -EINVAL;
	*major = (unsigned)a;
	*minor = (unsigned)b;
	return 0;
}

void enc_doctor_check_kernel(struct enc_doctor_check *c, const char *release)
{
	unsigned a, b;

	enc_doctor_fix(c, "install and boot Linux %d.%d or later (e.g. the kernel of Debian 12 or Ubuntu 24.04)",
	    ENC_DOCTOR_KERNEL_MAJOR, ENC_DOCTOR_KERNEL_MINOR);
	if (enc_doctor_kernel_parse(release, &a, &b) < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "cannot tell the kernel version from '%s'",
			release ? release : "");
		return;
	}
	/* Why 6.1 (DESIGN §14): idmapped mounts on the common file systems,
	 * overlayfs over idmapped layers (5.19), pidfd, openat2, clone3. */
	if (a > ENC_DOCTOR_KERNEL_MAJOR ||
	    (a == ENC_DOCTOR_KERNEL_MAJOR && b >= ENC_DOCTOR_KERNEL_MINOR)) {
		enc_doctor_set(c, ENC_DOCTOR_OK, true, "%s (>= %d.%d)", release, ENC_DOCTOR_KERNEL_MAJOR,
			ENC_DOCTOR_KERNEL_MINOR);
		c->fix[0] = '\0';
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
		"%s is older than %d.%d (idmapped mounts on common file systems, overlayfs over idmapped layers)",
		release, ENC_DOCTOR_KERNEL_MAJOR, ENC_DOCTOR_KERNEL_MINOR);
}

void enc_doctor_check_userns(struct enc_doctor_check *c, const char *max_userns,
			     int probe_code, const char *probe_msg)
{
	long long max = sysctl_num(max_userns);

	if (!max_userns) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
			"no user.max_user_namespaces sysctl: the kernel has no user namespaces");
		enc_doctor_fix(c, "a kernel built with CONFIG_USER_NS=y");
		return;
	}
	if (max < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "user.max_user_namespaces is '%s', not a number",
			max_userns);
		enc_doctor_fix(c, "sysctl -w user.max_user_namespaces=15000");
		return;
	}
	if (max == 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "disabled: user.max_user_namespaces = 0");
		enc_doctor_fix(c, "sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)");
		return;
	}
	if (probe_code < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "cannot use a new user namespace: %s",
			probe_msg && *probe_msg ? probe_msg : strerror(-probe_code));
		if (probe_code == -ENOSPC)
			enc_doctor_fix(c, "raise user.max_user_namespaces (now %lld) or end processes holding namespaces",
			    max);
		else
			enc_doctor_fix(c, "see the apparmor-userns and userns-clone checks; a container runtime's "
			       "seccomp policy can also forbid user namespaces");
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, true,
		"a new user namespace with an id map and a mount namespace works (max %lld)", max);
}

void enc_doctor_check_apparmor(struct enc_doctor_check *c, const char *restrict_value,
			       const char *label, bool root)
{
	long long v = sysctl_num(restrict_value);

	if (!restrict_value) {
		enc_doctor_set(c, ENC_DOCTOR_SKIP, false,
			"no kernel.apparmor_restrict_unprivileged_userns: nothing restricts user namespaces");
		return;
	}
	if (v == 0) {
		enc_doctor_set(c, ENC_DOCTOR_OK, false,
			"not restricted (kernel.apparmor_restrict_unprivileged_userns = 0)");
		return;
	}
	if (v != 1) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false,
			"unexpected kernel.apparmor_restrict_unprivileged_userns value '%s'",
			restrict_value);
		enc_doctor_fix(c, "%s", APPARMOR_FIX);
		return;
	}
	/* Ubuntu 23.10+: an unconfined program's new user namespace gets no
	 * capabilities, so an ordinary user's workspace cannot be built.
	 * Root is not affected (it has CAP_SYS_ADMIN in the initial
	 * namespace). A program running under a profile that allows "userns"
	 * is not restricted either. */
	if (root) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false,
			"restricted for ordinary users (kernel.apparmor_restrict_unprivileged_userns = 1); root is not affected");
		enc_doctor_fix(c, "for ordinary users: %s", APPARMOR_FIX);
		return;
	}
	if (label && *label && strncmp(label, "unconfined", 10) != 0) {
		enc_doctor_set(c, ENC_DOCTOR_OK, true,
			"restricted (kernel.apparmor_restrict_unprivileged_userns = 1), but enclave runs under the AppArmor profile '%s'",
			label);
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
		"unprivileged user namespaces are restricted (kernel.apparmor_restrict_unprivileged_userns = 1) and enclave runs unconfined");
	enc_doctor_fix(c, "%s", APPARMOR_FIX);
}

void enc_doctor_check_userns_clone(struct enc_doctor_check *c, const char *value, bool root)
{
	long long v = sysctl_num(value);

	if (!value) {
		enc_doctor_set(c, ENC_DOCTOR_SKIP, false,
			"no kernel.unprivileged_userns_clone (only older Debian kernels have it)");
		return;
	}
	if (v == 1) {
		enc_doctor_set(c, ENC_DOCTOR_OK, !root, "kernel.unprivileged_userns_clone = 1");
		return;
	}
	enc_doctor_fix(c, "sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)");
	if (root)
		enc_doctor_set(c, ENC_DOCTOR_WARN, false,
			"kernel.unprivileged_userns_clone = %s: ordinary users cannot create user namespaces (root is not affected)",
			value);
	else
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
			"kernel.unprivileged_userns_clone = %s: ordinary users cannot create user namespaces",
			value);
}

void enc_doctor_check_syscalls(struct enc_doctor_check *c,
			       const struct enc_doctor_syscall *sc, size_t n)
{
	char miss[ENC_DOCTOR_TEXT_MAX] = "", names[ENC_DOCTOR_TEXT_MAX] = "";
	size_t ml = 0, nl = 0;

	for (size_t i = 0; i < n; i++) {
		bool bad = sc[i].err == ENOSYS || (sc[i].must_work && sc[i].err != 0);

		if (bad && ml < sizeof(miss))
			ml += (size_t)snprintf(miss + ml, sizeof(miss) - ml, "%s%s (%s)",
					       ml ? ", " : "", sc[i].name,
					       sc[i].err == ENOSYS ? "not implemented"
								   : strerror(sc[i].err));
		if (nl < sizeof(names))
			nl += (size_t)snprintf(names + nl, sizeof(names) - nl, "%s%s", nl ? " " : "",
					       sc[i].name);
	}
	if (ml) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "unavailable: %s", miss);
		enc_doctor_fix(c, "Linux %d.%d or later, outside any seccomp policy (e.g. a container runtime's) that blocks these calls",
		    ENC_DOCTOR_KERNEL_MAJOR, ENC_DOCTOR_KERNEL_MINOR);
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, true, "%s", names);
}

void enc_doctor_check_forward(struct enc_doctor_check *c, int family, const char *value)
{
	bool v6 = family == AF_INET6;
	const char *name = v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward";
	long long v = sysctl_num(value);

	if (!value) {
		if (v6)
			enc_doctor_set(c, ENC_DOCTOR_SKIP, false, "IPv6 is disabled on this host");
		else
			enc_doctor_set(c, ENC_DOCTOR_WARN, false, "cannot read %s", name);
		return;
	}
	if (v >= 1) {
		enc_doctor_set(c, ENC_DOCTOR_OK, false, "%s = %s", name, value);
		return;
	}
	/* enclave-net routes a workspace's veth through the host for deny
	 * (allowlisted) and nat egress: without forwarding those packets are
	 * dropped. none and host modes do not need it. */
	enc_doctor_set(c, ENC_DOCTOR_WARN, false,
		"%s = %s: workspaces with network deny (allowlist) or nat get no %s egress",
		name, value, v6 ? "IPv6" : "IPv4");
	enc_doctor_fix(c, "sysctl -w %s=1 (and persist it in /etc/sysctl.d/)", name);
}

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
	}
	return false;
}

void enc_doctor_check_seccomp(struct enc_doctor_check *c, int mode, const char *actions,
			      size_t ninsns, int filter_code, const char *filter_msg)
{
	static const char *const want[] = { "kill_process", "errno" };

	if (mode == -EINVAL) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "the kernel has no seccomp (prctl(PR_GET_SECCOMP) fails)");
		enc_doctor_fix(c, "a kernel built with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y");
		return;
	}
	if (!actions) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
			"cannot read kernel.seccomp.actions_avail: no seccomp filter support");
		enc_doctor_fix(c, "a kernel built with CONFIG_SECCOMP_FILTER=y");
		return;
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(want); i++) {
		if (!word_in(actions, want[i])) {
			enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
				"the kernel's seccomp lacks the %s action (actions_avail: %s)", want[i],
				actions);
			enc_doctor_fix(c, "Linux %d.%d or later", ENC_DOCTOR_KERNEL_MAJOR, ENC_DOCTOR_KERNEL_MINOR);
			return;
		}
	}
	if (filter_code < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "enclave's filter does not load: %s",
			filter_msg && *filter_msg ? filter_msg : strerror(-filter_code));
		enc_doctor_fix(c, "check the libseccomp version (>= 2.5) and the kernel's seccomp support");
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, true, "kill_process and errno actions; enclave's filter (%zu instructions) loads%s",
		ninsns, mode == 2 ? "; this process already runs under a filter (filters stack)" : "");
}

void enc_doctor_check_landlock(struct enc_doctor_check *c, int abi)
{
	/* Not needed: enclave's isolation rests on namespaces, mounts and
	 * seccomp; Landlock would be an extra layer where it exists. */
	if (abi > 0) {
		enc_doctor_set(c, ENC_DOCTOR_OK, false, "ABI version %d", abi);
		return;
	}
	if (abi == -EOPNOTSUPP) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, false, "built in but not enabled at boot");
		enc_doctor_fix(c, "add landlock to the lsm= kernel parameter");
		return;
	}
	if (abi == -ENOSYS) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, false, "not built into this kernel");
		enc_doctor_fix(c, "a kernel built with CONFIG_SECURITY_LANDLOCK=y");
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_MISSING, false, "unavailable: %s", strerror(abi < 0 ? -abi : EINVAL));
}

void enc_doctor_check_helper(struct enc_doctor_check *c, const char *path,
			     const struct stat *st, int err, const struct stat *dir,
			     bool root)
{
	static const char install_fix[] =
		"build with -Dsetuid_install=true and run 'meson install' as root, or as root: "
		"chown root:root %s && chmod 4755 %s";

	if (!st) {
		if (err == -ENOENT)
			enc_doctor_set(c, root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING, !root,
				"%s is missing (ordinary users cannot run workspaces)", path);
		else
			enc_doctor_set(c, root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING, !root,
				"cannot look at %s: %s (ordinary users cannot run workspaces)", path,
				strerror(err < 0 ? -err : EIO));
		enc_doctor_fix(c, install_fix, path, path);
		return;
	}
	/* Anyone who can replace or rewrite a setuid-root binary (or its
	 * directory) owns the machine: that is a finding for every caller. */
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) || st->st_uid != 0 ||
	    (dir && ((dir->st_mode & (S_IWGRP | S_IWOTH)) || dir->st_uid != 0))) {
		const char *what = (st->st_mode & (S_IWGRP | S_IWOTH)) ? "is writable by group or others"
				   : st->st_uid != 0 ? "is not owned by root"
				   : "lies in a directory that is not root's or is writable by others";
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s %s: refusing to trust it", path, what);
		enc_doctor_fix(c, "as root: chown root:root %s && chmod 4755 %s, and make its directory root's, mode 0755",
		    path, path);
		return;
	}
	if (!S_ISREG(st->st_mode)) {
		enc_doctor_set(c, root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING, !root,
			"%s is not a regular file", path);
		enc_doctor_fix(c, install_fix, path, path);
		return;
	}
	if (!(st->st_mode & S_ISUID)) {
		enc_doctor_set(c, root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING, !root,
			"%s is installed but not setuid root (mode %04o): ordinary users cannot run workspaces",
			path, (unsigned)(st->st_mode & 07777));
		enc_doctor_fix(c, install_fix, path, path);
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, !root, "%s: setuid root, mode %04o", path,
		(unsigned)(st->st_mode & 07777));
}

void enc_doctor_subid_parse(const char *content, const char *user, uid_t uid,
			    struct enc_subid *out)
{
	*out = (struct enc_subid){ 0 };
	for (const char *line = content; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[512];

		if (len > 0 && line[0] != '#' && len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			char *f1 = buf, *f2 = strchr(f1, ':'), *f3 = f2 ? strchr(f2 + 1, ':') : NULL;
			uint64_t start, count, owner;

			if (f2 && f3) {
				*f2++ = '\0';
				*f3++ = '\0';
			}
			if (!f2 || !f3 || !*f1 || strchr(f3, ':') ||
			    enc_parse_u64(f2, 0, UINT32_MAX, &start, NULL) < 0 ||
			    enc_parse_u64(f3, 1, UINT32_MAX, &count, NULL) < 0 ||
			    start + count - 1 > UINT32_MAX) {
				out->bad++;
			} else if ((user && strcmp(f1, user) == 0) ||
				   (enc_parse_u64(f1, 0, UINT32_MAX, &owner, NULL) == 0 &&
				    owner == (uint64_t)uid)) {
				out->ranges++;
				out->total += count;
				out->blocks += count / ENC_DOCTOR_IDS_PER_WS;
			}
		} else if (len >= sizeof(buf)) {
			out->bad++;
		}
		line = eol ? eol + 1 : line + len;
	}
}

void enc_doctor_check_subid(struct enc_doctor_check *c, bool root, const char *user,
			    const struct enc_subid *uids, int uid_err,
			    const struct enc_subid *gids, int gid_err)
{
	if (root) {
		enc_doctor_set(c, ENC_DOCTOR_OK, false,
			"root uses enclave's own id pool (%u + %u ids per workspace, %u workspaces)",
			ENC_IDPOOL_BASE, ENC_IDPOOL_SIZE, ENC_IDPOOL_SLOTS);
		return;
	}
	const char *u = user ? user : "you";
	enc_doctor_fix(c, "as root: usermod --add-subuids 1000000-2310719 --add-subgids 1000000-2310719 %s "
	       "(20 workspaces of 65536 ids; any free range works)", u);
	if (uid_err < 0 || gid_err < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "cannot read %s: %s",
			uid_err < 0 ? "/etc/subuid" : "/etc/subgid",
			strerror(-(uid_err < 0 ? uid_err : gid_err)));
		return;
	}
	uint64_t total = uids->total < gids->total ? uids->total : gids->total;
	uint64_t blocks = uids->blocks < gids->blocks ? uids->blocks : gids->blocks;
	if (total < ENC_DOCTOR_IDS_PER_WS || blocks == 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
			"%s has %" PRIu64 " subordinate uids and %" PRIu64 " gids; a workspace needs a range of %u",
			u, uids->total, gids->total, ENC_DOCTOR_IDS_PER_WS);
		return;
	}
	if (blocks == 1) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, true,
			"%s has one range of %u subordinate ids: one workspace at a time (each running workspace needs its own range, and a sandbox of %s's own is stored on the first)",
			u, ENC_DOCTOR_IDS_PER_WS, u);
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, true,
		"%s has %" PRIu64 " subordinate uids/gids: %" PRIu64 " workspaces get disjoint ranges",
		u, total, blocks);
	c->fix[0] = '\0';	/* nothing to fix */
}

void enc_doctor_check_bootstrap(struct enc_doctor_check *c, const char *debootstrap,
				const char *mmdebstrap, bool root)
{
	enc_doctor_fix(c, "apt-get install mmdebstrap debootstrap (without them only cached, directory and tarball root file systems work)");
	if (!debootstrap && !mmdebstrap) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false, "neither debootstrap nor mmdebstrap is installed");
		return;
	}
	if (!root && !mmdebstrap) {
		/* debootstrap needs real root; mmdebstrap's unshare mode works
		 * in a user namespace. */
		enc_doctor_set(c, ENC_DOCTOR_WARN, false,
			"only debootstrap (%s), which needs root; ordinary users bootstrap with mmdebstrap",
			debootstrap);
		enc_doctor_fix(c, "apt-get install mmdebstrap");
		return;
	}
	c->fix[0] = '\0';
	if (debootstrap && mmdebstrap)
		enc_doctor_set(c, ENC_DOCTOR_OK, false, "debootstrap (%s), mmdebstrap (%s)", debootstrap,
			mmdebstrap);
	else if (mmdebstrap)
		enc_doctor_set(c, ENC_DOCTOR_OK, false, "mmdebstrap (%s)", mmdebstrap);
	else
		enc_doctor_set(c, ENC_DOCTOR_OK, false, "debootstrap (%s)", debootstrap);
}

void enc_doctor_check_space(struct enc_doctor_check *c, const char *path, const char *fs_name,
			    uint64_t avail, int err)
{
	char have[32], want[32];

	if (err < 0) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false, "cannot tell the free space at %s: %s", path,
			strerror(-err));
		return;
	}
	enc_format_size_human(avail, have, sizeof(have));
	enc_format_size_human(ENC_DOCTOR_MIN_FREE, want, sizeof(want));
	if (avail < ENC_DOCTOR_MIN_FREE) {
		/* A bootstrapped Debian with toolchains is several hundred
		 * MiB, each generation and upper adds to it. */
		enc_doctor_set(c, ENC_DOCTOR_WARN, false, "%s free on %s at %s (less than %s)", have,
			fs_name, path, want);
		enc_doctor_fix(c, "free space there, or point ENCLAVE_STATE_DIR at a larger file system");
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, false, "%s free on %s at %s", have, fs_name, path);
}

bool enc_doctor_dir_problem(const struct stat *st, uid_t euid, char *buf, size_t len)
{
	if (S_ISLNK(st->st_mode))
		snprintf(buf, len, "is a symbolic link");
	else if (!S_ISDIR(st->st_mode))
		snprintf(buf, len, "is not a directory");
	else if (st->st_uid != euid)
		snprintf(buf, len, "is owned by uid %u, not %u", (unsigned)st->st_uid, (unsigned)euid);
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(buf, len, "is writable by %s (mode %04o)",
			 (st->st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777));
	else
		return false;
	return true;
}

/* One root; returns false (and fills c) when it is a problem. */
static bool state_root(struct enc_doctor_check *c, const struct enc_doctor_dir *d, uid_t euid,
		       char *ok, size_t oklen)
{
	char why[128];

	if (d->err == -ENOENT) {
		if (!d->ancestor_writable) {
			enc_doctor_set(c, ENC_DOCTOR_MISSING, true,
				"the %s directory %s does not exist and cannot be created in %s",
				d->what, d->path, d->ancestor ? d->ancestor : "its parent");
			enc_doctor_fix(c, "create it (mode 0700, owned by uid %u) or set ENCLAVE_%s_DIR to a directory of yours",
			    (unsigned)euid, strcmp(d->what, "data") == 0 ? "STATE" : "RUNTIME");
			return false;
		}
		snprintf(ok, oklen, "%s %s (created on first use)", d->what, d->path);
		return true;
	}
	if (d->err < 0) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "cannot look at the %s directory %s: %s",
			d->what, d->path, strerror(-d->err));
		enc_doctor_fix(c, "make the path reachable, or set ENCLAVE_%s_DIR elsewhere",
		    strcmp(d->what, "data") == 0 ? "STATE" : "RUNTIME");
		return false;
	}
	if (enc_doctor_dir_problem(&d->st, euid, why, sizeof(why))) {
		/* Refused by enc_state_open() for the same reason: nothing is
		 * "fixed" silently, the user decides. */
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "the %s directory %s %s", d->what, d->path, why);
		enc_doctor_fix(c, "make %s a real directory owned by uid %u with mode 0700 (chown %u %s && chmod 0700 %s), or move it aside",
		    d->path, (unsigned)euid, (unsigned)euid, d->path, d->path);
		return false;
	}
	snprintf(ok, oklen, "%s %s", d->what, d->path);
	return true;
}

void enc_doctor_check_state(struct enc_doctor_check *c, const char *paths_msg,
			    const struct enc_doctor_dir *data, const struct enc_doctor_dir *run,
			    uid_t euid)
{
	char a[ENC_DOCTOR_TEXT_MAX / 2], b[ENC_DOCTOR_TEXT_MAX / 2];

	if (paths_msg) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s", paths_msg);
		enc_doctor_fix(c, "set ENCLAVE_STATE_DIR (and ENCLAVE_RUNTIME_DIR) to absolute paths, or HOME");
		return;
	}
	if (!state_root(c, data, euid, a, sizeof(a)) || !state_root(c, run, euid, b, sizeof(b)))
		return;
	enc_doctor_set(c, ENC_DOCTOR_OK, true, "%s; %s", a, b);
}

static void ctrl_list(const struct enc_cgroup_sys *sys, int version, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < ENC_CG_NCTRL && n < len; k++) {
		int h = sys->ctrl_hier[k];

		if (h >= 0 && sys->hier[h].version == version && (sys->hier[h].ctrls & (1u << k)))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      enc_cgroup_ctrl_str((enum enc_cgroup_ctrl)k));
	}
}

static void where(const struct enc_cgroup_sys *sys, int k, char *buf, size_t len)
{
	int h = sys->ctrl_hier[k];

	snprintf(buf, len, "%s at %s", sys->hier[h].version == 2 ? "cgroup2" : "v1",
		 sys->hier[h].mount);
}

void enc_doctor_check_cgroups(struct enc_doctor_report *rep, const struct enc_cgroup_sys *sys,
			      int probe_code, const char *probe_msg, unsigned ro_hiers, bool root)
{
	struct enc_doctor_check *c = enc_doctor_add(rep, "cgroup", "cgroup hierarchy");
	struct enc_doctor_check *mem = enc_doctor_add(rep, "cgroup-memory", "cgroup memory limit");
	struct enc_doctor_check *swap = enc_doctor_add(rep, "cgroup-swap", "cgroup swap limit");
	struct enc_doctor_check *pids = enc_doctor_add(rep, "cgroup-pids", "cgroup pids limit");
	struct enc_doctor_check *cpu = enc_doctor_add(rep, "cgroup-cpu", "cgroup CPU quota");
	char v1[128], w[300];

	if (!c || !mem || !swap || !pids || !cpu)
		return;
	if (probe_code < 0 || sys->mode == ENC_CGROUP_MODE_NONE) {
		enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s",
			probe_msg && *probe_msg ? probe_msg : "no usable cgroup hierarchy");
		enc_doctor_fix(c, "mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)");
		struct enc_doctor_check *rest[] = { mem, swap, pids, cpu };
		for (size_t i = 0; i < ENC_ARRAY_SIZE(rest); i++)
			enc_doctor_set(rest[i], ENC_DOCTOR_MISSING, rest[i] == mem || rest[i] == pids,
				"no cgroup hierarchy");
		return;
	}

	ctrl_list(sys, 1, v1, sizeof(v1));
	if (sys->v2 >= 0 && v1[0])
		snprintf(w, sizeof(w), "cgroup2 at %s; v1 %s", sys->hier[sys->v2].mount, v1);
	else if (sys->v2 >= 0)
		snprintf(w, sizeof(w), "cgroup2 at %s", sys->hier[sys->v2].mount);
	else
		snprintf(w, sizeof(w), "v1 %s", v1);
	enc_doctor_set(c, ENC_DOCTOR_OK, true, "%s (%s)", enc_cgroup_mode_str(sys->mode), w);
	if (root) {
		for (int i = 0; i < sys->nhier && i < 32; i++) {
			if (!(ro_hiers & (1u << i)))
				continue;
			enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s: %s is read-only",
				enc_cgroup_mode_str(sys->mode), sys->hier[i].mount);
			enc_doctor_fix(c, "mount the cgroup file systems read-write (in a container: give it a writable cgroup namespace)");
			break;
		}
	}

	/* Memory and pids limits are what keep one workspace from taking the
	 * machine (DESIGN §8: oom, pids_exceeded): needed. A missing CPU
	 * quota or swap limit weakens a limit but leaves it safe. */
	if (sys->ctrl_hier[ENC_CG_MEMORY] >= 0 && (sys->features & ENC_CGROUP_F_MEMORY)) {
		where(sys, ENC_CG_MEMORY, w, sizeof(w));
		enc_doctor_set(mem, ENC_DOCTOR_OK, true, "memory controller (%s)", w);
	} else {
		enc_doctor_set(mem, ENC_DOCTOR_MISSING, true, "no memory controller: memory limits cannot be enforced");
		enc_doctor_fix(mem, "boot without cgroup_disable=memory (some kernels also need cgroup_enable=memory)");
	}
	if (sys->features & ENC_CGROUP_F_MEMORY_SWAP) {
		int h = sys->ctrl_hier[ENC_CG_MEMORY];
		enc_doctor_set(swap, ENC_DOCTOR_OK, false, "%s",
			h >= 0 && sys->hier[h].version == 1 ? "v1 memory.memsw.limit_in_bytes"
							    : "cgroup2 memory.swap.max");
	} else {
		enc_doctor_set(swap, ENC_DOCTOR_WARN, false,
			"swap cannot be limited: a workload may swap beyond its memory limit");
		enc_doctor_fix(swap, "boot with swapaccount=1 (a kernel with CONFIG_MEMCG_SWAP)");
	}
	if (sys->ctrl_hier[ENC_CG_PIDS] >= 0 && (sys->features & ENC_CGROUP_F_PIDS)) {
		where(sys, ENC_CG_PIDS, w, sizeof(w));
		enc_doctor_set(pids, ENC_DOCTOR_OK, true, "pids controller (%s)", w);
	} else {
		enc_doctor_set(pids, ENC_DOCTOR_MISSING, true,
			"no pids controller: a fork bomb cannot be stopped");
		enc_doctor_fix(pids, "a kernel with CONFIG_CGROUP_PIDS=y and the pids controller mounted or enabled");
	}
	if (sys->ctrl_hier[ENC_CG_CPU] >= 0 && (sys->features & ENC_CGROUP_F_CPU)) {
		where(sys, ENC_CG_CPU, w, sizeof(w));
		enc_doctor_set(cpu, ENC_DOCTOR_OK, false, "cpu controller with quotas (%s)", w);
	} else {
		enc_doctor_set(cpu, ENC_DOCTOR_WARN, false, "CPU quotas cannot be enforced (cpus = ... is refused)");
		enc_doctor_fix(cpu, "a kernel with CONFIG_CFS_BANDWIDTH=y and the cpu controller mounted or enabled");
	}
}

void enc_doctor_check_delegation(struct enc_doctor_check *c, bool root,
				 enum enc_cgroup_mode mode, const char *path, int err,
				 uid_t owner, uid_t euid, const char *controllers)
{
	if (root) {
		enc_doctor_set(c, ENC_DOCTOR_SKIP, false, "not needed: root writes the cgroup hierarchies directly");
		return;
	}
	if (mode != ENC_CGROUP_MODE_UNIFIED) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false,
			"this host's cgroups are %s: only a pure cgroup v2 host can delegate a subtree, so enclave-helper places workspaces",
			enc_cgroup_mode_str(mode));
		enc_doctor_fix(c, "boot with systemd.unified_cgroup_hierarchy=1 for delegation (or rely on enclave-helper)");
		return;
	}
	if (err < 0 || owner != euid) {
		if (err < 0)
			enc_doctor_set(c, ENC_DOCTOR_WARN, false,
				"no delegated subtree at %s (%s): enclave-helper delegates one",
				path ? path : "user@UID.service", strerror(-err));
		else
			enc_doctor_set(c, ENC_DOCTOR_WARN, false,
				"%s is owned by uid %u, not you: enclave-helper delegates one", path,
				(unsigned)owner);
		enc_doctor_fix(c, "log in through systemd-logind so that user@%u.service runs (loginctl enable-linger), or rely on enclave-helper",
		    (unsigned)euid);
		return;
	}
	char lacking[64] = "";
	size_t n = 0;
	static const char *const want[] = { "memory", "pids", "cpu" };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(want); i++)
		if (!controllers || !word_in(controllers, want[i]))
			n += (size_t)snprintf(lacking + n, sizeof(lacking) - n, "%s%s", n ? " " : "",
					      want[i]);
	if (n) {
		enc_doctor_set(c, ENC_DOCTOR_WARN, false, "%s is delegated without the %s controller(s)",
			path, lacking);
		enc_doctor_fix(c, "systemctl edit user@.service and add: [Service] Delegate=cpu memory pids");
		return;
	}
	enc_doctor_set(c, ENC_DOCTOR_OK, false, "%s (controllers: %s)", path, controllers);
}

/* ---- refusing to start ------------------------------------------------- */

/* Every workspace depends on these; refused when needed and missing. */
static const char *const baseline_ids[] = {
	"kernel", "userns", "apparmor-userns", "userns-clone", "syscalls", "idmap",
	"overlay", "cgroup", "seccomp", "helper", "subid", "state-dir",
};

static const struct {
	unsigned need;
	const char *id;
} need_ids[] = {
	{ ENC_NEED_MEMORY, "cgroup-memory" },
	{ ENC_NEED_SWAP, "cgroup-swap" },
	{ ENC_NEED_PIDS, "cgroup-pids" },
	{ ENC_NEED_CPU, "cgroup-cpu" },
	{ ENC_NEED_NFTABLES, "nftables" },
};

unsigned enc_doctor_needs_of(const struct enc_workspace_conf *ws)
{
	unsigned n = 0;

	if (ws->memory)
		n |= ENC_NEED_MEMORY;
	if (ws->swap != UINT64_MAX)
		n |= ENC_NEED_SWAP;
	if (ws->pids)
		n |= ENC_NEED_PIDS;
	if (ws->cpus)
		n |= ENC_NEED_CPU;
	if (ws->network == ENC_NET_DENY || ws->network == ENC_NET_NAT)
		n |= ENC_NEED_NFTABLES;
	return n;
}

static void needed_ids(unsigned needs, bool baseline, const char *ids[ENC_DOCTOR_MAX_CHECKS + 1])
{
	size_t k = 0;

	for (size_t i = 0; baseline && i < ENC_ARRAY_SIZE(baseline_ids); i++)
		ids[k++] = baseline_ids[i];
	for (size_t i = 0; i < ENC_ARRAY_SIZE(need_ids); i++)
		if (needs & need_ids[i].need)
			ids[k++] = need_ids[i].id;
	ids[k] = NULL;
}

void enc_doctor_needed_ids(unsigned needs, const char *ids[ENC_DOCTOR_MAX_CHECKS + 1])
{
	needed_ids(needs, true, ids);
}

void enc_doctor_asked_ids(unsigned needs, const char *ids[ENC_DOCTOR_MAX_CHECKS + 1])
{
	needed_ids(needs, false, ids);
}

static int refuse(const struct enc_doctor_check *c, struct enc_err *err)
{
	if (c->fix[0])
		return enc_err_set(err, -EOPNOTSUPP,
				   "this host cannot give what the workspace needs: %s: %s (fix: %s)",
				   c->id, c->detail, c->fix);
	return enc_err_set(err, -EOPNOTSUPP, "this host cannot give what the workspace needs: %s: %s",
			   c->id, c->detail);
}

int enc_doctor_refusal(const struct enc_doctor_report *rep, unsigned needs, struct enc_err *err)
{
	/* Report order, so the first refusal is the most basic one. */
	for (size_t i = 0; i < rep->n; i++) {
		const struct enc_doctor_check *c = &rep->checks[i];
		bool asked = false, base = false;

		for (size_t k = 0; k < ENC_ARRAY_SIZE(baseline_ids); k++)
			if (strcmp(c->id, baseline_ids[k]) == 0)
				base = true;
		for (size_t k = 0; k < ENC_ARRAY_SIZE(need_ids); k++)
			if ((needs & need_ids[k].need) && strcmp(c->id, need_ids[k].id) == 0)
				asked = true;
		if (base && c->needed && c->status == ENC_DOCTOR_MISSING)
			return refuse(c, err);
		/* Asked for explicitly: a warning means it would not be
		 * enforced, which is exactly what must not happen silently. */
		if (asked && c->status != ENC_DOCTOR_OK && c->status != ENC_DOCTOR_SKIP)
			return refuse(c, err);
	}
	return 0;
}
