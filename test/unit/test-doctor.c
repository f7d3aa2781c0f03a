/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-doctor - lib/doctor.c's classifiers fed with fake inputs (no
 * privileges needed), the report's JSON and table forms, and one
 * enc_doctor_run() against a fake /proc tree that must fail the report
 * without creating the state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "config.h"
#include "doctor.h"

static struct enc_doctor_check chk;

static struct enc_doctor_check *fresh(void)
{
	chk = (struct enc_doctor_check){ .id = "t", .title = "t" };
	return &chk;
}

static void is_status(const struct enc_doctor_check *c, enum enc_doctor_status want,
		      bool needed, const char *name)
{
	ok(c->status == want && c->needed == needed, "%s: %s%s", name,
	   enc_doctor_status_str(want), needed ? " (needed)" : "");
	if (c->status != want || c->needed != needed)
		printf("#   got %s%s: %s\n", enc_doctor_status_str(c->status),
		       c->needed ? " (needed)" : "", c->detail);
}

static void test_kernel(void)
{
	unsigned a = 0, b = 0;

	is_int(enc_doctor_kernel_parse("6.18.44-fc-v669", &a, &b), 0, "parse 6.18.44-fc-v669");
	is_int(a * 1000 + b, 6018, "  -> 6.18");
	is_int(enc_doctor_kernel_parse("5.10.0-23-amd64", &a, &b), 0, "parse 5.10.0-23-amd64");
	is_int(a * 1000 + b, 5010, "  -> 5.10");
	is_int(enc_doctor_kernel_parse("6.1", &a, &b), 0, "parse 6.1");
	is_int(enc_doctor_kernel_parse("6", &a, &b), -EINVAL, "parse 6: no minor");
	is_int(enc_doctor_kernel_parse("6.", &a, &b), -EINVAL, "parse '6.'");
	is_int(enc_doctor_kernel_parse("v6.1", &a, &b), -EINVAL, "parse v6.1");
	is_int(enc_doctor_kernel_parse("", &a, &b), -EINVAL, "parse empty");
	is_int(enc_doctor_kernel_parse(NULL, &a, &b), -EINVAL, "parse NULL");
	is_int(enc_doctor_kernel_parse("99999999999.1", &a, &b), -EINVAL, "parse huge major");

	enc_doctor_check_kernel(fresh(), "6.18.44-fc-v669");
	is_status(&chk, ENC_DOCTOR_OK, true, "kernel 6.18");
	is_str(chk.detail, "6.18.44-fc-v669 (>= 6.1)", "kernel 6.18 detail");
	is_str(chk.fix, "", "kernel ok: no fix");
	enc_doctor_check_kernel(fresh(), "6.1.0-18-amd64");
	is_status(&chk, ENC_DOCTOR_OK, true, "kernel 6.1.0 (the floor)");
	enc_doctor_check_kernel(fresh(), "7.0.1");
	is_status(&chk, ENC_DOCTOR_OK, true, "kernel 7.0");
	enc_doctor_check_kernel(fresh(), "6.0.19");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "kernel 6.0");
	enc_doctor_check_kernel(fresh(), "5.19.0");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "kernel 5.19");
	has_str(chk.detail, "5.19.0 is older than 6.1", "kernel 5.19 detail");
	has_str(chk.fix, "Linux 6.1 or later", "kernel 5.19 fix");
	enc_doctor_check_kernel(fresh(), "banana");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "kernel 'banana'");
	is_str(chk.detail, "cannot tell the kernel version from 'banana'", "kernel 'banana' detail");
	enc_doctor_check_kernel(fresh(), NULL);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "kernel unknown");
}

static void test_userns(void)
{
	enc_doctor_check_userns(fresh(), "96365", 0, "");
	is_status(&chk, ENC_DOCTOR_OK, true, "userns ok");
	has_str(chk.detail, "(max 96365)", "userns ok detail");
	enc_doctor_check_userns(fresh(), NULL, 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns: no sysctl");
	has_str(chk.fix, "CONFIG_USER_NS=y", "userns: no sysctl fix");
	enc_doctor_check_userns(fresh(), "0", 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns: max 0 (probe ok does not matter)");
	is_str(chk.detail, "disabled: user.max_user_namespaces = 0", "userns max 0 detail");
	has_str(chk.fix, "sysctl -w user.max_user_namespaces=15000", "userns max 0 fix");
	enc_doctor_check_userns(fresh(), "lots", 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns: garbage sysctl");
	enc_doctor_check_userns(fresh(), "100", -EPERM,
				"unshare(CLONE_NEWNS) inside a new user namespace fails: Operation not permitted");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns: probe EPERM");
	has_str(chk.detail, "cannot use a new user namespace: unshare(CLONE_NEWNS)", "probe msg kept");
	has_str(chk.fix, "apparmor-userns", "EPERM fix points at AppArmor");
	enc_doctor_check_userns(fresh(), "100", -ENOSPC, NULL);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns: probe ENOSPC");
	has_str(chk.detail, strerror(ENOSPC), "no msg: strerror");
	has_str(chk.fix, "raise user.max_user_namespaces (now 100)", "ENOSPC fix");
}

static void test_apparmor(void)
{
	enc_doctor_check_apparmor(fresh(), NULL, NULL, false);
	is_status(&chk, ENC_DOCTOR_SKIP, false, "apparmor: no sysctl");
	enc_doctor_check_apparmor(fresh(), "0", "unconfined", false);
	is_status(&chk, ENC_DOCTOR_OK, false, "apparmor: 0");
	enc_doctor_check_apparmor(fresh(), "1", NULL, true);
	is_status(&chk, ENC_DOCTOR_WARN, false, "apparmor: 1 as root is a warning");
	has_str(chk.detail, "root is not affected", "apparmor root detail");
	has_str(chk.fix, "contrib/apparmor/", "apparmor fix names the profiles");
	has_str(chk.fix, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		"apparmor fix names the sysctl");
	enc_doctor_check_apparmor(fresh(), "1", "unconfined", false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "apparmor: 1, unconfined user");
	has_str(chk.detail, "enclave runs unconfined", "apparmor unconfined detail");
	has_str(chk.fix, "contrib/apparmor/", "apparmor user fix");
	enc_doctor_check_apparmor(fresh(), "1", NULL, false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "apparmor: 1, label unknown");
	enc_doctor_check_apparmor(fresh(), "1", "enclave (unconfined)", false);
	is_status(&chk, ENC_DOCTOR_OK, true, "apparmor: 1 under enclave's profile");
	has_str(chk.detail, "profile 'enclave (unconfined)'", "profile named");
	enc_doctor_check_apparmor(fresh(), "2", NULL, false);
	is_status(&chk, ENC_DOCTOR_WARN, false, "apparmor: unexpected value");
}

static void test_userns_clone(void)
{
	enc_doctor_check_userns_clone(fresh(), NULL, false);
	is_status(&chk, ENC_DOCTOR_SKIP, false, "userns_clone absent");
	enc_doctor_check_userns_clone(fresh(), "1", false);
	is_status(&chk, ENC_DOCTOR_OK, true, "userns_clone 1 (user)");
	enc_doctor_check_userns_clone(fresh(), "0", true);
	is_status(&chk, ENC_DOCTOR_WARN, false, "userns_clone 0 as root");
	enc_doctor_check_userns_clone(fresh(), "0", false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "userns_clone 0 as a user");
	is_str(chk.fix, "sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)",
	       "userns_clone fix");
}

static void test_syscalls(void)
{
	struct enc_doctor_syscall sc[] = {
		{ "pidfd_open", 0, true },
		{ "clone3", 0, true },
		{ "open_tree", EPERM, false },
	};

	enc_doctor_check_syscalls(fresh(), sc, 3);
	is_status(&chk, ENC_DOCTOR_OK, true, "syscalls: EPERM from the mount API is fine");
	is_str(chk.detail, "pidfd_open clone3 open_tree", "syscalls detail");
	sc[1].err = ENOSYS;
	enc_doctor_check_syscalls(fresh(), sc, 3);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "syscalls: clone3 ENOSYS");
	is_str(chk.detail, "unavailable: clone3 (not implemented)", "clone3 named");
	sc[0].err = EPERM;
	sc[2].err = ENOSYS;
	enc_doctor_check_syscalls(fresh(), sc, 3);
	is_str(chk.detail,
	       "unavailable: pidfd_open (Operation not permitted), clone3 (not implemented), open_tree (not implemented)",
	       "each missing call named");
	has_str(chk.fix, "seccomp policy", "syscalls fix");
}

static void test_forward(void)
{
	enc_doctor_check_forward(fresh(), AF_INET, "1");
	is_status(&chk, ENC_DOCTOR_OK, false, "ip_forward 1");
	is_str(chk.detail, "net.ipv4.ip_forward = 1", "ip_forward detail");
	enc_doctor_check_forward(fresh(), AF_INET, "0");
	is_status(&chk, ENC_DOCTOR_WARN, false, "ip_forward 0");
	is_str(chk.fix, "sysctl -w net.ipv4.ip_forward=1 (and persist it in /etc/sysctl.d/)",
	       "ip_forward fix");
	enc_doctor_check_forward(fresh(), AF_INET6, "0");
	is_status(&chk, ENC_DOCTOR_WARN, false, "ipv6 forwarding 0");
	has_str(chk.fix, "sysctl -w net.ipv6.conf.all.forwarding=1", "ipv6 fix");
	has_str(chk.detail, "no IPv6 egress", "ipv6 detail");
	enc_doctor_check_forward(fresh(), AF_INET6, NULL);
	is_status(&chk, ENC_DOCTOR_SKIP, false, "ipv6 disabled");
	enc_doctor_check_forward(fresh(), AF_INET, NULL);
	is_status(&chk, ENC_DOCTOR_WARN, false, "ip_forward unreadable");
}

static void test_seccomp(void)
{
	const char *all = "kill_process kill_thread trap errno user_notif trace log allow";

	enc_doctor_check_seccomp(fresh(), 0, all, 96, 0, "");
	is_status(&chk, ENC_DOCTOR_OK, true, "seccomp ok");
	is_str(chk.detail, "kill_process and errno actions; enclave's filter (96 instructions) loads",
	       "seccomp detail");
	enc_doctor_check_seccomp(fresh(), 2, all, 96, 0, "");
	has_str(chk.detail, "filters stack", "already filtered noted");
	enc_doctor_check_seccomp(fresh(), -EINVAL, all, 96, 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "no CONFIG_SECCOMP");
	enc_doctor_check_seccomp(fresh(), 0, NULL, 96, 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "no actions_avail");
	enc_doctor_check_seccomp(fresh(), 0, "kill_process_x kill_thread errno", 96, 0, "");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "kill_process must be a whole word");
	has_str(chk.detail, "lacks the kill_process action", "kill_process named");
	enc_doctor_check_seccomp(fresh(), 0, "kill_process trap", 96, 0, "");
	has_str(chk.detail, "lacks the errno action", "errno named");
	enc_doctor_check_seccomp(fresh(), 0, all, 96, -EACCES, "cannot load the filter: Permission denied");
	is_status(&chk, ENC_DOCTOR_MISSING, true, "filter does not load");
	is_str(chk.detail, "enclave's filter does not load: cannot load the filter: Permission denied",
	       "load failure detail");
}

static void test_landlock(void)
{
	enc_doctor_check_landlock(fresh(), 7);
	is_status(&chk, ENC_DOCTOR_OK, false, "landlock 7");
	is_str(chk.detail, "ABI version 7", "landlock detail");
	enc_doctor_check_landlock(fresh(), -EOPNOTSUPP);
	is_status(&chk, ENC_DOCTOR_MISSING, false, "landlock disabled at boot: missing, not needed");
	has_str(chk.fix, "lsm=", "landlock boot fix");
	enc_doctor_check_landlock(fresh(), -ENOSYS);
	is_status(&chk, ENC_DOCTOR_MISSING, false, "landlock not built");
}

static void test_helper(void)
{
	const char *p = "/usr/libexec/enclave/enclave-helper";
	struct stat st = { .st_mode = S_IFREG | 04755, .st_uid = 0 };
	struct stat dir = { .st_mode = S_IFDIR | 0755, .st_uid = 0 };

	enc_doctor_check_helper(fresh(), p, NULL, -ENOENT, NULL, true);
	is_status(&chk, ENC_DOCTOR_WARN, false, "helper missing, root");
	is_str(chk.detail, "/usr/libexec/enclave/enclave-helper is missing (ordinary users cannot run workspaces)",
	       "helper missing detail");
	has_str(chk.fix, "chmod 4755 /usr/libexec/enclave/enclave-helper", "helper fix");
	enc_doctor_check_helper(fresh(), p, NULL, -ENOENT, NULL, false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "helper missing, user");
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, false);
	is_status(&chk, ENC_DOCTOR_OK, true, "helper setuid root");
	is_str(chk.detail, "/usr/libexec/enclave/enclave-helper: setuid root, mode 4755", "helper ok detail");
	st.st_mode = S_IFREG | 0755;
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "helper not setuid, user");
	has_str(chk.detail, "not setuid root (mode 0755)", "not setuid detail");
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, true);
	is_status(&chk, ENC_DOCTOR_WARN, false, "helper not setuid, root");
	st.st_mode = S_IFREG | 04757;
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, true);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "world-writable setuid helper: needed even for root");
	has_str(chk.detail, "writable by group or others", "writable named");
	st.st_mode = S_IFREG | 04755;
	st.st_uid = 1000;
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, true);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "helper not root's");
	has_str(chk.detail, "not owned by root", "owner named");
	st.st_uid = 0;
	dir.st_mode = S_IFDIR | 0777;
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "helper in a writable directory");
	has_str(chk.detail, "directory", "directory named");
	dir.st_mode = S_IFDIR | 0755;
	st.st_mode = S_IFDIR | 04755;
	enc_doctor_check_helper(fresh(), p, &st, 0, &dir, false);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "helper is a directory");
	has_str(chk.detail, "not a regular file", "not regular");
}

static void test_subid(void)
{
	struct enc_subid u, g;
	const char *content =
		"# comment\n"
		"\n"
		"alice:100000:65536\n"
		"bob:165536:65536\n"
		"1000:231072:131072\n"
		"alice:362144:100000\n"
		"bad\n"
		"alice:1:2:3\n"
		"alice:x:5\n"
		"alice:5:0\n"
		"alice:4294967295:2\n"
		":1:1\n"
		"alicex:500000:65536";	/* no newline at the end */

	enc_doctor_subid_parse(content, "alice", 1000, &u);
	is_int(u.ranges, 3, "alice: 3 ranges (by name and by uid)");
	is_u64(u.total, 65536 + 131072 + 100000, "alice: total");
	is_u64(u.blocks, 1 + 2 + 1, "alice: whole 65536 blocks");
	is_int(u.bad, 6, "malformed lines counted");
	enc_doctor_subid_parse(content, "bob", 1001, &u);
	is_int(u.ranges, 1, "bob: 1 range");
	is_u64(u.blocks, 1, "bob: 1 block");
	enc_doctor_subid_parse(content, "carol", 1002, &u);
	is_int(u.ranges, 0, "carol: none");
	enc_doctor_subid_parse("alicex:500000:65536", "alice", 7, &u);
	is_int(u.ranges, 0, "a prefix of the name does not match");
	enc_doctor_subid_parse("", "alice", 7, &u);
	is_u64(u.total, 0, "empty file");

	enc_doctor_check_subid(fresh(), true, NULL, &u, 0, &u, 0);
	is_status(&chk, ENC_DOCTOR_OK, false, "root: own pool");
	has_str(chk.detail, "root uses enclave's own id pool", "root pool detail");

	u = (struct enc_subid){ .total = 0 };
	enc_doctor_check_subid(fresh(), false, "carol", &u, 0, &u, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "no subids");
	is_str(chk.detail, "carol has 0 subordinate uids and 0 gids; a workspace needs a range of 65536",
	       "no subids detail");
	has_str(chk.fix, "usermod --add-subuids", "subid fix");
	has_str(chk.fix, "carol", "subid fix names the user");

	u = (struct enc_subid){ .total = 65536, .ranges = 1, .blocks = 1 };
	g = (struct enc_subid){ .total = 65536 * 4, .ranges = 1, .blocks = 4 };
	enc_doctor_check_subid(fresh(), false, "bob", &u, 0, &g, 0);
	is_status(&chk, ENC_DOCTOR_WARN, true, "one block: shared");
	has_str(chk.detail, "one workspace at a time", "one range: one workspace at a time");

	u.total = 65536 * 3;
	u.blocks = 3;
	enc_doctor_check_subid(fresh(), false, "bob", &u, 0, &g, 0);
	is_status(&chk, ENC_DOCTOR_OK, true, "3 blocks");
	is_str(chk.fix, "", "enough ids: no fix offered");
	is_str(chk.detail, "bob has 196608 subordinate uids/gids: 3 workspaces get disjoint ranges",
	       "disjoint detail (the smaller of uids and gids)");

	u = (struct enc_subid){ .total = 70000, .ranges = 2, .blocks = 0 };
	enc_doctor_check_subid(fresh(), false, "bob", &u, 0, &g, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "70000 ids in two small ranges: no whole block");

	enc_doctor_check_subid(fresh(), false, "bob", &u, -ENOENT, &g, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "no /etc/subuid");
	is_str(chk.detail, "cannot read /etc/subuid: No such file or directory", "unreadable detail");
}

static void test_bootstrap(void)
{
	enc_doctor_check_bootstrap(fresh(), "/usr/sbin/debootstrap", "/usr/bin/mmdebstrap", true);
	is_status(&chk, ENC_DOCTOR_OK, false, "both tools");
	is_str(chk.detail, "debootstrap (/usr/sbin/debootstrap), mmdebstrap (/usr/bin/mmdebstrap)",
	       "both detail");
	is_str(chk.fix, "", "no fix when ok");
	enc_doctor_check_bootstrap(fresh(), NULL, NULL, true);
	is_status(&chk, ENC_DOCTOR_WARN, false, "no tools");
	has_str(chk.fix, "apt-get install mmdebstrap debootstrap", "no tools fix");
	enc_doctor_check_bootstrap(fresh(), "/usr/sbin/debootstrap", NULL, false);
	is_status(&chk, ENC_DOCTOR_WARN, false, "user with only debootstrap");
	is_str(chk.fix, "apt-get install mmdebstrap", "user fix");
	enc_doctor_check_bootstrap(fresh(), NULL, "/usr/bin/mmdebstrap", false);
	is_status(&chk, ENC_DOCTOR_OK, false, "user with mmdebstrap");
	enc_doctor_check_bootstrap(fresh(), "/usr/sbin/debootstrap", NULL, true);
	is_status(&chk, ENC_DOCTOR_OK, false, "root with debootstrap");
}

static void test_space(void)
{
	enc_doctor_check_space(fresh(), "/var/lib", "ext4", UINT64_C(2) << 30, 0);
	is_status(&chk, ENC_DOCTOR_OK, false, "2 GiB");
	is_str(chk.detail, "2.0 GiB free on ext4 at /var/lib", "2 GiB detail");
	enc_doctor_check_space(fresh(), "/var/lib", "ext4", UINT64_C(512) << 20, 0);
	is_status(&chk, ENC_DOCTOR_WARN, false, "512 MiB");
	is_str(chk.detail, "512.0 MiB free on ext4 at /var/lib (less than 1.0 GiB)", "512 MiB detail");
	has_str(chk.fix, "ENCLAVE_STATE_DIR", "space fix");
	enc_doctor_check_space(fresh(), "/x", "?", 0, -EACCES);
	is_status(&chk, ENC_DOCTOR_WARN, false, "statvfs failed");
	enc_doctor_check_space(fresh(), "/x", "tmpfs", 100, 0);
	is_str(chk.detail, "100 B free on tmpfs at /x (less than 1.0 GiB)", "bytes");
}

static void test_state(void)
{
	struct stat st = { .st_mode = S_IFDIR | 0700, .st_uid = 1000 };
	char why[128];

	ok(!enc_doctor_dir_problem(&st, 1000, why, sizeof(why)), "0700 own dir is fine");
	st.st_mode = S_IFDIR | 0770;
	ok(enc_doctor_dir_problem(&st, 1000, why, sizeof(why)), "group-writable refused");
	is_str(why, "is writable by its group (mode 0770)", "group-writable why");
	st.st_mode = S_IFDIR | 0702;
	enc_doctor_dir_problem(&st, 1000, why, sizeof(why));
	is_str(why, "is writable by others (mode 0702)", "other-writable why");
	st.st_mode = S_IFDIR | 0700;
	enc_doctor_dir_problem(&st, 0, why, sizeof(why));
	is_str(why, "is owned by uid 1000, not 0", "owner why");
	st.st_mode = S_IFLNK | 0777;
	enc_doctor_dir_problem(&st, 1000, why, sizeof(why));
	is_str(why, "is a symbolic link", "symlink why");
	st.st_mode = S_IFREG | 0600;
	enc_doctor_dir_problem(&st, 1000, why, sizeof(why));
	is_str(why, "is not a directory", "file why");

	struct enc_doctor_dir d = { .what = "data", .path = "/var/lib/enclave", .err = -ENOENT,
				    .ancestor = "/var/lib", .ancestor_writable = true };
	struct enc_doctor_dir r = { .what = "runtime", .path = "/run/enclave",
				    .st = { .st_mode = S_IFDIR | 0700, .st_uid = 0 } };
	enc_doctor_check_state(fresh(), NULL, &d, &r, 0);
	is_status(&chk, ENC_DOCTOR_OK, true, "state: missing data dir, creatable");
	is_str(chk.detail, "data /var/lib/enclave (created on first use); runtime /run/enclave",
	       "state ok detail");
	d.ancestor_writable = false;
	enc_doctor_check_state(fresh(), NULL, &d, &r, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "state: cannot be created");
	has_str(chk.detail, "cannot be created in /var/lib", "ancestor named");
	has_str(chk.fix, "ENCLAVE_STATE_DIR", "state fix names the variable");
	d.ancestor_writable = true;
	r.st.st_uid = 1000;
	enc_doctor_check_state(fresh(), NULL, &d, &r, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "state: runtime dir not ours");
	is_str(chk.detail, "the runtime directory /run/enclave is owned by uid 1000, not 0",
	       "runtime owner detail");
	r.err = -EACCES;
	enc_doctor_check_state(fresh(), NULL, &d, &r, 0);
	has_str(chk.detail, "cannot look at the runtime directory /run/enclave: Permission denied",
		"EACCES detail");
	has_str(chk.fix, "ENCLAVE_RUNTIME_DIR", "runtime fix");
	enc_doctor_check_state(fresh(), "ENCLAVE_STATE_DIR must be an absolute path, not 'x'", NULL,
			       NULL, 0);
	is_status(&chk, ENC_DOCTOR_MISSING, true, "state: bad paths");
	is_str(chk.detail, "ENCLAVE_STATE_DIR must be an absolute path, not 'x'", "paths message kept");
}

/* A hybrid host like the development VM. */
static void fake_hybrid(struct enc_cgroup_sys *s)
{
	static const struct {
		int version;
		unsigned ctrls;
		const char *mount;
	} h[] = {
		{ 2, 0, "/sys/fs/cgroup/unified" },
		{ 1, 1u << ENC_CG_MEMORY, "/sys/fs/cgroup/memory" },
		{ 1, 1u << ENC_CG_PIDS, "/sys/fs/cgroup/pids" },
		{ 1, 1u << ENC_CG_CPU, "/sys/fs/cgroup/cpu" },
		{ 1, 1u << ENC_CG_CPUACCT, "/sys/fs/cgroup/cpuacct" },
		{ 1, 1u << ENC_CG_FREEZER, "/sys/fs/cgroup/freezer" },
	};

	memset(s, 0, sizeof(*s));
	s->mode = ENC_CGROUP_MODE_HYBRID;
	s->nhier = (int)ENC_ARRAY_SIZE(h);
	s->v2 = 0;
	for (int c = 0; c < ENC_CG_NCTRL; c++)
		s->ctrl_hier[c] = -1;
	for (int i = 0; i < s->nhier; i++) {
		s->hier[i].version = h[i].version;
		s->hier[i].ctrls = h[i].ctrls;
		s->hier[i].mnt_fd = -1;
		s->hier[i].parent_fd = -1;
		snprintf(s->hier[i].mount, sizeof(s->hier[i].mount), "%s", h[i].mount);
		for (int c = 0; c < ENC_CG_NCTRL; c++)
			if (h[i].ctrls & (1u << c))
				s->ctrl_hier[c] = i;
	}
	s->features = ENC_CGROUP_F_MEMORY | ENC_CGROUP_F_MEMORY_SWAP | ENC_CGROUP_F_PIDS |
		      ENC_CGROUP_F_CPU | ENC_CGROUP_F_CPU_STAT | ENC_CGROUP_F_FREEZER;
}

static void test_cgroups(void)
{
	struct enc_cgroup_sys s;
	struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	const struct enc_doctor_check *c;

	fake_hybrid(&s);
	enc_doctor_check_cgroups(rep, &s, 0, "", 0, true);
	is_int(rep->n, 5, "five cgroup checks");
	c = enc_doctor_find(rep, "cgroup");
	ok(c && c->status == ENC_DOCTOR_OK && c->needed, "hybrid: cgroup ok");
	is_str(c ? c->detail : NULL,
	       "hybrid (cgroup2 at /sys/fs/cgroup/unified; v1 memory, pids, cpu, cpuacct, freezer)",
	       "hybrid detail");
	c = enc_doctor_find(rep, "cgroup-memory");
	is_str(c ? c->detail : NULL, "memory controller (v1 at /sys/fs/cgroup/memory)", "memory detail");
	c = enc_doctor_find(rep, "cgroup-swap");
	is_str(c ? c->detail : NULL, "v1 memory.memsw.limit_in_bytes", "swap detail");
	c = enc_doctor_find(rep, "cgroup-cpu");
	ok(c && c->status == ENC_DOCTOR_OK && !c->needed, "cpu ok, not needed");
	ok(enc_doctor_ok(rep), "hybrid report ok");

	/* A read-only hierarchy fails root, not an ordinary user. */
	memset(rep, 0, sizeof(*rep));
	enc_doctor_check_cgroups(rep, &s, 0, "", 1u << 2, true);
	c = enc_doctor_find(rep, "cgroup");
	ok(c && c->status == ENC_DOCTOR_MISSING, "root: read-only pids hierarchy");
	is_str(c ? c->detail : NULL, "hybrid: /sys/fs/cgroup/pids is read-only", "read-only detail");
	memset(rep, 0, sizeof(*rep));
	enc_doctor_check_cgroups(rep, &s, 0, "", 1u << 2, false);
	c = enc_doctor_find(rep, "cgroup");
	ok(c && c->status == ENC_DOCTOR_OK, "user: read-only ignored");

	/* No pids, no swap, no quota. */
	s.ctrl_hier[ENC_CG_PIDS] = -1;
	s.hier[2].ctrls = 0;
	s.features &= ~(ENC_CGROUP_F_PIDS | ENC_CGROUP_F_MEMORY_SWAP | ENC_CGROUP_F_CPU);
	memset(rep, 0, sizeof(*rep));
	enc_doctor_check_cgroups(rep, &s, 0, "", 0, true);
	c = enc_doctor_find(rep, "cgroup-pids");
	ok(c && c->status == ENC_DOCTOR_MISSING && c->needed, "no pids: missing, needed");
	c = enc_doctor_find(rep, "cgroup-swap");
	ok(c && c->status == ENC_DOCTOR_WARN && !c->needed, "no swap limit: warn");
	has_str(c ? c->fix : NULL, "swapaccount=1", "swap fix");
	c = enc_doctor_find(rep, "cgroup-cpu");
	ok(c && c->status == ENC_DOCTOR_WARN, "no quota: warn");
	ok(!enc_doctor_ok(rep), "no pids fails the report");

	/* Pure v2. */
	memset(&s, 0, sizeof(s));
	s.mode = ENC_CGROUP_MODE_UNIFIED;
	s.nhier = 1;
	s.v2 = 0;
	s.hier[0].version = 2;
	s.hier[0].ctrls = (1u << ENC_CG_MEMORY) | (1u << ENC_CG_PIDS) | (1u << ENC_CG_CPU) |
			  (1u << ENC_CG_CPUACCT);
	snprintf(s.hier[0].mount, sizeof(s.hier[0].mount), "/sys/fs/cgroup");
	for (int k = 0; k < ENC_CG_NCTRL; k++)
		s.ctrl_hier[k] = k == ENC_CG_FREEZER ? -1 : 0;
	s.features = ENC_CGROUP_F_MEMORY | ENC_CGROUP_F_MEMORY_SWAP | ENC_CGROUP_F_PIDS |
		     ENC_CGROUP_F_CPU;
	memset(rep, 0, sizeof(*rep));
	enc_doctor_check_cgroups(rep, &s, 0, "", 0, false);
	c = enc_doctor_find(rep, "cgroup");
	is_str(c ? c->detail : NULL, "unified (cgroup2 at /sys/fs/cgroup)", "unified detail");
	c = enc_doctor_find(rep, "cgroup-swap");
	is_str(c ? c->detail : NULL, "cgroup2 memory.swap.max", "v2 swap detail");

	/* No hierarchy at all. */
	memset(&s, 0, sizeof(s));
	memset(rep, 0, sizeof(*rep));
	enc_doctor_check_cgroups(rep, &s, -ENOENT, "no cgroup hierarchy is mounted", 0, true);
	c = enc_doctor_find(rep, "cgroup");
	ok(c && c->status == ENC_DOCTOR_MISSING && c->needed, "no hierarchy: missing");
	is_str(c ? c->detail : NULL, "no cgroup hierarchy is mounted", "probe message kept");
	c = enc_doctor_find(rep, "cgroup-cpu");
	ok(c && c->status == ENC_DOCTOR_MISSING && !c->needed, "no hierarchy: cpu missing, not needed");
	free(rep);

	enc_doctor_check_delegation(fresh(), true, ENC_CGROUP_MODE_HYBRID, NULL, 0, 0, 0, NULL);
	is_status(&chk, ENC_DOCTOR_SKIP, false, "delegation: root");
	enc_doctor_check_delegation(fresh(), false, ENC_CGROUP_MODE_HYBRID, NULL, -ENOENT, 0, 1000, NULL);
	is_status(&chk, ENC_DOCTOR_WARN, false, "delegation: hybrid host");
	has_str(chk.detail, "cgroups are hybrid", "hybrid named");
	const char *p = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service";
	enc_doctor_check_delegation(fresh(), false, ENC_CGROUP_MODE_UNIFIED, p, -ENOENT, 0, 1000, NULL);
	is_status(&chk, ENC_DOCTOR_WARN, false, "delegation: no user@ service");
	has_str(chk.fix, "loginctl enable-linger", "linger fix");
	enc_doctor_check_delegation(fresh(), false, ENC_CGROUP_MODE_UNIFIED, p, 0, 0, 1000, "cpu memory pids");
	is_status(&chk, ENC_DOCTOR_WARN, false, "delegation: not owned by the user");
	enc_doctor_check_delegation(fresh(), false, ENC_CGROUP_MODE_UNIFIED, p, 0, 1000, 1000, "cpu io");
	is_status(&chk, ENC_DOCTOR_WARN, false, "delegation: lacking controllers");
	is_str(chk.detail, "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service is delegated without the memory pids controller(s)",
	       "lacking detail");
	has_str(chk.fix, "Delegate=cpu memory pids", "Delegate fix");
	enc_doctor_check_delegation(fresh(), false, ENC_CGROUP_MODE_UNIFIED, p, 0, 1000, 1000,
				    "cpuset cpu io memory pids");
	is_status(&chk, ENC_DOCTOR_OK, false, "delegation ok");
}

static char *render(const struct enc_doctor_report *rep, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json) {
		struct enc_json j;

		enc_json_init(&j, f, 0);
		enc_doctor_to_json(rep, &j);
		enc_json_finish(&j);
	} else {
		enc_doctor_write_table(rep, f);
	}
	fclose(f);
	return buf;
}

static void test_report(void)
{
	struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	struct enc_doctor_check *c;

	c = enc_doctor_add(rep, "kernel", "Linux kernel version");
	enc_doctor_set(c, ENC_DOCTOR_OK, true, "6.18.44 (>= 6.1)");
	c = enc_doctor_add(rep, "ipv4-forward", "IPv4 forwarding");
	enc_doctor_set(c, ENC_DOCTOR_WARN, false, "net.ipv4.ip_forward = 0");
	enc_doctor_fix(c, "sysctl -w net.ipv4.ip_forward=1");
	c = enc_doctor_add(rep, "landlock", "Landlock \"ABI\"");
	enc_doctor_set(c, ENC_DOCTOR_MISSING, false, "not built into this kernel");
	ok(enc_doctor_ok(rep), "missing but not needed: ok");

	char *t = render(rep, false);
	is_str(t,
	       "ok      kernel            6.18.44 (>= 6.1)\n"
	       "warn    ipv4-forward      net.ipv4.ip_forward = 0\n"
	       "        fix: sysctl -w net.ipv4.ip_forward=1\n"
	       "missing landlock          not built into this kernel\n",
	       "table");
	free(t);
	char *j = render(rep, true);
	is_str(j,
	       "{\"ok\":true,\"checks\":["
	       "{\"id\":\"kernel\",\"title\":\"Linux kernel version\",\"status\":\"ok\",\"needed\":true,\"detail\":\"6.18.44 (>= 6.1)\",\"fix\":null},"
	       "{\"id\":\"ipv4-forward\",\"title\":\"IPv4 forwarding\",\"status\":\"warn\",\"needed\":false,\"detail\":\"net.ipv4.ip_forward = 0\",\"fix\":\"sysctl -w net.ipv4.ip_forward=1\"},"
	       "{\"id\":\"landlock\",\"title\":\"Landlock \\\"ABI\\\"\",\"status\":\"missing\",\"needed\":false,\"detail\":\"not built into this kernel\",\"fix\":null}"
	       "]}\n",
	       "json");
	is_int(enc_json_validate(j, strlen(j)), 0, "json validates");
	free(j);

	rep->checks[0].status = ENC_DOCTOR_MISSING;
	ok(!enc_doctor_ok(rep), "needed and missing: not ok");
	j = render(rep, true);
	has_str(j, "{\"ok\":false,", "json ok false");
	free(j);
	rep->checks[0].status = ENC_DOCTOR_WARN;
	ok(enc_doctor_ok(rep), "needed but warn: ok");
	rep->checks[0].status = ENC_DOCTOR_SKIP;
	ok(enc_doctor_ok(rep), "needed but skip: ok");

	ok(enc_doctor_find(rep, "landlock") == &rep->checks[2], "find");
	ok(enc_doctor_find(rep, "nope") == NULL, "find unknown");
	while (rep->n < ENC_DOCTOR_MAX_CHECKS)
		enc_doctor_add(rep, "x", "x");
	ok(enc_doctor_add(rep, "y", "y") == NULL, "full report refuses more");

	is_str(enc_doctor_status_str(ENC_DOCTOR_OK), "ok", "status ok");
	is_str(enc_doctor_status_str(ENC_DOCTOR_MISSING), "missing", "status missing");
	is_str(enc_doctor_status_str(ENC_DOCTOR_WARN), "warn", "status warn");
	is_str(enc_doctor_status_str(ENC_DOCTOR_SKIP), "skip", "status skip");

	/* Long texts are cut, never overflow. */
	c = fresh();
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	enc_doctor_set(c, ENC_DOCTOR_OK, false, "%s", big);
	is_int(strlen(c->detail), ENC_DOCTOR_TEXT_MAX - 1, "detail cut");
	free(rep);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[4096], tmp[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	/* mkdir -p of the parents */
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The real gatherer over a fake /proc: the sysctl-driven checks follow the
 * fake values, the report fails, and the state dir is not created. */
static void test_run_fake_proc(void)
{
	char dir[] = "/tmp/test-doctor.XXXXXX", state[4200], helper[4200], cmd[4300];
	struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	const struct enc_doctor_check *c;
	bool root = geteuid() == 0;
	struct stat st;

	if (!mkdtemp(dir)) {
		ok(false, "mkdtemp: %s", strerror(errno));
		free(rep);
		return;
	}
	put(dir, "sys/kernel/osrelease", "5.10.0-fake\n");
	put(dir, "sys/user/max_user_namespaces", "0\n");
	put(dir, "sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
	put(dir, "sys/kernel/seccomp/actions_avail", "kill_thread trap errno\n");
	put(dir, "sys/net/ipv4/ip_forward", "1\n");
	put(dir, "self/attr/current", "unconfined\n");
	snprintf(helper, sizeof(helper), "%s/enclave-helper", dir);
	put(dir, "enclave-helper", "#!/bin/sh\n");
	chmod(helper, 0755);
	snprintf(state, sizeof(state), "%s/no/such/state", dir);
	setenv("ENCLAVE_STATE_DIR", state, 1);
	unsetenv("ENCLAVE_RUNTIME_DIR");

	struct enc_doctor_opts o = { .proc_root = dir, .helper_path = helper };
	enc_doctor_run(&o, rep);
	is_int(rep->n, 23, "all 23 checks ran");
	ok(!enc_doctor_ok(rep), "fake proc: report fails");
	c = enc_doctor_find(rep, "kernel");
	ok(c && c->status == ENC_DOCTOR_MISSING, "fake kernel 5.10: missing");
	has_str(c ? c->detail : NULL, "5.10.0-fake is older than 6.1", "fake kernel detail");
	c = enc_doctor_find(rep, "userns");
	ok(c && c->status == ENC_DOCTOR_MISSING, "fake max_user_namespaces 0: missing");
	c = enc_doctor_find(rep, "apparmor-userns");
	ok(c && c->status == (root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING),
	   "fake AppArmor restriction: %s", root ? "warn as root" : "missing as a user");
	c = enc_doctor_find(rep, "userns-clone");
	ok(c && c->status == ENC_DOCTOR_SKIP, "no userns_clone file: skip");
	c = enc_doctor_find(rep, "seccomp");
	ok(c && c->status == ENC_DOCTOR_MISSING, "fake actions without kill_process: missing");
	c = enc_doctor_find(rep, "ipv4-forward");
	ok(c && c->status == ENC_DOCTOR_OK, "fake ip_forward 1: ok");
	c = enc_doctor_find(rep, "ipv6-forward");
	ok(c && c->status == ENC_DOCTOR_SKIP, "no ipv6 file: skip");
	c = enc_doctor_find(rep, "helper");
	ok(c && c->status == (root ? ENC_DOCTOR_WARN : ENC_DOCTOR_MISSING), "fake helper refused");
	/* An ordinary user's fake helper is their own, which comes first. */
	has_str(c ? c->detail : NULL, root ? "not setuid root (mode 0755)" : "is not owned by root",
		"helper override used");
	c = enc_doctor_find(rep, "state-dir");
	ok(c && c->status == ENC_DOCTOR_OK, "state-dir: creatable");
	has_str(c ? c->detail : NULL, "(created on first use)", "state-dir not there yet");
	ok(lstat(state, &st) < 0 && errno == ENOENT, "doctor created no state dir");
	snprintf(cmd, sizeof(cmd), "%s/no", dir);
	ok(lstat(cmd, &st) < 0 && errno == ENOENT, "nor any parent of it");
	for (size_t i = 0; i < rep->n; i++)
		printf("# %-7s %-17s %s\n", enc_doctor_status_str(rep->checks[i].status),
		       rep->checks[i].id, rep->checks[i].detail);

	/* Only some checks: only those run. */
	static const char *const only[] = { "nftables", "cgroup-pids", "kernel", NULL };
	o.only = only;
	enc_doctor_run(&o, rep);
	is_int(rep->n, 7, "only kernel, the five cgroup checks and nftables ran");
	is_str(rep->checks[0].id, "kernel", "in report order: kernel");
	is_str(rep->checks[rep->n - 1].id, "nftables", "in report order: nftables last");
	ok(enc_doctor_find(rep, "userns") == NULL, "userns did not run");
	o.only = NULL;

	/* The refusal on the real probes, with the fake kernel. */
	struct enc_err err = {};
	is_int(enc_doctor_require(&o, ENC_NEED_PIDS, &err), -EOPNOTSUPP, "require: refused");
	is_str(err.msg,
	       "this host cannot give what the workspace needs: kernel: 5.10.0-fake is older than 6.1 (idmapped mounts on common file systems, overlayfs over idmapped layers) (fix: install and boot Linux 6.1 or later (e.g. the kernel of Debian 12 or Ubuntu 24.04))",
	       "require: the kernel check's words");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", dir);
	free(rep);
}

/* The refusal: what a start needs, judged on a report, in doctor's words. */
static void test_refusal(void)
{
	struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	struct enc_workspace_conf ws = { .swap = UINT64_MAX, .network = ENC_NET_NONE };
	struct enc_doctor_check *c;
	const char *ids[ENC_DOCTOR_MAX_CHECKS + 1];
	struct enc_err err = {};
	struct enc_cgroup_sys s;

	is_int(enc_doctor_needs_of(&ws), 0, "no limits, network none: nothing extra");
	ws.memory = 1 << 20;
	ws.pids = 10;
	ws.cpus = 500;
	ws.swap = 0;
	ws.network = ENC_NET_DENY;
	is_int(enc_doctor_needs_of(&ws),
	       ENC_NEED_MEMORY | ENC_NEED_PIDS | ENC_NEED_CPU | ENC_NEED_SWAP | ENC_NEED_NFTABLES,
	       "every limit and deny: all needs");
	ws = (struct enc_workspace_conf){ .swap = UINT64_MAX, .network = ENC_NET_NAT };
	is_int(enc_doctor_needs_of(&ws), ENC_NEED_NFTABLES, "nat needs nftables");
	ws.network = ENC_NET_HOST;
	is_int(enc_doctor_needs_of(&ws), 0, "host needs no nftables");

	enc_doctor_needed_ids(0, ids);
	is_str(ids[0], "kernel", "baseline starts with kernel");
	size_t n = 0;
	while (ids[n])
		n++;
	is_int(n, 12, "baseline: 12 checks");
	enc_doctor_needed_ids(ENC_NEED_PIDS | ENC_NEED_NFTABLES, ids);
	is_str(ids[12], "cgroup-pids", "pids asked: cgroup-pids");
	is_str(ids[13], "nftables", "deny asked: nftables");
	ok(ids[14] == NULL, "and nothing else");

	/* A healthy report: nothing refused. */
	fake_hybrid(&s);
	s.features &= ~(unsigned)(ENC_CGROUP_F_MEMORY_SWAP | ENC_CGROUP_F_CPU);
	c = enc_doctor_add(rep, "kernel", "k");
	enc_doctor_check_kernel(c, "6.18.1");
	enc_doctor_check_cgroups(rep, &s, 0, "", 0, true);
	c = enc_doctor_add(rep, "nftables", "n");
	enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "cannot talk to nf_tables");
	enc_doctor_fix(c, "modprobe nf_tables");
	is_int(enc_doctor_refusal(rep, ENC_NEED_MEMORY | ENC_NEED_PIDS, &err), 0,
	       "memory and pids available: no refusal");
	is_str(err.msg, "", "no message");

	/* A warning is enough to refuse what was asked for explicitly. */
	is_int(enc_doctor_refusal(rep, ENC_NEED_SWAP, &err), -EOPNOTSUPP, "swap asked, no swap accounting: refused");
	is_str(err.msg,
	       "this host cannot give what the workspace needs: cgroup-swap: swap cannot be limited: a workload may swap beyond its memory limit (fix: boot with swapaccount=1 (a kernel with CONFIG_MEMCG_SWAP))",
	       "swap refusal: doctor's detail and fix");
	enc_err_clear(&err);
	is_int(enc_doctor_refusal(rep, ENC_NEED_CPU, &err), -EOPNOTSUPP, "cpus asked, no quota: refused");
	has_str(err.msg, "cgroup-cpu: CPU quotas cannot be enforced", "cpu refusal words");
	enc_err_clear(&err);
	is_int(enc_doctor_refusal(rep, ENC_NEED_NFTABLES, &err), -EOPNOTSUPP, "deny asked, no nftables: refused");
	is_str(err.msg, "this host cannot give what the workspace needs: nftables: cannot talk to nf_tables (fix: modprobe nf_tables)",
	       "nftables refusal words");
	enc_err_clear(&err);
	is_int(enc_doctor_refusal(rep, 0, &err), 0, "nftables missing but not asked: no refusal");

	/* The baseline refuses only what is needed and missing; the first in
	 * report order wins. */
	c = &rep->checks[0];
	is_str(c->id, "kernel", "kernel is the first check");
	enc_doctor_check_kernel(c, "5.10.0");
	is_int(enc_doctor_refusal(rep, ENC_NEED_NFTABLES, &err), -EOPNOTSUPP, "old kernel: refused");
	has_str(err.msg, "needs: kernel: 5.10.0 is older than 6.1", "the kernel comes first");
	enc_err_clear(&err);
	c = enc_doctor_add(rep, "helper", "h");
	enc_doctor_set(c, ENC_DOCTOR_MISSING, false, "no helper");
	enc_doctor_check_kernel(&rep->checks[0], "6.1.0");
	is_int(enc_doctor_refusal(rep, 0, &err), 0, "a missing check that is not needed: no refusal");
	c->needed = true;
	is_int(enc_doctor_refusal(rep, 0, &err), -EOPNOTSUPP, "needed and missing: refused");
	is_str(err.msg, "this host cannot give what the workspace needs: helper: no helper",
	       "no fix: no fix part");
	free(rep);
}

int main(void)
{
	test_refusal();
	test_kernel();
	test_userns();
	test_apparmor();
	test_userns_clone();
	test_syscalls();
	test_forward();
	test_seccomp();
	test_landlock();
	test_helper();
	test_subid();
	test_bootstrap();
	test_space();
	test_state();
	test_cgroups();
	test_report();
	test_run_fake_proc();
	return tap_done();
}
