/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto.c - decode an enclave-helper request (see proto.h). Pure and
 * strict: this is the code the setuid helper runs on caller bytes, so it
 * copies nothing it has not bounded and accepts nothing it does not know.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "proto.h"

static const char *const op_names[] = {
	[HOP_NONE] = "none",		[HOP_UIDMAP] = "uidmap",
	[HOP_MOUNT] = "mount",		[HOP_NET_UP] = "net-up",
	[HOP_NET_DOWN] = "net-down",	[HOP_CGROUP_ADD] = "cgroup-add",
	[HOP_CGROUP_DEL] = "cgroup-del",
};

const char *hreq_op_str(enum hreq_op op)
{
	return (unsigned)op < ENC_ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

enum key { K_UID, K_GID, K_TREE, K_STORE, K_PATH, K_USER, K_GROUP, K_SANDBOX,
	   K_WORKSPACE, K_MODE, K_ALLOW, K_LOG_ALLOWED, K_COUNT };
static const char *const key_names[K_COUNT] = {
	"uid", "gid", "tree", "store", "path", "user", "group", "sandbox",
	"workspace", "mode", "allow", "log_allowed",
};
#define B(k) (1u << (k))
#define LIST_KEYS (B(K_UID) | B(K_GID) | B(K_ALLOW))

/* Keys each operation accepts; required ones are checked in finish(). */
static const unsigned op_keys[] = {
	[HOP_UIDMAP] = B(K_UID) | B(K_GID),
	[HOP_MOUNT] = B(K_TREE) | B(K_STORE) | B(K_PATH) | B(K_USER) | B(K_GROUP),
	[HOP_NET_UP] = B(K_SANDBOX) | B(K_WORKSPACE) | B(K_MODE) | B(K_ALLOW) |
		       B(K_LOG_ALLOWED),
	[HOP_NET_DOWN] = B(K_SANDBOX) | B(K_WORKSPACE),
	[HOP_CGROUP_ADD] = 0,
	[HOP_CGROUP_DEL] = 0,
};

static int bad(struct enc_err *err, unsigned line, const char *what, const char *v)
{
	char q[ENC_QUOTE_BUF];

	return enc_err_set(err, -EINVAL, "request line %u: %s, got '%s'", line, what,
			   enc_quote(q, v));
}

/* "IN OUT COUNT": three u32, count >= 1, neither range wrapping. */
static int parse_ext(char *v, struct hreq_ext *e)
{
	char *f[3], *save = NULL;
	uint32_t n[3];

	for (int i = 0; i < 3; i++) {
		f[i] = strtok_r(i ? NULL : v, " ", &save);
		if (!f[i] || enc_parse_u32(f[i], 0, UINT32_MAX - 1, &n[i], NULL) < 0)
			return -EINVAL;
	}
	if (strtok_r(NULL, " ", &save) || n[2] == 0 ||
	    n[2] > UINT32_MAX - 1 - n[0] || n[2] > UINT32_MAX - 1 - n[1])
		return -EINVAL;
	*e = (struct hreq_ext){ n[0], n[1], n[2] };
	return 0;
}

/* SB/gen/ID/rootfs with a valid sandbox name and a hex generation id. */
static bool rootfs_path_ok(const char *p)
{
	char sb[ENC_NAME_MAX + 1], id[65];
	int n = 0;

	if (sscanf(p, "%63[A-Za-z0-9_.-]/gen/%64[0-9a-f]/rootfs%n", sb, id, &n) != 2 ||
	    (size_t)n != strlen(p))
		return false;
	return enc_name_valid(sb);
}

/* .tmp/SB.SUFFIX/gen/ID/rootfs: a generation in a build's temp dir (the
 * sandbox's name, a dot and six random characters; never a dot name like
 * the .rm.* of a removal). */
static bool build_path_ok(const char *p)
{
	static const char name_chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
	char id[65];
	size_t n;
	int m = 0;

	if (strncmp(p, ".tmp/", 5))
		return false;
	p += 5;
	n = strspn(p, name_chars);
	if (n == 0 || n > ENC_NAME_MAX + 8 || p[n] != '/' || p[0] == '.' || !memchr(p, '.', n))
		return false;
	p += n + 1;
	return sscanf(p, "gen/%64[0-9a-f]/rootfs%n", id, &m) == 1 && (size_t)m == strlen(p);
}

/* A relative path of plain components: no "", ".", ".." except a lone ".",
 * no leading '/'. The helper resolves it with RESOLVE_BENEATH anyway. */
static bool rel_path_ok(const char *p)
{
	const char *c = p;

	if (!strcmp(p, "."))
		return true;
	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}

static int set_str(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int value(struct hreq *r, enum key k, char *v, unsigned line, struct enc_err *err)
{
	uint32_t u;

	switch (k) {
	case K_UID:
	case K_GID: {
		unsigned *n = k == K_UID ? &r->nuid : &r->ngid;
		struct hreq_ext *e = k == K_UID ? r->uid : r->gid;

		if (*n == HREQ_MAP_MAX)
			return bad(err, line, "too many map extents (at most 8)", v);
		if (parse_ext(v, &e[*n]) < 0)
			return bad(err, line, "expected INSIDE OUTSIDE COUNT", v);
		(*n)++;
		return 0;
	}
	case K_TREE:
		r->tree = !strcmp(v, "rootfs") ? HTREE_ROOTFS : !strcmp(v, "build") ? HTREE_BUILD :
			  !strcmp(v, "home") ? HTREE_HOME : !strcmp(v, "project") ? HTREE_PROJECT :
			  !strcmp(v, "persist") ? HTREE_PERSIST : HTREE_NONE;
		return r->tree ? 0 : bad(err, line, "expected tree rootfs, build, home, project or persist", v);
	case K_STORE:
		if (v[0] != '/' || set_str(r->store, sizeof(r->store), v) < 0)
			return bad(err, line, "expected an absolute store path", v);
		return 0;
	case K_PATH:
		if (set_str(r->path, sizeof(r->path), v) < 0 || !rel_path_ok(v))
			return bad(err, line, "expected a relative path without '.', '..' or '//'", v);
		return 0;
	case K_USER:
	case K_GROUP:
		if (enc_parse_u32(v, 0, 65535, &u, NULL) < 0)
			return bad(err, line, "expected an id inside 0..65535", v);
		*(k == K_USER ? &r->user : &r->group) = u;
		return 0;
	case K_SANDBOX:
	case K_WORKSPACE:
		if (!enc_name_valid(v))
			return bad(err, line, "expected a sandbox or workspace name", v);
		set_str(k == K_SANDBOX ? r->sandbox : r->workspace, ENC_NAME_MAX + 1, v);
		return 0;
	case K_MODE:
		r->mode = !strcmp(v, "deny") ? ENC_NET_DENY : !strcmp(v, "nat") ? ENC_NET_NAT :
			  ENC_NET_NONE;
		return r->mode != ENC_NET_NONE ? 0 : bad(err, line, "expected mode deny or nat", v);
	case K_ALLOW:
		if (r->nallow == HREQ_ALLOW_MAX)
			return bad(err, line, "too many allow rules (at most 64)", v);
		if (enc_parse_cidr(v, &r->allow[r->nallow], NULL) < 0)
			return bad(err, line, "expected an allow rule CIDR[:PORT[/PROTO]]", v);
		r->nallow++;
		return 0;
	case K_LOG_ALLOWED:
		if (strcmp(v, "0") && strcmp(v, "1"))
			return bad(err, line, "expected 0 or 1", v);
		r->log_allowed = v[0] == '1';
		return 0;
	case K_COUNT:
		break;
	}
	return -EINVAL;
}

static int finish(struct hreq *r, struct enc_err *err)
{
#define NEED(k) if (!(r->seen & B(k))) \
	return enc_err_set(err, -EINVAL, "request: %s needs %s=", hreq_op_str(r->op), key_names[k])
	switch (r->op) {
	case HOP_UIDMAP:
		NEED(K_UID);
		NEED(K_GID);
		r->nfds_min = r->nfds_max = 1;
		return 0;
	case HOP_MOUNT:
		NEED(K_TREE);
		NEED(K_PATH);
		if (r->tree == HTREE_ROOTFS || r->tree == HTREE_BUILD) {
			NEED(K_STORE);
			if (r->seen & (B(K_USER) | B(K_GROUP)))
				return enc_err_set(err, -EINVAL, "request: tree=%s takes no user= or group=",
						   r->tree == HTREE_BUILD ? "build" : "rootfs");
			if (r->tree == HTREE_ROOTFS && !rootfs_path_ok(r->path))
				return enc_err_set(err, -EINVAL, "request: rootfs path must be SANDBOX/gen/ID/rootfs");
			if (r->tree == HTREE_BUILD && !build_path_ok(r->path))
				return enc_err_set(err, -EINVAL, "request: build path must be .tmp/SANDBOX.SUFFIX/gen/ID/rootfs");
			r->nfds_min = r->nfds_max = 1;
		} else {
			if (r->seen & B(K_STORE))
				return enc_err_set(err, -EINVAL, "request: only tree=rootfs and tree=build take store=");
			if (r->tree == HTREE_PERSIST && (r->seen & (B(K_USER) | B(K_GROUP))))
				return enc_err_set(err, -EINVAL, "request: tree=persist takes no user= or group=");
			r->nfds_min = r->nfds_max = 2;
		}
		return 0;
	case HOP_NET_UP:
		NEED(K_MODE);
		r->nfds_min = r->nfds_max = 1;
		__attribute__((fallthrough));
	case HOP_NET_DOWN:
		NEED(K_SANDBOX);
		NEED(K_WORKSPACE);
		return 0;
	case HOP_CGROUP_ADD:
		r->nfds_max = 1;
		return 0;
	case HOP_CGROUP_DEL:
		return 0;
	case HOP_NONE:
		break;
	}
#undef NEED
	return enc_err_set(err, -EINVAL, "request: no operation");
}

int hreq_decode(const char *buf, size_t len, struct hreq *r, struct enc_err *err)
{
	char text[HREQ_MAX + 1], *line, *save = NULL;
	unsigned n = 0;
	bool ended = false;

	memset(r, 0, sizeof(*r));
	r->user = r->group = 1000;
	if (len > HREQ_MAX)
		return enc_err_set(err, -EMSGSIZE, "request too large (more than %d bytes)", HREQ_MAX);
	if (len == 0 || buf[len - 1] != '\n')
		return enc_err_set(err, -EINVAL, "request truncated (no final newline)");
	for (size_t i = 0; i < len; i++)
		if ((buf[i] < 0x20 || buf[i] > 0x7e) && buf[i] != '\n')
			return enc_err_set(err, -EINVAL, "request: byte %zu is not printable ASCII", i);
	memcpy(text, buf, len);
	text[len] = '\0';
	/* strtok_r would merge empty lines; walk by hand so they are errors. */
	for (line = text; *line; line = save) {
		char *eq, *nl = strchr(line, '\n');
		int k;

		*nl = '\0';
		save = nl + 1;
		n++;
		if (ended)
			return enc_err_set(err, -EINVAL, "request line %u: data after 'end'", n);
		if (n == 1) {
			if (strcmp(line, HREQ_MAGIC))
				return bad(err, n, "expected '" HREQ_MAGIC "'", line);
			continue;
		}
		if (n == 2) {
			if (strncmp(line, "op=", 3))
				return bad(err, n, "expected op=", line);
			for (unsigned o = HOP_UIDMAP; o < ENC_ARRAY_SIZE(op_names); o++)
				if (!strcmp(line + 3, op_names[o]))
					r->op = o;
			if (r->op == HOP_NONE)
				return bad(err, n, "unknown operation", line + 3);
			continue;
		}
		if (!strcmp(line, "end")) {
			ended = true;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			return bad(err, n, "expected key=value", line);
		*eq = '\0';
		for (k = 0; k < K_COUNT && strcmp(line, key_names[k]); k++)
			;
		if (k == K_COUNT)
			return bad(err, n, "unknown key", line);
		if (!(op_keys[r->op] & B(k)))
			return bad(err, n, "key not allowed for this operation", line);
		if ((r->seen & B(k)) && !(LIST_KEYS & B(k)))
			return bad(err, n, "repeated key", line);
		r->seen |= B(k);
		if (value(r, k, eq + 1, n, err) < 0)
			return -EINVAL;
	}
	if (!ended)
		return enc_err_set(err, -EINVAL, "request truncated (no 'end' line)");
	return finish(r, err);
}
