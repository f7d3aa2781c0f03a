/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-helper.c - libFuzzer target for what enclave-helper reads from
 * others: the request decoder (caller bytes) and, on the same input, the
 * policy and subordinate id parsers. Besides the sanitizers it checks the
 * decoder's contract: success means a known op, bounded counts, NUL-
 * terminated strings; failure means a message was left.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hreq r;
	static struct policy p;
	struct enc_err e = { 0 };
	struct subid s[SUBID_MAX];
	int rc = hreq_decode((const char *)data, size, &r, &e);

	if (rc == 0) {
		if (r.op == HOP_NONE || r.nuid > HREQ_MAP_MAX || r.ngid > HREQ_MAP_MAX ||
		    r.nallow > HREQ_ALLOW_MAX || r.nfds_max > HREQ_FDS_MAX ||
		    r.nfds_min > r.nfds_max || !memchr(r.path, 0, sizeof(r.path)) ||
		    !memchr(r.store, 0, sizeof(r.store)))
			abort();
		if (r.op == HOP_UIDMAP && (!r.nuid || !r.ngid))
			abort();
	} else if ((rc != -EINVAL && rc != -EMSGSIZE) || !e.msg[0]) {
		abort();
	}
	enc_err_clear(&e);
	if (size <= POL_MAX) {
		rc = policy_parse((const char *)data, size, "f", "bob", &p, &e);
		if (rc != 0 && (rc != -EINVAL || !e.msg[0]))
			abort();
	}
	if (subid_parse((const char *)data, size, "bob", 1000, s) > SUBID_MAX)
		abort();
	return 0;
}
