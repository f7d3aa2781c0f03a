/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unpriv.c - the runtime's privileged steps for an ordinary user, through
 * enclave-helper (see unpriv.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build-config.h"
#include "client.h"
#include "fsutil.h"
#include "policy.h"
#include "proc.h"
#include "unpriv.h"
#include "util.h"
#include "workspace.h"

_Static_assert(HREQ_WS_IDS == ENC_IDPOOL_SIZE, "the helper and the runtime disagree on a workspace's ids");

const char *enc_helper_path(void)
{
	const char *h = getenv("ENCLAVE_HELPER");

	return h && h[0] == '/' ? h : ENCLAVE_HELPERDIR "/enclave-helper";
}

/* The slot-th whole block of ENC_IDPOOL_SIZE ids in the caller's ranges
 * of /etc/FILE. */
static int subid_block(const char *file, const char *name, uint32_t id, uint32_t slot,
		       uint32_t *base)
{
	_cleanup_close_ int etc = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct subid ranges[SUBID_MAX];
	size_t len = 0;
	unsigned n;

	if (etc < 0 || enc_fact_read(etc, file, 1 << 20, false, &buf, &len, NULL) < 0)
		len = 0;
	n = buf ? subid_parse(buf, len, name, id, ranges) : 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t blocks = ranges[i].count / ENC_IDPOOL_SIZE;

		if (slot < blocks) {
			*base = ranges[i].start + slot * ENC_IDPOOL_SIZE;
			return 0;
		}
		slot -= blocks;
	}
	return -ERANGE;
}

int enc_unpriv_idbase(uint32_t slot, uint32_t *uid_base, uint32_t *gid_base,
		      struct enc_err *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct passwd *pw = getpwuid(uid);
	const char *name = pw ? pw->pw_name : "";
	uint64_t need = ((uint64_t)slot + 1) * ENC_IDPOOL_SIZE;

	/* A workspace keeps its slot (enc_ws_idslot()): its files in the
	 * home and the persistent upper stay its own across restarts. */
	if (subid_block("subuid", name, uid, slot, uid_base) < 0)
		return enc_err_set(err, -ERANGE,
				   "not enough subordinate uids: this workspace (id slot %u) needs %llu ids of %s in /etc/subuid (%u per workspace, in whole blocks); ask the administrator for a larger range (usermod --add-subuids)",
				   slot, (unsigned long long)need, name[0] ? name : "this user",
				   ENC_IDPOOL_SIZE);
	if (subid_block("subgid", name, gid, slot, gid_base) < 0)
		return enc_err_set(err, -ERANGE,
				   "not enough subordinate gids: this workspace (id slot %u) needs %llu ids of %s in /etc/subgid (%u per workspace, in whole blocks); ask the administrator for a larger range (usermod --add-subgids)",
				   slot, (unsigned long long)need, name[0] ? name : "this user",
				   ENC_IDPOOL_SIZE);
	return 0;
}

int enc_unpriv_uidmap(int pidfd, uint32_t uid_base, uint32_t gid_base, struct enc_err *err)
{
	struct hreq_ext u = { .inside = 0, .outside = uid_base, .count = ENC_IDPOOL_SIZE };
	struct hreq_ext g = { .inside = 0, .outside = gid_base, .count = ENC_IDPOOL_SIZE };

	return ench_uidmap(enc_helper_path(), pidfd, &u, 1, &g, 1, err);
}

static int unpriv_persist(const char *helper, int userns, int ws_dir_fd, uint32_t ub,
			  uint32_t gb, struct enc_mount_fds *out, struct enc_err *err);

int enc_unpriv_mounts(const struct enc_state *st, const char *rootfs, int userns,
		      int home_dir_fd, const char *project, uid_t user,
		      const struct enc_unpriv_persist *persist,
		      struct enc_mount_fds *out, struct enc_err *err)
{
	const char *helper = enc_helper_path();
	_cleanup_free_ char *store = NULL;
	size_t n;
	int r;

	*out = (struct enc_mount_fds)ENC_MOUNT_FDS_INIT;
	/* The helper takes the store (which its policy must name) and the
	 * generation's path beneath it, and resolves that itself. */
	if (asprintf(&store, "%s/sandboxes", st->data_path) < 0)
		return enc_err_set(err, -ENOMEM, "out of memory");
	n = strlen(store);
	if (strncmp(rootfs, store, n) || rootfs[n] != '/')
		return enc_err_set(err, -EINVAL, "rootfs %s is not in the store %s", rootfs, store);
	r = ench_mount_rootfs(helper, userns, store, rootfs + n + 1, &out->rootfs, err);
	if (r < 0)
		goto fail;

	if (home_dir_fd >= 0) {
		/* The home on disk is the caller's; the helper's carrier
		 * mapping shows it as the workspace user's inside. */
		if (mkdirat(home_dir_fd, "home", 0700) < 0 && errno != EEXIST) {
			r = enc_err_sys(err, -errno, "cannot create the workspace's home");
			goto fail;
		}
		r = ench_mount_dir(helper, HTREE_HOME, userns, home_dir_fd, "home", user, user,
				   &out->home, err);
		if (r < 0)
			goto fail;
	}
	if (persist && home_dir_fd >= 0) {
		r = unpriv_persist(helper, userns, home_dir_fd, persist->uid_base, persist->gid_base,
				   out, err);
		if (r < 0)
			goto fail;
	}
	if (project) {
		_cleanup_close_ int pfd = open(project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		struct stat pst;

		if (pfd < 0 || fstat(pfd, &pst) < 0) {
			r = enc_err_sys(err, -errno, "cannot open the project directory %s", project);
			goto fail;
		}
		/* Said here in the caller's terms; the helper checks it again. */
		if (pst.st_uid != geteuid()) {
			r = enc_err_set(err, -EPERM,
					"project directory %s is owned by uid %u, not by you (uid %u): an ordinary user's workspaces mount only their own directories",
					project, (unsigned)pst.st_uid, (unsigned)geteuid());
			goto fail;
		}
		r = ench_mount_dir(helper, HTREE_PROJECT, userns, pfd, ".", user, user,
				   &out->project, err);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	enc_mount_fds_close(out);
	return r;
}

int enc_unpriv_cgroup(int pidfd, struct enc_cgroup_sys *sys, struct enc_err *err)
{
	const char *helper = enc_helper_path();
	struct enc_err first = {};
	char paths[1024];
	/* Idempotent in the helper: a subtree delegated before (another
	 * workspace of ours may run in it) is kept, the monitor moved in. */
	int r = ench_cgroup_add(helper, pidfd, paths, sizeof(paths), &first);

	if (r < 0)
		return enc_err_set(err, r, "cannot get a delegated cgroup: %s", first.msg);
	return enc_cgroup_probe_user(sys, err);
}

int enc_unpriv_cgroup_self(struct enc_cgroup_sys *sys, struct enc_err *err)
{
	int self = enc_pidfd_open(getpid(), 0);
	int r;

	if (self < 0)
		return enc_err_sys(err, self, "cannot open a pidfd of this process");
	r = enc_unpriv_cgroup(self, sys, err);
	close(self);
	return r;
}

/* ---- storage ids ------------------------------------------------------------ */

/* Run shadow's newuidmap/newgidmap (which do their own checks against
 * /etc/subuid and /etc/subgid) on pid: 0.. -> base, ENC_IDPOOL_SIZE -> own. */
static int newidmap(const char *prog, pid_t pid, uint32_t base, uint32_t own,
		    struct enc_err *err)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin" };
	char path[64], spid[16], sbase[16], scount[16], sin2[16], sown[16];
	char *const envp[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	int status;
	pid_t c;

	path[0] = '\0';
	for (size_t i = 0; i < ENC_ARRAY_SIZE(dirs) && !path[0]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], prog);
		if (access(path, X_OK) < 0)
			path[0] = '\0';
	}
	if (!path[0])
		return enc_err_set(err, -ENOENT,
				   "%s is missing: an ordinary user's sandboxes need it (apt-get install uidmap)",
				   prog);
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(sbase, sizeof(sbase), "%u", base);
	snprintf(scount, sizeof(scount), "%u", ENC_IDPOOL_SIZE);
	snprintf(sin2, sizeof(sin2), "%u", ENC_IDPOOL_SIZE);
	snprintf(sown, sizeof(sown), "%u", own);
	char *const argv[] = { path, spid, "0", sbase, scount, sin2, sown, "1", NULL };

	c = fork();
	if (c < 0)
		return enc_err_sys(err, -errno, "cannot fork");
	if (c == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execve(path, argv, envp);
		_exit(127);
	}
	while (waitpid(c, &status, 0) < 0)
		if (errno != EINTR)
			return enc_err_sys(err, -errno, "cannot wait for %s", prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return enc_err_set(err, -EPERM,
				   "%s %s 0 %s %s %s %s 1 failed (its message is above): the storage ids must be in /etc/%s",
				   prog, spid, sbase, scount, sin2, sown,
				   prog[3] == 'u' ? "subuid" : "subgid");
	return 0;
}

struct storage_reply {
	int code;
	char msg[ENC_ERR_MSG_MAX];
};

ENC_NORETURN static void storage_child(int sock, int (*fn)(void *, struct enc_err *), void *arg)
{
	struct storage_reply rep = { 0 };
	struct enc_err e = { 0 };
	char c = 1;

	/* Never outlive the caller; nothing to clean up on its behalf. The
	 * first byte says whether the namespace is there (1) or a reply
	 * with the reason follows (0). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(CLONE_NEWUSER) < 0) {
		rep.code = enc_err_sys(&e, -errno, "cannot create a user namespace");
		c = 0;
		if (write(sock, &c, 1) != 1)
			_exit(1);
		goto out;
	}
	if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1 || c != 1)
		_exit(1);	/* the parent failed and says why */
	/* Root of the namespace: new files belong to the storage ids' 0. The
	 * supplementary groups are the caller's host groups, unmapped here:
	 * dropped (newgidmap left setgroups allowed, as the map is not just
	 * the caller's own gid). */
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0) {
		rep.code = enc_err_sys(&e, -errno, "cannot become root of the storage namespace");
		goto out;
	}
	rep.code = fn(arg, &e);
out:
	if (rep.code < 0)
		snprintf(rep.msg, sizeof(rep.msg), "%s", e.msg);
	_exit(write(sock, &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
}

int enc_unpriv_storage_run(int (*fn)(void *arg, struct enc_err *err), void *arg,
			   struct enc_err *err)
{
	uint32_t ub, gb;
	int r = enc_unpriv_idbase(0, &ub, &gb, err);

	if (r < 0) {
		enc_err_prefix(err, "an ordinary user's sandboxes are stored with subordinate ids: ");
		return r;
	}
	return enc_unpriv_ids_run(ub, gb, fn, arg, err);
}

int enc_unpriv_ids_run(uint32_t ub, uint32_t gb, int (*fn)(void *arg, struct enc_err *err),
		       void *arg, struct enc_err *err)
{
	struct storage_reply rep = { .code = -EIO };
	int sv[2], r, status;
	char c;
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return enc_err_sys(err, -errno, "cannot create a socket pair");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = enc_err_sys(err, -errno, "cannot fork");
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		storage_child(sv[1], fn, arg);
	}
	close(sv[1]);
	if (read(sv[0], &c, 1) != 1 || c != 1) {
		n = read(sv[0], &rep, sizeof(rep));
		if (n == (ssize_t)sizeof(rep))
			r = enc_err_set(err, rep.code, "%s", rep.msg);
		else
			r = enc_err_set(err, -EIO, "the storage namespace's process died");
		goto out;
	}
	r = newidmap("newuidmap", pid, ub, (uint32_t)geteuid(), err);
	if (r == 0)
		r = newidmap("newgidmap", pid, gb, (uint32_t)getegid(), err);
	c = r == 0;
	if (send(sv[0], &c, 1, MSG_NOSIGNAL) != 1 && r == 0)
		r = enc_err_sys(err, -errno, "the storage namespace's process died");
	if (r == 0) {
		do
			n = read(sv[0], &rep, sizeof(rep));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(rep))
			r = enc_err_set(err, -EIO, "the storage namespace's process died");
		else if (rep.code < 0)
			r = enc_err_set(err, rep.code, "%s", rep.msg);
	}
out:
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}

struct rm_arg {
	int dirfd;
	const char *path;
};

static int rm_in_storage(void *arg, struct enc_err *err)
{
	struct rm_arg *a = arg;

	return enc_rm_rf_at(a->dirfd, a->path, err);
}

static int rm_rf(int dirfd, const char *path, bool storage, uint32_t slot, struct enc_err *err)
{
	struct rm_arg a = { dirfd, path };
	struct enc_err first = { 0 };
	uint32_t ub, gb;
	int r;

	if (!enc_unpriv())
		return enc_rm_rf_at(dirfd, path, err);
	r = enc_rm_rf_at(dirfd, path, &first);
	if (r != -EACCES && r != -EPERM) {
		if (r < 0)
			enc_err_set(err, r, "%s", first.msg);
		return r;
	}
	if (storage)
		return enc_unpriv_storage_run(rm_in_storage, &a, err);
	r = enc_unpriv_idbase(slot, &ub, &gb, err);
	return r < 0 ? r : enc_unpriv_ids_run(ub, gb, rm_in_storage, &a, err);
}

int enc_unpriv_rm_rf_at(int dirfd, const char *path, struct enc_err *err)
{
	return rm_rf(dirfd, path, true, 0, err);
}

int enc_unpriv_rm_rf_slot(int dirfd, const char *path, uint32_t slot, struct enc_err *err)
{
	return rm_rf(dirfd, path, false, slot, err);
}

/* ---- a persistent upper layer ------------------------------------------------ */

/* As root of the workspace's ids (plus the caller): ws_dir/fs, 0711, and
 * its upper/ (0755) and work/ (0700), all the workspace root's. */
static int persist_dirs(void *arg, struct enc_err *err)
{
	static const struct { const char *path; mode_t mode; } d[] = {
		{ "fs", 0711 }, { "fs/upper", 0755 }, { "fs/work", 0700 },
	};
	int ws = *(int *)arg;

	for (size_t i = 0; i < ENC_ARRAY_SIZE(d); i++) {
		if (mkdirat(ws, d[i].path, d[i].mode) < 0 && errno != EEXIST)
			return enc_err_sys(err, -errno, "cannot create the workspace's %s", d[i].path);
		if (fchownat(ws, d[i].path, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(ws, d[i].path, d[i].mode, 0) < 0)
			return enc_err_sys(err, -errno, "cannot give the workspace its %s", d[i].path);
	}
	return 0;
}

/* Made already, by an earlier start (then no namespace is needed). */
static bool persist_ready(int ws, uint32_t ub, uint32_t gb)
{
	static const char *const d[] = { "fs", "fs/upper", "fs/work" };
	struct stat st;

	for (size_t i = 0; i < ENC_ARRAY_SIZE(d); i++)
		if (fstatat(ws, d[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != ub || st.st_gid != gb)
			return false;
	return true;
}

static int unpriv_persist(const char *helper, int userns, int ws_dir_fd, uint32_t ub,
			  uint32_t gb, struct enc_mount_fds *out, struct enc_err *err)
{
	int r = 0;

	if (!persist_ready(ws_dir_fd, ub, gb))
		r = enc_unpriv_ids_run(ub, gb, persist_dirs, &ws_dir_fd, err);
	if (r < 0)
		return r;
	r = ench_mount_dir(helper, HTREE_PERSIST, userns, ws_dir_fd, "fs", 0, 0, &out->persist,
			   err);
	if (r < 0)
		return r;
	out->persist_upper = openat(out->persist, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW |
				    O_CLOEXEC);
	out->persist_work = openat(out->persist, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW |
				   O_CLOEXEC);
	if (out->persist_upper < 0 || out->persist_work < 0)
		return enc_err_sys(err, -errno, "cannot open the persistent upper layer");
	return 0;
}
