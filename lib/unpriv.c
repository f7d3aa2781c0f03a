/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unpriv.c - the runtime's privileged steps for an ordinary user, through
 * enclave-helper (see unpriv.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-config.h"
#include "client.h"
#include "fsutil.h"
#include "policy.h"
#include "proc.h"
#include "unpriv.h"
#include "util.h"
#include "workspace.h"

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

int enc_unpriv_mounts(const struct enc_state *st, const char *rootfs, int userns,
		      int home_dir_fd, const char *project, uid_t user,
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
	if (project) {
		_cleanup_close_ int pfd = open(project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (pfd < 0) {
			r = enc_err_sys(err, -errno, "cannot open the project directory %s", project);
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
