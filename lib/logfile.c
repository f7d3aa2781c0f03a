/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logfile.c - the bounded workload log and its readers (see logfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "logfile.h"
#include "util.h"

#define COPY_BUF 65536
/* O_NONBLOCK only matters if something other than a regular file sits
 * there (a FIFO would block the open); such a file is then refused. */
#define WRITE_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_NONBLOCK)
#define MARK_WHAT_MAX 64

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = ENC_RETRY(write(fd, p, len));

		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The last byte of a regular file, or -1 when it is empty. */
static int last_byte(int fd)
{
	struct stat st;
	char c;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return -1;
	if (ENC_RETRY(pread(fd, &c, 1, st.st_size - 1)) != 1)
		return -1;
	return (unsigned char)c;
}

/* Open one of our files for reading: missing is -ENOENT without touching
 * err, anything but a regular file is refused. */
static int open_read(int dirfd, const char *name, struct stat *st, struct enc_err *err)
{
	struct enc_err local = { 0 };
	int fd;

	/* O_NONBLOCK: a FIFO planted as `log` must not hang the reader. */
	fd = enc_openat(dirfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, &local);
	if (fd == -ENOENT)
		return fd;
	if (fd < 0) {
		if (err && !enc_err_isset(err))
			*err = local;
		return fd;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return enc_err_set(err, -EINVAL, "%s is not a regular file", name);
	}
	return fd;
}

int enc_log_open(int dirfd, uint64_t limit, struct enc_log *l, struct enc_err *err)
{
	_cleanup_close_ int dfd = -1, fd = -1, old = -1;
	struct stat st;
	int c;

	l->dirfd = l->fd = -1;
	if (limit == 0)
		limit = ENC_LOG_DEFAULT_LIMIT;
	if (limit < ENC_LOG_MIN_LIMIT)
		return enc_err_set(err, -EINVAL, "log limit %" PRIu64 " is below the minimum of %llu bytes",
				   limit, ENC_LOG_MIN_LIMIT);
	dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return enc_err_sys(err, -errno, "cannot duplicate the state dir fd");
	fd = enc_openat(dfd, ENC_LOG_FILE, WRITE_FLAGS, 0600, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", ENC_LOG_FILE);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "%s is not a regular file", ENC_LOG_FILE);
	/* Whether the stream ends mid-line decides if a marker needs a
	 * newline first. The write fd cannot read, so look through another. */
	c = -1;
	old = open_read(dfd, ENC_LOG_FILE, &st, NULL);
	if (old >= 0)
		c = last_byte(old);
	if (c < 0) {
		if (old >= 0)
			close(steal_fd(&old));
		old = open_read(dfd, ENC_LOG_OLD, &st, NULL);
		if (old >= 0)
			c = last_byte(old);
	}
	l->at_bol = c < 0 || c == '\n';
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", ENC_LOG_FILE);
	l->size = (uint64_t)st.st_size;
	l->limit = limit;
	l->rotations = 0;
	l->dirfd = steal_fd(&dfd);
	l->fd = steal_fd(&fd);
	return 0;
}

void enc_log_close(struct enc_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	l->fd = l->dirfd = -1;
}

static int reopen(struct enc_log *l, struct enc_err *err)
{
	struct stat st;
	int fd;

	fd = enc_openat(l->dirfd, ENC_LOG_FILE, WRITE_FLAGS, 0600, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return enc_err_set(err, -EINVAL, "%s is not a regular file", ENC_LOG_FILE);
	}
	l->fd = fd;
	l->size = (uint64_t)st.st_size;
	return 0;
}

/* log -> log.1 (replacing the older generation), then a new log. */
static int rotate(struct enc_log *l, struct enc_err *err)
{
	if (renameat(l->dirfd, ENC_LOG_FILE, l->dirfd, ENC_LOG_OLD) < 0 && errno != ENOENT)
		return enc_err_sys(err, -errno, "cannot rotate %s to %s", ENC_LOG_FILE, ENC_LOG_OLD);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->rotations++;
	return reopen(l, err);
}

/* Make room for len bytes in the current file. */
static int make_room(struct enc_log *l, uint64_t len, struct enc_err *err)
{
	int r;

	if (l->fd < 0) {
		r = reopen(l, err);
		if (r < 0)
			return r;
	}
	if (l->size > 0 && l->size + len > l->limit)
		return rotate(l, err);
	return 0;
}

static int put(struct enc_log *l, const char *buf, size_t len, struct enc_err *err)
{
	int r;

	if (len == 0)
		return 0;
	r = write_all(l->fd, buf, len);
	if (r < 0)
		return enc_err_sys(err, r, "cannot write %s", ENC_LOG_FILE);
	l->size += len;
	l->at_bol = buf[len - 1] == '\n';
	return 0;
}

int enc_log_write(struct enc_log *l, const void *data, size_t len, struct enc_err *err)
{
	const char *buf = data;
	char mark[128];
	size_t keep, mlen;
	int r;

	if (!l || l->dirfd < 0)
		return enc_err_set(err, -EBADF, "log not open");
	if (len == 0)
		return 0;
	if (len <= l->limit) {
		r = make_room(l, len, err);
		return r < 0 ? r : put(l, buf, len, err);
	}
	/* Larger than a whole file: keep the head in a fresh file and say
	 * how much was dropped. Size the marker for the largest count first,
	 * so the count in it can only shrink. */
	mlen = (size_t)snprintf(mark, sizeof(mark),
				"\n" ENC_LOG_MARK_PREFIX "output truncated, %zu bytes dropped ---\n", len);
	keep = (size_t)l->limit - mlen;
	r = make_room(l, l->limit, err);
	if (r < 0)
		return r;
	r = put(l, buf, keep, err);
	if (r < 0)
		return r;
	mlen = (size_t)snprintf(mark, sizeof(mark),
				"\n" ENC_LOG_MARK_PREFIX "output truncated, %zu bytes dropped ---\n",
				len - keep);
	if (buf[keep - 1] == '\n')
		return put(l, mark + 1, mlen - 1, err);
	return put(l, mark, mlen, err);
}

int enc_log_mark(struct enc_log *l, const char *what, struct enc_err *err)
{
	char line[MARK_WHAT_MAX + 64], tbuf[32];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (!l || l->dirfd < 0)
		return enc_err_set(err, -EBADF, "log not open");
	if (!what || !*what || strlen(what) > MARK_WHAT_MAX)
		return enc_err_set(err, -EINVAL, "bad log mark");
	for (const char *p = what; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return enc_err_set(err, -EINVAL, "bad log mark");
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = (size_t)snprintf(line, sizeof(line), "\n" ENC_LOG_MARK_PREFIX "%s %s ---\n",
			     what, tbuf);
	/* The stream's own line structure decides the leading newline, so a
	 * mark is on a line of its own in log.1 + log even across a rotation. */
	bool nl = !l->at_bol;

	r = make_room(l, n - !nl, err);
	if (r < 0)
		return r;
	return put(l, nl ? line : line + 1, n - !nl, err);
}

/* --- reading --------------------------------------------------------- */

struct seg {
	int fd;
	off_t size;
};

static int copy_range(int fd, off_t from, off_t to, int outfd, char *buf,
		      struct enc_err *err)
{
	while (from < to) {
		size_t want = (size_t)(to - from < COPY_BUF ? to - from : COPY_BUF);
		ssize_t n = ENC_RETRY(pread(fd, buf, want, from));
		int r;

		if (n < 0)
			return enc_err_sys(err, -errno, "cannot read the log");
		if (n == 0)
			break;	/* shrank: someone truncated it */
		r = write_all(outfd, buf, (size_t)n);
		if (r < 0)
			return enc_err_sys(err, r, "cannot write the log out");
		from += n;
	}
	return 0;
}

/* Copy the last nlines lines of the concatenated segments to outfd,
 * scanning backwards one block at a time. */
static int tail_segs(const struct seg *s, int nseg, size_t nlines, int outfd,
		     char *buf, struct enc_err *err)
{
	int si = 0;
	off_t so = 0;
	bool last = true;

	if (nlines == 0)
		return 0;
	for (int i = nseg - 1; i >= 0; i--) {
		off_t pos = s[i].fd >= 0 ? s[i].size : 0;

		while (pos > 0) {
			size_t n = (size_t)(pos < COPY_BUF ? pos : COPY_BUF);

			if (ENC_RETRY(pread(s[i].fd, buf, n, pos - (off_t)n)) != (ssize_t)n)
				return enc_err_sys(err, errno ? -errno : -EIO, "cannot read the log");
			pos -= (off_t)n;
			for (size_t j = n; j-- > 0;) {
				/* The stream's final newline ends the last
				 * line, it does not start another. */
				if (last) {
					last = false;
					if (buf[j] == '\n')
						continue;
				}
				if (buf[j] == '\n' && --nlines == 0) {
					si = i;
					so = pos + (off_t)j + 1;
					goto found;
				}
			}
		}
	}
found:
	for (int i = si; i < nseg; i++) {
		int r;

		if (s[i].fd < 0)
			continue;
		r = copy_range(s[i].fd, i == si ? so : 0, s[i].size, outfd, buf, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Open log.1 and log as one consistent snapshot: a rotation between the
 * two opens would show the same file twice, so retry until it does not. */
static int open_snapshot(int dirfd, struct seg s[2], ino_t *cur_ino, struct enc_err *err)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st_old, st_cur;
		int old, cur;

		cur = open_read(dirfd, ENC_LOG_FILE, &st_cur, err);
		if (cur < 0 && cur != -ENOENT)
			return cur;
		old = open_read(dirfd, ENC_LOG_OLD, &st_old, err);
		if (old < 0 && old != -ENOENT) {
			if (cur >= 0)
				close(cur);
			return old;
		}
		if (cur >= 0 && old >= 0 && st_cur.st_ino == st_old.st_ino) {
			close(cur);
			close(old);
			continue;
		}
		s[0].fd = old;
		s[0].size = old >= 0 ? st_old.st_size : 0;
		s[1].fd = cur;
		s[1].size = cur >= 0 ? st_cur.st_size : 0;
		*cur_ino = cur >= 0 ? st_cur.st_ino : 0;
		return 0;
	}
	return enc_err_set(err, -EAGAIN, "the log keeps rotating under the reader");
}

int enc_log_tail(int dirfd, size_t nlines, int outfd, struct enc_err *err)
{
	_cleanup_free_ char *buf = malloc(COPY_BUF);
	struct seg s[2];
	ino_t ino;
	int r;

	if (!buf)
		return enc_err_sys(err, -ENOMEM, "cannot read the log");
	r = open_snapshot(dirfd, s, &ino, err);
	if (r < 0)
		return r;
	r = tail_segs(s, 2, nlines, outfd, buf, err);
	for (int i = 0; i < 2; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	return r;
}

struct follower {
	int dirfd, outfd;
	int cur;		/* the `log` we are reading, or -1 */
	ino_t cur_ino;		/* its inode; while cur is -1, old's */
	int old;		/* while cur is -1: the log.1 we started after,
				 * held open so its inode number is not reused */
	char *buf;
};

/* Copy what fd has beyond its file offset. */
static int drain(struct follower *f, int fd, struct enc_err *err)
{
	for (;;) {
		ssize_t n = ENC_RETRY(read(fd, f->buf, COPY_BUF));
		int r;

		if (n < 0)
			return enc_err_sys(err, -errno, "cannot read the log");
		if (n == 0)
			return 0;
		r = write_all(f->outfd, f->buf, (size_t)n);
		if (r < 0)
			return enc_err_sys(err, r, "cannot write the log out");
	}
}

/* Copy everything new, following any rotation since the last call. */
static int pump(struct follower *f, struct enc_err *err)
{
	int r;

	if (f->cur >= 0) {
		r = drain(f, f->cur, err);
		if (r < 0)
			return r;
	}
	for (;;) {
		struct stat st, st_old;
		int nfd, old;

		if (fstatat(f->dirfd, ENC_LOG_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				return 0;	/* mid-rotation: the new log comes next */
			return enc_err_sys(err, -errno, "cannot stat %s", ENC_LOG_FILE);
		}
		if (f->cur >= 0 && st.st_ino == f->cur_ino)
			return 0;
		nfd = open_read(f->dirfd, ENC_LOG_FILE, &st, err);
		if (nfd == -ENOENT)
			return 0;
		if (nfd < 0)
			return nfd;
		if (f->cur >= 0 && st.st_ino == f->cur_ino) {
			close(nfd);
			return 0;
		}
		/* Rotated (or the first log appeared): the writer finished
		 * with our file before renaming it, so one more drain gets all
		 * of it. If log.1 is neither our file nor the new log, a whole
		 * generation went by while we slept: read it too. */
		r = f->cur >= 0 ? drain(f, f->cur, err) : 0;
		old = r < 0 ? -1 : open_read(f->dirfd, ENC_LOG_OLD, &st_old, NULL);
		if (old >= 0) {
			if (st_old.st_ino != f->cur_ino && st_old.st_ino != st.st_ino)
				r = drain(f, old, err);
			close(old);
		}
		if (f->cur >= 0)
			close(f->cur);
		if (f->old >= 0)
			close(f->old);
		f->cur = f->old = -1;
		if (r < 0) {
			close(nfd);
			return r;
		}
		f->cur = nfd;
		f->cur_ino = st.st_ino;
		r = drain(f, f->cur, err);
		if (r < 0)
			return r;
	}
}

int enc_log_follow(int dirfd, size_t nlines, int outfd, int stop_fd,
		   struct enc_err *err)
{
	_cleanup_free_ char *buf = malloc(COPY_BUF);
	_cleanup_close_ int ifd = -1;
	struct follower f = { .dirfd = dirfd, .outfd = outfd, .cur = -1, .old = -1 };
	bool stopping = false;
	struct seg s[2];
	int r;

	if (!buf)
		return enc_err_sys(err, -ENOMEM, "cannot follow the log");
	f.buf = buf;
	/* Watch before the snapshot so no write after it goes unnoticed.
	 * inotify takes a path: our own dir fd through /proc. Without it we
	 * fall back to re-checking on a short timer. */
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
		if (inotify_add_watch(ifd, path, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
				      IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0) {
			close(ifd);
			ifd = -1;
		}
	}
	r = open_snapshot(dirfd, s, &f.cur_ino, err);
	if (r < 0)
		return r;
	r = tail_segs(s, 2, nlines, outfd, buf, err);
	f.cur = s[1].fd;
	if (f.cur < 0 && s[0].fd >= 0) {
		struct stat st;

		/* Started mid-rotation: we are at the end of this log.1. */
		f.old = s[0].fd;
		f.cur_ino = fstat(f.old, &st) == 0 ? st.st_ino : 0;
	} else if (s[0].fd >= 0) {
		close(s[0].fd);
	}
	if (r >= 0 && f.cur >= 0 && lseek(f.cur, s[1].size, SEEK_SET) < 0)
		r = enc_err_sys(err, -errno, "cannot seek in %s", ENC_LOG_FILE);

	while (r >= 0) {
		struct pollfd p[2] = {
			{ .fd = stop_fd, .events = POLLIN },
			{ .fd = ifd, .events = POLLIN },
		};
		struct stat dst;

		r = pump(&f, err);
		if (r < 0 || stopping)
			break;
		/* A removed directory: nothing will be written any more.
		 * (IN_DELETE_SELF would wait for our own fd to close.) */
		if (fstat(dirfd, &dst) == 0 && dst.st_nlink == 0)
			break;
		if (ENC_RETRY(poll(p, 2, ifd >= 0 ? 1000 : 200)) < 0) {
			r = enc_err_sys(err, -errno, "cannot wait for the log");
			break;
		}
		/* Stop after one more pump: what was written before stop_fd
		 * fired is in the files by now. */
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			stopping = true;
		if (p[1].revents & POLLIN) {
			char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t n;

			/* Only a wake-up: pump() looks at the files. */
			while ((n = read(ifd, ev, sizeof(ev))) > 0) {
				for (char *q = ev; q < ev + n;) {
					const struct inotify_event *ie = (const void *)q;

					if (ie->mask & (IN_IGNORED | IN_UNMOUNT))
						stopping = true;
					q += sizeof(*ie) + ie->len;
				}
			}
		}
	}
	if (f.cur >= 0)
		close(f.cur);
	if (f.old >= 0)
		close(f.old);
	return r < 0 ? r : 0;
}
