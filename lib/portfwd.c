/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portfwd.c - port publishing through a userspace forwarder. See
 * portfwd.h for the design and the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "caps.h"
#include "fsutil.h"
#include "parse.h"
#include "portfwd.h"
#include "util.h"

#define NOBODY 65534u
#define REC_MAX 256
#define LOCK_NAME "lock"

/* ---- pure helpers ------------------------------------------------------ */

static int fit(int n, size_t len)
{
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}

int enc_port_host_str(const struct enc_port *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const char *proto = enc_proto_str(p->proto);

	if (!proto || enc_format_ip(&p->host, a, sizeof(a)) < 0)
		return -EINVAL;
	if (p->host.family == AF_INET6)
		return fit(snprintf(buf, len, "[%s]:%u/%s", a, p->host_port, proto), len);
	return fit(snprintf(buf, len, "%s:%u/%s", a, p->host_port, proto), len);
}

int enc_port_rec_name(const struct enc_port *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const char *proto = enc_proto_str(p->proto);

	if (!proto || p->host_port == 0 || enc_format_ip(&p->host, a, sizeof(a)) < 0)
		return -EINVAL;
	return fit(snprintf(buf, len, "%s-%s-%u", proto, a, p->host_port), len);
}

int enc_port_rec_format(const struct enc_port_rec *r, char *buf, size_t len)
{
	char spec[ENC_PORT_SPEC_MAX];

	if (fit(enc_format_port(&r->port, spec, sizeof(spec)), sizeof(spec)) < 0 ||
	    r->fwd.pid <= 0)
		return -EINVAL;
	return fit(snprintf(buf, len, "%s %d %" PRIu64 "\n", spec, (int)r->fwd.pid, r->fwd.start),
		   len);
}

int enc_port_rec_parse(const char *s, struct enc_port_rec *r, struct enc_err *err)
{
	char spec[ENC_PORT_SPEC_MAX];
	struct enc_port_rec tmp = {};
	const char *sp = strchr(s, ' ');

	if (!sp || sp == s || (size_t)(sp - s) >= sizeof(spec))
		return enc_err_set(err, -EINVAL, "malformed port record '%s'", s);
	memcpy(spec, s, (size_t)(sp - s));
	spec[sp - s] = '\0';
	if (enc_parse_port(spec, &tmp.port, NULL) < 0 || tmp.port.proto == ENC_PROTO_ANY ||
	    enc_pidref_parse(sp + 1, &tmp.fwd) < 0)
		return enc_err_set(err, -EINVAL, "malformed port record '%s'", s);
	*r = tmp;
	return 0;
}

bool enc_port_same_host(const struct enc_port *a, const struct enc_port *b)
{
	size_t n = a->host.family == AF_INET ? 4 : 16;

	return a->host.family == b->host.family && a->host_port == b->host_port &&
	       a->proto == b->proto && memcmp(a->host.addr, b->host.addr, n) == 0;
}

static socklen_t sockaddr_of(const struct enc_ip *ip, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, ip->addr, 4);
	return sizeof(*s4);
}

/* ---- records ----------------------------------------------------------- */

static int ports_dir(const struct enc_ws *w, bool create, struct enc_err *err)
{
	if (create)
		return enc_mkdir_p_at(w->run_fd, ENC_PORTS_DIR, 0700, err);
	return enc_opendir_at(w->run_fd, ENC_PORTS_DIR, err);
}

static int read_rec(int dfd, const char *name, struct enc_port_rec *r, struct enc_err *err)
{
	_cleanup_free_ char *s = NULL;
	char want[ENC_PORT_NAME_MAX];
	int ret = enc_fact_read(dfd, name, REC_MAX, true, &s, NULL, err);

	if (ret < 0)
		return ret;
	ret = enc_port_rec_parse(s, r, err);
	if (ret < 0) {
		enc_err_prefix(err, "%s/%s: ", ENC_PORTS_DIR, name);
		return ret;
	}
	/* The name is derived from the content: a record that says
	 * otherwise was not written by us. */
	if (enc_port_rec_name(&r->port, want, sizeof(want)) < 0 || strcmp(want, name) != 0)
		return enc_err_set(err, -EINVAL, "%s/%s: record does not match its name",
				   ENC_PORTS_DIR, name);
	return 0;
}

int enc_ports_alive(const struct enc_port_rec *r)
{
	int fd = enc_pidref_open(&r->fwd, NULL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* SIGKILL the forwarder through its verified pidref and wait until it is
 * gone, so its host socket is closed when we return. A process that is
 * already gone is success. */
static int kill_fwd(const struct enc_pidref *ref, struct enc_err *err)
{
	_cleanup_close_ int pfd = enc_pidref_open(ref, NULL);

	if (pfd < 0)
		return 0;
	int r = enc_pidfd_send_signal(pfd, SIGKILL);
	if (r < 0 && r != -ESRCH)
		return enc_err_sys(err, r, "cannot stop the port forwarder (pid %d)",
				   (int)ref->pid);
	/* A pidfd turns readable when the process has exited; its files are
	 * closed before that. */
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	if (ENC_RETRY(poll(&p, 1, 5000)) <= 0)
		return enc_err_set(err, -ETIMEDOUT, "the port forwarder (pid %d) did not exit",
				   (int)ref->pid);
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct enc_port *x = &((const struct enc_port_rec *)a)->port;
	const struct enc_port *y = &((const struct enc_port_rec *)b)->port;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->host.family != y->host.family)
		return x->host.family < y->host.family ? -1 : 1;
	int c = memcmp(x->host.addr, y->host.addr, 16);
	if (c)
		return c;
	return (int)x->host_port - (int)y->host_port;
}

static bool is_rec_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.' || strcmp(n, LOCK_NAME) == 0)
		return false;
	return !(l > 4 && strcmp(n + l - 4, ".new") == 0);
}

int enc_ports_list(const struct enc_ws *w, struct enc_port_rec **out, size_t *n,
		   struct enc_err *err)
{
	*out = NULL;
	*n = 0;
	int dfd = ports_dir(w, false, NULL);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return enc_err_sys(err, dfd, "cannot open %s/%s", w->run_path, ENC_PORTS_DIR);
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return enc_err_sys(err, e, "cannot list %s/%s", w->run_path, ENC_PORTS_DIR);
	}
	struct enc_port_rec *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	int r = 0;
	while ((errno = 0, de = readdir(d))) {
		if (!is_rec_name(de->d_name))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct enc_port_rec *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				r = enc_err_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
			v = nv;
			cap = nc;
		}
		r = read_rec(dirfd(d), de->d_name, &v[cnt], err);
		if (r == -ENOENT) {	/* unpublished meanwhile */
			enc_err_clear(err);
			continue;
		}
		if (r < 0)
			goto fail;
		cnt++;
	}
	if (errno) {
		r = enc_err_sys(err, -errno, "cannot list %s/%s", w->run_path, ENC_PORTS_DIR);
		goto fail;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_rec);
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(v);
	return r;
}

void enc_ports_clear(const struct enc_ws *w)
{
	if (w->run_fd >= 0)
		enc_rm_rf_at(w->run_fd, ENC_PORTS_DIR, NULL);
}

/* ---- the forwarder ----------------------------------------------------- */

struct fwd {
	int lfd;		/* the host socket (host network namespace) */
	struct enc_port port;
	struct sockaddr_storage inside;	/* workspace loopback:ws_port */
	socklen_t inside_len;
};

struct dir_buf {
	char *data;
	size_t off, len;
	bool eof;	/* the source sent FIN */
	bool shut;	/* FIN passed on to the destination */
};

struct conn {
	int fd[2];		/* 0: host client, 1: inside the workspace */
	bool connecting;
	struct dir_buf b[2];	/* b[d]: from fd[d] to fd[1 - d] */
};

struct flow {
	int fd;			/* connected socket inside */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int64_t last_ms;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close both ends; with reset, abort them (RST) so the peers see the
 * failure instead of a clean end of stream. */
static void conn_close(struct conn *c, bool reset)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		if (reset) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd[i]);
		c->fd[i] = -1;
		free(c->b[i].data);
		c->b[i].data = NULL;
	}
}

static struct conn *conn_new(const struct fwd *f, int cfd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd[0] = cfd;
	c->fd[1] = -1;
	c->b[0].data = malloc(ENC_PORTFWD_BUF);
	c->b[1].data = malloc(ENC_PORTFWD_BUF);
	if (!c->b[0].data || !c->b[1].data)
		goto fail;
	/* Created after setns(): the socket lives in the workspace's network
	 * namespace. */
	c->fd[1] = socket(f->inside.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd[1] < 0)
		goto fail;
	/* A relay must not add Nagle's delay to what the ends already
	 * decided to send: both sides write at once. */
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd[1], (const struct sockaddr *)&f->inside, f->inside_len) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		c->connecting = true;
	}
	return c;
fail:
	conn_close(c, true);
	free(c);
	return NULL;
}

/* Move what can be moved in direction d. Returns -1 when the connection
 * must be reset. */
static int conn_pump(struct conn *c, int d)
{
	struct dir_buf *b = &c->b[d];
	int src = c->fd[d], dst = c->fd[1 - d];

	for (;;) {
		bool progress = false;
		if (!b->eof && b->off + b->len < ENC_PORTFWD_BUF && !(d == 1 && c->connecting)) {
			ssize_t n = recv(src, b->data + b->off + b->len,
					 ENC_PORTFWD_BUF - b->off - b->len, MSG_DONTWAIT);
			if (n > 0) {
				b->len += (size_t)n;
				progress = true;
			} else if (n == 0) {
				b->eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (b->len > 0 && !(d == 0 && c->connecting)) {
			ssize_t n = send(dst, b->data + b->off, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				b->off += (size_t)n;
				b->len -= (size_t)n;
				if (b->len == 0)
					b->off = 0;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (b->off > 0 && b->len > 0 && b->off + b->len == ENC_PORTFWD_BUF) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
			progress = true;
		}
		/* Half-close: pass the FIN on once everything before it is. */
		if (b->eof && b->len == 0 && !b->shut && !(d == 0 && c->connecting)) {
			shutdown(dst, SHUT_WR);
			b->shut = true;
		}
		if (!progress)
			return 0;
	}
}

static short conn_events(const struct conn *c, int i)
{
	short ev = 0;

	if (i == 1 && c->connecting)
		return POLLOUT;
	/* Reading fd[i] feeds b[i]; writing fd[i] drains b[1 - i]. */
	if (!c->b[i].eof && c->b[i].off + c->b[i].len < ENC_PORTFWD_BUF &&
	    !(i == 1 && c->connecting))
		ev |= POLLIN;
	if (c->b[1 - i].len > 0)
		ev |= POLLOUT;
	return ev;
}

ENC_NORETURN static void serve_tcp(struct fwd *f)
{
	struct conn **conns = calloc(ENC_PORTFWD_MAX_CONN, sizeof(*conns));
	struct pollfd *pfd = calloc(1 + 2 * ENC_PORTFWD_MAX_CONN, sizeof(*pfd));
	int *owner = calloc(1 + 2 * ENC_PORTFWD_MAX_CONN, sizeof(*owner));
	size_t nconn = 0;

	if (!conns || !pfd || !owner)
		_exit(1);
	for (;;) {
		size_t np = 0;
		pfd[np] = (struct pollfd){ .fd = nconn < ENC_PORTFWD_MAX_CONN ? f->lfd : -1,
					   .events = POLLIN };
		owner[np++] = -1;
		for (size_t k = 0; k < nconn; k++)
			for (int i = 0; i < 2; i++) {
				short ev = conn_events(conns[k], i);
				/* An fd we want nothing from stays out of
				 * the set: its POLLHUP would spin the loop. */
				pfd[np] = (struct pollfd){ .fd = ev ? conns[k]->fd[i] : -1,
							   .events = ev };
				owner[np++] = (int)(k * 2 + (size_t)i);
			}
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		/* Existing connections first: indices stay valid. */
		for (size_t j = 1; j < np; j++) {
			if (!pfd[j].revents)
				continue;
			size_t k = (size_t)owner[j] / 2;
			int i = owner[j] % 2;
			struct conn *c = conns[k];
			if (!c || c->fd[0] < 0)
				continue;
			if (i == 1 && c->connecting) {
				int soerr = 0;
				socklen_t sl = sizeof(soerr);
				if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
				    soerr) {
					conn_close(c, true);
					continue;
				}
				c->connecting = false;
			}
			if (conn_pump(c, 0) < 0 || conn_pump(c, 1) < 0) {
				conn_close(c, true);
				continue;
			}
			if (c->b[0].shut && c->b[1].shut)
				conn_close(c, false);
		}
		/* Compact: drop closed connections. */
		size_t live = 0;
		for (size_t k = 0; k < nconn; k++) {
			if (conns[k]->fd[0] < 0) {
				free(conns[k]);
				continue;
			}
			conns[live++] = conns[k];
		}
		nconn = live;
		if (pfd[0].revents & POLLIN) {
			while (nconn < ENC_PORTFWD_MAX_CONN) {
				int cfd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (cfd < 0) {
					if (errno == EINTR || errno == ECONNABORTED)
						continue;
					break;
				}
				struct conn *c = conn_new(f, cfd);
				if (!c) {
					/* Nothing to connect to: tell the
					 * client at once. */
					struct linger l = { .l_onoff = 1, .l_linger = 0 };
					setsockopt(cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
					close(cfd);
					continue;
				}
				conns[nconn++] = c;
			}
		}
	}
}

static struct flow *flow_find(struct flow *fl, size_t n, const struct sockaddr_storage *peer,
			      socklen_t plen)
{
	for (size_t k = 0; k < n; k++)
		if (fl[k].peer_len == plen && memcmp(&fl[k].peer, peer, plen) == 0)
			return &fl[k];
	return NULL;
}

ENC_NORETURN static void serve_udp(struct fwd *f)
{
	static char dgram[65536];
	struct flow *fl = calloc(ENC_PORTFWD_MAX_CONN, sizeof(*fl));
	struct pollfd *pfd = calloc(1 + ENC_PORTFWD_MAX_CONN, sizeof(*pfd));
	size_t n = 0;

	if (!fl || !pfd)
		_exit(1);
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		for (size_t k = 0; k < n; k++)
			pfd[1 + k] = (struct pollfd){ .fd = fl[k].fd, .events = POLLIN };
		if (poll(pfd, 1 + n, n ? 1000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		int64_t now = mono_ms();
		/* Replies from inside go back to their client. */
		for (size_t k = 0; k < n; k++) {
			if (!pfd[1 + k].revents)
				continue;
			for (int burst = 0; burst < 64; burst++) {
				ssize_t len = recv(fl[k].fd, dgram, sizeof(dgram), MSG_DONTWAIT);
				if (len < 0) {
					/* ECONNREFUSED: nothing listens inside
					 * (an ICMP error); the client will
					 * time out, as without us. */
					if (errno == EAGAIN || errno != ECONNREFUSED)
						break;
					continue;
				}
				fl[k].last_ms = now;
				sendto(f->lfd, dgram, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
				       (const struct sockaddr *)&fl[k].peer, fl[k].peer_len);
			}
		}
		if (pfd[0].revents & POLLIN) {
			for (int burst = 0; burst < 64; burst++) {
				struct sockaddr_storage peer;
				socklen_t plen = sizeof(peer);
				ssize_t len = recvfrom(f->lfd, dgram, sizeof(dgram), MSG_DONTWAIT,
						       (struct sockaddr *)&peer, &plen);
				if (len < 0)
					break;
				struct flow *x = flow_find(fl, n, &peer, plen);
				if (!x) {
					if (n == ENC_PORTFWD_MAX_CONN) {
						/* Full: the least recently used
						 * flow makes room. */
						size_t old = 0;
						for (size_t k = 1; k < n; k++)
							if (fl[k].last_ms < fl[old].last_ms)
								old = k;
						close(fl[old].fd);
						fl[old] = fl[--n];
					}
					int s = socket(f->inside.ss_family,
						       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
					if (s < 0)
						continue;
					if (connect(s, (const struct sockaddr *)&f->inside,
						    f->inside_len) < 0) {
						close(s);
						continue;
					}
					x = &fl[n++];
					*x = (struct flow){ .fd = s, .peer = peer, .peer_len = plen };
				}
				x->last_ms = now;
				send(x->fd, dgram, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
			}
		}
		for (size_t k = 0; k < n;) {
			if (now - fl[k].last_ms >= ENC_PORTFWD_UDP_IDLE_MS) {
				close(fl[k].fd);
				fl[k] = fl[--n];
				continue;
			}
			k++;
		}
	}
}

/* "E errno message\n" to the publisher, then exit. */
ENC_NORETURN static void fwd_fail(int sync, const struct enc_err *e)
{
	char buf[ENC_ERR_MSG_MAX + 32];
	int n = snprintf(buf, sizeof(buf), "E %d %s\n", e->code ? -e->code : EIO,
			 e->msg[0] ? e->msg : "the port forwarder failed");
	if (n > 0)
		(void)!write(sync, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	_exit(1);
}

struct fwd_start {
	int lfd, sync, netns;
	struct enc_cgroup *cg;
	struct enc_port port;
	uid_t uid;
};

ENC_NORETURN static void forwarder_main(const struct fwd_start *s)
{
	struct enc_err e = {};
	struct fwd f = { .lfd = s->lfd, .port = s->port };
	uint64_t start;

	/* Whatever the publisher had blocked or redirected (the monitor
	 * blocks SIGTERM and SIGCHLD for its signalfd) is not ours. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "enclave-fwd");
	enc_stdio_devnull();

	/* Into the workspace's cgroup first: from here on every kill of the
	 * workspace reaches us. */
	if (enc_cgroup_attach(s->cg, 0, &e) < 0)
		fwd_fail(s->sync, &e);
	int r = enc_proc_starttime(getpid(), &start);
	if (r < 0) {
		enc_err_sys(&e, r, "cannot read the forwarder's start time");
		fwd_fail(s->sync, &e);
	}
	/* An ordinary user has CAP_SYS_ADMIN only in the workspace's user
	 * namespace (it owns it), and joining a network namespace needs it
	 * in our own too: join the owner first. Our ids are then the
	 * namespace's, so "nobody" below is the workspace's own. */
	if (geteuid() != 0) {
		int uns = ioctl(s->netns, NS_GET_USERNS);
		if (uns < 0 || setns(uns, CLONE_NEWUSER) < 0) {
			enc_err_sys(&e, -errno, "cannot join the workspace's user namespace");
			fwd_fail(s->sync, &e);
		}
		close(uns);
	}
	if (setns(s->netns, CLONE_NEWNET) < 0) {
		enc_err_sys(&e, -errno, "cannot join the workspace's network namespace");
		fwd_fail(s->sync, &e);
	}
	/* Room for every connection's two sockets. */
	struct rlimit rl;
	rlim_t need = 2 * ENC_PORTFWD_MAX_CONN + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Only the host socket and the sync pipe stay: the cgroup, the
	 * namespace and whatever the publisher held (the monitor's log and
	 * audit files) are closed before anything is relayed. */
	int keep[] = { s->lfd, s->sync };
	if (enc_close_fds_except(keep, ENC_ARRAY_SIZE(keep)) < 0) {
		enc_err_set(&e, -EIO, "cannot close inherited file descriptors");
		fwd_fail(s->sync, &e);
	}
	/* For good: no way back to root, no capabilities, not ptrace-able
	 * or dumpable by the id we become. */
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	if (enc_caps_no_new_privs(&e) < 0 || enc_caps_become_user(s->uid, s->uid, &e) < 0)
		fwd_fail(s->sync, &e);

	struct enc_ip lo = { .family = s->port.host.family };
	if (lo.family == AF_INET6)
		lo.addr[15] = 1;
	else
		memcpy(lo.addr, (const uint8_t[]){ 127, 0, 0, 1 }, 4);
	f.inside_len = sockaddr_of(&lo, s->port.ws_port, &f.inside);

	char ok[64];
	int n = snprintf(ok, sizeof(ok), "OK %d %" PRIu64 "\n", (int)getpid(), start);
	if (write(s->sync, ok, (size_t)n) != n)
		_exit(1);
	close(s->sync);
	if (s->port.proto == ENC_PROTO_UDP)
		serve_udp(&f);
	serve_tcp(&f);
}

/* The host id of the workspace's "nobody": no host process runs as it,
 * and the workload cannot see the forwarder (other PID namespace). */
static uid_t fwd_uid(const struct enc_ws *w)
{
	_cleanup_free_ char *s = NULL;
	uint32_t slot;

	/* An ordinary user's forwarder becomes nobody of the workspace's
	 * user namespace, which it joins (see forwarder_main). */
	if (geteuid() != 0)
		return NOBODY;
	if (w->dir_fd >= 0 && enc_fact_read(w->dir_fd, "idslot", 32, true, &s, NULL, NULL) == 0 &&
	    enc_parse_u32(s, 0, ENC_IDPOOL_SLOTS - 1, &slot, NULL) == 0)
		return (uid_t)(ENC_IDPOOL_BASE + slot * ENC_IDPOOL_SIZE + NOBODY);
	return NOBODY;
}

/* Read the forwarder's verdict: "OK pid start" or "E errno message". */
static int fwd_verdict(int rfd, const char *hs, struct enc_pidref *ref, struct enc_err *err)
{
	char buf[ENC_ERR_MSG_MAX + 64];
	size_t len = 0;
	int64_t deadline = mono_ms() + ENC_PORTFWD_START_MS;

	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		if (left <= 0 || ENC_RETRY(poll(&p, 1, (int)left)) == 0)
			return enc_err_set(err, -ETIMEDOUT,
					   "the port forwarder for %s did not start in time", hs);
		ssize_t n = ENC_RETRY(read(rfd, buf + len, sizeof(buf) - 1 - len));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	int pid = 0, en = 0, off = 0;
	uint64_t start = 0;
	if (sscanf(buf, "OK %d %" SCNu64, &pid, &start) == 2 && pid > 0) {
		*ref = (struct enc_pidref){ .pid = pid, .start = start };
		return 0;
	}
	if (sscanf(buf, "E %d %n", &en, &off) == 1 && off > 0)
		return enc_err_set(err, -(en > 0 ? en : EIO), "port %s: %s", hs, buf + off);
	return enc_err_set(err, -EIO, "the port forwarder for %s died while starting", hs);
}

static int start_forwarder(const struct enc_ws *w, int netns_fd, struct enc_cgroup *cg,
			   const struct enc_port *p, int lfd, const char *hs,
			   struct enc_pidref *ref, struct enc_err *err)
{
	int pp[2];

	if (pipe2(pp, O_CLOEXEC) < 0)
		return enc_err_sys(err, -errno, "pipe");
	struct fwd_start s = {
		.lfd = lfd, .sync = pp[1], .netns = netns_fd, .cg = cg, .port = *p,
		.uid = fwd_uid(w),
	};
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pp[0]);
		close(pp[1]);
		return enc_err_sys(err, e, "cannot fork the port forwarder");
	}
	if (pid == 0) {
		close(pp[0]);
		/* Its own session, and (double fork) nobody's child: it
		 * outlives the publisher and is reaped by init. */
		setsid();
		pid_t g = fork();
		if (g < 0) {
			struct enc_err e = {};
			enc_err_sys(&e, -errno, "cannot fork the port forwarder");
			fwd_fail(pp[1], &e);
		}
		if (g > 0)
			_exit(0);
		forwarder_main(&s);
	}
	close(pp[1]);
	ENC_RETRY(waitpid(pid, NULL, 0));
	int r = fwd_verdict(pp[0], hs, ref, err);
	close(pp[0]);
	return r;
}

static int bind_host(const struct enc_port *p, const char *hs, struct enc_err *err)
{
	int type = p->proto == ENC_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	_cleanup_close_ int fd = socket(p->host.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_storage ss;

	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot create a socket for %s", hs);
	/* TCP: a previous forwarder's connections in TIME_WAIT must not keep
	 * the port from being published again; a live listener still does. */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return enc_err_sys(err, -errno, "cannot set SO_REUSEADDR for %s", hs);
	/* [::]:P means IPv6 only: IPv4 is published only when asked for. */
	if (p->host.family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return enc_err_sys(err, -errno, "cannot set IPV6_V6ONLY for %s", hs);
	socklen_t sl = sockaddr_of(&p->host, p->host_port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno == EADDRINUSE)
			return enc_err_set(err, -EADDRINUSE, "%s is already in use on the host", hs);
		return enc_err_sys(err, -errno, "cannot bind %s on the host", hs);
	}
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		return enc_err_sys(err, -errno, "cannot listen on %s", hs);
	return steal_fd(&fd);
}

int enc_ports_publish(const struct enc_ws *w, int netns_fd, struct enc_cgroup *cg,
		      const struct enc_port *p, struct enc_err *err)
{
	char hs[ENC_PORT_SPEC_MAX], name[ENC_PORT_NAME_MAX], line[REC_MAX];
	struct enc_port_rec rec = { .port = *p };
	int r;

	if (netns_fd < 0)
		return enc_err_set(err, -EINVAL, "ports: not with network = host");
	if (enc_port_host_str(p, hs, sizeof(hs)) < 0 || enc_port_rec_name(p, name, sizeof(name)) < 0 ||
	    p->ws_port == 0)
		return enc_err_set(err, -EINVAL, "ports: not a valid port specification");
	if (!cg)
		return enc_err_set(err, -EINVAL, "ports: %s: the workspace has no cgroup", hs);
	_cleanup_close_ int dfd = ports_dir(w, true, err);
	if (dfd < 0)
		return dfd;
	_cleanup_close_ int lk = enc_lock_at(dfd, LOCK_NAME, ENC_LOCK_EXCLUSIVE, true, err);
	if (lk < 0)
		return lk;
	struct enc_port_rec old;
	r = read_rec(dfd, name, &old, NULL);
	if (r == 0 && enc_ports_alive(&old))
		return enc_err_set(err, -EEXIST, "%s is already published by workspace %s/%s", hs,
				   w->sandbox, w->name);
	if (r != -ENOENT)	/* stale (forwarder gone) or unreadable: replace */
		unlinkat(dfd, name, 0);

	_cleanup_close_ int lfd = bind_host(p, hs, err);
	if (lfd < 0)
		return lfd;
	r = start_forwarder(w, netns_fd, cg, p, lfd, hs, &rec.fwd, err);
	if (r < 0)
		return r;
	r = enc_port_rec_format(&rec, line, sizeof(line));
	if (r < 0)
		r = enc_err_set(err, r, "cannot format the record of %s", hs);
	else
		r = enc_fact_write(dfd, name, line, (size_t)r, 0600, false, err);
	if (r < 0) {
		kill_fwd(&rec.fwd, NULL);
		return r;
	}
	return 0;
}

int enc_ports_unpublish(const struct enc_ws *w, const struct enc_port *p, struct enc_err *err)
{
	char hs[ENC_PORT_SPEC_MAX], name[ENC_PORT_NAME_MAX];
	struct enc_port_rec rec;

	if (enc_port_host_str(p, hs, sizeof(hs)) < 0 || enc_port_rec_name(p, name, sizeof(name)) < 0)
		return enc_err_set(err, -EINVAL, "ports: not a valid port specification");
	_cleanup_close_ int dfd = ports_dir(w, false, NULL);
	if (dfd == -ENOENT)
		return enc_err_set(err, -ENOENT, "%s is not published by workspace %s/%s", hs,
				   w->sandbox, w->name);
	if (dfd < 0)
		return enc_err_sys(err, dfd, "cannot open %s/%s", w->run_path, ENC_PORTS_DIR);
	_cleanup_close_ int lk = enc_lock_at(dfd, LOCK_NAME, ENC_LOCK_EXCLUSIVE, true, err);
	if (lk < 0)
		return lk;
	int r = read_rec(dfd, name, &rec, err);
	if (r == -ENOENT) {
		enc_err_clear(err);
		return enc_err_set(err, -ENOENT, "%s is not published by workspace %s/%s", hs,
				   w->sandbox, w->name);
	}
	if (r == 0)
		r = kill_fwd(&rec.fwd, err);
	/* A malformed record names no process we could trust: drop it. */
	if (r == 0 || r == -EINVAL)
		unlinkat(dfd, name, 0);
	return r;
}
