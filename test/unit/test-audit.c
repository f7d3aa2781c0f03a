/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "audit.h"
#include "fsutil.h"

static int dfd = -1;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static char *slurp(const char *name, size_t *len)
{
	char *out = NULL;

	if (enc_fact_read(dfd, name, 64 << 20, false, &out, len, NULL) < 0)
		return NULL;
	return out;
}

static void spit(const char *name, const char *buf, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Start offsets of each line of buf (nlines + 1 entries, the last = len). */
static size_t split(const char *buf, size_t len, size_t *starts, size_t max)
{
	size_t n = 0;

	starts[n++] = 0;
	for (size_t i = 0; i < len && n < max; i++)
		if (buf[i] == '\n' && i + 1 < len)
			starts[n++] = i + 1;
	starts[n] = len;
	return n;
}

/* Write a copy of the file with lines rearranged by `order` (1-based line
 * numbers, 0 ends), then verify it. */
static int verify_variant(const char *src, const char *dst, const int *order,
			  struct enc_audit_verify_result *res, struct enc_err *e)
{
	static size_t st[2048];
	size_t len, n;
	char *buf = slurp(src, &len);
	char *out = malloc(len + 4096);
	size_t o = 0;

	n = split(buf, len, st, 2000);
	for (; *order; order++) {
		size_t k = (size_t)*order - 1;

		if (k >= n)
			abort();
		memcpy(out + o, buf + st[k], st[k + 1] - st[k]);
		o += st[k + 1] - st[k];
	}
	spit(dst, out, o);
	free(buf);
	free(out);
	enc_err_clear(e);
	return enc_audit_verify(dfd, dst, res, e);
}

static void test_names(void)
{
	struct enc_audit a = ENC_AUDIT_INIT;
	struct enc_err e = { 0 };
	const char *bad_secret[] = { "token", "secret", "password", "value", "api_token",
				     "db_password", "env_value", "x_secret" };

	for (size_t i = 0; i < ENC_ARRAY_SIZE(bad_secret); i++) {
		enc_err_clear(&e);
		is_int(enc_audit_name_check(bad_secret[i], &e), -EINVAL, bad_secret[i]);
		has_str(e.msg, "names, never values", "secret tripwire message");
	}
	is_int(enc_audit_name_check("token_name", NULL), 0, "token_name is a name, allowed");
	is_int(enc_audit_name_check("provider", NULL), 0, "provider allowed");
	is_int(enc_audit_name_check("tokens", NULL), 0, "tokens (not _token) allowed");
	enc_err_clear(&e);
	is_int(enc_audit_name_check("seq", &e), -EINVAL, "seq reserved");
	has_str(e.msg, "'seq' is reserved", "reserved message");
	is_int(enc_audit_name_check("prev", NULL), -EINVAL, "prev reserved");
	is_int(enc_audit_name_check("Name", NULL), -EINVAL, "uppercase refused");
	is_int(enc_audit_name_check("", NULL), -EINVAL, "empty refused");
	is_int(enc_audit_name_check("a\"b", NULL), -EINVAL, "quote refused");

	is_int(enc_audit_open(dfd, "names.jsonl", 0, &a, NULL), 0, "open names.jsonl");
	struct enc_audit_field f1[] = { ENC_AUDIT_STR("provider", "github"),
					ENC_AUDIT_STR("token", "ghp_xxx") };
	enc_err_clear(&e);
	is_int(enc_audit_append(&a, "credential", f1, 2, &e), -EINVAL, "append with 'token' refused");
	has_str(e.msg, "'token' looks like a secret value", "append tripwire message");
	struct enc_audit_field f2[] = { ENC_AUDIT_STR("x", "1"), ENC_AUDIT_INT("x", 2) };
	is_int(enc_audit_append(&a, "dup", f2, 2, NULL), -EINVAL, "duplicate field refused");
	struct enc_audit_field f3[] = { ENC_AUDIT_RAW("doc", "{\"a\":", 5) };
	is_int(enc_audit_append(&a, "raw", f3, 1, NULL), -EINVAL, "invalid raw JSON refused");
	is_int(enc_audit_append(&a, "Bad-Event", NULL, 0, NULL), -EINVAL, "bad event name refused");
	is_u64(a.seq, 0, "nothing was written");
	struct stat sb;
	fstat(a.fd, &sb);
	is_int(sb.st_size, 0, "file still empty");
	is_int(sb.st_mode & 07777, 0600, "audit file mode 0600");
	enc_audit_close(&a);
}

static void test_chain(void)
{
	struct enc_audit a = ENC_AUDIT_INIT;
	struct enc_audit_verify_result res;
	struct enc_err e = { 0 };
	char *buf;
	size_t len;
	int r = 0;

	is_int(enc_audit_open(dfd, "a.jsonl", 0, &a, &e), 0, "open a.jsonl");
	for (int i = 1; i <= 200 && r == 0; i++) {
		struct enc_audit_field f[] = {
			ENC_AUDIT_STR("ws", "w1"), ENC_AUDIT_INT("n", -i),
			ENC_AUDIT_UINT("u", (uint64_t)i * 7), ENC_AUDIT_BOOL("ok", i % 2),
		};
		r = enc_audit_append(&a, i == 1 ? "start" : "tick", f, 4, &e);
	}
	is_int(r, 0, "200 appends");
	is_u64(a.seq, 200, "seq 200");
	char head[ENC_SHA256_HEX];
	memcpy(head, a.prev, sizeof(head));
	enc_audit_close(&a);

	buf = slurp("a.jsonl", &len);
	ok(strncmp(buf, "{\"seq\":1,\"time\":\"", 17) == 0, "record starts with seq then time");
	ok(buf[17 + 4] == '-' && buf[17 + 10] == 'T' && buf[17 + 19] == '.' && buf[17 + 23] == 'Z',
	   "time is YYYY-MM-DDTHH:MM:SS.mmmZ");
	const char *rest = "\",\"event\":\"start\",\"ws\":\"w1\",\"n\":-1,\"u\":7,\"ok\":true,"
		"\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}\n";
	ok(strncmp(buf + 41, rest, strlen(rest)) == 0,
	   "first record: event, fields in order, zero prev last");
	has_str(buf, "\"seq\":2,", "second record has seq 2");
	free(buf);

	is_int(enc_audit_verify(dfd, "a.jsonl", &res, &e), 0, "chain verifies");
	is_int(res.status, ENC_AUDIT_OK, "status ok");
	is_u64(res.records, 200, "200 records");
	is_u64(res.last_seq, 200, "last seq 200");
	is_u64(res.line, 0, "no bad line");
	is_str(res.head, head, "head hash = writer's prev");

	/* reopen recovers seq and prev */
	is_int(enc_audit_open(dfd, "a.jsonl", ENC_AUDIT_SYNC, &a, &e), 0, "reopen");
	is_u64(a.seq, 200, "reopen: seq recovered");
	is_str(a.prev, head, "reopen: prev recovered");
	is_u64(a.torn, 0, "reopen: nothing torn");
	is_int(enc_audit_append(&a, "result", NULL, 0, &e), 0, "append after reopen (sync)");
	is_u64(a.seq, 201, "seq 201");
	enc_audit_close(&a);
	is_int(enc_audit_verify(dfd, "a.jsonl", &res, NULL), 0, "201 records verify");
	is_u64(res.records, 201, "201 records counted");
}

static void expect_bad(int r, const struct enc_audit_verify_result *res,
		       const struct enc_err *e, enum enc_audit_status st, uint64_t line,
		       const char *what)
{
	char want[64], name[160];

	snprintf(name, sizeof(name), "%s: -EBADMSG", what);
	is_int(r, -EBADMSG, name);
	snprintf(name, sizeof(name), "%s: status %s", what, enc_audit_status_str(st));
	is_str(enc_audit_status_str(res->status), enc_audit_status_str(st), name);
	snprintf(name, sizeof(name), "%s: line %llu", what, (unsigned long long)line);
	is_u64(res->line, line, name);
	snprintf(want, sizeof(want), ": line %llu: ", (unsigned long long)line);
	snprintf(name, sizeof(name), "%s: message names the line", what);
	has_str(e->msg, want, name);
}

static void test_tamper(void)
{
	struct enc_audit_verify_result res;
	struct enc_err e = { 0 };
	int order[260], k, r;
	size_t len, st[300];
	char *buf;

	/* identity copy verifies */
	for (k = 0; k < 201; k++)
		order[k] = k + 1;
	order[k] = 0;
	is_int(verify_variant("a.jsonl", "t.jsonl", order, &res, &e), 0, "unchanged copy verifies");

	/* edit one byte of record 50 (inside a string value) */
	buf = slurp("a.jsonl", &len);
	split(buf, len, st, 290);
	char *w = strstr(buf + st[49], "\"ws\":\"w1\"");
	w[7] = '2';
	spit("t.jsonl", buf, len);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "t.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_PREV, 51, "edited record 50");
	is_u64(res.records, 50, "edited: 50 records before the break");
	has_str(e.msg, "was edited", "edited: reason");

	/* edit the seq of record 50 */
	w[7] = '1';
	w = buf + st[49] + 8;	/* {"seq":50 -> 59 */
	*w = '9';
	spit("t.jsonl", buf, len);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "t.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_SEQ, 50, "seq of record 50 edited");
	*w = '0';
	free(buf);

	/* delete line 100 */
	for (k = 0, r = 1; r <= 201; r++)
		if (r != 100)
			order[k++] = r;
	order[k] = 0;
	r = verify_variant("a.jsonl", "t.jsonl", order, &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_SEQ, 100, "deleted line 100");
	has_str(e.msg, "seq 101 where 100 was expected", "deleted: reason");

	/* delete the first line */
	for (k = 0; k < 200; k++)
		order[k] = k + 2;
	order[k] = 0;
	r = verify_variant("a.jsonl", "t.jsonl", order, &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_SEQ, 1, "deleted line 1");

	/* swap lines 120 and 121 */
	for (k = 0; k < 201; k++)
		order[k] = k + 1;
	order[119] = 121;
	order[120] = 120;
	order[k] = 0;
	r = verify_variant("a.jsonl", "t.jsonl", order, &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_SEQ, 120, "swapped lines 120/121");

	/* forged line appended with the right seq but a wrong prev */
	buf = slurp("a.jsonl", &len);
	buf = realloc(buf, len + 512);
	len += (size_t)sprintf(buf + len,
			       "{\"seq\":202,\"time\":\"2026-11-25T21:30:00.123Z\",\"event\":\"x\","
			       "\"prev\":\"%s\"}\n",
			       "1111111111111111111111111111111111111111111111111111111111111111");
	spit("t.jsonl", buf, len);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "t.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_PREV, 202, "forged line 202");
	is_u64(res.records, 201, "forged: 201 good records");

	/* not JSON at all */
	strcpy(buf + len - 3, "\n");	/* drop "}: invalid */
	spit("t.jsonl", buf, len - 2);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "t.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_BAD_JSON, 202, "broken JSON line 202");

	/* JSON, but not a record */
	spit("t.jsonl", "{\"seq\":1}\n", 10);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "t.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_BAD_RECORD, 1, "JSON that is not a record");
	free(buf);

	/* a torn last line: crash mid-write */
	buf = slurp("a.jsonl", &len);
	spit("torn.jsonl", buf, len - 10);
	free(buf);
	enc_err_clear(&e);
	r = enc_audit_verify(dfd, "torn.jsonl", &res, &e);
	expect_bad(r, &res, &e, ENC_AUDIT_TRUNCATED, 201, "torn last line");
	is_u64(res.records, 200, "torn: 200 good records");
	has_str(e.msg, "truncated", "torn: reason says truncated");

	/* a last line cut exactly before its newline is torn too */
	buf = slurp("a.jsonl", &len);
	spit("torn2.jsonl", buf, len - 1);
	free(buf);
	r = enc_audit_verify(dfd, "torn2.jsonl", &res, NULL);
	is_str(enc_audit_status_str(res.status), "truncated", "missing final newline: truncated");

	/* reopening repairs a torn tail and records the repair */
	struct enc_audit a = ENC_AUDIT_INIT;
	buf = slurp("a.jsonl", &len);
	split(buf, len, st, 290);
	size_t frag = len - 10 - st[200];
	free(buf);
	is_int(enc_audit_open(dfd, "torn.jsonl", 0, &a, &e), 0, "open torn file");
	is_u64(a.torn, frag, "torn bytes counted");
	is_u64(a.seq, 201, "repair record took seq 201");
	enc_audit_close(&a);
	is_int(enc_audit_verify(dfd, "torn.jsonl", &res, NULL), 0, "repaired file verifies");
	buf = slurp("torn.jsonl", &len);
	split(buf, len, st, 290);
	char want[64];
	snprintf(want, sizeof(want), "\"event\":\"audit_torn_tail\",\"bytes\":%zu,", frag);
	has_str(buf + st[200], want, "repair record names the dropped bytes");
	free(buf);

	/* a last record that is not ours blocks appending */
	spit("junk.jsonl", "hello\n", 6);
	enc_err_clear(&e);
	is_int(enc_audit_open(dfd, "junk.jsonl", 0, &a, &e), -EBADMSG, "junk last line: -EBADMSG");
	has_str(e.msg, "junk.jsonl: audit: last record: not valid JSON", "junk message");
	is_int(a.fd, -1, "failed open leaves fd -1");
}

static void test_long_and_hostile(void)
{
	struct enc_audit a = ENC_AUDIT_INIT;
	struct enc_audit_verify_result res;
	struct enc_err e = { 0 };
	size_t big = 200 * 1024, len, nl = 0;
	char *s = malloc(big + 1), *buf;

	memset(s, 'x', big);
	s[big] = '\0';
	is_int(enc_audit_open(dfd, "long.jsonl", 0, &a, &e), 0, "open long.jsonl");
	is_int(enc_audit_append(&a, "start", NULL, 0, &e), 0, "short record");
	struct enc_audit_field f = ENC_AUDIT_STR("cmd", s);
	is_int(enc_audit_append(&a, "big", &f, 1, &e), 0, "200 KiB record");
	char head[ENC_SHA256_HEX];
	memcpy(head, a.prev, sizeof(head));
	s = realloc(s, ENC_AUDIT_LINE_MAX + 1);
	memset(s, 'y', ENC_AUDIT_LINE_MAX);
	s[ENC_AUDIT_LINE_MAX] = '\0';
	f.s = s;
	enc_err_clear(&e);
	is_int(enc_audit_append(&a, "huge", &f, 1, &e), -E2BIG, "over-long record refused");
	has_str(e.msg, "exceeds 262144", "E2BIG message");
	enc_audit_close(&a);
	is_int(enc_audit_open(dfd, "long.jsonl", 0, &a, &e), 0, "reopen with a long last line");
	is_u64(a.seq, 2, "seq recovered past a 200 KiB line");
	is_str(a.prev, head, "prev recovered past a 200 KiB line");

	enc_audit_close(&a);
	is_int(enc_audit_verify(dfd, "long.jsonl", &res, &e), 0, "verifies with a long record");
	is_u64(res.records, 2, "2 records");

	const char *raw = "{\n  \"exit\": 3,\r\n  \"msg\": \"a\\nb\"\n}\n";
	is_int(enc_audit_open(dfd, "hostile.jsonl", 0, &a, &e), 0, "open hostile.jsonl");
	is_int(enc_audit_append(&a, "start", NULL, 0, &e), 0, "first record");
	const char *hostile = "a\"b\\c\nd\re\tf\x01g\x7f" "h\xff\xc0i\xe2\x82j}\n{\"seq\":9}";
	struct enc_audit_field hf[] = {
		ENC_AUDIT_STR("cmd", hostile), ENC_AUDIT_STR("nothing", NULL),
		ENC_AUDIT_RAW("result", raw, strlen(raw)),
	};
	is_int(enc_audit_append(&a, "hostile", hf, 3, &e), 0, "hostile strings appended");
	enc_audit_close(&a);
	is_int(enc_audit_verify(dfd, "hostile.jsonl", &res, &e), 0, "verifies with hostile record");
	is_u64(res.records, 2, "2 records");
	buf = slurp("hostile.jsonl", &len);
	for (size_t i = 0; i < len; i++)
		nl += buf[i] == '\n';
	is_u64(nl, 2, "exactly one line per record");
	has_str(buf, "\"cmd\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\xef\xbf\xbd\xef\xbf\xbdi"
		"\xef\xbf\xbd\xef\xbf\xbdj}\\n{\\\"seq\\\":9}\"",
		"quotes, controls and invalid UTF-8 escaped");
	has_str(buf, "\"nothing\":null,\"result\":{   \"exit\": 3,    \"msg\": \"a\\nb\" } ,\"prev\":",
		"raw JSON flattened onto the line");
	free(buf);
	free(s);
}

static void test_concurrent(void)
{
	struct enc_audit_verify_result res;
	struct enc_err e = { 0 };
	pid_t pids[2];
	int status, good = 0;
	size_t len, c0 = 0, c1 = 0;
	char *buf, *p;

	for (int w = 0; w < 2; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			struct enc_audit a = ENC_AUDIT_INIT;

			if (enc_audit_open(dfd, "conc.jsonl", 0, &a, NULL) < 0)
				_exit(2);
			for (int i = 0; i < 500; i++) {
				struct enc_audit_field f[] = { ENC_AUDIT_INT("writer", w),
							       ENC_AUDIT_INT("i", i) };
				if (enc_audit_append(&a, "tick", f, 2, NULL) < 0)
					_exit(3);
			}
			enc_audit_close(&a);
			_exit(0);
		}
	}
	for (int w = 0; w < 2; w++)
		if (waitpid(pids[w], &status, 0) == pids[w] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			good++;
	is_int(good, 2, "both writers finished");
	is_int(enc_audit_verify(dfd, "conc.jsonl", &res, &e), 0, "concurrent chain verifies");
	if (e.code)
		printf("# %s\n", e.msg);
	is_u64(res.records, 1000, "1000 records");
	buf = slurp("conc.jsonl", &len);
	for (p = buf; (p = strstr(p, "\"writer\":")); p++)
		if (p[9] == '0')
			c0++;
		else
			c1++;
	is_u64(c0, 500, "500 from writer 0");
	is_u64(c1, 500, "500 from writer 1");
	free(buf);
}

static void test_files(void)
{
	struct enc_audit a = ENC_AUDIT_INIT;
	struct enc_audit_verify_result res;
	struct enc_err e = { 0 };

	is_int(enc_audit_verify(dfd, "missing.jsonl", &res, &e), -ENOENT, "verify missing: -ENOENT");
	spit("empty.jsonl", "", 0);
	is_int(enc_audit_verify(dfd, "empty.jsonl", &res, NULL), 0, "empty file verifies");
	is_u64(res.records, 0, "empty: 0 records");
	if (symlinkat("a.jsonl", dfd, "link.jsonl") == 0) {
		is_int(enc_audit_open(dfd, "link.jsonl", 0, &a, NULL), -ELOOP, "symlink refused on open");
		is_int(enc_audit_verify(dfd, "link.jsonl", &res, NULL), -ELOOP, "symlink refused on verify");
	}
	mkfifoat(dfd, "fifo.jsonl", 0600);
	enc_err_clear(&e);
	is_int(enc_audit_open(dfd, "fifo.jsonl", 0, &a, &e), -EINVAL, "fifo refused");
	has_str(e.msg, "not a regular file", "fifo message");
}

int main(void)
{
	char tmpl[] = "/tmp/enclave-test-audit.XXXXXX";
	int before = count_fds();

	if (!mkdtemp(tmpl))
		return 1;
	dfd = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	test_names();
	test_chain();
	test_tamper();
	test_long_and_hostile();
	test_concurrent();
	test_files();
	close(dfd);
	is_int(count_fds(), before, "no fd leaked");
	int pfd = open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	is_int(enc_rm_rf_at(pfd, tmpl + 5, NULL), 0, "cleanup");
	close(pfd);
	return tap_done();
}
