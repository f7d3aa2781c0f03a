/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.c - the helper's policy and subordinate id parsers (policy.h).
 * A small strict INI reader of its own: inih is not in the helper core.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "policy.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Words of v into list (names: [a-z_][a-z0-9_-]*, like useradd's default). */
static int add_names(char (*list)[POL_NAME_MAX + 1], unsigned *n, char *v)
{
	char *save = NULL;

	for (char *w = strtok_r(v, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (*n == POL_LIST_MAX || strlen(w) > POL_NAME_MAX ||
		    strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(w) ||
		    (w[0] >= '0' && w[0] <= '9') || w[0] == '-')
			return -EINVAL;
		memcpy(list[(*n)++], w, strlen(w) + 1);
	}
	return 0;
}

enum { S_NONE, S_HELPER, S_QUOTA, S_QUOTA_OTHER };

static int quota_key(struct pol_quota *q, unsigned *seen, const char *k, const char *v,
		     struct enc_err *err)
{
	static const char *const keys[] = { "workspaces", "addresses", "pids", "memory" };
	uint32_t *u[] = { &q->workspaces, &q->addresses, &q->pids };
	unsigned i;

	for (i = 0; i < ENC_ARRAY_SIZE(keys) && strcmp(k, keys[i]); i++)
		;
	if (i == ENC_ARRAY_SIZE(keys))
		return enc_err_set(err, -EINVAL, "unknown key '%s' (expected workspaces, "
				   "addresses, pids or memory)", k);
	if (*seen & (1u << i))
		return enc_err_set(err, -EINVAL, "repeated key '%s'", k);
	*seen |= 1u << i;
	if (i == 3)
		return enc_parse_size(v, &q->memory, err);
	return enc_parse_u32(v, 0, 1u << 20, u[i], err);
}

int policy_parse(const char *buf, size_t len, const char *file, const char *user,
		 struct policy *p, struct enc_err *err)
{
	char text[POL_MAX + 1], *line, *next;
	struct pol_quota def = { 0 }, own = { 0 }, scratch;
	unsigned ln = 0, sec = S_NONE, seen_def = 0, seen_own = 0, seen_other = 0;
	bool have_own = false;
	int r = 0;

	memset(p, 0, sizeof(*p));
	if (len > POL_MAX)
		return enc_err_set(err, -EINVAL, "%s: larger than %d bytes", file, POL_MAX);
	if (memchr(buf, '\0', len))
		return enc_err_set(err, -EINVAL, "%s: contains a NUL byte", file);
	memcpy(text, buf, len);
	text[len] = '\0';
	for (line = text; line; line = next) {
		char *k, *v, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ln++;
		k = trim(line);
		if (!*k || *k == ';' || *k == '#')
			continue;
		if (*k == '[') {
			char *end = strchr(k, ']');

			if (!end || end[1])
				goto bad_line;
			*end = '\0';
			k++;
			if (!strcmp(k, "helper")) {
				sec = S_HELPER;
			} else if (!strcmp(k, "quota")) {
				sec = S_QUOTA;
			} else if (!strncmp(k, "quota.", 6) && k[6]) {
				sec = user && !strcmp(k + 6, user) ? S_QUOTA + 10 : S_QUOTA_OTHER;
				seen_other = 0;
				if (sec != S_QUOTA_OTHER)
					have_own = true;
			} else {
				enc_err_set(err, -EINVAL, "%s:%u: unknown section [%s] (expected "
					    "[helper], [quota] or [quota.USER])", file, ln, k);
				return -EINVAL;
			}
			continue;
		}
		eq = strchr(k, '=');
		if (!eq)
			goto bad_line;
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if (sec == S_QUOTA)
			r = quota_key(&def, &seen_def, k, v, err);
		else if (sec == S_QUOTA + 10)
			r = quota_key(&own, &seen_own, k, v, err);
		else if (sec == S_QUOTA_OTHER)	/* validated, not used */
			r = quota_key(&scratch, &seen_other, k, v, err);
		else if (sec == S_NONE)
			r = enc_err_set(err, -EINVAL, "key '%s' outside a section", k);
		else if (!strcmp(k, "users"))
			r = add_names(p->users, &p->nusers, v) < 0 ?
			    enc_err_set(err, -EINVAL, "bad user list '%s'", v) : 0;
		else if (!strcmp(k, "groups"))
			r = add_names(p->groups, &p->ngroups, v) < 0 ?
			    enc_err_set(err, -EINVAL, "bad group list '%s'", v) : 0;
		else if (!strcmp(k, "store")) {
			if (v[0] != '/' || strlen(v) >= POL_STORE_MAX || strstr(v, "/.") ||
			    strstr(v, "//") || p->nstores == POL_LIST_MAX)
				r = enc_err_set(err, -EINVAL, "bad store '%s' (an absolute "
						"path without '.' components)", v);
			else
				memcpy(p->stores[p->nstores++], v, strlen(v) + 1);
		} else if (!strcmp(k, "pool")) {
			/* lib/netlink.h fixes the pool; naming it keeps the admin
			 * aware of which addresses the helper hands out. */
			r = p->have_pool ? enc_err_set(err, -EINVAL, "repeated key 'pool'") :
			    strcmp(v, "10.213.0.0/16") ?
			    enc_err_set(err, -EINVAL, "pool must be 10.213.0.0/16, got '%s'", v) : 0;
			p->have_pool = true;
		} else
			r = enc_err_set(err, -EINVAL, "unknown key '%s' (expected users, groups, "
					"store or pool)", k);
		if (r < 0) {
			enc_err_prefix(err, "%s:%u: ", file, ln);
			return -EINVAL;
		}
	}
	p->quota = def;
	if (have_own) {	/* a per-user key replaces the default of that key only */
		if (seen_own & 1) p->quota.workspaces = own.workspaces;
		if (seen_own & 2) p->quota.addresses = own.addresses;
		if (seen_own & 4) p->quota.pids = own.pids;
		if (seen_own & 8) p->quota.memory = own.memory;
	}
	return 0;
bad_line:
	return enc_err_set(err, -EINVAL, "%s:%u: expected [section] or key = value", file, ln);
}

unsigned subid_parse(const char *buf, size_t len, const char *name, uint32_t id,
		     struct subid *out)
{
	unsigned n = 0;
	char idstr[16];

	snprintf(idstr, sizeof(idstr), "%u", id);
	while (len && n < SUBID_MAX) {
		const char *nl = memchr(buf, '\n', len);
		size_t l = nl ? (size_t)(nl - buf) : len;
		char line[256], who[64], a[16], c[16];
		int used = 0;
		struct subid s;

		if (l < sizeof(line)) {
			memcpy(line, buf, l);
			line[l] = '\0';
			if (sscanf(line, "%63[^:]:%15[0-9]:%15[0-9]%n", who, a, c, &used) == 3 &&
			    (size_t)used == l && (!strcmp(who, name) || !strcmp(who, idstr)) &&
			    enc_parse_u32(a, 1, UINT32_MAX - 1, &s.start, NULL) == 0 &&
			    enc_parse_u32(c, 1, UINT32_MAX - 1, &s.count, NULL) == 0 &&
			    s.count <= UINT32_MAX - 1 - s.start)
				out[n++] = s;
		}
		if (!nl)
			break;
		len -= l + 1;
		buf = nl + 1;
	}
	return n;
}

bool subid_covers(const struct subid *s, unsigned n, uint32_t start, uint32_t count)
{
	for (unsigned i = 0; i < n; i++)
		if (start >= s[i].start && (uint64_t)start + count <= (uint64_t)s[i].start + s[i].count)
			return true;
	return false;
}
