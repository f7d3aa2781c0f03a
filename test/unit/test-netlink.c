/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-netlink - lib/netlink.c. Names, addresses and the pool run as anyone
 * (the pool in a temporary directory). The kernel part needs root; without
 * it that part is skipped, unless ENCLAVE_MUST_WORK=1 makes the skip a
 * failure. It runs entirely inside two network namespaces this test makes
 * (forked children that unshare(CLONE_NEWNET) and wait): one plays the
 * host, one the workspace. Nothing is added to the real host namespace, and
 * when the children exit their namespaces go, with every veth and rule in
 * them. `ip` and `nft` are used only to set up and inspect the test's own
 * namespaces.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "tap.h"
#include "fsutil.h"
#include "netlink.h"

static bool must_work(void)
{
	const char *mw = getenv("ENCLAVE_MUST_WORK");

	return mw && strcmp(mw, "1") == 0;
}

/* is_int() as an expression, for "if it failed, say more". */
static bool check_int(long long got, long long want, const char *name)
{
	if (tap_ok(got == want, "%s", name))
		return true;
	printf("#   got %lld, want %lld\n", got, want);
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *ipstr(const struct enc_ip *ip)
{
	static char bufs[4][INET6_ADDRSTRLEN];
	static int n;
	char *b = bufs[n++ % 4];

	if (enc_format_ip(ip, b, INET6_ADDRSTRLEN) < 0)
		snprintf(b, INET6_ADDRSTRLEN, "(bad)");
	return b;
}

/* ---- names ------------------------------------------------------------- */

static void test_names(void)
{
	char a[ENC_VETH_NAME_SIZE], b[ENC_VETH_NAME_SIZE];
	struct enc_err e = { 0 };
	int r;

	is_int(enc_veth_name("devbox", "api", 0, a), 0, "veth name for devbox/api slot 0");
	ok(enc_veth_name_valid(a), "it matches ^en[0-9a-f]{8}$ (%s)", a);
	enc_veth_name("devbox", "api", 0, b);
	is_str(b, a, "the name is deterministic");
	enc_veth_name("devbox", "web", 0, b);
	ok(strcmp(a, b) != 0, "another workspace on the same slot gets another name (%s, %s)", a, b);
	enc_veth_name("devbox", "api", 1, b);
	ok(strncmp(b, "en0004", 6) == 0 || strncmp(b, "en0005", 6) == 0 ||
	   strncmp(b, "en0006", 6) == 0 || strncmp(b, "en0007", 6) == 0,
	   "slot 1 sits in the top bits (%s)", b);

	/* All slots at once: distinct names, so concurrent workspaces can
	 * never collide whatever their names hash to. */
	static char all[ENC_NETPOOL_SLOTS][ENC_VETH_NAME_SIZE];
	bool distinct = true, valid = true;
	for (unsigned s = 0; s < ENC_NETPOOL_SLOTS; s++) {
		char ws[16];

		snprintf(ws, sizeof(ws), "w%u", s % 7);
		enc_veth_name("sb", ws, s, all[s]);
		valid = valid && enc_veth_name_valid(all[s]);
	}
	for (unsigned s = 0; s < ENC_NETPOOL_SLOTS && distinct; s++) {
		unsigned long v = strtoul(all[s] + 2, NULL, 16);

		distinct = (v >> 18) == s;
	}
	ok(valid, "all %u slot names are valid", ENC_NETPOOL_SLOTS);
	ok(distinct, "all %u slot names are distinct (slot in the top 14 bits)", ENC_NETPOOL_SLOTS);

	is_int(enc_veth_name("../x", "api", 0, b), -EINVAL, "bad sandbox name refused");
	is_int(enc_veth_name("devbox", "a/b", 0, b), -EINVAL, "bad workspace name refused");
	is_int(enc_veth_name("devbox", "api", ENC_NETPOOL_SLOTS, b), -ERANGE, "slot past the pool refused");

	static const char *bad[] = { "eth0", "en123", "en1234567", "en123456789", "en1234567g",
				     "EN12345678", "en1234567A", "enx1234567", "en12345678\n",
				     "veth12345678", "", "lo" };
	bool all_refused = true;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(bad); i++)
		if (enc_veth_name_valid(bad[i])) {
			printf("#   accepted '%s'\n", bad[i]);
			all_refused = false;
		}
	ok(all_refused, "the name check refuses eth0, en123 and %zu other non-enclave names",
	   ENC_ARRAY_SIZE(bad) - 2);
	ok(!enc_veth_name_valid(NULL), "the name check refuses NULL");
	ok(enc_veth_name_valid("en0123abcd"), "the name check accepts en0123abcd");

	/* Deleting by a foreign name is refused before any socket is used
	 * (nl is NULL here: reaching it would be an -EBADF). */
	r = enc_veth_delete(NULL, "eth0", &e);
	is_int(r, -EINVAL, "enc_veth_delete refuses eth0");
	is_str(e.msg, "refusing to delete interface 'eth0': not an enclave veth name "
	       "(en + 8 hex digits)", "... saying why");
	enc_err_clear(&e);
	r = enc_veth_delete(NULL, "en123", &e);
	is_int(r, -EINVAL, "enc_veth_delete refuses en123");
	enc_err_clear(&e);
	r = enc_veth_create(NULL, "eth1", "eth0", 3, &e);
	is_int(r, -EINVAL, "enc_veth_create refuses a host end named eth1");
	is_str(e.msg, "cannot create veth eth1: not an enclave name (en + 8 hex digits)",
	       "... saying why");
}

/* ---- addresses ------------------------------------------------------------ */

static void test_addrs(void)
{
	struct enc_net_addrs a;

	is_int(enc_netpool_addrs(0, &a), 0, "addresses of slot 0");
	is_str(ipstr(&a.host4), "10.213.0.1", "slot 0 host end v4");
	is_str(ipstr(&a.ws4), "10.213.0.2", "slot 0 workspace v4");
	is_str(ipstr(&a.host6), "fd65:6e63:6c61::1", "slot 0 host end v6");
	is_str(ipstr(&a.ws6), "fd65:6e63:6c61::2", "slot 0 workspace v6");
	ok(a.prefix4 == 30 && a.prefix6 == 64, "prefixes /30 and /64");
	enc_netpool_addrs(1, &a);
	ok(strcmp(ipstr(&a.host4), "10.213.0.5") == 0 && strcmp(ipstr(&a.ws4), "10.213.0.6") == 0 &&
	   strcmp(ipstr(&a.ws6), "fd65:6e63:6c61:1::2") == 0, "slot 1: 10.213.0.5/.6, fd65:6e63:6c61:1::2");
	enc_netpool_addrs(ENC_NETPOOL_SLOTS - 1, &a);
	ok(strcmp(ipstr(&a.host4), "10.213.255.253") == 0 &&
	   strcmp(ipstr(&a.ws4), "10.213.255.254") == 0 &&
	   strcmp(ipstr(&a.host6), "fd65:6e63:6c61:3fff::1") == 0,
	   "last slot: 10.213.255.253/.254, fd65:6e63:6c61:3fff::1");
	is_int(enc_netpool_addrs(ENC_NETPOOL_SLOTS, &a), -ERANGE, "slot 16384 is outside the pool");
}

/* ---- the pool ------------------------------------------------------------- */

static char tmpdir[64];
static int tmpfd = -1;

static int new_pool_dir(const char *name)
{
	mkdirat(tmpfd, name, 0700);
	return openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

struct pred {
	const char *dead;	/* "uid sb/ws" reported gone */
	int calls;
	int answer_err;		/* answer < 0 for everyone */
};

static int pred_fn(const struct enc_netpool_holder *h, void *arg)
{
	struct pred *p = arg;
	char who[2 * ENC_NAME_MAX + 16];

	p->calls++;
	if (p->answer_err)
		return -EIO;
	snprintf(who, sizeof(who), "%u %s/%s", (unsigned)h->uid, h->sandbox, h->workspace);
	return strcmp(who, p->dead) == 0 ? 0 : 1;
}

static bool file_exists(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Allocate for uid's a/ws; the slot, or the negative error. */
static int alloc(int d, uid_t uid, const char *ws, struct enc_err *e)
{
	struct enc_netpool_req q = { .uid = uid, .sandbox = "a", .workspace = ws };
	unsigned s;
	int r = enc_netpool_alloc(d, &q, &s, e);

	return r < 0 ? r : (int)s;
}

static void test_pool(void)
{
	struct enc_err e = { 0 };
	unsigned s = 99, n;
	char *buf = NULL;
	int d = new_pool_dir("pool1"), r;

	ok(d >= 0, "pool directory");
	is_int(alloc(d, 1000, "x", &e), 0, "1000's a/x gets slot 0");
	is_int(alloc(d, 1000, "y", NULL), 1, "1000's a/y gets slot 1");
	is_int(alloc(d, 1000, "z", NULL), 2, "1000's a/z gets slot 2");
	enc_fact_read(d, "net/1", 256, false, &buf, NULL, NULL);
	is_str(buf, "1000 a/y\n", "net/1 records its holder");
	free(buf);
	struct stat st;
	ok(fstatat(d, "net/1", &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == 0600,
	   "records are 0600");

	r = alloc(d, 1000, "y", &e);
	is_int(r, -EEXIST, "a second slot for a/y is refused");
	is_str(e.msg, "workspace a/y already holds network slot 1", "... naming the slot");
	enc_err_clear(&e);
	is_int(alloc(d, 1001, "y", NULL), 3, "another user's a/y is another holder: slot 3");
	r = enc_netpool_find(d, 1000, "a", "z", &s, NULL);
	ok(r == 0 && s == 2, "find 1000's a/z: slot 2");
	r = enc_netpool_find(d, 1001, "a", "y", &s, NULL);
	ok(r == 0 && s == 3, "find 1001's a/y: slot 3");
	r = enc_netpool_find(d, 1000, "a", "q", &s, &e);
	is_int(r, -ENOENT, "find a/q: none");
	is_str(e.msg, "workspace a/q holds no network slot", "... saying so");
	enc_err_clear(&e);

	r = enc_netpool_release(d, 1, 1000, "a", "x", &e);
	is_int(r, -EPERM, "a/x cannot release a/y's slot");
	is_str(e.msg, "network slot 1 is held by a/y of user 1000, not a/x of user 1000",
	       "... naming both");
	enc_err_clear(&e);
	r = enc_netpool_release(d, 1, 1001, "a", "y", &e);
	is_int(r, -EPERM, "nor can another user's a/y");
	enc_err_clear(&e);
	ok(file_exists(d, "net/1"), "and the record stays");
	is_int(enc_netpool_release(d, 1, 1000, "a", "y", NULL), 0, "a/y releases slot 1");
	ok(!file_exists(d, "net/1"), "its record is gone");
	is_int(enc_netpool_release(d, 1, 1000, "a", "y", NULL), 0, "releasing again is success");
	is_int(alloc(d, 1000, "w", NULL), 1, "the lowest free slot (1) is reused by a/w");

	/* Stray names in net/ are not slots; a record that does not parse
	 * holds its slot (it cannot be judged). */
	int nd = openat(d, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	static const char *stray[] = { "4.new", "007", "abc", "16384" };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(stray); i++)
		close(openat(nd, stray[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	close(openat(nd, "5", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	is_int(alloc(d, 1000, "v", NULL), 4, "4.new, 007, abc and 16384 hold nothing: a/v gets 4");
	is_int(alloc(d, 1000, "t", NULL), 6, "an empty record holds slot 5: a/t gets 6");

	struct pred p = { .dead = "1000 a/x" };
	r = enc_netpool_reclaim(d, pred_fn, &p, &n, &e);
	ok(r == 0 && n == 1, "reclaim frees the one holder the predicate calls gone (%u)", n);
	is_int(p.calls, 6, "the predicate was asked about each of the 6 readable holders");
	ok(!file_exists(d, "net/0") && file_exists(d, "net/2"), "slot 0 (a/x) freed, a/z kept");
	struct pred perr = { .answer_err = 1 };
	r = enc_netpool_reclaim(d, pred_fn, &perr, &n, NULL);
	ok(r == 0 && n == 0, "a predicate that cannot tell keeps every slot");
	is_int(alloc(d, 1000, "u", NULL), 0, "a/u gets the reclaimed slot 0");
	struct enc_netpool_req bad = { .uid = 1, .sandbox = "a/b", .workspace = "u" };
	r = enc_netpool_alloc(d, &bad, &s, &e);
	is_int(r, -EINVAL, "a bad sandbox name is refused");
	enc_err_clear(&e);

	/* The per-user quota, and reclaiming a gone holder to stay within. */
	struct enc_netpool_req q = { .uid = 2000, .sandbox = "a", .quota = 2 };
	q.workspace = "q1";
	r = enc_netpool_alloc(d, &q, &s, NULL);
	q.workspace = "q2";
	r |= enc_netpool_alloc(d, &q, &s, NULL);
	is_int(r, 0, "user 2000 takes two slots, its quota");
	q.workspace = "q3";
	r = enc_netpool_alloc(d, &q, &s, &e);
	is_int(r, -EDQUOT, "a third one is over the quota");
	is_str(e.msg, "user 2000 already holds 2 network slots (the quota)", "... saying so");
	enc_err_clear(&e);
	struct pred pq = { .dead = "2000 a/q1" };
	q.alive = pred_fn;
	q.arg = &pq;
	r = enc_netpool_alloc(d, &q, &s, &e);
	ok(r == 0 && enc_netpool_find(d, 2000, "a", "q1", &n, NULL) == -ENOENT,
	   "with a predicate, a gone holder of the user makes room (slot %u)", s);
	close(nd);

	/* Owners: the same user's same-named workspaces of two stores are two
	 * holders; the record carries the owner; a bad owner is refused. */
	struct enc_netpool_req o1 = { .uid = 3000, .sandbox = "a", .workspace = "o",
				      .owner = "/store1/workspaces/a/o" };
	struct enc_netpool_req o2 = o1;
	unsigned s1 = 0, s2 = 0;
	o2.owner = "/store2/workspaces/a/o";
	r = enc_netpool_alloc(d, &o1, &s1, NULL);
	r |= enc_netpool_alloc(d, &o2, &s2, NULL);
	ok(r == 0 && s1 != s2, "same names, two owners: two slots (%u, %u)", s1, s2);
	char rec[16];
	snprintf(rec, sizeof(rec), "net/%u", s1);
	enc_fact_read(d, rec, 256, false, &buf, NULL, NULL);
	is_str(buf, "3000 a/o /store1/workspaces/a/o\n", "the record names the owner");
	free(buf);
	r = enc_netpool_alloc(d, &o1, &s, &e);
	is_int(r, -EEXIST, "the same owner again: EEXIST");
	enc_err_clear(&e);
	struct enc_netpool_req ob = o1;
	ob.owner = "relative/path";
	is_int(enc_netpool_alloc(d, &ob, &s, &e), -EINVAL, "a relative owner is refused");
	enc_err_clear(&e);
	ob.owner = "/with space";
	is_int(enc_netpool_alloc(d, &ob, &s, &e), -EINVAL, "an owner with a space is refused");
	enc_err_clear(&e);
	is_int(enc_netpool_release(d, s1, 3000, "a", "o", NULL), 0, "owner 1 releases");
	is_int(enc_netpool_release(d, s2, 3000, "a", "o", NULL), 0, "owner 2 releases");
	close(d);

	/* A full pool: records written directly, then one holder dies. */
	d = new_pool_dir("pool2");
	enc_mkdir_p_at(d, "net", 0700, NULL);
	nd = openat(d, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool wrote = true;
	for (unsigned i = 0; i < ENC_NETPOOL_SLOTS && wrote; i++) {
		char name[16], text[32];
		int fd;

		snprintf(name, sizeof(name), "%u", i);
		int len = snprintf(text, sizeof(text), "0 s/w%u\n", i);
		fd = openat(nd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		wrote = fd >= 0 && write(fd, text, (size_t)len) == len;
		if (fd >= 0)
			close(fd);
	}
	ok(wrote, "filled all %u slots", ENC_NETPOOL_SLOTS);
	struct enc_netpool_req full = { .uid = 0, .sandbox = "s", .workspace = "new" };
	r = enc_netpool_alloc(d, &full, &s, &e);
	is_int(r, -ENOSPC, "a full pool without a predicate: ENOSPC");
	is_str(e.msg, "the network address pool is exhausted (16384 workspaces hold all 16384 "
	       "slots)", "... saying so");
	enc_err_clear(&e);
	struct pred p77 = { .dead = "0 s/w77" };
	full.alive = pred_fn;
	full.arg = &p77;
	r = enc_netpool_alloc(d, &full, &s, &e);
	ok(r == 0 && s == 77, "with a predicate the gone holder's slot 77 is reclaimed (r=%d s=%u)",
	   r, s);
	is_int(p77.calls, (int)ENC_NETPOOL_SLOTS, "the predicate was asked about every holder");
	close(nd);
	close(d);
	enc_rm_rf_at(tmpfd, "pool2", NULL);
}

#define NALLOC 50

static void test_pool_concurrent(void)
{
	int d = new_pool_dir("pool3"), go[2], res[2];
	bool seen[NALLOC] = { false }, distinct = true, exited = true;
	pid_t pids[NALLOC];
	unsigned got = 0;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		ok(0, "pipes");
		return;
	}
	for (int i = 0; i < NALLOC; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char ws[16], c;
			struct enc_netpool_req q = { .uid = 1000, .sandbox = "conc", .workspace = ws };
			unsigned slot;

			close(go[1]);
			/* Wait for the start: all of them race at once. */
			if (read(go[0], &c, 1) < 0)
				_exit(3);
			snprintf(ws, sizeof(ws), "w%d", i);
			if (enc_netpool_alloc(d, &q, &slot, NULL) < 0)
				_exit(1);
			if (write(res[1], &slot, sizeof(slot)) != sizeof(slot))
				_exit(2);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);	/* go */
	for (;;) {
		unsigned slot;
		ssize_t n = read(res[0], &slot, sizeof(slot));

		if (n != sizeof(slot))
			break;
		got++;
		if (slot >= NALLOC || seen[slot])
			distinct = false;
		else
			seen[slot] = true;
	}
	close(res[0]);
	for (int i = 0; i < NALLOC; i++) {
		int st;

		if (pids[i] < 0 || waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			exited = false;
	}
	ok(exited, "%d concurrent allocators all succeeded", NALLOC);
	is_int(got, NALLOC, "each reported a slot");
	ok(distinct, "all slots distinct and exactly 0..%d", NALLOC - 1);
	close(d);
}

/* ---- namespaces for the kernel part --------------------------------------- */

struct netns {
	pid_t pid;
	int hold;	/* the child lives while this pipe end is open */
	int fd;		/* /proc/PID/ns/net */
};

static int netns_start(struct netns *n)
{
	int hold[2], ready[2];
	char c = 0, path[64];

	n->pid = -1;
	n->fd = n->hold = -1;
	if (pipe2(hold, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	n->pid = fork();
	if (n->pid < 0)
		return -errno;
	if (n->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(hold[1]);
		close(ready[0]);
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(hold[0]);
	close(ready[1]);
	n->hold = hold[1];
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		close(ready[0]);
		return -EPERM;
	}
	close(ready[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)n->pid);
	n->fd = open(path, O_RDONLY | O_CLOEXEC);
	return n->fd < 0 ? -errno : 0;
}

static void netns_stop(struct netns *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->hold >= 0)
		close(n->hold);
	if (n->pid > 0)
		waitpid(n->pid, NULL, 0);
	n->fd = n->hold = -1;
	n->pid = -1;
}

static ino_t own_netns(void)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return 0;
	return st.st_ino;
}

/* A socket inside nsfd, for the test's own listeners and watchers. */
static int sock_in(int nsfd, int domain, int type, int proto)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd;

	if (self < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		return -1;
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	if (setns(self, CLONE_NEWNET) < 0)
		abort();	/* the test would run in the wrong place */
	close(self);
	return fd;
}

/* Run a shell command inside nsfd; its output (stdout and stderr) into
 * out. Returns the exit status, or -1. */
static int sh_in(int nsfd, char *out, size_t len, const char *fmt, ...) ENC_PRINTF(4, 5);
static int sh_in(int nsfd, char *out, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	int p[2], st;
	size_t got = 0;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= len - 1)
			break;
	}
	out[got] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct names {
	char list[16][IFNAMSIZ];
	char kinds[16][32];
	int n;
};

static int collect(int ifindex ENC_UNUSED, const char *name, const char *kind, void *arg)
{
	struct names *nm = arg;

	if (nm->n < 16) {
		snprintf(nm->list[nm->n], IFNAMSIZ, "%s", name);
		snprintf(nm->kinds[nm->n], 32, "%s", kind);
		nm->n++;
	}
	return 0;
}

/* "lo,en..." of a namespace, by a netlink dump. */
static const char *links_of(struct enc_nl *nl, char *buf, size_t len)
{
	struct names nm = { .n = 0 };
	size_t off = 0;

	buf[0] = '\0';
	if (enc_nl_link_list(nl, collect, &nm, NULL) < 0)
		return "(dump failed)";
	for (int i = 0; i < nm.n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%s", i ? "," : "",
					nm.list[i], nm.kinds[i][0] ? nm.kinds[i] : "-");
	return buf;
}

/* Connect from inside the workspace namespace to addr:port (TCP). The
 * child reports its source port on a pipe; exit 0 on success. */
static pid_t connect_from(int nsfd, const struct enc_ip *dst, uint16_t port, int type,
			  bool wait_connected, int *portpipe)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_storage ss = { 0 }, me = { 0 };
		socklen_t sl, ml = sizeof(me);
		uint16_t sport = 0;
		int fd;

		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(10);
		if (dst->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			memcpy(&sin->sin_addr, dst->addr, 4);
			sl = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			memcpy(&sin6->sin6_addr, dst->addr, 16);
			sl = sizeof(*sin6);
		}
		fd = socket(dst->family, type | SOCK_CLOEXEC | (wait_connected ? 0 : SOCK_NONBLOCK), 0);
		if (fd < 0)
			_exit(11);
		if (type == SOCK_DGRAM) {
			if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, sl) != 1)
				_exit(12);
		} else if (connect(fd, (struct sockaddr *)&ss, sl) < 0 &&
			   (wait_connected || errno != EINPROGRESS)) {
			_exit(13);
		}
		if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
			sport = ntohs(me.ss_family == AF_INET ?
				      ((struct sockaddr_in *)&me)->sin_port :
				      ((struct sockaddr_in6 *)&me)->sin6_port);
		if (write(p[1], &sport, sizeof(sport)) != sizeof(sport))
			_exit(14);
		if (wait_connected && write(fd, "hi", 2) != 2)
			_exit(15);
		_exit(0);
	}
	close(p[1]);
	*portpipe = p[0];
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	if (pid <= 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint16_t read_port(int fd)
{
	uint16_t port = 0;

	if (read(fd, &port, sizeof(port)) != sizeof(port))
		port = 0;
	close(fd);
	return port;
}

static void reach_tcp(struct netns *host, struct netns *ws, const struct enc_ip *addr,
		      const struct enc_ip *from, const char *what)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int l, c, pp;
	pid_t pid;
	char buf[8] = "";
	bool accepted = false, peer_ok = false;

	l = sock_in(host->fd, addr->family, SOCK_STREAM, 0);
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(7777);
		memcpy(&sin->sin_addr, addr->addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(7777);
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		sl = sizeof(*sin6);
	}
	if (l < 0 || bind(l, (struct sockaddr *)&ss, sl) < 0 || listen(l, 4) < 0) {
		ok(0, "%s: listener on the host end (%s)", what, strerror(errno));
		if (l >= 0)
			close(l);
		return;
	}
	pid = connect_from(ws->fd, addr, 7777, SOCK_STREAM, true, &pp);
	struct pollfd pfd = { .fd = l, .events = POLLIN };
	if (poll(&pfd, 1, 5000) == 1) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);

		c = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
		if (c >= 0) {
			accepted = true;
			struct pollfd cp = { .fd = c, .events = POLLIN };
			if (poll(&cp, 1, 5000) == 1 && read(c, buf, 2) == 2)
				buf[2] = '\0';
			const void *pa = peer.ss_family == AF_INET ?
				(const void *)&((struct sockaddr_in *)&peer)->sin_addr :
				(const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr;
			peer_ok = memcmp(pa, from->addr, from->family == AF_INET ? 4 : 16) == 0;
			close(c);
		}
	}
	read_port(pp);
	is_int(wait_status(pid), 0, what);
	ok(accepted && strcmp(buf, "hi") == 0 && peer_ok,
	   "%s: the host accepted it from %s and read what it sent", what, ipstr(from));
	close(l);
}

/* Names seen in RTM_NEWLINK notifications on a watcher socket. */
static int watch_names(struct mnl_socket *w, char names[][IFNAMSIZ], int max)
{
	char buf[16384] __attribute__((aligned(8)));
	int n = 0;

	for (;;) {
		ssize_t got = recv(mnl_socket_get_fd(w), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int rem;

		if (got <= 0)
			break;
		rem = (int)got;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			const struct nlattr *a;

			if (nlh->nlmsg_type != RTM_NEWLINK)
				continue;
			mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
				if (mnl_attr_get_type(a) == IFLA_IFNAME && n < max)
					snprintf(names[n++], IFNAMSIZ, "%s", mnl_attr_get_str(a));
		}
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the kernel part ------------------------------------------------------ */

static struct netns H = { -1, -1, -1 }, W = { -1, -1, -1 };

static void test_veth(struct enc_nl *hn, struct enc_nl *wn)
{
	char name[ENC_VETH_NAME_SIZE], buf[4096], links[512], wnames[32][IFNAMSIZ];
	struct enc_veth_config cfg = { .netns_fd = W.fd };
	struct enc_err e = { 0 };
	ino_t self = own_netns();
	struct mnl_socket *watch = NULL;
	int r, wfd, idx;

	enc_veth_name("sb", "ws", 5, name);
	cfg.host = name;
	enc_netpool_addrs(5, &cfg.addrs);

	/* Watch link notifications in the "host" for the whole creation. */
	wfd = sock_in(H.fd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	watch = wfd >= 0 ? mnl_socket_fdopen(wfd) : NULL;
	ok(watch && mnl_socket_bind(watch, RTMGRP_LINK, MNL_SOCKET_AUTOPID) == 0,
	   "link watcher in the host namespace");

	uint64_t t0 = now_ns();
	r = enc_veth_setup(hn, &cfg, &e);
	uint64_t t1 = now_ns();
	if (!check_int(r, 0, "enc_veth_setup: veth, addresses, routes"))
		printf("#   %s\n", e.msg);
	printf("# first enc_veth_setup: %" PRIu64 " us\n", (t1 - t0) / 1000);
	is_u64(own_netns(), self, "the caller is still in its own network namespace");

	int nw = watch ? watch_names(watch, wnames, 32) : 0;
	bool only_host = nw > 0;
	for (int i = 0; i < nw; i++)
		if (strcmp(wnames[i], name) != 0) {
			printf("#   notified: %s\n", wnames[i]);
			only_host = false;
		}
	ok(only_host, "every link notification in the host named %s (%d), never eth0", name, nw);
	if (watch)
		mnl_socket_close(watch);

	char want[128];
	snprintf(want, sizeof(want), "lo:-,%s:veth", name);
	is_str(links_of(hn, links, sizeof(links)), want, "host dump: lo and the host end only");
	is_str(links_of(wn, links, sizeof(links)), "lo:-,eth0:veth", "workspace dump: lo and eth0");

	sh_in(W.fd, buf, sizeof(buf), "ip -o addr show dev eth0 | awk '{print $3, $4}'");
	has_str(buf, "inet 10.213.0.22/30", "workspace eth0 has 10.213.0.22/30");
	has_str(buf, "inet6 fd65:6e63:6c61:5::2/64", "workspace eth0 has fd65:6e63:6c61:5::2/64");
	sh_in(W.fd, buf, sizeof(buf), "ip -o link show lo | grep -c 'LOWER_UP'");
	is_str(buf, "1\n", "lo is up in the workspace");
	sh_in(W.fd, buf, sizeof(buf), "ip route show default; ip -6 route show default");
	has_str(buf, "default via 10.213.0.21 dev eth0 proto static", "workspace default route v4");
	has_str(buf, "default via fd65:6e63:6c61:5::1 dev eth0 proto static",
		"workspace default route v6");
	sh_in(H.fd, buf, sizeof(buf), "ip -o addr show dev %s scope global | "
	      "sed 's/^[0-9]*: [^ ]* *//; s/ *\\\\.*//; s/ *%s$//'", name, name);
	is_str(buf, "inet 10.213.0.21/30 scope global noprefixroute\n"
	       "inet6 fd65:6e63:6c61:5::1/64 scope global nodad noprefixroute\n",
	       "host end: both addresses, without prefix routes, v6 without DAD");
	sh_in(H.fd, buf, sizeof(buf), "ip route show; ip -6 route show | grep fd65");
	snprintf(want, sizeof(want), "10.213.0.22 dev %s proto static scope link \n"
		 "fd65:6e63:6c61:5::2 dev %s proto static metric 1024 pref medium\n", name, name);
	is_str(buf, want, "host routes: exactly the workspace's two addresses");

	reach_tcp(&H, &W, &cfg.addrs.host4, &cfg.addrs.ws4, "TCP v4 workspace -> host end");
	reach_tcp(&H, &W, &cfg.addrs.host6, &cfg.addrs.ws6, "TCP v6 workspace -> host end");

	/* Errors name the object. */
	r = enc_veth_setup(hn, &cfg, &e);
	is_int(r, -EEXIST, "setting up the same veth again fails");
	snprintf(want, sizeof(want), "cannot create veth %s: File exists", name);
	is_str(e.msg, want, "... saying which veth");
	enc_err_clear(&e);
	ok(enc_nl_link_index(hn, name, &idx, NULL, 0, NULL) == 0,
	   "and the existing veth was left alone");

	/* A batch: the first error wins, the rest is still answered. */
	enc_nl_queue_link_up(hn, 1, "lo");
	enc_nl_queue_addr(hn, idx, name, &cfg.addrs.host4, 30, ENC_NL_ADDR_NOPREFIXROUTE);
	enc_nl_queue_route(hn, &cfg.addrs.ws4, 32, NULL, idx, name);
	r = enc_nl_commit(hn, &e);
	is_int(r, -EEXIST, "a batch with two failing requests fails");
	snprintf(want, sizeof(want), "cannot add address 10.213.0.21/30 to %s: File exists", name);
	has_str(e.msg, want, "... with the first failure, naming the address and interface");
	enc_err_clear(&e);
	char kind[16];
	r = enc_nl_link_index(hn, name, &idx, kind, sizeof(kind), &e);
	ok(r == 0 && strcmp(kind, "veth") == 0, "the socket is in step afterwards (%s)", kind);
	enc_err_clear(&e);
	r = enc_nl_link_index(hn, "nosuch0", &idx, NULL, 0, &e);
	is_int(r, -ENODEV, "looking up a missing interface: ENODEV");
	is_str(e.msg, "cannot find interface nosuch0: No such device", "... naming it");
	enc_err_clear(&e);

	/* Deletion. */
	r = enc_veth_delete(hn, name, &e);
	is_int(r, 0, "enc_veth_delete");
	is_str(links_of(hn, links, sizeof(links)), "lo:-", "host: the host end is gone");
	is_str(links_of(wn, links, sizeof(links)), "lo:-", "workspace: eth0 went with it");
	is_int(enc_veth_delete(hn, name, &e), 0, "deleting it again is success");

	/* Only veths are deleted, even under an enclave-looking name. */
	sh_in(H.fd, buf, sizeof(buf), "ip link add name en00000000 type bridge");
	r = enc_veth_delete(hn, "en00000000", &e);
	is_int(r, -EPERM, "a bridge named en00000000 is not deleted");
	is_str(e.msg, "refusing to delete interface en00000000: it is not a veth (kind 'bridge')",
	       "... saying why");
	enc_err_clear(&e);
	ok(enc_nl_link_index(hn, "en00000000", &idx, NULL, 0, NULL) == 0, "the bridge is still there");
	sh_in(H.fd, buf, sizeof(buf), "ip link del en00000000");

	/* A failure after the creation leaves nothing: a route already in
	 * the host's table makes the host side fail. */
	struct enc_veth_config c6 = { .netns_fd = W.fd };
	char name6[ENC_VETH_NAME_SIZE];
	enc_veth_name("sb", "six", 6, name6);
	c6.host = name6;
	enc_netpool_addrs(6, &c6.addrs);
	sh_in(H.fd, buf, sizeof(buf), "ip link set lo up && ip route add 10.213.0.26/32 dev lo");
	r = enc_veth_setup(hn, &c6, &e);
	is_int(r, -EEXIST, "setup with a clashing host route fails");
	snprintf(want, sizeof(want), "cannot add 10.213.0.26/32 route dev %s: File exists", name6);
	is_str(e.msg, want, "... naming the route");
	enc_err_clear(&e);
	is_str(links_of(hn, links, sizeof(links)), "lo:-", "and the veth was removed again (host)");
	is_str(links_of(wn, links, sizeof(links)), "lo:-", "... and inside the workspace");
	sh_in(H.fd, buf, sizeof(buf), "ip route del 10.213.0.26/32 dev lo");

	/* Timing: setup and teardown, repeated. */
	uint64_t setup[20], del[20];
	bool all_ok = true;
	for (int i = 0; i < 20; i++) {
		uint64_t a = now_ns();
		all_ok = all_ok && enc_veth_setup(hn, &cfg, &e) == 0;
		uint64_t b = now_ns();
		all_ok = all_ok && enc_veth_delete(hn, name, &e) == 0;
		uint64_t c = now_ns();
		setup[i] = (b - a) / 1000;
		del[i] = (c - b) / 1000;
	}
	if (!ok(all_ok, "20 rounds of setup and delete"))
		printf("#   %s\n", e.msg);
	qsort(setup, 20, sizeof(setup[0]), cmp_u64);
	qsort(del, 20, sizeof(del[0]), cmp_u64);
	printf("# enc_veth_setup (veth + addresses + routes, both sides): min %" PRIu64
	       " us, median %" PRIu64 " us, max %" PRIu64 " us\n", setup[0], setup[10], setup[19]);
	printf("# enc_veth_delete: min %" PRIu64 " us, median %" PRIu64 " us\n", del[0], del[10]);
	uint64_t o[20];
	for (int i = 0; i < 20; i++) {
		struct enc_nl *x = NULL;
		uint64_t a = now_ns();
		enc_nl_open(W.fd, &x, NULL);
		o[i] = (now_ns() - a) / 1000;
		enc_nl_close(x);
	}
	qsort(o, 20, sizeof(o[0]), cmp_u64);
	printf("# enc_nl_open inside another namespace: median %" PRIu64 " us\n", o[10]);
	is_u64(own_netns(), self, "still in our own network namespace after all that");
}

static struct enc_nflog *nflog_wait(struct enc_nflog *r, struct enc_nflog_event *ev, size_t max,
				   int *n, int want, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;

	*n = 0;
	while (*n < want && now_ns() < end) {
		struct pollfd p = { .fd = enc_nflog_fd(r), .events = POLLIN };
		int got;

		if (poll(&p, 1, 50) < 0)
			break;
		got = enc_nflog_read(r, ev + *n, max - (size_t)*n, NULL);
		if (got > 0)
			*n += got;
	}
	return r;
}

static void nflog_one(struct enc_nflog *r, const struct enc_ip *dst, const struct enc_ip *src,
		      int type, const char *what)
{
	struct enc_nflog_event ev[4];
	struct timespec before, after;
	int pp, n;
	pid_t pid;

	clock_gettime(CLOCK_REALTIME, &before);
	pid = connect_from(W.fd, dst, 9, type, false, &pp);
	uint16_t sport = read_port(pp);
	wait_status(pid);
	nflog_wait(r, ev, 4, &n, 1, 3000);
	clock_gettime(CLOCK_REALTIME, &after);
	if (!check_int(n, 1, what))
		return;
	is_str(ev[0].prefix, "enc:t1 ", "... prefix");
	is_int(ev[0].protocol, type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP, "... protocol");
	is_str(ipstr(&ev[0].dst), ipstr(dst), "... destination address");
	is_str(ipstr(&ev[0].src), ipstr(src), "... source address");
	is_int(ev[0].dport, 9, "... destination port");
	ok(sport != 0 && ev[0].sport == sport, "... source port %u (the socket's %u)", ev[0].sport,
	   sport);
	ok(ev[0].time.tv_sec >= before.tv_sec - 1 && ev[0].time.tv_sec <= after.tv_sec + 1,
	   "... time within the test's window");
}

static void test_nflog(struct enc_nl *hn)
{
	char name[ENC_VETH_NAME_SIZE], buf[4096];
	struct enc_veth_config cfg = { .netns_fd = W.fd };
	struct enc_nflog *r = NULL, *r2 = NULL;
	struct enc_nflog_stats st;
	struct enc_nflog_event ev[8];
	struct enc_err e = { 0 };
	int rc, n;

	enc_veth_name("sb", "log", 9, name);
	cfg.host = name;
	enc_netpool_addrs(9, &cfg.addrs);
	if (!check_int(enc_veth_setup(hn, &cfg, &e), 0, "veth for the NFLOG tests"))
		printf("#   %s\n", e.msg);

	/* ONE rule: TCP or UDP to port 9 arriving from an enclave veth is
	 * logged to group 2049 and dropped. */
	rc = sh_in(H.fd, buf, sizeof(buf),
		   "nft -f - <<'EOF'\n"
		   "table inet enctest {\n"
		   "  chain input {\n"
		   "    type filter hook input priority 0; policy accept;\n"
		   "    iifname \"en*\" meta l4proto { tcp, udp } th dport 9 "
		   "log prefix \"enc:t1 \" group 2049 drop\n"
		   "  }\n"
		   "}\n"
		   "EOF\n");
	if (!check_int(rc, 0, "nft rule in the test's host namespace"))
		printf("#   %s\n", buf);

	rc = enc_nflog_open(H.fd, 2049, 0, &r, &e);
	if (!check_int(rc, 0, "NFLOG reader bound to group 2049"))
		printf("#   %s\n", e.msg);
	if (rc < 0)
		return;
	enc_err_clear(&e);
	rc = enc_nflog_open(H.fd, 2049, 0, &r2, &e);
	ok(rc == -EBUSY || rc == -EPERM, "a second reader on the same group is refused (%d)", rc);
	has_str(e.msg, "cannot bind NFLOG group 2049 (another process listens on it",
		"... saying so: one group per workspace, not one shared");
	enc_err_clear(&e);
	enc_nflog_free(r2);

	nflog_one(r, &cfg.addrs.host4, &cfg.addrs.ws4, SOCK_STREAM, "TCP v4 SYN logged");
	nflog_one(r, &cfg.addrs.host6, &cfg.addrs.ws6, SOCK_STREAM, "TCP v6 SYN logged");
	nflog_one(r, &cfg.addrs.host4, &cfg.addrs.ws4, SOCK_DGRAM, "UDP v4 datagram logged");

	/* The batch bound: 5 packets, max 2 per call. */
	for (int i = 0; i < 5; i++) {
		int pp;
		pid_t pid = connect_from(W.fd, &cfg.addrs.host4, 9, SOCK_DGRAM, false, &pp);

		read_port(pp);
		wait_status(pid);
	}
	usleep(20000);
	int c1 = enc_nflog_read(r, ev, 2, NULL);
	int c2 = enc_nflog_read(r, ev, 2, NULL);
	int c3 = enc_nflog_read(r, ev, 2, NULL);
	int c4 = enc_nflog_read(r, ev, 2, NULL);
	ok(c1 == 2 && c2 == 2 && c3 == 1 && c4 == 0,
	   "a call returns at most max events (%d %d %d %d)", c1, c2, c3, c4);
	enc_nflog_get_stats(r, &st);
	ok(st.received == 8 && st.delivered == 8 && st.rate_dropped == 0 && st.malformed == 0,
	   "stats: received %" PRIu64 ", delivered %" PRIu64, st.received, st.delivered);
	enc_nflog_free(r);

	/* The reader's own rate: 2 per second, 6 packets. */
	r = NULL;
	rc = enc_nflog_open(H.fd, 2049, 2, &r, &e);
	is_int(rc, 0, "the group is free again once the reader closed; rate 2/s");
	if (rc == 0) {
		for (int i = 0; i < 6; i++) {
			int pp;
			pid_t pid = connect_from(W.fd, &cfg.addrs.host4, 9, SOCK_DGRAM, false, &pp);

			read_port(pp);
			wait_status(pid);
		}
		uint64_t end = now_ns() + 2000000000ull;
		n = 0;
		do {
			struct pollfd p = { .fd = enc_nflog_fd(r), .events = POLLIN };

			poll(&p, 1, 20);
			rc = enc_nflog_read(r, ev, 8, NULL);
			n += rc > 0 ? rc : 0;
			enc_nflog_get_stats(r, &st);
		} while (st.received < 6 && now_ns() < end);
		ok(n == 2 && st.delivered == 2 && st.rate_dropped == 4 && st.received == 6,
		   "6 packets at 2/s: 2 delivered, 4 dropped and counted (%d, %" PRIu64 ", %" PRIu64
		   ")", n, st.delivered, st.rate_dropped);
		enc_nflog_free(r);
	}

	/* Decoding garbage is an error, never a crash. */
	char junk[64] = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)junk;
	nlh->nlmsg_len = sizeof(junk);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | 0;
	is_int(enc_nflog_decode(junk, sizeof(junk), ev), -EINVAL, "a packet message without payload");
	nlh->nlmsg_len = 4096;
	is_int(enc_nflog_decode(junk, sizeof(junk), ev), -EINVAL, "a message longer than its buffer");

	sh_in(H.fd, buf, sizeof(buf), "nft delete table inet enctest");
	enc_veth_delete(hn, name, NULL);
}

static void test_kernel(void)
{
	struct enc_nl *hn = NULL, *wn = NULL;
	struct enc_err e = { 0 };
	ino_t self = own_netns();

	if (netns_start(&H) < 0 || netns_start(&W) < 0) {
		ok(0, "network namespaces for the test (%s)", strerror(errno));
		return;
	}
	ok(H.fd >= 0 && W.fd >= 0, "two network namespaces: host and workspace");
	if (!check_int(enc_nl_open(H.fd, &hn, &e), 0, "rtnetlink socket in the test's host namespace"))
		printf("#   %s\n", e.msg);
	is_int(enc_nl_open(W.fd, &wn, NULL), 0, "rtnetlink socket in the workspace namespace");
	is_u64(own_netns(), self, "opening them left the caller where it was");
	if (hn && wn) {
		test_veth(hn, wn);
		test_nflog(hn);
	}
	enc_nl_close(hn);
	enc_nl_close(wn);
	netns_stop(&W);
	netns_stop(&H);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-netlink-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		ok(0, "temporary directory");
		return tap_done();
	}
	tmpfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	alarm(120);

	test_names();
	test_addrs();
	test_pool();
	test_pool_concurrent();

	if (geteuid() != 0) {
		if (must_work())
			ok(0, "the kernel tests need root (ENCLAVE_MUST_WORK=1 forbids skipping)");
		else
			printf("ok %d - veth, addresses, routes and NFLOG # SKIP need root\n", ++tap_n);
	} else {
		test_kernel();
	}

	int top = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(tmpfd);
	ok(enc_rm_rf_at(top, tmpdir + 5, NULL) == 0 && access(tmpdir, F_OK) < 0,
	   "the temporary pool directories are gone");
	close(top);
	return tap_done();
}
