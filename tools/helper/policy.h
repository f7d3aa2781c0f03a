/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.h - the helper's admin policy (/etc/enclave/helper.conf) and the
 * subordinate id files. Parsing is pure (buffers in, structs out) so the
 * fuzzer and the unit tests reach it; the helper does the file checks.
 *
 * Policy format, strict INI (';' or '#' starts a comment line):
 *   [helper]
 *   users = alice bob          who may use the helper (names; repeatable)
 *   groups = enclave           or members of these groups (repeatable)
 *   store = /var/lib/enclave/sandboxes   an allowed sandbox store (repeatable)
 *   pool = 10.213.0.0/16       the address pool (the only one supported)
 *   [quota]                    defaults for every allowed user
 *   workspaces = 8             cgroup.max.descendants of the user's subtree
 *   addresses = 4              pool slots held at once
 *   memory = 8G                the user's cgroup subtree memory limit
 *   pids = 4096                ... and pids limit
 *   [quota.NAME]               the same keys for one user
 * Unknown sections or keys, repeated scalar keys and bad values are errors
 * naming file:line.
 */
#ifndef ENCLAVE_HELPER_POLICY_H
#define ENCLAVE_HELPER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define POL_MAX 65536		/* bytes in the policy file */
#define POL_LIST_MAX 64
#define POL_NAME_MAX 32		/* user and group names (useradd's limit) */
#define POL_STORE_MAX 256

struct pol_quota {
	uint32_t workspaces, addresses, pids;	/* 0: no limit */
	uint64_t memory;			/* bytes, 0: no limit */
};

struct policy {
	char users[POL_LIST_MAX][POL_NAME_MAX + 1];
	char groups[POL_LIST_MAX][POL_NAME_MAX + 1];
	char stores[POL_LIST_MAX][POL_STORE_MAX];
	unsigned nusers, ngroups, nstores;
	bool have_pool;
	struct pol_quota quota;		/* for the user asked about */
};

/* Parse buf (len bytes). Quotas: [quota], overridden by [quota.<user>].
 * file only names the file in messages. 0 or -EINVAL. */
int policy_parse(const char *buf, size_t len, const char *file, const char *user,
		 struct policy *p, struct enc_err *err);

struct subid {
	uint32_t start, count;
};
#define SUBID_MAX 16

/* Lines "NAME_OR_UID:START:COUNT" of /etc/subuid or /etc/subgid belonging
 * to name or id; malformed lines are skipped like shadow does. Returns the
 * number of ranges put in out (at most SUBID_MAX). */
unsigned subid_parse(const char *buf, size_t len, const char *name, uint32_t id,
		     struct subid *out);

/* Is [start, start+count) inside one of the ranges? */
bool subid_covers(const struct subid *s, unsigned n, uint32_t start, uint32_t count);

#endif
