/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.c - run enclave-helper for one request (client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build-config.h"
#include "client.h"
#include "parse.h"

int ench_send(int sock, const void *req, size_t len, const int *fds, unsigned nfds,
	      struct enc_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)] = { 0 };
	struct iovec iov = { (void *)req, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 8)
		return enc_err_set(err, -EINVAL, "enclave-helper: too many fds");
	if (nfds) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		if (!c)
			return enc_err_set(err, -EINVAL, "enclave-helper: no room for fds");
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
		return enc_err_sys(err, -errno, "enclave-helper: cannot send the request");
	return 0;
}

int ench_recv(int sock, struct ench_reply *rep, struct enc_err *err)
{
	char buf[HREPLY_MAX + 1], cbuf[CMSG_SPACE(sizeof(int) * HREQ_FDS_MAX)];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	rep->nfds = 0;
	rep->text[0] = '\0';
	n = ENC_RETRY(recvmsg(sock, &m, MSG_CMSG_CLOEXEC));
	if (n < 0)
		return enc_err_sys(err, -errno, "enclave-helper: cannot read the reply");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; c->cmsg_type == SCM_RIGHTS && i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (rep->nfds < HREQ_FDS_MAX)
				rep->fds[rep->nfds++] = fd;
			else
				close(fd);
		}
	}
	buf[n] = '\0';
	if (n == 0)
		return enc_err_set(err, -EPROTO, "enclave-helper: no reply");
	if (!strncmp(buf, "error ", 6)) {
		buf[strcspn(buf, "\n")] = '\0';
		ench_reply_close(rep);
		return enc_err_set(err, -EPERM, "enclave-helper: %s", buf + 6);
	}
	if (strncmp(buf, "ok\n", 3) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		ench_reply_close(rep);
		return enc_err_set(err, -EPROTO, "enclave-helper: malformed reply");
	}
	memcpy(rep->text, buf + 3, (size_t)n - 2);
	return 0;
}

const char *ench_reply_get(const struct ench_reply *rep, const char *key, char *buf,
			   size_t size)
{
	size_t kl = strlen(key);

	for (const char *l = rep->text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
		size_t ll = strcspn(l, "\n");

		if (ll > kl && !strncmp(l, key, kl) && l[kl] == '=' && ll - kl - 1 < size) {
			memcpy(buf, l + kl + 1, ll - kl - 1);
			buf[ll - kl - 1] = '\0';
			return buf;
		}
	}
	return NULL;
}

void ench_reply_close(struct ench_reply *rep)
{
	for (unsigned i = 0; i < rep->nfds; i++)
		close(rep->fds[i]);
	rep->nfds = 0;
}

int ench_call(const char *helper, const char *req, const int *fds, unsigned nfds,
	      struct ench_reply *rep, struct enc_err *err)
{
	static char *const envp[] = { NULL };
	int sv[2], st, r;
	pid_t pid;

	if (!helper)
		helper = ENCLAVE_HELPERDIR "/enclave-helper";
	rep->nfds = 0;
	rep->status = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return enc_err_sys(err, -errno, "enclave-helper: socketpair");
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return enc_err_sys(err, r, "enclave-helper: fork");
	}
	if (pid == 0) {
		char *const argv[] = { (char *)"enclave-helper", NULL };

		if (sv[1] == HREQ_FD ? fcntl(HREQ_FD, F_SETFD, 0) < 0 : dup2(sv[1], HREQ_FD) < 0)
			_exit(127);
		execve(helper, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	r = ench_send(sv[0], req, strlen(req), fds, nfds, err);
	if (r == 0)
		r = ench_recv(sv[0], rep, err);
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rep->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (r == 0 && rep->status != 0) {
		ench_reply_close(rep);
		r = enc_err_set(err, -EPROTO, "enclave-helper: exited with status %d", rep->status);
	}
	return r;
}

/* A request in a fixed buffer: HREQ_MAX bounds it like the helper does. */
struct rb {
	char s[HREQ_MAX + 1];
	size_t n;
	bool over;
};

static void rb_add(struct rb *b, const char *fmt, ...) ENC_PRINTF(2, 3);
static void rb_add(struct rb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->s) - b->n)
		b->over = true;
	else
		b->n += (size_t)n;
}

static int rb_call(const char *helper, struct rb *b, const int *fds, unsigned nfds,
		   struct ench_reply *rep, struct enc_err *err)
{
	rb_add(b, "end\n");
	if (b->over)
		return enc_err_set(err, -E2BIG, "enclave-helper: request too large");
	return ench_call(helper, b->s, fds, nfds, rep, err);
}

#define RB_INIT(op) { .s = HREQ_MAGIC "\nop=" op "\n", .n = sizeof(HREQ_MAGIC "\nop=" op "\n") - 1 }

int ench_uidmap(const char *helper, int pidfd, const struct hreq_ext *uid, unsigned nuid,
		const struct hreq_ext *gid, unsigned ngid, struct enc_err *err)
{
	struct rb b = RB_INIT("uidmap");
	struct ench_reply rep;
	int r;

	for (unsigned i = 0; i < nuid; i++)
		rb_add(&b, "uid=%u %u %u\n", uid[i].inside, uid[i].outside, uid[i].count);
	for (unsigned i = 0; i < ngid; i++)
		rb_add(&b, "gid=%u %u %u\n", gid[i].inside, gid[i].outside, gid[i].count);
	r = rb_call(helper, &b, &pidfd, 1, &rep, err);
	if (r == 0)
		ench_reply_close(&rep);
	return r;
}

static int one_fd(struct ench_reply *rep, int *fd, struct enc_err *err)
{
	if (rep->nfds != 1) {
		ench_reply_close(rep);
		return enc_err_set(err, -EPROTO, "enclave-helper: expected one fd in the reply");
	}
	*fd = rep->fds[0];
	rep->nfds = 0;
	return 0;
}

int ench_mount_rootfs(const char *helper, int userns_fd, const char *store,
		      const char *path, int *mount_fd, struct enc_err *err)
{
	struct rb b = RB_INIT("mount");
	struct ench_reply rep;
	int r;

	/* A build's temp dir: the generation being set up, writable. */
	rb_add(&b, "tree=%s\nstore=%s\npath=%s\n", strncmp(path, ".tmp/", 5) ? "rootfs" : "build",
	       store, path);
	r = rb_call(helper, &b, &userns_fd, 1, &rep, err);
	return r < 0 ? r : one_fd(&rep, mount_fd, err);
}

int ench_mount_dir(const char *helper, enum hreq_tree tree, int userns_fd, int base_fd,
		   const char *path, uint32_t user, uint32_t group, int *mount_fd,
		   struct enc_err *err)
{
	struct rb b = RB_INIT("mount");
	struct ench_reply rep;
	int fds[2] = { userns_fd, base_fd }, r;

	if (tree == HTREE_PERSIST)
		rb_add(&b, "tree=persist\npath=%s\n", path);
	else
		rb_add(&b, "tree=%s\npath=%s\nuser=%u\ngroup=%u\n",
		       tree == HTREE_HOME ? "home" : "project", path, user, group);
	r = rb_call(helper, &b, fds, 2, &rep, err);
	return r < 0 ? r : one_fd(&rep, mount_fd, err);
}

int ench_net_up(const char *helper, int netns_fd, const char *sandbox,
		const char *workspace, bool nat, const char *const *allow, size_t nallow,
		bool log_allowed, struct ench_net *out, struct enc_err *err)
{
	struct rb b = RB_INIT("net-up");
	struct ench_reply rep;
	char v[64];
	uint32_t u;
	int r;

	rb_add(&b, "sandbox=%s\nworkspace=%s\nmode=%s\nlog_allowed=%d\n", sandbox, workspace,
	       nat ? "nat" : "deny", log_allowed);
	for (size_t i = 0; i < nallow; i++)
		rb_add(&b, "allow=%s\n", allow[i]);
	r = rb_call(helper, &b, &netns_fd, 1, &rep, err);
	if (r < 0)
		return r;
	if (rep.nfds != 2) {
		ench_reply_close(&rep);
		return enc_err_set(err, -EPROTO, "enclave-helper: expected two fds in the net-up reply");
	}
	out->nflog_fd = rep.fds[0];
	out->watch_fd = rep.fds[1];
	rep.nfds = 0;
#define GET(k, dst) (ench_reply_get(&rep, k, dst, sizeof(dst)) != NULL)
	if (!GET("ifname", out->ifname) || !GET("id", out->id) || !GET("addr4", out->addr4) ||
	    !GET("host4", out->host4) || !GET("addr6", out->addr6) || !GET("host6", out->host6) ||
	    !GET("slot", v) || enc_parse_u32(v, 0, UINT32_MAX, &u, NULL) < 0 ||
	    !((out->slot = u), GET("group", v)) || enc_parse_u32(v, 0, 65535, &u, NULL) < 0) {
		close(out->nflog_fd);
		close(out->watch_fd);
		return enc_err_set(err, -EPROTO, "enclave-helper: malformed net-up reply");
	}
#undef GET
	out->group = (uint16_t)u;
	return 0;
}

int ench_net_down(const char *helper, const char *sandbox, const char *workspace,
		  struct enc_err *err)
{
	struct rb b = RB_INIT("net-down");
	struct ench_reply rep;

	rb_add(&b, "sandbox=%s\nworkspace=%s\n", sandbox, workspace);
	return rb_call(helper, &b, NULL, 0, &rep, err);
}

int ench_cgroup_add(const char *helper, int pidfd, char *paths, size_t size,
		    struct enc_err *err)
{
	struct rb b = RB_INIT("cgroup-add");
	struct ench_reply rep;
	int r = rb_call(helper, &b, &pidfd, pidfd >= 0, &rep, err);

	if (r == 0 && paths && snprintf(paths, size, "%s", rep.text) >= (int)size)
		return enc_err_set(err, -ENAMETOOLONG, "enclave-helper: reply too long");
	return r;
}

int ench_cgroup_del(const char *helper, struct enc_err *err)
{
	struct rb b = RB_INIT("cgroup-del");
	struct ench_reply rep;

	return rb_call(helper, &b, NULL, 0, &rep, err);
}
