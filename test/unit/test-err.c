/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-err.c - the error context: set/sys formatting, first error wins,
 * prefixing, truncation at ENC_ERR_MSG_MAX and errno preservation.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "tap.h"

int main(void)
{
	struct enc_err e = { 0 };
	char big[3 * ENC_ERR_MSG_MAX];
	int r;

	ok(!enc_err_isset(&e), "zeroed err is unset");
	ok(!enc_err_isset(NULL), "NULL err is unset");

	errno = EAGAIN;
	r = enc_err_set(&e, -ENOENT, "cannot open %s", "x/y");
	is_int(r, -ENOENT, "enc_err_set returns the code");
	is_int(e.code, -ENOENT, "code stored");
	is_str(e.msg, "cannot open x/y", "message formatted");
	is_int(errno, EAGAIN, "errno preserved by enc_err_set");
	ok(enc_err_isset(&e), "err is set");

	/* First error wins. */
	r = enc_err_set(&e, -EPERM, "second");
	is_int(r, -EPERM, "a later set still returns its own code");
	is_int(e.code, -ENOENT, "first code kept");
	is_str(e.msg, "cannot open x/y", "first message kept");
	enc_err_sys(&e, -EIO, "third");
	is_str(e.msg, "cannot open x/y", "first message kept against sys");

	enc_err_clear(&e);
	ok(!enc_err_isset(&e), "cleared");
	is_str(e.msg, "", "cleared message is empty");

	/* sys appends strerror. */
	errno = EINTR;
	r = enc_err_sys(&e, -EACCES, "cannot create %s", "f.new");
	is_int(r, -EACCES, "enc_err_sys returns the code");
	is_str(e.msg, "cannot create f.new: Permission denied", "sys appends strerror");
	is_int(errno, EINTR, "errno preserved by enc_err_sys");

	/* NULL is always allowed. */
	is_int(enc_err_set(NULL, -EINVAL, "x"), -EINVAL, "set with NULL err returns code");
	is_int(enc_err_sys(NULL, -EINVAL, "x"), -EINVAL, "sys with NULL err returns code");
	enc_err_prefix(NULL, "p: ");
	enc_err_clear(NULL);
	ok(1, "prefix/clear with NULL are harmless");

	/* Code 0 is never success once an error is reported. */
	enc_err_clear(&e);
	r = enc_err_set(&e, 0, "zero");
	is_int(r, -EIO, "code 0 returns -EIO");
	is_int(e.code, -EIO, "code 0 is stored as -EIO");
	is_int(enc_err_set(NULL, 0, "zero"), -EIO, "code 0 with NULL err returns -EIO");

	/* Prefix. */
	enc_err_clear(&e);
	enc_err_prefix(&e, "ignored: ");
	ok(!enc_err_isset(&e), "prefix on an unset err does nothing");
	is_str(e.msg, "", "prefix on an unset err leaves the message empty");
	enc_err_sys(&e, -ENOENT, "cannot open %s", "a");
	errno = ERANGE;
	enc_err_prefix(&e, "reading %s: ", "conf");
	is_str(e.msg, "reading conf: cannot open a: No such file or directory", "prefix prepends");
	is_int(e.code, -ENOENT, "prefix keeps the code");
	is_int(errno, ERANGE, "errno preserved by prefix");
	enc_err_prefix(&e, "%s", "");
	is_str(e.msg, "reading conf: cannot open a: No such file or directory", "empty prefix is a no-op");

	/* Truncation: messages never overflow and stay NUL-terminated. */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	enc_err_clear(&e);
	enc_err_set(&e, -EINVAL, "%s", big);
	is_int(strlen(e.msg), ENC_ERR_MSG_MAX - 1, "long set message truncated to MAX-1");

	enc_err_clear(&e);
	enc_err_sys(&e, -EINVAL, "%.*s", ENC_ERR_MSG_MAX - 5, big);
	is_int(strlen(e.msg), ENC_ERR_MSG_MAX - 1, "sys suffix truncated at MAX-1");
	ok(strncmp(e.msg + ENC_ERR_MSG_MAX - 5, ": In", 4) == 0, "truncated sys suffix starts right after the message");

	enc_err_clear(&e);
	enc_err_set(&e, -EINVAL, "tail");
	enc_err_prefix(&e, "%.*s", ENC_ERR_MSG_MAX - 3, big);
	is_int(strlen(e.msg), ENC_ERR_MSG_MAX - 1, "prefix result truncated to MAX-1");
	is_str(e.msg + ENC_ERR_MSG_MAX - 3, "ta", "prefix keeps the head and cuts the old tail");

	enc_err_clear(&e);
	enc_err_set(&e, -EINVAL, "old");
	enc_err_prefix(&e, "%s", big);
	is_int(strlen(e.msg), ENC_ERR_MSG_MAX - 1, "over-long prefix truncated to MAX-1");
	ok(e.msg[0] == 'A' && e.msg[ENC_ERR_MSG_MAX - 2] == 'A', "over-long prefix fills the message");

	return tap_done();
}
