/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rootfs.c - filling a new root file system: debootstrap/mmdebstrap runs,
 * tar imports through libarchive, directory imports and cached rootfs
 * adoption by an fd-relative tree walk, fingerprints and measuring
 * (rootfs.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "parse.h"
#include "rootfs.h"

#define SAFE_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_STALL 300
#define MAX_DEPTH 512

static bool cancelled(const struct enc_rootfs_opts *o)
{
	return o && o->cancel && *o->cancel;
}

/* readdir over a dup of fd: a dup shares the file offset with fd, which an
 * earlier walk may have left at the end, so rewind. */
static DIR *dir_dup(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *dir;

	if (d < 0)
		return NULL;
	dir = fdopendir(d);
	if (!dir) {
		int e = errno;

		close(d);
		errno = e;
		return NULL;
	}
	rewinddir(dir);
	return dir;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- an inode set (hard links seen once) ------------------------------------ */

struct inoset {
	struct { dev_t dev; ino_t ino; size_t val; bool used; } *v;
	size_t n, cap;
};

static size_t ino_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t x = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

/* Returns the slot of (dev, ino): *found tells whether it was there. */
static int inoset_get(struct inoset *s, dev_t dev, ino_t ino, bool *found, size_t **val)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct inoset ns = { .cap = cap, .v = calloc(cap, sizeof(*s->v)) };

		if (!ns.v)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i].used)
				continue;
			size_t h = ino_hash(s->v[i].dev, s->v[i].ino, cap);
			while (ns.v[h].used)
				h = (h + 1) & (cap - 1);
			ns.v[h] = s->v[i];
		}
		ns.n = s->n;
		free(s->v);
		*s = ns;
	}
	size_t h = ino_hash(dev, ino, s->cap);
	while (s->v[h].used && !(s->v[h].dev == dev && s->v[h].ino == ino))
		h = (h + 1) & (s->cap - 1);
	*found = s->v[h].used;
	if (!*found) {
		s->v[h].used = true;
		s->v[h].dev = dev;
		s->v[h].ino = ino;
		s->v[h].val = 0;
		s->n++;
	}
	*val = &s->v[h].val;
	return 0;
}

/* ---- running debootstrap / mmdebstrap -------------------------------------- */

static int find_program(const char *prog, char *out, size_t size)
{
	if (strchr(prog, '/')) {
		if ((size_t)snprintf(out, size, "%s", prog) >= size)
			return -ENAMETOOLONG;
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	for (const char *p = SAFE_PATH; *p;) {
		size_t n = strcspn(p, ":");

		if ((size_t)snprintf(out, size, "%.*s/%s", (int)n, p, prog) < size &&
		    access(out, X_OK) == 0)
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

struct strvec {
	char *v[48];
	size_t n;
	bool oom;
};

static void sv_add(struct strvec *sv, const char *fmt, ...) ENC_PRINTF(2, 3);
static void sv_add(struct strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (sv->n + 1 >= ENC_ARRAY_SIZE(sv->v)) {
		sv->oom = true;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		sv->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (s)
		sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

static void sv_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	sv->n = 0;
}

static void sv_join(struct strvec *sv, const char *opt, const struct enc_strv *list)
{
	size_t len = strlen(opt) + 1;
	char *s, *p;

	for (size_t i = 0; i < list->n; i++)
		len += strlen(list->v[i]) + 1;
	s = malloc(len);
	if (!s) {
		sv->oom = true;
		return;
	}
	p = stpcpy(s, opt);
	for (size_t i = 0; i < list->n; i++) {
		if (i)
			*p++ = ',';
		p = stpcpy(p, list->v[i]);
	}
	sv_add(sv, "%s", s);
	free(s);
}

/* argv: never a shell; every value was validated by enc_recipe_finish()
 * (no leading '-', no spaces), so none can turn into an option. */
static void build_argv(const struct enc_recipe *r, const char *prog, const char *target,
		       bool root, struct strvec *av)
{
	bool mm = r->method == ENC_BOOTSTRAP_MMDEBSTRAP;

	sv_add(av, "%s", prog);
	sv_add(av, "--variant=%s", r->variant);
	if (r->include.n)
		sv_join(av, "--include=", &r->include);
	if (r->components.n)
		sv_join(av, "--components=", &r->components);
	if (mm) {
		/* Root: mmdebstrap's own default mode (root). Others: unshare,
		 * which needs no privilege beyond subordinate ids. */
		if (!root)
			sv_add(av, "--mode=unshare");
		if (!root && strlen(target) > 4 && !strcmp(target + strlen(target) - 4, ".tar"))
			sv_add(av, "--skip=output/dev");
		/* Bound every download, so a mirror that stops answering
		 * fails in minutes, not hours. */
		sv_add(av, "--aptopt=Acquire::Retries \"2\"");
		sv_add(av, "--aptopt=Acquire::http::Timeout \"30\"");
		sv_add(av, "--aptopt=Acquire::https::Timeout \"30\"");
	}
	sv_add(av, "%s", r->suite);
	sv_add(av, "%s", target);
	sv_add(av, "%s", r->mirror);
}

static void build_env(const struct enc_rootfs_opts *o, bool root, struct strvec *ev)
{
	static const char *const pass[] = {
		"http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
		"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
	};

	sv_add(ev, "PATH=" SAFE_PATH);
	sv_add(ev, "LC_ALL=C");
	sv_add(ev, "DEBIAN_FRONTEND=noninteractive");
	/* Not an ordinary user's own: mmdebstrap's namespace root reads
	 * files there (~/.dpkg.cfg) and cannot reach a private home. */
	sv_add(ev, "HOME=%s", root ? "/root" : "/");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(pass); i++) {
		const char *v = getenv(pass[i]);

		if (v)
			sv_add(ev, "%s=%s", pass[i], v);
	}
	if (o && o->work_path)
		sv_add(ev, "WGETRC=%s/wgetrc", o->work_path);
}

ENC_NORETURN static void child_exec(const char *path, char **argv, char **envp, int out)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(125);
	close_range(3, ~0u, 0);
	execve(path, argv, envp);
	dprintf(2, "E: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/*
 * Child side. As root: new mount and PID namespaces, so whatever the
 * program mounts (debootstrap mounts proc and sys in the target) is gone
 * when it is, even if we are SIGKILLed mid-run: PR_SET_PDEATHSIG kills
 * this process, whose death kills the namespace's init and so everything
 * in it.
 */
ENC_NORETURN static void child_main(pid_t parent, bool root, const char *path, char **argv,
				    char **envp, int out)
{
	sigset_t all;

	setpgid(0, 0);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(125);
	if (!root)
		child_exec(path, argv, envp, out);

	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0) {
		dprintf(out, "E: cannot create mount and PID namespaces: %s\n", strerror(errno));
		_exit(125);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		dprintf(out, "E: cannot make the mount namespace private: %s\n", strerror(errno));
		_exit(125);
	}
	pid_t init = fork();
	if (init < 0)
		_exit(125);
	if (init == 0) {
		/* PID 1 of the namespace: start the program, reap orphans,
		 * exit with the program's status (the kernel then kills
		 * whatever is left in the namespace). */
		/* getppid() is 0 here (the parent is outside the
		 * namespace), so the usual "parent already gone?" check
		 * cannot be made; the intermediate only dies by a signal,
		 * and then the closed pipe ends the program soon. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(125);
		pid_t prog = fork();
		if (prog < 0)
			_exit(125);
		if (prog == 0)
			child_exec(path, argv, envp, out);
		close(out);
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, 0);

			if (p == prog)
				_exit(exit_code(st));
			if (p < 0 && errno != EINTR)
				_exit(125);
		}
	}
	close(out);
	for (;;) {
		int st;
		pid_t p = waitpid(init, &st, 0);

		if (p == init)
			_exit(exit_code(st));
		if (p < 0 && errno != EINTR)
			_exit(125);
	}
}

struct outbuf {
	char line[1024];
	size_t len;
	char last[1024];	/* last line */
	char last_err[1024];	/* last "E: ..." line */
	char first_err[1024];	/* first "E: ..." line */
	const struct enc_rootfs_opts *o;
};

static void out_line(struct outbuf *b)
{
	char *l = b->line;
	char *cr = strrchr(l, '\r');

	b->line[b->len] = '\0';
	if (cr && cr[1])
		l = cr + 1;	/* progress redraws: keep the final state */
	else if (cr)
		*cr = '\0';
	if (!*l)
		goto out;
	snprintf(b->last, sizeof(b->last), "%s", l);
	if (strncmp(l, "E: ", 3) == 0) {
		snprintf(b->last_err, sizeof(b->last_err), "%s", l);
		if (!b->first_err[0])
			snprintf(b->first_err, sizeof(b->first_err), "%s", l);
	}
	if (b->o && b->o->line)
		b->o->line(b->o->ctx, l);
out:
	b->len = 0;
}

static void out_feed(struct outbuf *b, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			out_line(b);
			continue;
		}
		if (b->len < sizeof(b->line) - 1)
			b->line[b->len++] = data[i];
	}
}

static void kill_child(pid_t pid)
{
	int st;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static int write_wgetrc(const struct enc_rootfs_opts *o, struct enc_err *err)
{
	static const char rc[] =
		"# written by enclave-bootstrap: bound every download\n"
		"tries = 3\n"
		"timeout = 30\n";

	if (!o || o->work_fd < 0 || !o->work_path)
		return 0;
	return enc_fact_write(o->work_fd, "wgetrc", rc, sizeof(rc) - 1, 0644, false, err);
}

int enc_rootfs_bootstrap(const struct enc_recipe *r, const char *target,
			 const struct enc_rootfs_opts *o, struct enc_err *err)
{
	bool mm = r->method == ENC_BOOTSTRAP_MMDEBSTRAP;
	const char *name = mm ? "mmdebstrap" : "debootstrap";
	const char *prog = o && o->program ? o->program : name;
	bool root = geteuid() == 0;
	unsigned stall = o && o->stall_timeout ? o->stall_timeout : DEFAULT_STALL;
	struct strvec av = { 0 }, ev = { 0 };
	struct outbuf ob = { .o = o };
	char path[PATH_MAX];
	int pfd[2], ret;
	pid_t pid;

	if (!mm && r->method != ENC_BOOTSTRAP_DEBOOTSTRAP)
		return enc_err_set(err, -EINVAL, "not a bootstrap method");
	if (!mm && !root)
		return enc_err_set(err, -EPERM,
				   "debootstrap needs root (it creates device nodes and runs chroot); "
				   "run as root, or use the mmdebstrap method (its unshare mode works "
				   "as an ordinary user), tar, dir or cached_rootfs");
	ret = find_program(prog, path, sizeof(path));
	if (ret < 0)
		return enc_err_sys(err, ret, "cannot find %s%s", prog,
				   o && o->program ? "" : mm ? " (apt-get install mmdebstrap)" :
				   " (apt-get install debootstrap)");
	ret = enc_rootfs_probe_mirror(r->mirror, 10000, err);
	if (ret < 0)
		return ret;
	ret = write_wgetrc(o, err);
	if (ret < 0)
		return ret;

	build_argv(r, path, target, root, &av);
	build_env(o, root, &ev);
	if (av.oom || ev.oom) {
		ret = enc_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		ret = enc_err_sys(err, -errno, "cannot create a pipe");
		goto out;
	}
	pid_t parent = getpid();
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = enc_err_sys(err, -errno, "cannot fork");
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(parent, root, path, av.v, ev.v, pfd[1]);
	}
	setpgid(pid, pid);	/* also done by the child: whoever runs first */
	close(pfd[1]);

	uint64_t last = now_ms();
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char buf[4096];
		int n;

		if (cancelled(o)) {
			kill_child(pid);
			close(pfd[0]);
			ret = enc_err_set(err, -ECANCELED, "%s interrupted", name);
			goto out;
		}
		n = poll(&p, 1, 500);
		if (n < 0 && errno != EINTR) {
			ret = enc_err_sys(err, -errno, "poll");
			kill_child(pid);
			close(pfd[0]);
			goto out;
		}
		if (n > 0) {
			ssize_t k = read(pfd[0], buf, sizeof(buf));

			if (k == 0)
				break;
			if (k > 0) {
				out_feed(&ob, buf, (size_t)k);
				last = now_ms();
			} else if (errno != EINTR && errno != EAGAIN) {
				break;
			}
		}
		if (now_ms() - last > (uint64_t)stall * 1000) {
			kill_child(pid);
			close(pfd[0]);
			ret = enc_err_set(err, -ETIMEDOUT,
					  "%s printed nothing for %u s and was stopped "
					  "(is the mirror %s answering?)", name, stall, r->mirror);
			goto out;
		}
	}
	close(pfd[0]);
	if (ob.len)
		out_line(&ob);

	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			ret = enc_err_sys(err, -errno, "waitpid");
			goto out;
		}
		if (cancelled(o)) {
			kill_child(pid);
			ret = enc_err_set(err, -ECANCELED, "%s interrupted", name);
			goto out;
		}
	}
	int code = exit_code(st);
	if (code != 0) {
		/* debootstrap's last "E:" line is its cause; mmdebstrap's first
		 * (then come "apt-get update failed", "mmdebstrap failed to
		 * run"). */
		const char *err1 = mm ? ob.first_err : ob.last_err;
		const char *why = err1[0] ? err1 : ob.last[0] ? ob.last : "no output";

		ret = enc_err_set(err, -EIO, "%s of suite '%s' from %s failed (exit status %d): %s",
				  name, r->suite, r->mirror, code, why);
		goto out;
	}
	ret = 0;
out:
	sv_free(&av);
	sv_free(&ev);
	return ret;
}

/* ---- mirror probe ------------------------------------------------------------ */

static bool proxy_applies(const char *scheme)
{
	const char *v1 = strcmp(scheme, "https") == 0 ? "https_proxy" : "http_proxy";
	const char *v2 = strcmp(scheme, "https") == 0 ? "HTTPS_PROXY" : "HTTP_PROXY";
	const char *v = getenv(v1);

	if (!v || !*v)
		v = getenv(v2);
	return v && *v;
}

int enc_rootfs_probe_mirror(const char *mirror, unsigned timeout_ms, struct enc_err *err)
{
	char host[256], port[8], q[ENC_QUOTE_BUF];
	const char *scheme, *p;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int last = -ETIMEDOUT;

	if (strncmp(mirror, "file://", 7) == 0) {
		struct stat st;

		if (stat(mirror + 7, &st) < 0)
			return enc_err_sys(err, -errno, "mirror %s", mirror);
		if (!S_ISDIR(st.st_mode))
			return enc_err_set(err, -ENOTDIR, "mirror %s is not a directory", mirror);
		return 0;
	}
	if (strncmp(mirror, "http://", 7) == 0) {
		scheme = "http";
		p = mirror + 7;
		snprintf(port, sizeof(port), "80");
	} else if (strncmp(mirror, "https://", 8) == 0) {
		scheme = "https";
		p = mirror + 8;
		snprintf(port, sizeof(port), "443");
	} else {
		return 0;
	}
	if (proxy_applies(scheme))
		return 0;	/* the proxy fetches; it is what would be probed */

	size_t alen = strcspn(p, "/?#");
	const char *at = memchr(p, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	const char *hs = p, *he, *ps = NULL;
	if (*p == '[') {
		he = memchr(p, ']', alen);
		if (!he)
			goto bad;
		hs = p + 1;
		if (he + 1 < p + alen && he[1] == ':')
			ps = he + 2;
	} else {
		he = memchr(p, ':', alen);
		if (he)
			ps = he + 1;
		else
			he = p + alen;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof(host))
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (ps) {
		size_t pl = (size_t)(p + alen - ps);

		if (pl == 0 || pl >= sizeof(port))
			goto bad;
		memcpy(port, ps, pl);
		port[pl] = '\0';
		uint64_t num;
		if (enc_parse_u64(port, 1, 65535, &num, NULL) < 0)
			goto bad;
	}

	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0)
		return enc_err_set(err, -EHOSTUNREACH, "mirror %s does not answer: cannot resolve %s: %s",
				   mirror, host, gai_strerror(gai));
	uint64_t deadline = now_ms() + timeout_ms;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);

		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			close(fd);
			freeaddrinfo(res);
			return 0;
		}
		if (errno != EINPROGRESS) {
			last = -errno;
			close(fd);
			continue;
		}
		for (;;) {
			uint64_t now = now_ms();
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			int n;

			if (now >= deadline) {
				last = -ETIMEDOUT;
				break;
			}
			n = poll(&pf, 1, (int)(deadline - now));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				last = n < 0 ? -errno : -ETIMEDOUT;
				break;
			}
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			if (soerr == 0) {
				close(fd);
				freeaddrinfo(res);
				return 0;
			}
			last = -soerr;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (last == -ETIMEDOUT)
		return enc_err_set(err, last, "mirror %s does not answer: no connection to %s port %s "
				   "within %u s", mirror, host, port, timeout_ms / 1000);
	return enc_err_set(err, last, "mirror %s does not answer: %s port %s: %s", mirror, host,
			   port, strerror(-last));
bad:
	return enc_err_set(err, -EINVAL, "bad mirror URL '%s'", enc_quote(q, mirror));
}

/* ---- tar imports through libarchive -------------------------------------------- */

/* Restoring everything that makes a rootfs work (owners, setuid bits, file
 * capabilities, ACLs, times), and libarchive's own guards on top of ours.
 * Not FFLAGS: an immutable file would make the generation undeletable.
 * No user/group lookup is installed, so owners stay numeric. */
#define EXTRACT_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
		       ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |                         \
		       ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |   \
		       ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

struct import {
	int target_fd;
	const char *what;		/* the source, for messages */
	const struct enc_rootfs_opts *o;
	struct archive *w;
	struct enc_err *err;
};

static int ar_error(struct import *im, struct archive *a, const char *action, const char *entry)
{
	char q[ENC_QUOTE_BUF], why[512];
	int e = archive_errno(a);
	const char *msg = archive_error_string(a);

	/* libarchive says "Write failed" and keeps the errno apart. */
	snprintf(why, sizeof(why), "%s%s%s", msg ? msg : "error",
		 e > 0 && (!msg || !strstr(msg, strerror(e))) ? ": " : "",
		 e > 0 && (!msg || !strstr(msg, strerror(e))) ? strerror(e) : "");
	return enc_err_set(im->err, e > 0 ? -e : -EIO, "%s: cannot %s%s%s%s: %s", im->what, action,
			   entry ? " '" : "", entry ? enc_quote(q, entry) : "", entry ? "'" : "", why);
}

/* Normalise an entry path to "a/b/c" (no "", "." components); refuse an
 * absolute path or "..". The empty result is the root itself. */
static int norm_path(struct import *im, const char *in, const char *kind, char *out, size_t size)
{
	char q[ENC_QUOTE_BUF];
	size_t o = 0;

	if (!in)
		in = "";
	if (in[0] == '/')
		return enc_err_set(im->err, -EPERM, "%s: refusing %s '%s': absolute path",
				   im->what, kind, enc_quote(q, in));
	for (const char *p = in; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return enc_err_set(im->err, -EPERM, "%s: refusing %s '%s': it contains '..'",
					   im->what, kind, enc_quote(q, in));
		if (n && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > size)
				return enc_err_set(im->err, -ENAMETOOLONG, "%s: %s '%s' is too long",
						   im->what, kind, enc_quote(q, in));
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

/* Our own checks on one entry (on top of libarchive's SECURE_* flags).
 * *skip is set for the root entry: the rootfs stays 0755 root. */
static int check_entry(struct import *im, struct archive_entry *e, bool *skip)
{
	char path[PATH_MAX], q[ENC_QUOTE_BUF], q2[ENC_QUOTE_BUF];
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	int r, fd;

	*skip = false;
	r = norm_path(im, archive_entry_pathname(e), "entry", path, sizeof(path));
	if (r < 0)
		return r;
	if (!path[0]) {
		*skip = true;
		return 0;
	}
	archive_entry_copy_pathname(e, path);
	if (type == AE_IFCHR || type == AE_IFBLK)
		return enc_err_set(im->err, -EPERM,
				   "%s: refusing device node '%s' (%s device): a sandbox holds no "
				   "device nodes, workspaces get their own /dev", im->what,
				   enc_quote(q, path), type == AE_IFCHR ? "character" : "block");

	/* The parent must be reachable without a symlink: whatever the link
	 * points at (outside or inside), nothing is written through it. */
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		fd = enc_opendir_at(im->target_fd, path, NULL);
		if (fd >= 0)
			close(fd);
		*slash = '/';
		if (fd == -ELOOP || fd == -EXDEV)
			return enc_err_set(im->err, -EPERM,
					   "%s: refusing entry '%s': it would be written through a symlink",
					   im->what, enc_quote(q, path));
	}
	if (type == AE_IFDIR) {
		struct stat st;

		fd = enc_openat(im->target_fd, path, O_PATH | O_NOFOLLOW, 0, NULL);
		if (fd >= 0) {
			r = fstat(fd, &st);
			close(fd);
			if (r == 0 && S_ISLNK(st.st_mode))
				return enc_err_set(im->err, -EPERM,
						   "%s: refusing directory '%s': a symlink is in its place",
						   im->what, enc_quote(q, path));
		}
	}
	if (hl) {
		char target[PATH_MAX];

		r = norm_path(im, hl, "hard link target", target, sizeof(target));
		if (r < 0)
			return r;
		if (!target[0])
			return enc_err_set(im->err, -EPERM, "%s: refusing hard link '%s' to the root",
					   im->what, enc_quote(q, path));
		fd = enc_openat(im->target_fd, target, O_PATH | O_NOFOLLOW, 0, NULL);
		if (fd == -ELOOP || fd == -EXDEV)
			return enc_err_set(im->err, -EPERM,
					   "%s: refusing hard link '%s' -> '%s': the target is reached "
					   "through a symlink", im->what, enc_quote(q, path),
					   enc_quote(q2, target));
		if (fd < 0)
			return enc_err_sys(im->err, fd, "%s: hard link '%s' -> '%s'", im->what,
					   enc_quote(q, path), enc_quote(q2, target));
		close(fd);
		archive_entry_copy_hardlink(e, target);
	}
	return 0;
}

/* Write one checked entry and, from `in`, its data. */
static int write_entry(struct import *im, struct archive *in, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	int r = archive_write_header(im->w, e);

	if (r != ARCHIVE_OK)
		return ar_error(im, im->w, "extract", path);
	if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
		for (;;) {
			const void *buf;
			size_t size;
			la_int64_t off;

			if (cancelled(im->o))
				return enc_err_set(im->err, -ECANCELED, "interrupted");
			r = archive_read_data_block(in, &buf, &size, &off);
			if (r == ARCHIVE_EOF)
				break;
			if (r != ARCHIVE_OK)
				return ar_error(im, in, "read", path);
			if (archive_write_data_block(im->w, buf, size, off) != ARCHIVE_OK)
				return ar_error(im, im->w, "write", path);
		}
	}
	if (archive_write_finish_entry(im->w) != ARCHIVE_OK)
		return ar_error(im, im->w, "finish", path);
	return 0;
}

/* libarchive resolves the names it writes against the working directory;
 * we work from inside the target and come back. */
static int enter_target(int target_fd, int *saved, struct enc_err *err)
{
	*saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*saved < 0)
		return enc_err_sys(err, -errno, "cannot open the working directory");
	if (fchdir(target_fd) < 0) {
		int r = -errno;

		close(*saved);
		*saved = -1;
		return enc_err_sys(err, r, "cannot enter the target directory");
	}
	return 0;
}

static void leave_target(int saved)
{
	if (saved >= 0) {
		if (fchdir(saved) < 0 && chdir("/") < 0)
			abort();	/* no working directory at all */
		close(saved);
	}
}

/* Finish the writer inside the target: directory modes and times are
 * applied at close, by relative path. */
static int close_writer(struct import *im, int ret)
{
	if (ret == 0 && archive_write_close(im->w) != ARCHIVE_OK)
		ret = ar_error(im, im->w, "finish the extraction", NULL);
	archive_write_free(im->w);
	im->w = NULL;
	return ret;
}

int enc_rootfs_import_tar(const char *file, int target_fd,
			  const struct enc_rootfs_opts *o, struct enc_err *err)
{
	struct import im = { .target_fd = target_fd, .what = file, .o = o, .err = err };
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int saved = -1, ret = 0;

	im.w = archive_write_disk_new();
	if (!a || !im.w) {
		ret = enc_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(im.w, EXTRACT_FLAGS);
	if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
		ret = ar_error(&im, a, "open the archive", NULL);
		goto out;
	}
	ret = enter_target(target_fd, &saved, err);
	if (ret < 0)
		goto out;
	for (;;) {
		bool skip;
		int r;

		if (cancelled(o)) {
			ret = enc_err_set(err, -ECANCELED, "interrupted");
			break;
		}
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			ret = ar_error(&im, a, "read the archive", NULL);
			break;
		}
		ret = check_entry(&im, e, &skip);
		if (ret < 0)
			break;
		if (skip)
			continue;
		ret = write_entry(&im, a, e);
		if (ret < 0)
			break;
	}
	ret = close_writer(&im, ret);
out:
	leave_target(saved);
	if (im.w)
		archive_write_free(im.w);
	if (a)
		archive_read_free(a);
	return ret;
}

/* ---- tree walks: directory import and cached rootfs adoption ------------------ */

int enc_rootfs_cache_open(const struct enc_store *s, const char *suite,
			  char **relpath, struct enc_err *err)
{
	const char *tries[2] = { suite, "base" };

	for (size_t i = 0; i < 2; i++) {
		char rel[128];
		int fd;

		if (!tries[i])
			continue;
		snprintf(rel, sizeof(rel), ENC_SANDBOX_CACHE_DIR "/%s", tries[i]);
		fd = enc_opendir_at(s->fd, rel, NULL);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return enc_err_sys(err, fd, "cannot open %s/%s", s->path, rel);
		*relpath = strdup(rel);
		if (!*relpath) {
			close(fd);
			return enc_err_set(err, -ENOMEM, "out of memory");
		}
		return fd;
	}
	return enc_err_set(err, -ENOENT,
			   "no cached root file system: neither %s/" ENC_SANDBOX_CACHE_DIR
			   "/%s/ nor %s/" ENC_SANDBOX_CACHE_DIR "/base/ exists",
			   s->path, suite ? suite : "<suite>", s->path);
}

const char *enc_adopt_mode_str(enum enc_adopt_mode m)
{
	switch (m) {
	case ENC_ADOPT_REFLINK:
		return "reflink";
	case ENC_ADOPT_HARDLINK:
		return "hardlink";
	case ENC_ADOPT_COPY:
		return "copy";
	}
	return "unknown";
}

/*
 * One walker for both: fd-relative on both sides (every entry is created
 * with O_EXCL/O_NOFOLLOW in a directory we just made, so nothing is ever
 * written through a symlink), metadata copied after content. Regular files
 * are cloned (FICLONE) where the file system can; otherwise a cached rootfs
 * is hard-linked and an imported directory is copied. The first regular
 * file decides. (libarchive's read_disk is not used: it fchdir()s while it
 * walks, which breaks the working-directory-relative extraction.)
 */
struct walk {
	enum enc_adopt_mode mode;
	bool decided;
	bool allow_hardlink;
	dev_t dev;
	int dst_root;
	const char *src_path, *dst_path;
	const struct enc_rootfs_opts *o;
	struct inoset links;		/* source inode -> index in paths */
	char **paths;			/* first copy of each multiply-linked file */
	size_t npaths;
	char rel[PATH_MAX];		/* current path relative to both roots */
	size_t rlen;
	struct enc_err *err;
};

static int rel_push(struct walk *w, const char *name, size_t *old)
{
	size_t n = strlen(name);

	*old = w->rlen;
	if (w->rlen + n + 2 > sizeof(w->rel))
		return enc_err_set(w->err, -ENAMETOOLONG, "%s: path too long beneath %s",
				   w->src_path, w->rel);
	if (w->rlen)
		w->rel[w->rlen++] = '/';
	memcpy(w->rel + w->rlen, name, n + 1);
	w->rlen += n;
	return 0;
}

static void rel_pop(struct walk *w, size_t old)
{
	w->rlen = old;
	w->rel[old] = '\0';
}

static int copy_xattrs(struct walk *w, int sfd, int dfd)
{
	_cleanup_free_ char *spath = NULL, *dpath = NULL, *val = NULL;
	char names[65536];
	size_t vcap = 0;
	ssize_t n;

	if (sfd >= 0) {
		n = flistxattr(sfd, names, sizeof(names));
	} else {
		/* Symlinks and FIFOs: only by path (no fd for a symlink's
		 * xattrs before Linux 6.13). Both trees are the caller's. */
		if (asprintf(&spath, "%s/%s", w->src_path, w->rel) < 0 ||
		    asprintf(&dpath, "%s/%s", w->dst_path, w->rel) < 0)
			return enc_err_set(w->err, -ENOMEM, "out of memory");
		n = llistxattr(spath, names, sizeof(names));
	}
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		return enc_err_sys(w->err, -errno, "cannot list the xattrs of %s/%s",
				   w->src_path, w->rel);
	}
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t len = sfd >= 0 ? fgetxattr(sfd, p, NULL, 0) : lgetxattr(spath, p, NULL, 0);

		if (len >= 0 && (size_t)len + 1 > vcap) {
			char *nv = realloc(val, (size_t)len + 1);

			if (!nv)
				return enc_err_set(w->err, -ENOMEM, "out of memory");
			val = nv;
			vcap = (size_t)len + 1;
		}
		if (len >= 0)
			len = sfd >= 0 ? fgetxattr(sfd, p, val, vcap) : lgetxattr(spath, p, val, vcap);
		if (len < 0)
			return enc_err_sys(w->err, -errno, "cannot read xattr %s of %s/%s", p,
					   w->src_path, w->rel);
		if ((sfd >= 0 ? fsetxattr(dfd, p, val, (size_t)len, 0) :
				lsetxattr(dpath, p, val, (size_t)len, 0)) < 0)
			return enc_err_sys(w->err, -errno, "cannot set xattr %s on %s/%s", p,
					   w->dst_path, w->rel);
	}
	return 0;
}

/* The copy's owner: the source's, but o->own_uid's files are root's. */
static uid_t owner_uid(const struct walk *w, const struct stat *st)
{
	return w->o && w->o->own_uid && st->st_uid == w->o->own_uid ? 0 : st->st_uid;
}

static gid_t owner_gid(const struct walk *w, const struct stat *st)
{
	return w->o && w->o->own_gid && st->st_gid == w->o->own_gid ? 0 : st->st_gid;
}

/* Owner, then mode (chown clears setuid bits), then xattrs (chown also
 * clears security.capability), then times, last of all. */
static int copy_meta_fd(struct walk *w, int sfd, int dfd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int r;

	if (fchown(dfd, owner_uid(w, st), owner_gid(w, st)) < 0 ||
	    fchmod(dfd, st->st_mode & 07777) < 0)
		return enc_err_sys(w->err, -errno, "cannot set owner and mode of %s/%s",
				   w->dst_path, w->rel);
	r = copy_xattrs(w, sfd, dfd);
	if (r < 0)
		return r;
	if (futimens(dfd, ts) < 0)
		return enc_err_sys(w->err, -errno, "cannot set the times of %s/%s", w->dst_path, w->rel);
	return 0;
}

static int copy_meta_at(struct walk *w, int dfd, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int r;

	if (fchownat(dfd, name, owner_uid(w, st), owner_gid(w, st), AT_SYMLINK_NOFOLLOW) < 0)
		return enc_err_sys(w->err, -errno, "cannot set the owner of %s/%s", w->dst_path, w->rel);
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return enc_err_sys(w->err, -errno, "cannot set the mode of %s/%s", w->dst_path, w->rel);
	r = copy_xattrs(w, -1, -1);
	if (r < 0)
		return r;
	if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return enc_err_sys(w->err, -errno, "cannot set the times of %s/%s", w->dst_path, w->rel);
	return 0;
}

static int copy_data(struct walk *w, int in, int out)
{
	bool plain = false;
	char *buf = NULL;
	int ret = 0;

	for (;;) {
		ssize_t n;

		if (cancelled(w->o)) {
			ret = enc_err_set(w->err, -ECANCELED, "interrupted");
			break;
		}
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			if (!buf && !(buf = malloc(1 << 17))) {
				ret = enc_err_set(w->err, -ENOMEM, "out of memory");
				break;
			}
			n = read(in, buf, 1 << 17);
			for (ssize_t off = 0; n > 0 && off < n;) {
				ssize_t k = write(out, buf + off, (size_t)(n - off));

				if (k < 0 && errno != EINTR) {
					n = -1;
					break;
				}
				off += k > 0 ? k : 0;
			}
		}
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			ret = enc_err_sys(w->err, -errno, "cannot copy %s/%s", w->src_path, w->rel);
			break;
		}
	}
	free(buf);
	return ret;
}

static int walk_regular(struct walk *w, int sfd, int dfd, const char *name,
			const struct stat *st)
{
	if (w->decided && w->mode == ENC_ADOPT_HARDLINK) {
		if (linkat(sfd, name, dfd, name, 0) < 0)
			return enc_err_sys(w->err, -errno, "cannot hard-link %s/%s", w->src_path, w->rel);
		return 0;
	}
	/* Own inodes: recreate the source's hard links among the copies. */
	if (st->st_nlink > 1) {
		bool found;
		size_t *idx;

		if (inoset_get(&w->links, st->st_dev, st->st_ino, &found, &idx) < 0)
			return enc_err_set(w->err, -ENOMEM, "out of memory");
		if (found) {
			if (linkat(w->dst_root, w->paths[*idx], dfd, name, 0) < 0)
				return enc_err_sys(w->err, -errno, "cannot link %s/%s", w->dst_path, w->rel);
			return 0;
		}
		char **np = reallocarray(w->paths, w->npaths + 1, sizeof(*np));
		if (!np)
			return enc_err_set(w->err, -ENOMEM, "out of memory");
		w->paths = np;
		if (!(np[w->npaths] = strdup(w->rel)))
			return enc_err_set(w->err, -ENOMEM, "out of memory");
		*idx = w->npaths++;
	}

	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return enc_err_sys(w->err, -errno, "cannot open %s/%s", w->src_path, w->rel);
	_cleanup_close_ int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					 O_CLOEXEC, 0600);
	if (out < 0)
		return enc_err_sys(w->err, -errno, "cannot create %s/%s", w->dst_path, w->rel);
	if (!w->decided || w->mode == ENC_ADOPT_REFLINK) {
		if (ioctl(out, FICLONE, in) == 0) {
			w->decided = true;
			w->mode = ENC_ADOPT_REFLINK;
			return copy_meta_fd(w, in, out, st);
		}
		if (w->decided)
			return enc_err_sys(w->err, -errno, "cannot clone %s/%s", w->src_path, w->rel);
		/* The first file tells: no reflinks on this file system. */
		w->decided = true;
		w->mode = w->allow_hardlink ? ENC_ADOPT_HARDLINK : ENC_ADOPT_COPY;
		if (w->mode == ENC_ADOPT_HARDLINK) {
			close(steal_fd(&out));
			unlinkat(dfd, name, 0);
			if (linkat(sfd, name, dfd, name, 0) < 0)
				return enc_err_sys(w->err, -errno, "cannot hard-link %s/%s",
						   w->src_path, w->rel);
			return 0;
		}
	}
	int r = copy_data(w, in, out);
	return r < 0 ? r : copy_meta_fd(w, in, out, st);
}

static int walk_dir(struct walk *w, int sfd, int dfd, unsigned depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	if (depth > MAX_DEPTH)
		return enc_err_set(w->err, -ELOOP, "%s/%s: too deep", w->src_path, w->rel);
	d = dir_dup(sfd);
	if (!d)
		return enc_err_sys(w->err, -errno, "cannot read %s/%s", w->src_path, w->rel);
	while ((de = readdir(d))) {
		struct stat st;
		size_t old;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (cancelled(w->o))
			return enc_err_set(w->err, -ECANCELED, "interrupted");
		r = rel_push(w, de->d_name, &old);
		if (r < 0)
			return r;
		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return enc_err_sys(w->err, -errno, "cannot stat %s/%s", w->src_path, w->rel);
		switch (st.st_mode & S_IFMT) {
		case S_IFDIR: {
			if (mkdirat(dfd, de->d_name, 0700) < 0)
				return enc_err_sys(w->err, -errno, "cannot create %s/%s", w->dst_path, w->rel);
			_cleanup_close_ int s2 = openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY |
							O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int d2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
							O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				return enc_err_sys(w->err, -errno, "cannot open %s", w->rel);
			/* A mount point (a live chroot's /proc ...) is made,
			 * empty: another file system is not part of the tree. */
			r = st.st_dev == w->dev ? walk_dir(w, s2, d2, depth + 1) : 0;
			if (r == 0)
				r = copy_meta_fd(w, s2, d2, &st);
			break;
		}
		case S_IFREG:
			r = st.st_dev == w->dev ? walk_regular(w, sfd, dfd, de->d_name, &st) : 0;
			break;
		case S_IFLNK: {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sfd, de->d_name, target, sizeof(target));

			if (n < 0 || (size_t)n >= sizeof(target))
				return enc_err_sys(w->err, n < 0 ? -errno : -ENAMETOOLONG,
						   "cannot read symlink %s/%s", w->src_path, w->rel);
			target[n] = '\0';
			if (symlinkat(target, dfd, de->d_name) < 0)
				return enc_err_sys(w->err, -errno, "cannot create %s/%s", w->dst_path, w->rel);
			r = copy_meta_at(w, dfd, de->d_name, &st);
			break;
		}
		case S_IFIFO:
		case S_IFSOCK:
			if (mknodat(dfd, de->d_name, st.st_mode & (S_IFMT | 0600), 0) < 0)
				return enc_err_sys(w->err, -errno, "cannot create %s/%s", w->dst_path, w->rel);
			r = copy_meta_at(w, dfd, de->d_name, &st);
			break;
		default:
			return enc_err_set(w->err, -EPERM,
					   "refusing device node %s/%s: a sandbox holds no device "
					   "nodes, workspaces get their own /dev", w->src_path, w->rel);
		}
		if (r < 0)
			return r;
		rel_pop(w, old);
	}
	return 0;
}

static int walk_tree(int src_fd, const char *src_path, int target_fd, const char *target_path,
		     bool allow_hardlink, const struct enc_rootfs_opts *o,
		     enum enc_adopt_mode *mode, struct enc_err *err)
{
	struct walk w = {
		.allow_hardlink = allow_hardlink, .dst_root = target_fd,
		.src_path = src_path, .dst_path = target_path, .o = o, .err = err,
	};
	struct stat s1, s2;
	int r;

	if (fstat(src_fd, &s1) < 0 || fstat(target_fd, &s2) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", src_path);
	w.dev = s1.st_dev;
	/* Neither reflinks nor hard links cross file systems. */
	if (s1.st_dev != s2.st_dev)
		w.allow_hardlink = false;
	r = walk_dir(&w, src_fd, target_fd, 0);
	for (size_t i = 0; i < w.npaths; i++)
		free(w.paths[i]);
	free(w.paths);
	free(w.links.v);
	if (mode)
		*mode = w.decided ? w.mode : w.allow_hardlink ? ENC_ADOPT_HARDLINK : ENC_ADOPT_COPY;
	return r;
}

int enc_rootfs_import_dir(const char *src, int target_fd, const char *target_path,
			  const struct enc_rootfs_opts *o, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;

	if (src[0] != '/')
		return enc_err_set(err, -EINVAL, "source %s is not an absolute path", src);
	fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", src);
	return walk_tree(fd, src, target_fd, target_path, false, o, NULL, err);
}

int enc_rootfs_adopt(int src_fd, const char *src_path, int target_fd,
		     const char *target_path, const struct enc_rootfs_opts *o,
		     enum enc_adopt_mode *mode, struct enc_err *err)
{
	return walk_tree(src_fd, src_path, target_fd, target_path, true, o, mode, err);
}

/* ---- fingerprints ------------------------------------------------------------- */

int enc_rootfs_fingerprint_file(const char *path, char hex[ENC_SHA256_HEX],
				struct enc_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct enc_sha256 *h;
	struct stat st;
	char *buf;

	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "%s is not a regular file", path);
	h = enc_sha256_new();
	buf = malloc(1 << 20);
	if (!h || !buf) {
		enc_sha256_free(h);
		free(buf);
		return enc_err_set(err, -ENOMEM, "out of memory");
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = enc_err_sys(err, -errno, "cannot read %s", path);
			enc_sha256_free(h);
			free(buf);
			return r;
		}
		enc_sha256_update(h, buf, (size_t)n);
	}
	free(buf);
	return enc_sha256_final_hex(h, hex) < 0 ? enc_err_set(err, -ENOMEM, "out of memory") : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int enc_rootfs_fingerprint_dir(int dirfd, const char *what, char hex[ENC_SHA256_HEX],
			       struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct enc_strv names = { 0 };
	struct enc_sha256 *h;
	struct dirent *de;
	struct stat st;
	char buf[160];
	int r = 0;

	if (fstat(dirfd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", what);
	d = dir_dup(dirfd);
	if (!d)
		return enc_err_sys(err, -errno, "cannot read %s", what);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    enc_strv_push(&names, de->d_name) < 0) {
			enc_strv_free(&names);
			return enc_err_set(err, -ENOMEM, "out of memory");
		}
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_name);
	h = enc_sha256_new();
	if (!h) {
		enc_strv_free(&names);
		return enc_err_set(err, -ENOMEM, "out of memory");
	}
	enc_sha256_field(h, "enclave-dir-fingerprint/1");
	snprintf(buf, sizeof(buf), "%ju:%ju:%jd.%09ld:%jd.%09ld", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino, (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		 (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	enc_sha256_field(h, buf);
	for (size_t i = 0; i < names.n; i++) {
		struct stat es;

		enc_sha256_field(h, names.v[i]);
		if (fstatat(dirfd, names.v[i], &es, AT_SYMLINK_NOFOLLOW) < 0) {
			r = enc_err_sys(err, -errno, "cannot stat %s/%s", what, names.v[i]);
			break;
		}
		snprintf(buf, sizeof(buf), "%jd.%09ld", (intmax_t)es.st_mtim.tv_sec, es.st_mtim.tv_nsec);
		enc_sha256_field(h, buf);
	}
	enc_strv_free(&names);
	if (r < 0) {
		enc_sha256_free(h);
		return r;
	}
	return enc_sha256_final_hex(h, hex) < 0 ? enc_err_set(err, -ENOMEM, "out of memory") : 0;
}

/* ---- measuring ------------------------------------------------------------------ */

struct measure {
	dev_t dev;
	bool strip;
	uint64_t bytes;
	unsigned stripped;
	struct inoset seen;
	struct enc_err *err;
};

static int measure_dir(struct measure *m, int fd, unsigned depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (depth > MAX_DEPTH)
		return enc_err_set(m->err, -ELOOP, "directory tree too deep");
	d = dir_dup(fd);
	if (!d)
		return enc_err_sys(m->err, -errno, "cannot read a directory");
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return enc_err_sys(m->err, -errno, "cannot stat %s", de->d_name);
		if (st.st_dev != m->dev)
			continue;	/* a mount point: not ours to count */
		if (m->strip && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
			if (unlinkat(fd, de->d_name, 0) < 0)
				return enc_err_sys(m->err, -errno, "cannot remove device node %s",
						   de->d_name);
			m->stripped++;
			continue;
		}
		if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) {
			bool found;
			size_t *v;

			if (inoset_get(&m->seen, st.st_dev, st.st_ino, &found, &v) < 0)
				return enc_err_set(m->err, -ENOMEM, "out of memory");
			if (found)
				continue;
		}
		m->bytes += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
							 O_NOFOLLOW | O_CLOEXEC);
			int r;

			if (sub < 0)
				return enc_err_sys(m->err, -errno, "cannot open %s", de->d_name);
			r = measure_dir(m, sub, depth + 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int enc_rootfs_measure(int dirfd, bool strip_devices, uint64_t *bytes,
		       unsigned *stripped, struct enc_err *err)
{
	struct measure m = { .strip = strip_devices, .err = err };
	struct stat st;
	int r;

	if (fstat(dirfd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat the rootfs");
	m.dev = st.st_dev;
	m.bytes = (uint64_t)st.st_blocks * 512;
	r = measure_dir(&m, dirfd, 0);
	free(m.seen.v);
	if (r < 0)
		return r;
	*bytes = m.bytes;
	if (stripped)
		*stripped = m.stripped;
	return 0;
}
