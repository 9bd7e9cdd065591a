/*
 * util-t.c - durations, "since" times, integers, site names, host:port,
 * time formatting, atomic writes and bounded file reads.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

static void
dur_ok(const char *s, int64_t want)
{
	int64_t v = -1;

	is_int(fy_parse_duration(s, &v), 0, "duration \"%s\" parses", s);
	is_int(v, want, "duration \"%s\" = %lld s", s, (long long)want);
}

static void
hp_ok(const char *s, const char *wh, const char *wp)
{
	char h[64] = "", p[8] = "";

	is_int(fy_split_hostport(s, h, sizeof(h), p, sizeof(p)), 0, "hostport \"%s\" parses", s);
	is_str(h, wh, "hostport \"%s\": host", s);
	is_str(p, wp, "hostport \"%s\": port", s);
}

static void
hp_bad(const char *s)
{
	char h[64], p[8];

	is_int(fy_split_hostport(s, h, sizeof(h), p, sizeof(p)), FY_ERR_FORMAT,
	    "hostport \"%s\" refused", s);
}

int
main(void)
{
	const int64_t now = 1795000000000LL;	/* 2026-11-18 */
	char name[80], ts[64], *dir, path[512];
	long long ll;
	int64_t v;

	plan_lazy();

	/* Durations. */
	dur_ok("0", 0);
	dur_ok("90", 90);
	dur_ok("90s", 90);
	dur_ok("5m", 300);
	dur_ok("1h", 3600);
	dur_ok("2d", 172800);
	dur_ok("0d", 0);
	is_int(fy_parse_duration("", &v), FY_ERR_FORMAT, "empty duration refused");
	is_int(fy_parse_duration("s", &v), FY_ERR_FORMAT, "unit without number refused");
	is_int(fy_parse_duration("5x", &v), FY_ERR_FORMAT, "unknown unit refused");
	is_int(fy_parse_duration("5 m", &v), FY_ERR_FORMAT, "space before unit refused");
	is_int(fy_parse_duration(" 5m", &v), FY_ERR_FORMAT, "leading space refused");
	is_int(fy_parse_duration("1.5h", &v), FY_ERR_FORMAT, "fraction refused");
	is_int(fy_parse_duration("5ms", &v), FY_ERR_FORMAT, "two-letter unit refused");
	is_int(fy_parse_duration("1h30m", &v), FY_ERR_FORMAT, "compound duration refused");
	is_int(fy_parse_duration("-5m", &v), FY_ERR_LIMIT, "negative duration refused");
	is_int(fy_parse_duration("99999999999999999999d", &v), FY_ERR_FORMAT, "overflowing number refused");
	is_int(fy_parse_duration("106751991167301d", &v), FY_ERR_LIMIT, "days that overflow seconds refused");
	dur_ok("106751991167300d", 106751991167300LL * 86400);
	is_int(fy_parse_duration("1234567890123456789012345678901234567890s", &v), FY_ERR_FORMAT,
	    "overlong duration string refused");

	/* "since": relative durations and absolute UTC times. */
	is_int(fy_parse_since("1h", now, &v), 0, "since 1h");
	is_int(v, now - 3600000, "since 1h = now - 3600000 ms");
	is_int(fy_parse_since("90", now, &v), 0, "since 90");
	is_int(v, now - 90000, "bare number is seconds ago");
	is_int(fy_parse_since("2d", now, &v), 0, "since 2d");
	is_int(v, now - 172800000LL, "since 2d value");
	is_int(fy_parse_since("2026-11-21", now, &v), 0, "since a date");
	is_int(v, 1795219200000LL, "2026-11-21 is midnight UTC");
	is_int(fy_parse_since("2026-11-21T10:00:00", now, &v), 0, "since date T time");
	is_int(v, 1795255200000LL, "2026-11-21T10:00:00 UTC");
	is_int(fy_parse_since("2026-11-21 10:00:05", now, &v), 0, "since date space time");
	is_int(v, 1795255205000LL, "2026-11-21 10:00:05 UTC");
	is_int(fy_parse_since("yesterday", now, &v), FY_ERR_FORMAT, "words refused");
	is_int(fy_parse_since("2026-11-21X", now, &v), FY_ERR_FORMAT, "trailing junk after a date refused");
	is_int(fy_parse_since("2026-11-21T10:00", now, &v), FY_ERR_FORMAT, "time without seconds refused");
	is_int(fy_parse_since("", now, &v), FY_ERR_FORMAT, "empty since refused");

	fy_fmt_time(1795255205000LL, ts, sizeof(ts));
	is_str(ts, "2026-11-21 10:00:05Z", "fy_fmt_time");
	fy_fmt_time(0, ts, sizeof(ts));
	is_str(ts, "-", "fy_fmt_time(0) is \"-\"");
	ok(fy_now_ms() > 1700000000000LL, "fy_now_ms is in milliseconds");
	ok(fy_mono_us() / 1000 - fy_mono_ms() <= 1, "fy_mono_us and fy_mono_ms agree");

	/* Integers. */
	is_int(fy_parse_int("42", 0, 100, &ll), 0, "parse 42");
	is_int(ll, 42, "42");
	is_int(fy_parse_int("-7", -10, 10, &ll), 0, "parse -7");
	is_int(ll, -7, "-7");
	is_int(fy_parse_int("0", 0, 0, &ll), 0, "0 in [0,0]");
	is_int(fy_parse_int("100", 0, 100, &ll), 0, "upper bound inclusive");
	is_int(fy_parse_int("101", 0, 100, &ll), FY_ERR_LIMIT, "above max: FY_ERR_LIMIT");
	is_int(fy_parse_int("-1", 0, 100, &ll), FY_ERR_LIMIT, "below min: FY_ERR_LIMIT");
	ll = 77;
	is_int(fy_parse_int("1000", 0, 100, &ll), FY_ERR_LIMIT, "out of range");
	is_int(ll, 77, "out of range leaves *out alone");
	is_int(fy_parse_int("9223372036854775807", LLONG_MIN, LLONG_MAX, &ll), 0, "LLONG_MAX");
	ok(ll == LLONG_MAX, "LLONG_MAX value");
	is_int(fy_parse_int("9223372036854775808", LLONG_MIN, LLONG_MAX, &ll), FY_ERR_FORMAT,
	    "LLONG_MAX + 1 refused");
	is_int(fy_parse_int("-9223372036854775809", LLONG_MIN, LLONG_MAX, &ll), FY_ERR_FORMAT,
	    "LLONG_MIN - 1 refused");
	is_int(fy_parse_int("", 0, 10, &ll), FY_ERR_FORMAT, "empty refused");
	is_int(fy_parse_int(NULL, 0, 10, &ll), FY_ERR_FORMAT, "NULL refused");
	is_int(fy_parse_int(" 1", 0, 10, &ll), FY_ERR_FORMAT, "leading space refused");
	is_int(fy_parse_int("1 ", 0, 10, &ll), FY_ERR_FORMAT, "trailing space refused");
	is_int(fy_parse_int("\t1", 0, 10, &ll), FY_ERR_FORMAT, "leading tab refused");
	is_int(fy_parse_int("1a", 0, 10, &ll), FY_ERR_FORMAT, "trailing letter refused");
	is_int(fy_parse_int("0x10", 0, 100, &ll), FY_ERR_FORMAT, "hex refused");
	is_int(fy_parse_int("1e3", 0, 10000, &ll), FY_ERR_FORMAT, "exponent refused");
	is_int(fy_parse_int("-", -10, 10, &ll), FY_ERR_FORMAT, "lone sign refused");
	is_int(fy_parse_int("010", 0, 100, &ll), 0, "leading zero is decimal");
	is_int(ll, 10, "010 is ten, not octal");

	/* Site names. */
	ok(fy_valid_name("a"), "name \"a\"");
	ok(fy_valid_name("site-A.example_1"), "name with . _ -");
	ok(fy_valid_name("0site"), "name starting with a digit");
	memset(name, 'x', 63);
	name[63] = '\0';
	ok(fy_valid_name(name), "63 characters");
	name[63] = 'x';
	name[64] = '\0';
	ok(!fy_valid_name(name), "64 characters refused");
	ok(!fy_valid_name(""), "empty refused");
	ok(!fy_valid_name("-site"), "leading '-' refused");
	ok(!fy_valid_name(".site"), "leading '.' refused");
	ok(!fy_valid_name("_site"), "leading '_' refused");
	ok(!fy_valid_name("a b"), "space refused");
	ok(!fy_valid_name("a/b"), "slash refused");
	ok(!fy_valid_name("a:b"), "colon refused");
	ok(!fy_valid_name("a\nb"), "newline refused");
	ok(!fy_valid_name("caf\xc3\xa9"), "non-ASCII refused");
	ok(!fy_valid_name("a\"b"), "quote refused");

	/* host:port. */
	hp_ok("example.org:8443", "example.org", "8443");
	hp_ok("10.0.0.1:1", "10.0.0.1", "1");
	hp_ok("h:0", "h", "0");
	hp_ok("h:65535", "h", "65535");
	hp_ok("[::1]:443", "::1", "443");
	hp_ok("[2001:db8::1]:8443", "2001:db8::1", "8443");
	hp_ok("[fe80::1%eth0]:22", "fe80::1%eth0", "22");
	hp_bad("example.org");
	hp_bad("example.org:");
	hp_bad(":443");
	hp_bad("h:65536");
	hp_bad("h:-1");
	hp_bad("h:http");
	hp_bad("h:80x");
	hp_bad("h: 80");
	hp_bad("::1:443");
	hp_bad("2001:db8::1");
	hp_bad("[::1]");
	hp_bad("[::1]443");
	hp_bad("[::1]:");
	hp_bad("[::1:443");
	hp_bad("[]:443");
	hp_bad("[::1]x:443");
	hp_bad("");
	{
		char h[4], p[8], lp[3];
		is_int(fy_split_hostport("abcd:1", h, sizeof(h), p, sizeof(p)), FY_ERR_FORMAT,
		    "host longer than its buffer refused");
		is_int(fy_split_hostport("abc:1", h, sizeof(h), p, sizeof(p)), 0, "host that just fits");
		is_str(h, "abc", "host that just fits: value");
		is_int(fy_split_hostport("a:443", h, sizeof(h), lp, sizeof(lp)), FY_ERR_FORMAT,
		    "port longer than its buffer refused");
	}

	/* Files: atomic writes with a mode, bounded reads. */
	dir = t_tmpdir("util");
	{
		struct fy_buf *b = NULL;
		struct stat st;
		t_path(path, sizeof(path), dir, "f");
		is_int(fy_write_file_atomic(path, "hello", 5, 0600), 0, "atomic write");
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "file has mode 0600");
		is_int(fy_read_file(path, 5, &b), 0, "read with cap 5");
		ok(b != NULL && fy_buf_len(b) == 5 && memcmp(fy_buf_ptr(b), "hello", 5) == 0, "read back");
		fy_buf_free(b);
		is_int(fy_read_file(path, 4, &b), FY_ERR_LIMIT, "read with cap 4: FY_ERR_LIMIT");
		ok(b == NULL, "no buffer on failure");
		is_int(fy_write_file_atomic(path, "bye", 3, 0644), 0, "atomic overwrite");
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_size == 3,
		    "overwrite replaced content and mode");
		t_path(path, sizeof(path), dir, "missing");
		is_int(fy_read_file(path, 100, &b), FY_ERR_NOTFOUND, "missing file: FY_ERR_NOTFOUND");
		t_path(path, sizeof(path), dir, "a/b/c");
		is_int(fy_mkdir_p(path, 0700), 0, "mkdir -p a/b/c");
		ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
		    "leaf created with mode 0700");
		is_int(fy_mkdir_p(path, 0700), 0, "mkdir -p of an existing path");
		is_int(fy_mkdir_p("", 0700), FY_ERR_INVAL, "mkdir -p \"\" refused");
	}
	t_rmtree(dir);
	free(dir);
	done_testing();
}
