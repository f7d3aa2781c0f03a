/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-config.c - libFuzzer target for the Enclavefile parser.
 *
 * Besides crashes, leaks and undefined behaviour (the sanitizers), it
 * checks the parser's contract on every input and aborts when it is broken:
 * success gives a model whose JSON is valid; failure gives -EINVAL or
 * -ENOMEM (never -EPROTO, which config.c returns when its mirror of
 * inih's line classification disagrees with inih), a zeroed *out and one
 * line of message naming the file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_zero(const struct enc_config *c)
{
	const unsigned char *b = (const unsigned char *)c;

	for (size_t i = 0; i < sizeof(*c); i++)
		if (b[i])
			abort();
}

static void check_json(const struct enc_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct enc_json j;

	if (!f)
		abort();
	enc_json_init(&j, f, 0);
	enc_config_to_json(c, &j);
	if (enc_json_finish(&j) < 0)
		abort();
	fclose(f);
	if (enc_json_validate(buf, len) < 0)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enc_config c;
	struct enc_err e = {};

	memset(&c, 0x5a, sizeof(c));
	int r = enc_config_parse_buf("fuzz", (const char *)data, size, "/fuzz", &c, &e);
	if (r == 0) {
		if (e.code != 0 || (!c.has_sandbox && c.nws == 0))
			abort();
		check_json(&c);
		enc_config_free(&c);
		return 0;
	}
	if (r != -EINVAL && r != -ENOMEM)
		abort();
	check_zero(&c);
	if (e.code != r || strncmp(e.msg, "fuzz:", 5) != 0 || strchr(e.msg, '\n'))
		abort();
	return 0;
}
