/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "fsutil.h"
#include "logfile.h"

static int topfd = -1;

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static int subdir(const char *name)
{
	mkdirat(topfd, name, 0700);
	return openat(topfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

static off_t fsize(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : st.st_size;
}

static char *slurp(int dfd, const char *name, size_t *len)
{
	char *out = NULL;

	*len = 0;
	if (enc_fact_read(dfd, name, 64 << 20, false, &out, len, NULL) < 0)
		return strdup("");
	return out;
}

static void spit(int dfd, const char *name, const char *s)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

static int entries(int dfd)
{
	DIR *d = fdopendir(dup(dfd));
	struct dirent *e;
	int n = 0;

	rewinddir(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_open_and_bound(void)
{
	struct enc_log l = ENC_LOG_INIT;
	struct enc_err e = { 0 };
	struct sbuf all = { 0 };
	uint64_t limit = 4096;
	int d = subdir("bound"), bad = 0, r = 0;
	char chunk[4096];

	is_int(enc_log_open(d, 100, &l, &e), -EINVAL, "limit below minimum refused");
	has_str(e.msg, "below the minimum of 256 bytes", "minimum message");
	is_int(enc_log_open(d, 0, &l, NULL), 0, "open with the default limit");
	is_u64(l.limit, 8ULL << 20, "default limit 8 MiB");
	enc_log_close(&l);
	is_int(enc_log_open(d, limit, &l, NULL), 0, "open with a 4 KiB limit");
	srand(42);
	for (int i = 0; i < 3000 && r == 0; i++) {
		size_t n = 1 + (size_t)rand() % sizeof(chunk);

		for (size_t k = 0; k < n; k++)
			chunk[k] = (char)('a' + (i + (int)k) % 26);
		if (i % 3 == 0)
			chunk[n - 1] = '\n';
		r = enc_log_write(&l, chunk, n, &e);
		sb_add(&all, chunk, n);
		if ((uint64_t)fsize(d, "log") > limit || fsize(d, "log.1") > (off_t)limit ||
		    entries(d) != (l.rotations == 0 ? 1 : 2))
			bad++;
	}
	is_int(r, 0, "3000 writes");
	is_int(bad, 0, "after every write: log <= limit, log.1 <= limit, no third file");
	ok(l.rotations > 100, "rotated many times (%llu)", (unsigned long long)l.rotations);
	is_int(entries(d), 2, "exactly log and log.1");
	ok((uint64_t)(fsize(d, "log") + fsize(d, "log.1")) <= 2 * limit, "total <= 2 x limit");
	is_u64((uint64_t)fsize(d, "log"), l.size, "size tracked");
	enc_log_close(&l);

	size_t n1, n0;
	char *p1 = slurp(d, "log.1", &n1), *p0 = slurp(d, "log", &n0);
	ok(n1 + n0 > limit / 2 && n1 + n0 <= all.len &&
	   memcmp(all.p + all.len - n0, p0, n0) == 0 &&
	   memcmp(all.p + all.len - n0 - n1, p1, n1) == 0,
	   "log.1 + log is the tail of what was written, unchanged");
	free(p0);
	free(p1);
	free(all.p);

	/* something other than a regular file as log: refused, no hang */
	int fifo = subdir("fifo");
	mkfifoat(fifo, "log", 0600);
	ok(enc_log_open(fifo, 0, &l, NULL) < 0, "a FIFO as log is refused");
	is_int(l.fd, -1, "failed open leaves fd -1");
	close(fifo);

	/* a smaller limit next time: the first write rotates */
	is_int(enc_log_open(d, 1024, &l, NULL), 0, "reopen with a smaller limit");
	is_int(enc_log_write(&l, "x\n", 2, NULL), 0, "write");
	is_u64(l.rotations, 1, "over-limit log rotated on first write");
	is_int(fsize(d, "log"), 2, "new log holds the write");
	enc_log_close(&l);
	close(d);
}

static void test_oversized_and_marks(void)
{
	struct enc_log l = ENC_LOG_INIT;
	struct enc_err e = { 0 };
	int d = subdir("big");
	char *big = malloc(5000), want[2048], mark[128], *got;
	size_t len, keep;

	memset(big, 'a', 5000);
	is_int(enc_log_open(d, 1024, &l, NULL), 0, "open 1 KiB log");
	is_int(enc_log_write(&l, "before\n", 7, NULL), 0, "small write");
	is_int(enc_log_write(&l, big, 5000, &e), 0, "5000-byte chunk into a 1 KiB log");
	is_u64(l.rotations, 1, "rotated before the oversized chunk");
	keep = 1024 - (size_t)snprintf(mark, sizeof(mark),
				       "\n--- enclave: output truncated, 5000 bytes dropped ---\n");
	memcpy(want, big, keep);
	snprintf(want + keep, sizeof(want) - keep,
		 "\n--- enclave: output truncated, %zu bytes dropped ---\n", 5000 - keep);
	got = slurp(d, "log", &len);
	ok(len <= 1024, "truncated file within the limit (%zu)", len);
	is_int(len, strlen(want), "truncated length");
	ok(memcmp(got, want, len) == 0, "head kept, then the truncation line");
	has_str(got, "\n--- enclave: output truncated, 4031 bytes dropped ---\n", "exact marker");
	free(got);
	got = slurp(d, "log.1", &len);
	is_str(got, "before\n", "previous generation kept");
	free(got);

	/* an oversized chunk whose kept head ends in a newline: no blank */
	big[keep - 1] = '\n';
	is_int(enc_log_write(&l, big, 5000, NULL), 0, "second oversized chunk");
	got = slurp(d, "log", &len);
	ok(len == keep + strlen(want + keep) - 1 && got[keep - 1] == '\n' &&
	   strncmp(got + keep, "--- enclave: output truncated", 29) == 0,
	   "no extra newline when the head ends a line");
	free(got);
	enc_log_close(&l);
	free(big);

	/* marks */
	int m = subdir("marks");
	is_int(enc_log_open(m, 256, &l, NULL), 0, "open marks log");
	enc_log_write(&l, "abc", 3, NULL);
	is_int(enc_log_mark(&l, "started", NULL), 0, "mark mid-line");
	enc_log_write(&l, "x\n", 2, NULL);
	is_int(enc_log_mark(&l, "restarted", NULL), 0, "mark at line start");
	is_int(enc_log_mark(&l, "a\nb", &e), -EINVAL, "mark with a newline refused");
	enc_log_write(&l, "tail", 4, NULL);
	enc_log_close(&l);
	got = slurp(m, "log", &len);
	ok(len == 3 + 1 + 46 + 2 + 48 + 4, "marks add only their lines (%zu)", len);
	ok(strncmp(got, "abc\n--- enclave: started 2", 26) == 0 &&
	   strncmp(got + 44, "Z ---\nx\n--- enclave: restarted 2", 32) == 0,
	   "mark lines on lines of their own");
	free(got);
	/* reopen: the stream ends mid-line, across a rotation too */
	is_int(enc_log_open(m, 256, &l, NULL), 0, "reopen marks log");
	ok(!l.at_bol, "reopen sees the stream ends mid-line");
	char fill[200];
	memset(fill, 'f', sizeof(fill));
	enc_log_write(&l, fill, sizeof(fill), NULL);
	is_u64(l.rotations, 1, "rotated");
	is_int(enc_log_mark(&l, "started", NULL), 0, "mark after rotation");
	enc_log_close(&l);
	got = slurp(m, "log", &len);
	ok(strncmp(got, "ffff", 4) == 0, "new log starts with the chunk");
	has_str(got, "f\n--- enclave: started ", "mark after the partial line, on its own line");
	free(got);
	close(d);
	close(m);
}

static char *tail_str(int d, size_t n)
{
	int fd = memfd_create("tail", MFD_CLOEXEC);
	struct stat st;
	char *s;

	if (enc_log_tail(d, n, fd, NULL) < 0) {
		close(fd);
		return strdup("(error)");
	}
	fstat(fd, &st);
	s = calloc(1, (size_t)st.st_size + 1);
	if (pread(fd, s, (size_t)st.st_size, 0) != st.st_size)
		abort();
	close(fd);
	return s;
}

#define TAIL_IS(d, n, want, name)                                              \
	do {                                                                   \
		char *t_ = tail_str(d, n);                                     \
		is_str(t_, want, name);                                        \
		free(t_);                                                      \
	} while (0)

static void test_tail(void)
{
	int d = subdir("tail");

	TAIL_IS(d, 10, "", "no log: empty");
	spit(d, "log.1", "l1\nl2\nl3 par");
	spit(d, "log", "tial\nl4\nl5\n");
	TAIL_IS(d, 0, "", "N=0 prints nothing");
	TAIL_IS(d, 1, "l5\n", "tail 1");
	TAIL_IS(d, 2, "l4\nl5\n", "tail 2");
	TAIL_IS(d, 3, "l3 partial\nl4\nl5\n", "tail 3 joins a line split by rotation");
	TAIL_IS(d, 5, "l1\nl2\nl3 partial\nl4\nl5\n", "tail 5 = everything");
	TAIL_IS(d, 100, "l1\nl2\nl3 partial\nl4\nl5\n", "N larger than the content");
	spit(d, "log", "tial\nl4\nl5");
	TAIL_IS(d, 1, "l5", "no final newline: tail 1");
	TAIL_IS(d, 2, "l4\nl5", "no final newline: tail 2");
	TAIL_IS(d, 4, "l2\nl3 partial\nl4\nl5", "no final newline: across rotation");
	spit(d, "log.1", "a\nb\n");
	spit(d, "log", "c\n");
	TAIL_IS(d, 2, "b\nc\n", "boundary on a line end");
	TAIL_IS(d, 1, "c\n", "boundary: tail 1");
	spit(d, "log", "");
	TAIL_IS(d, 1, "b\n", "empty log: from log.1");
	unlinkat(d, "log", 0);
	TAIL_IS(d, 2, "a\nb\n", "only log.1");
	unlinkat(d, "log.1", 0);
	spit(d, "log", "a\n\n\nb\n");
	TAIL_IS(d, 2, "\nb\n", "empty lines count");
	TAIL_IS(d, 3, "\n\nb\n", "empty lines count (3)");

	/* lines longer than the read block */
	struct sbuf s = { 0 };
	char *line = malloc(100001);
	for (int i = 0; i < 3; i++) {
		memset(line, 'A' + i, 100000);
		line[100000] = '\n';
		sb_add(&s, line, 100001);
	}
	int fd = openat(d, "log", O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (write(fd, s.p, s.len) != (ssize_t)s.len)
		abort();
	close(fd);
	char *t = tail_str(d, 2);
	ok(strlen(t) == 200002 && memcmp(t, s.p + 100001, 200002) == 0, "tail 2 of 100 KB lines");
	free(t);
	free(line);
	free(s.p);

	is_int(symlinkat("/etc/passwd", d, "log.1"), 0, "plant a symlink as log.1");
	char *r = tail_str(d, 1);
	is_str(r, "(error)", "a symlinked log.1 is refused");
	free(r);
	close(d);
}

/* --- follow ---------------------------------------------------------- */

static size_t gen_line(char *buf, int b, int i)
{
	int pad = (i * 7 + b) % 40;

	return (size_t)sprintf(buf, "b%02d-l%04d %.*s\n", b, i, pad,
			       "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH");
}

static void gen_burst(struct sbuf *out, int b, int n)
{
	char line[80];

	for (int i = 0; i < n; i++)
		sb_add(out, line, gen_line(line, b, i));
}

/* Read from fd into out until it holds want bytes; false on timeout. */
static bool read_until(int fd, struct sbuf *out, size_t want)
{
	char buf[8192];

	while (out->len < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		sb_add(out, buf, (size_t)n);
	}
	return true;
}

static void read_to_eof(int fd, struct sbuf *out)
{
	while (read_until(fd, out, out->len + 1))
		;
}

static pid_t start_follower(int d, size_t nlines, int out[2], int stop[2])
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(60);
		close(out[0]);
		close(stop[1]);
		int before = count_fds();
		int r = enc_log_follow(d, nlines, out[1], stop[0], NULL);
		int after = count_fds();
		_exit(r < 0 ? 1 : before != after ? 2 : 0);
	}
	close(out[1]);
	close(stop[0]);
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct burst_report {
	int lines, rotations;
};

#define NBURST 12
#define SKIP_BURST 7
#define LIMIT 2048

static void test_follow_rotation(void)
{
	int d = subdir("follow"), out[2], stop[2], go[2], done[2];
	struct sbuf exp = { 0 }, got = { 0 };
	struct enc_log l = ENC_LOG_INIT;
	pid_t fol, wr;
	bool all_ok = true;
	int skip_rot = -1;

	enc_log_open(d, LIMIT, &l, NULL);
	enc_log_write(&l, "p1\np2\np3\np4\n", 12, NULL);
	enc_log_close(&l);
	if (pipe2(out, O_CLOEXEC) || pipe2(stop, O_CLOEXEC) || pipe2(go, O_CLOEXEC) ||
	    pipe2(done, O_CLOEXEC))
		abort();
	fol = start_follower(d, 3, out, stop);
	wr = fork();
	if (wr == 0) {
		alarm(60);
		if (enc_log_open(d, LIMIT, &l, NULL) < 0)
			_exit(1);
		for (int b = 0; b < NBURST; b++) {
			struct burst_report rep = { 0 };
			uint64_t rot0 = l.rotations;
			char line[80], c;
			/* bursts of ~0.1, ~0.8 and ~1.4 x the limit; the
			 * skip burst goes on until it rotated twice */
			int n = b % 3 == 0 ? 8 : b % 3 == 1 ? 55 : 95, extra = -1;

			if (read(go[0], &c, 1) != 1)
				_exit(2);
			for (int i = 0; b == SKIP_BURST ? extra != 0 : i < n; i++) {
				if (enc_log_write(&l, line, gen_line(line, b, i), NULL) < 0)
					_exit(3);
				rep.lines++;
				if (b != SKIP_BURST)
					continue;
				if (extra > 0)
					extra--;
				else if (extra < 0 && l.rotations - rot0 == 2)
					extra = 3;
			}
			rep.rotations = (int)(l.rotations - rot0);
			if (write(done[1], &rep, sizeof(rep)) != sizeof(rep))
				_exit(4);
		}
		enc_log_close(&l);
		_exit(0);
	}
	close(go[0]);
	close(done[1]);

	sb_add(&exp, "p2\np3\np4\n", 9);
	ok(read_until(out[0], &got, exp.len), "follower printed the last 3 lines first");
	for (int b = 0; b < NBURST && all_ok; b++) {
		struct burst_report rep;

		if (b == SKIP_BURST) {
			int st;

			kill(fol, SIGSTOP);
			if (waitpid(fol, &st, WUNTRACED) != fol || !WIFSTOPPED(st))
				all_ok = false;
		}
		if (write(go[1], "g", 1) != 1 || read(done[0], &rep, sizeof(rep)) != sizeof(rep)) {
			all_ok = false;
			break;
		}
		if (b == SKIP_BURST) {
			skip_rot = rep.rotations;
			kill(fol, SIGCONT);
		}
		gen_burst(&exp, b, rep.lines);
		if (!read_until(out[0], &got, exp.len) || got.len != exp.len ||
		    memcmp(got.p, exp.p, exp.len) != 0)
			all_ok = false;
	}
	ok(all_ok, "after each burst the follower's output is exactly what was written");
	is_int(skip_rot, 2, "a burst rotated twice while the follower was stopped");
	is_int(wait_status(wr), 0, "writer done");
	close(stop[1]);
	read_to_eof(out[0], &got);
	is_int(wait_status(fol), 0, "follower returned 0 on stop, no fd leaked");
	is_u64(got.len, exp.len, "output length");
	ok(got.len == exp.len && memcmp(got.p, exp.p, exp.len) == 0,
	   "output == last 3 lines + everything written after, across rotations");
	close(out[0]);
	close(go[1]);
	close(done[0]);
	free(exp.p);
	free(got.p);
	close(d);
}

/* Wait until pid has an inotify fd and `log` open: its snapshot is next. */
static bool wait_follower_ready(pid_t pid, bool need_log)
{
	char path[64], link[256];

	for (int tries = 0; tries < 500; tries++) {
		bool ino = false, log = false;
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		dir = opendir(path);
		while (dir && (de = readdir(dir))) {
			char lp[320];
			ssize_t n;

			snprintf(lp, sizeof(lp), "%s/%s", path, de->d_name);
			n = readlink(lp, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			ino |= strcmp(link, "anon_inode:inotify") == 0;
			log |= n > 4 && strcmp(link + n - 4, "/log") == 0;
		}
		if (dir)
			closedir(dir);
		if (ino && (log || !need_log)) {
			usleep(100000);
			return true;
		}
		usleep(10000);
	}
	return false;
}

static void write_chunks(struct enc_log *l, const char *p, size_t len)
{
	for (size_t o = 0; o < len; o += 300)
		if (enc_log_write(l, p + o, len - o < 300 ? len - o : 300, NULL) < 0)
			abort();
}

static void test_follow_fresh(void)
{
	int d = subdir("fresh"), out[2], stop[2];
	struct sbuf exp = { 0 }, got = { 0 };
	struct enc_log l = ENC_LOG_INIT;
	pid_t fol;

	/* nlines 0 on an existing log: only what comes after */
	enc_log_open(d, 2048, &l, NULL);
	enc_log_write(&l, "old line\n", 9, NULL);
	if (pipe2(out, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		abort();
	fol = start_follower(d, 0, out, stop);
	ok(wait_follower_ready(fol, true), "follower ready");
	gen_burst(&exp, 1, 100);
	write_chunks(&l, exp.p, exp.len);
	ok(l.rotations >= 1, "rotated while followed");
	enc_log_close(&l);
	/* stop by making stop_fd readable (not by hang-up) */
	if (write(stop[1], "x", 1) != 1)
		abort();
	read_to_eof(out[0], &got);
	is_int(wait_status(fol), 0, "follower stopped by a readable stop_fd");
	ok(got.len == exp.len && memcmp(got.p, exp.p, exp.len) == 0,
	   "N=0: output is exactly what was written after the start (%zu/%zu)", got.len, exp.len);
	close(out[0]);
	close(stop[1]);
	free(got.p);
	got = (struct sbuf){ 0 };

	/* no log at all yet: it appears, is read from its start */
	int e = subdir("empty");
	if (pipe2(out, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		abort();
	fol = start_follower(e, 10, out, stop);
	ok(wait_follower_ready(fol, false), "follower of a missing log ready");
	enc_log_open(e, 2048, &l, NULL);
	write_chunks(&l, exp.p, exp.len);
	enc_log_close(&l);
	close(stop[1]);
	read_to_eof(out[0], &got);
	is_int(wait_status(fol), 0, "follower of a new log stopped");
	ok(got.len == exp.len && memcmp(got.p, exp.p, exp.len) == 0,
	   "a log created after the start is read from its beginning");
	close(out[0]);
	free(got.p);
	free(exp.p);

	/* the directory goes away: follow returns */
	if (pipe2(out, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		abort();
	fol = start_follower(e, 0, out, stop);
	ok(wait_follower_ready(fol, true), "follower ready (delete)");
	is_int(enc_rm_rf_at(topfd, "empty", NULL), 0, "remove the workspace dir");
	got = (struct sbuf){ 0 };
	read_to_eof(out[0], &got);
	is_int(wait_status(fol), 0, "follow returns when the directory is deleted");
	close(out[0]);
	close(stop[1]);
	free(got.p);
	close(e);

	/* the reader goes away: -EPIPE, not a hang */
	if (pipe2(out, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		abort();
	close(out[0]);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		struct enc_err er = { 0 };
		int r = enc_log_follow(d, 5, out[1], stop[0], &er);
		_exit(r == -EPIPE && strstr(er.msg, "cannot write the log out") ? 0 : 1);
	}
	close(out[1]);
	close(stop[0]);
	is_int(wait_status(pid), 0, "closed output: -EPIPE");
	close(stop[1]);
	close(d);
}

int main(void)
{
	char tmpl[] = "/tmp/enclave-test-logfile.XXXXXX";
	int before;

	alarm(300);
	before = count_fds();
	if (!mkdtemp(tmpl))
		return 1;
	topfd = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	test_open_and_bound();
	test_oversized_and_marks();
	test_tail();
	test_follow_rotation();
	test_follow_fresh();
	close(topfd);
	is_int(count_fds(), before, "no fd leaked");
	int pfd = open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	is_int(enc_rm_rf_at(pfd, tmpl + 5, NULL), 0, "cleanup");
	close(pfd);
	return tap_done();
}
