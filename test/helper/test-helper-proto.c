/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-helper-proto.c - the helper's request decoder, policy and subid
 * parsers, and the client's reply parsing. Pure: no privileges needed.
 */
#include <errno.h>
#include <string.h>

#include "../unit/tap.h"
#include "client.h"
#include "policy.h"
#include "proto.h"

static struct hreq r;
static struct enc_err e;

static int dec(const char *s)
{
	enc_err_clear(&e);
	return hreq_decode(s, strlen(s), &r, &e);
}

#define REQ(op, body) HREQ_MAGIC "\nop=" op "\n" body "end\n"

static void test_decode(void)
{
	char big[HREQ_MAX + 64];

	is_int(dec(REQ("uidmap", "uid=0 100000 65536\ngid=0 100000 65536\n")), 0, "uidmap decodes");
	is_int(r.op, HOP_UIDMAP, "op uidmap");
	is_int(r.nuid, 1, "one uid extent");
	ok(r.uid[0].outside == 100000 && r.uid[0].count == 65536, "extent values");
	is_int(r.nfds_min, 1, "uidmap needs one fd");
	is_int(dec(REQ("uidmap", "uid=0 100000 65536\nuid=65536 200000 10\ngid=0 1 1\n")), 0,
	       "uid is a list key");
	is_int(r.nuid, 2, "two uid extents");

	is_int(dec(REQ("uidmap", "uid=0 100000 65536\n")), -EINVAL, "uidmap without gid");
	has_str(e.msg, "uidmap needs gid=", "names the missing key");
	is_int(dec(REQ("uidmap", "uid=0 100000 0\ngid=0 1 1\n")), -EINVAL, "count 0 refused");
	is_int(dec(REQ("uidmap", "uid=0 4294967290 10\ngid=0 1 1\n")), -EINVAL, "wrapping range refused");
	is_int(dec(REQ("uidmap", "uid=0 1 1 1\ngid=0 1 1\n")), -EINVAL, "four fields refused");
	is_int(dec(REQ("uidmap", "uid=-1 1 1\ngid=0 1 1\n")), -EINVAL, "negative refused");
	has_str(e.msg, "expected INSIDE OUTSIDE COUNT", "extent message");
	is_int(dec(REQ("uidmap", "uid=0 1 1\nuid=1 2 1\nuid=2 3 1\nuid=3 4 1\nuid=4 5 1\n"
			"uid=5 6 1\nuid=6 7 1\nuid=7 8 1\nuid=8 9 1\ngid=0 1 1\n")), -EINVAL,
	       "nine extents refused");
	has_str(e.msg, "too many map extents", "too many extents message");

	is_int(dec(REQ("mount", "tree=rootfs\nstore=/var/lib/enclave/sandboxes\n"
			"path=devbox/gen/0123abcd/rootfs\n")), 0, "rootfs mount decodes");
	is_int(r.tree, HTREE_ROOTFS, "tree rootfs");
	is_str(r.path, "devbox/gen/0123abcd/rootfs", "path kept");
	is_int(dec(REQ("mount", "tree=rootfs\nstore=/s\npath=devbox/gen/../rootfs\n")), -EINVAL,
	       "dot-dot in path refused");
	is_int(dec(REQ("mount", "tree=rootfs\nstore=/s\npath=devbox/gen/0a/etc\n")), -EINVAL,
	       "rootfs path must end in rootfs");
	has_str(e.msg, "SANDBOX/gen/ID/rootfs", "rootfs shape message");
	is_int(dec(REQ("mount", "tree=rootfs\nstore=s\npath=a/gen/0/rootfs\n")), -EINVAL,
	       "relative store refused");
	is_int(dec(REQ("mount", "tree=home\npath=workspaces/sb/ws/home\n")), 0, "home decodes");
	is_int(r.nfds_min, 2, "home needs two fds");
	is_int((int)r.user, 1000, "user defaults to 1000");
	is_int(dec(REQ("mount", "tree=home\npath=/etc\n")), -EINVAL, "absolute path refused");
	is_int(dec(REQ("mount", "tree=home\npath=a//b\n")), -EINVAL, "empty component refused");
	is_int(dec(REQ("mount", "tree=project\npath=.\nuser=70000\n")), -EINVAL, "user > 65535 refused");
	is_int(dec(REQ("mount", "tree=project\npath=.\nstore=/x\n")), -EINVAL, "store only for rootfs");
	is_int(dec(REQ("mount", "tree=persist\npath=fs\n")), 0, "persist decodes");
	is_int(r.tree, HTREE_PERSIST, "tree persist");
	is_int(r.nfds_min, 2, "persist needs two fds");
	is_int(dec(REQ("mount", "tree=persist\npath=fs\nuser=0\n")), -EINVAL, "persist takes no user=");
	is_int(dec(REQ("mount", "tree=persist\npath=fs\nstore=/s\n")), -EINVAL, "persist takes no store=");
	/* tree=build: a generation in a build's temp dir, .tmp/SB.SFX/... */
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/devbox.Ab3xYz/gen/0a1b/rootfs\n")), 0,
	       "build mount decodes");
	is_int(r.tree, HTREE_BUILD, "tree build");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=devbox/gen/0a1b/rootfs\n")), -EINVAL,
	       "build: not in .tmp");
	has_str(e.msg, ".tmp/SANDBOX.SUFFIX/gen/ID/rootfs", "build shape message");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/devbox/gen/0a1b/rootfs\n")), -EINVAL,
	       "build: a temp dir name has a suffix");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/.rm.Ab3xYz/gen/0a1b/rootfs\n")), -EINVAL,
	       "build: not a removal's temp dir");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/a.b/gen/0a1b/rootfs/x\n")), -EINVAL,
	       "build: nothing beneath the rootfs");
	is_int(dec(REQ("mount", "tree=build\npath=.tmp/a.b/gen/0a1b/rootfs\n")), -EINVAL,
	       "build needs store=");
	/* The longest temp dir name (a 63-character sandbox name, a dot and
	 * 7 more), and one past it: found by the fuzzer as an overflow. */
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/"
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.1234567"
		       "/gen/0a/rootfs\n")), 0, "build: the longest temp dir name");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/"
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.1"
		       "/gen/0a/rootfs\n")), -EINVAL, "build: a longer one is refused");
	is_int(dec(REQ("mount", "tree=build\nstore=/s\npath=.tmp/a.b/gen/0a1b/rootfs\nuser=0\n")), -EINVAL,
	       "build takes no user=");
	is_int(dec(REQ("mount", "tree=root\npath=.\n")), -EINVAL, "unknown tree refused");

	is_int(dec(REQ("net-up", "sandbox=sb\nworkspace=ws\nmode=deny\nallow=10.0.0.0/8\n"
			"allow=[2001:db8::/32]:443/tcp\nlog_allowed=1\n")), 0, "net-up decodes");
	is_int(r.nallow, 2, "two allow rules");
	ok(r.log_allowed, "log_allowed");
	is_int(dec(REQ("net-up", "sandbox=sb\nworkspace=ws\nmode=host\n")), -EINVAL, "mode host refused");
	is_int(dec(REQ("net-up", "sandbox=sb\nworkspace=../x\nmode=deny\n")), -EINVAL, "bad name refused");
	is_int(dec(REQ("net-up", "sandbox=sb\nworkspace=ws\nmode=deny\nallow=10.0.0.1/8\n")),
	       -EINVAL, "host bits refused");
	is_int(dec(REQ("net-up", "sandbox=sb\nworkspace=ws\nmode=deny\nallow=0.0.0.0/0 ; drop\n")),
	       -EINVAL, "rule text refused");
	is_int(dec(REQ("net-down", "sandbox=sb\nworkspace=ws\n")), 0, "net-down decodes");
	is_int(dec(REQ("net-down", "sandbox=sb\nworkspace=ws\nmode=deny\n")), -EINVAL,
	       "key of another op refused");
	has_str(e.msg, "not allowed for this operation", "wrong-op key message");
	is_int(dec(REQ("cgroup-add", "")), 0, "cgroup-add decodes");
	is_int(r.nfds_max, 1, "cgroup-add takes an optional pidfd");

	/* framing */
	is_int(dec(REQ("net-down", "sandbox=sb\nsandbox=sb2\nworkspace=ws\n")), -EINVAL, "repeated key");
	has_str(e.msg, "repeated key", "repeated key message");
	is_int(dec(REQ("shell", "")), -EINVAL, "unknown op");
	has_str(e.msg, "unknown operation", "unknown op message");
	is_int(dec(REQ("cgroup-add", "colour=blue\n")), -EINVAL, "unknown key");
	has_str(e.msg, "unknown key", "unknown key message");
	is_int(dec(HREQ_MAGIC "\nop=cgroup-add\n"), -EINVAL, "no end line");
	has_str(e.msg, "truncated", "truncated message");
	is_int(dec(HREQ_MAGIC "\nop=cgroup-add\nend"), -EINVAL, "no final newline");
	is_int(dec(HREQ_MAGIC "\nop=cgroup-add\nend\nop=cgroup-del\nend\n"), -EINVAL, "two requests");
	has_str(e.msg, "data after 'end'", "data after end message");
	is_int(dec("enclave-helper 2\nop=cgroup-add\nend\n"), -EINVAL, "wrong version");
	is_int(dec(HREQ_MAGIC "\n\nop=cgroup-add\nend\n"), -EINVAL, "empty line");
	is_int(dec(HREQ_MAGIC "\nop=cgroup-add\n\nend\n"), -EINVAL, "empty line in body");
	is_int(hreq_decode(HREQ_MAGIC "\nop=cgroup-add\0\nend\n", 34, &r, &e), -EINVAL, "NUL refused");
	is_int(dec(HREQ_MAGIC "\nop=cgroup-add\nend\r\n"), -EINVAL, "CR refused");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	is_int(hreq_decode(big, sizeof(big), &r, &e), -EMSGSIZE, "oversize refused");
	is_int(hreq_decode("", 0, &r, &e), -EINVAL, "empty refused");
}

static void test_policy(void)
{
	struct policy p;
	const char *good =
		"# policy\n[helper]\nusers = alice bob\ngroups = enclave\n"
		"store = /var/lib/enclave/sandboxes\nstore = /srv/enclave\npool = 10.213.0.0/16\n"
		"[quota]\nworkspaces = 8\naddresses = 4\nmemory = 2G\npids = 512\n"
		"[quota.bob]\naddresses = 1\n[quota.carol]\naddresses = 9\n";

	is_int(policy_parse(good, strlen(good), "h.conf", "bob", &p, &e), 0, "policy parses");
	is_int(p.nusers, 2, "two users");
	is_str(p.users[1], "bob", "second user");
	is_int(p.nstores, 2, "two stores");
	is_int((int)p.quota.addresses, 1, "per-user override");
	is_int((int)p.quota.workspaces, 8, "default kept for other keys");
	is_u64(p.quota.memory, 2ull << 30, "memory size");
	is_int(policy_parse(good, strlen(good), "h.conf", "alice", &p, &e), 0, "policy for alice");
	is_int((int)p.quota.addresses, 4, "alice gets the default");

#define BAD(txt, frag, name) do { enc_err_clear(&e); \
	is_int(policy_parse(txt, strlen(txt), "h.conf", "bob", &p, &e), -EINVAL, name); \
	has_str(e.msg, frag, name " message"); } while (0)
	BAD("[helper]\nshell = /bin/sh\n", "h.conf:2: unknown key 'shell'", "unknown key");
	BAD("[other]\n", "h.conf:1: unknown section [other]", "unknown section");
	BAD("users = a\n", "outside a section", "key outside section");
	BAD("[quota]\npids = 1\npids = 2\n", "h.conf:3: repeated key 'pids'", "repeated quota key");
	BAD("[quota]\nmemory = lots\n", "h.conf:2:", "bad size");
	BAD("[helper]\nstore = relative\n", "bad store", "relative store");
	BAD("[helper]\nstore = /a/../b\n", "bad store", "dot-dot store");
	BAD("[helper]\nusers = Bad!\n", "bad user list", "bad user name");
	BAD("[helper]\npool = 10.0.0.0/8\n", "pool must be 10.213.0.0/16", "other pool");
	BAD("[helper\n", "expected [section]", "unclosed section");
	BAD("[helper]\njunk\n", "h.conf:2: expected", "no equals");
}

static void test_subid(void)
{
	const char *f = "alice:100000:65536\n1001:200000:65536\nbob:300000:65536\n"
			"alice:bad:1\nalice:400000:10:extra\nalice:500000:0\n";
	struct subid s[SUBID_MAX];
	unsigned n = subid_parse(f, strlen(f), "alice", 1001, s);

	is_int(n, 2, "alice by name and by uid");
	ok(s[0].start == 100000 && s[1].start == 200000, "ranges in order");
	ok(subid_covers(s, n, 100000, 65536), "whole range covered");
	ok(!subid_covers(s, n, 100000, 65537), "one past the end not covered");
	ok(!subid_covers(s, n, 99999, 2), "one before not covered");
	ok(!subid_covers(s, n, 1001, 1), "own uid not covered");
	is_int(subid_parse(f, strlen(f), "carol", 1002, s), 0, "nobody else");
}

static void test_reply(void)
{
	struct ench_reply rep = { .text = "slot=3\nifname=en000c0001\nid=000c0001\n" };
	char v[32];

	is_str(ench_reply_get(&rep, "ifname", v, sizeof(v)), "en000c0001", "reply key");
	is_str(ench_reply_get(&rep, "id", v, sizeof(v)), "000c0001", "prefix key not confused");
	ok(!ench_reply_get(&rep, "group", v, sizeof(v)), "missing key");
	ok(!ench_reply_get(&rep, "ifname", v, 4), "too small buffer");
}

int main(void)
{
	test_decode();
	test_policy();
	test_subid();
	test_reply();
	return tap_done();
}
