/*
 * config-t.c - the configuration table: defaults, every type, ranges,
 * quoting, comments, and the exact "file:line: message" for each error.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

struct conf {
	char *site;
	char *path;
	long long port;
	long long timeout;
	int verbose;
	int level;
};

#define O(f) offsetof(struct conf, f)
static const struct fy_cfg_ent tab[] = {
	{ "site_name", FY_CFG_STR, O(site), "", 0, 0, "site name" },
	{ "path", FY_CFG_STR, O(path), NULL, 0, 0, "no default" },
	{ "port", FY_CFG_INT, O(port), "7443", 1, 65535, "port" },
	{ "timeout", FY_CFG_DURATION, O(timeout), "5m", 1, 86400, "timeout" },
	{ "verbose", FY_CFG_BOOL, O(verbose), "no", 0, 0, "chatty" },
	{ "log_level", FY_CFG_LOGLEVEL, O(level), "info", 0, 0, "log level" },
};
#define NTAB (sizeof(tab) / sizeof(tab[0]))

static struct conf c;
static char err[512];

/* Parse len bytes into a fresh struct with defaults applied. */
static int
parse_len(const char *text, size_t len)
{
	int r;

	fy_cfg_free(tab, NTAB, &c);
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if ((r = fy_cfg_defaults(tab, NTAB, &c)) != 0)
		bail("defaults: %s", fy_strerror(r));
	return fy_cfg_parse_buf(tab, NTAB, &c, "t.conf", text, len, err, sizeof(err));
}

static int
parse(const char *text)
{
	return parse_len(text, strlen(text));
}

/* The text must be refused with exactly this message. */
static void
bad(const char *text, const char *msg, const char *what)
{
	is_int(parse(text), FY_ERR_CONFIG, "%s: refused", what);
	is_str(err, msg, "%s: message", what);
}

static char *
dump(void)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f;

	if ((f = open_memstream(&p, &n)) == NULL)
		bail("open_memstream");
	fy_cfg_dump(tab, NTAB, &c, f);
	fclose(f);
	return p;
}

int
main(void)
{
	char *line, *d, *dir, path[512];
	size_t i;
	int r;

	plan_lazy();

	/* Defaults. */
	is_int(fy_cfg_defaults(tab, NTAB, &c), 0, "defaults apply");
	is_str(c.site, "", "STR default \"\"");
	ok(c.path == NULL, "STR without default stays NULL");
	is_int(c.port, 7443, "INT default");
	is_int(c.timeout, 300, "DURATION default 5m = 300 s");
	is_int(c.verbose, 0, "BOOL default no");
	is_int(c.level, FY_LOG_INFO, "LOGLEVEL default info");
	is_int(parse(""), 0, "empty text");
	is_int(c.port, 7443, "empty text keeps defaults");
	is_str(err, "", "no message on success");

	/* Every type. */
	is_int(parse("site_name alpha\npath /var/lib/ferry\nport 8443\ntimeout 90s\n"
	    "verbose yes\nlog_level debug\n"), 0, "every type parses");
	is_str(c.site, "alpha", "STR");
	is_str(c.path, "/var/lib/ferry", "STR without default");
	is_int(c.port, 8443, "INT");
	is_int(c.timeout, 90, "DURATION");
	is_int(c.verbose, 1, "BOOL yes");
	is_int(c.level, FY_LOG_DEBUG, "LOGLEVEL debug");
	is_int(parse("verbose no\nlog_level error"), 0, "no and error, no final newline");
	is_int(c.verbose, 0, "BOOL no");
	is_int(c.level, FY_LOG_ERR, "LOGLEVEL error");
	is_int(parse("log_level WARNING\n"), 0, "log level is case-insensitive");
	is_int(c.level, FY_LOG_WARN, "LOGLEVEL warning");
	is_int(parse("timeout 2h\n"), 0, "duration in hours");
	is_int(c.timeout, 7200, "2h = 7200 s");
	is_int(parse("timeout 1d\n"), 0, "duration in days");
	is_int(c.timeout, 86400, "1d = 86400 s");
	is_int(parse("timeout 45\n"), 0, "bare duration is seconds");
	is_int(c.timeout, 45, "45 s");

	/* Ranges. */
	is_int(parse("port 1\n"), 0, "INT at min");
	is_int(parse("port 65535\n"), 0, "INT at max");
	bad("port 0\n", "t.conf:1: port: expected an integer in range: \"0\"", "INT below min");
	bad("\nport 65536\n", "t.conf:2: port: expected an integer in range: \"65536\"", "INT above max");
	bad("port eighty\n", "t.conf:1: port: expected an integer in range: \"eighty\"", "INT not a number");
	bad("port 0x50\n", "t.conf:1: port: expected an integer in range: \"0x50\"", "INT in hex");
	bad("timeout 0\n", "t.conf:1: timeout: expected a duration in range (e.g. 90s, 5m, 1h): \"0\"",
	    "DURATION below min");
	bad("timeout 2d\n", "t.conf:1: timeout: expected a duration in range (e.g. 90s, 5m, 1h): \"2d\"",
	    "DURATION above max");
	bad("timeout 5y\n", "t.conf:1: timeout: expected a duration in range (e.g. 90s, 5m, 1h): \"5y\"",
	    "DURATION bad unit");
	bad("verbose true\n", "t.conf:1: verbose: expected yes or no: \"true\"", "BOOL true");
	bad("verbose YES\n", "t.conf:1: verbose: expected yes or no: \"YES\"", "BOOL is case-sensitive");
	bad("log_level loud\n", "t.conf:1: log_level: expected error, warning, info or debug: \"loud\"",
	    "LOGLEVEL unknown");

	/* Quotes. */
	is_int(parse("site_name \"my site\"\n"), 0, "quoted value with a space");
	is_str(c.site, "my site", "quoted value");
	is_int(parse("path \"/a#b\"   # comment\n"), 0, "'#' inside quotes is data");
	is_str(c.path, "/a#b", "quoted '#'");
	is_int(parse("port \"8080\"\n"), 0, "quoted INT");
	is_int(c.port, 8080, "quoted INT value");
	is_int(parse("path \"  padded  \"\n"), 0, "quotes keep inner spaces");
	is_str(c.path, "  padded  ", "inner spaces kept");
	bad("site_name \"abc\n", "t.conf:1: unterminated quote", "unterminated quote");
	bad("site_name \"abc\" def\n", "t.conf:1: trailing text after quoted value", "text after quotes");
	bad("site_name my site\n", "t.conf:1: site_name: value has spaces; quote it", "unquoted spaces");
	bad("site_name my\tsite\n", "t.conf:1: site_name: value has spaces; quote it", "unquoted tab");

	/* Comments, blank lines, whitespace, line endings. */
	is_int(parse("# a comment\n\n   \n\t# indented comment\n  port   8081  # trailing\n"), 0,
	    "comments, blank lines, indentation");
	is_int(c.port, 8081, "value before a trailing comment");
	is_int(parse("port 8082#tight\n"), 0, "'#' ends an unquoted value");
	is_int(c.port, 8082, "value before a tight comment");
	is_int(parse("port 8083\r\nsite_name \"crlf\"\r\n"), 0, "CRLF line endings");
	is_int(c.port, 8083, "CRLF INT");
	is_str(c.site, "crlf", "CRLF quoted STR");
	is_int(parse("port\t8084\n"), 0, "tab between keyword and value");
	is_int(c.port, 8084, "tab-separated value");
	bad("# one\n\n# three\nbogus 1\n", "t.conf:4: unknown keyword \"bogus\"",
	    "line numbers count comments and blank lines");

	/* Unknown keyword, duplicates, missing value. */
	bad("Port 80\n", "t.conf:1: unknown keyword \"Port\"", "keywords are case-sensitive");
	bad("port=80\n", "t.conf:1: unknown keyword \"port=80\"", "'=' is not a separator");
	bad("port 80\nverbose yes\nport 81\n", "t.conf:3: port: given more than once", "duplicate keyword");
	bad("path /a\npath /b\n", "t.conf:2: path: given more than once", "duplicate STR keyword");
	bad("port\n", "t.conf:1: port: missing value", "missing value");
	bad("port    # nothing\n", "t.conf:1: port: missing value", "only a comment after the keyword");
	bad("verbose\t  \n", "t.conf:1: verbose: missing value", "only whitespace after the keyword");
	{
		char longkw[200], want[200];
		memset(longkw, 'k', 100);
		snprintf(longkw + 100, sizeof(longkw) - 100, " 1\n");
		snprintf(want, sizeof(want), "t.conf:1: unknown keyword \"%.64s\"", longkw);
		bad(longkw, want, "unknown keyword is cut to 64 characters");
	}

	/* Overlong lines and NUL bytes. */
	if ((line = malloc(2200)) == NULL)
		bail("malloc");
	memcpy(line, "path ", 5);
	memset(line + 5, 'p', 1023 - 5);
	line[1023] = '\n';
	line[1024] = '\0';
	is_int(parse(line), 0, "a line of 1023 bytes is accepted");
	is_int(strlen(c.path), 1018, "its 1018-byte value");
	memcpy(line, "port 1\n", 7);
	memcpy(line + 7, "path ", 5);
	memset(line + 12, 'p', 1024 - 5);
	line[7 + 1024] = '\n';
	line[7 + 1025] = '\0';
	bad(line, "t.conf:2: line longer than 1023 bytes", "a line of 1024 bytes");
	line[7 + 1024] = '\0';
	bad(line, "t.conf:2: line longer than 1023 bytes", "a final line of 1024 bytes without newline");
	free(line);
	is_int(parse_len("port 1\npo\0rt 2\n", 15), FY_ERR_CONFIG, "NUL byte refused");
	is_str(err, "t.conf:2: NUL byte in line", "NUL byte message");
	is_int(parse_len("port 1\n# \0 in a comment\n", 24), FY_ERR_CONFIG, "NUL byte in a comment refused");
	is_str(err, "t.conf:2: NUL byte in line", "NUL in comment message");
	is_int(parse_len("port 1\n\0", 8), FY_ERR_CONFIG, "lone trailing NUL refused");
	{
		char val[200], text[300], want[300];
		memset(val, 'v', 100);
		val[100] = '\0';
		snprintf(text, sizeof(text), "port %s\n", val);
		snprintf(want, sizeof(want), "t.conf:1: port: expected an integer in range: \"%.64s\"", val);
		bad(text, want, "bad value is cut to 64 characters in the message");
	}
	{
		char small[16];
		r = fy_cfg_parse_buf(tab, NTAB, &c, "t.conf", "bogus 1\n", 8, small, sizeof(small));
		is_int(r, FY_ERR_CONFIG, "tiny error buffer");
		is_str(small, "t.conf:1: unkno", "message truncated, NUL-terminated");
	}

	/* The -T dump. */
	is_int(parse("site_name alpha\npath /srv\nport 9\ntimeout 1h\nverbose yes\nlog_level warning\n"),
	    0, "config for the dump");
	d = dump();
	is_str(d, "site_name alpha\npath /srv\nport 9\ntimeout 3600s\nverbose yes\nlog_level warning\n",
	    "dump text");
	is_int(parse(d), 0, "dump parses back");
	is_int(c.timeout, 3600, "dumped duration parses back");
	free(d);

	/* Empty strings: the dump writes "" and "" reads back as the empty string. */
	is_int(parse(""), 0, "defaults only");
	d = dump();
	is_str(d, "site_name \"\"\npath \"\"\nport 7443\ntimeout 300s\nverbose no\nlog_level info\n",
	    "dump of the defaults");
	r = parse(d);
	is_int(r, 0, "dump of the defaults parses back");
	if (r != 0)
		diag("%s", err);
	free(d);
	is_int(parse("site_name \"\"\npath \"\"\n"), 0, "\"\" for a string");
	ok(c.site != NULL && c.site[0] == '\0', "sets the empty string");
	ok(c.path != NULL && c.path[0] == '\0', "also where the default is unset");
	bad("port \"\"\n", "t.conf:1: port: missing value", "\"\" for an integer");
	bad("verbose \"\"  # c\n", "t.conf:1: verbose: missing value", "\"\" for a boolean");

	/*
	 * Known bug: the dump writes a string with a space or a '#' unquoted,
	 * so -T output does not read back (refused, or cut at the '#').
	 */
	{
		static const char *const vals[] = { "a b", "a#b" };
		char *dumps[2];
		for (i = 0; i < 2; i++) {
			char text[64];
			snprintf(text, sizeof(text), "site_name x\npath \"%s\"\n", vals[i]);
			is_int(parse(text), 0, "quoted string \"%s\"", vals[i]);
			dumps[i] = dump();
		}
		for (i = 0; i < 2; i++) {
			r = parse(dumps[i]);
			ok(r == 0 && c.path != NULL && strcmp(c.path, vals[i]) == 0,
			    "dump of \"%s\" reads back the same", vals[i]);
			if (r != 0)
				diag("%s", err);
			else if (c.path != NULL)
				diag("read back as \"%s\"", c.path);
			free(dumps[i]);
		}
	}

	/* fy_cfg_load: defaults, then the file. */
	dir = t_tmpdir("config");
	t_path(path, sizeof(path), dir, "ferryd.conf");
	t_write_file(path, "# test\nport 1234\n", 17);
	fy_cfg_free(tab, NTAB, &c);
	memset(&c, 0, sizeof(c));
	is_int(fy_cfg_load(tab, NTAB, &c, path, err, sizeof(err)), 0, "fy_cfg_load");
	is_int(c.port, 1234, "value from the file");
	is_int(c.timeout, 300, "default for the rest");
	t_write_file(path, "\n\nverbose maybe\n", 16);
	is_int(fy_cfg_load(tab, NTAB, &c, path, err, sizeof(err)), FY_ERR_CONFIG, "load: bad value");
	{
		char want[600];
		snprintf(want, sizeof(want), "%s:3: verbose: expected yes or no: \"maybe\"", path);
		is_str(err, want, "load: message names the file and line");
	}
	t_path(path, sizeof(path), dir, "missing.conf");
	is_int(fy_cfg_load(tab, NTAB, &c, path, err, sizeof(err)), FY_ERR_CONFIG, "load: missing file");
	{
		char want[600];
		snprintf(want, sizeof(want), "%s: no such file", path);
		is_str(err, want, "load: missing file message");
	}
	t_path(path, sizeof(path), dir, "big.conf");
	{
		size_t n = 256 * 1024 + 1;
		char *big = malloc(n), want[600];
		if (big == NULL)
			bail("malloc");
		memset(big, '\n', n);
		t_write_file(path, big, n);
		is_int(fy_cfg_load(tab, NTAB, &c, path, err, sizeof(err)), FY_ERR_CONFIG, "load: 256 KiB + 1");
		snprintf(want, sizeof(want), "%s: file larger than 256 KiB", path);
		is_str(err, want, "load: size message");
		t_write_file(path, big, n - 1);
		is_int(fy_cfg_load(tab, NTAB, &c, path, err, sizeof(err)), 0, "load: exactly 256 KiB of blank lines");
		free(big);
	}
	fy_cfg_free(tab, NTAB, &c);
	ok(c.site == NULL && c.path == NULL, "fy_cfg_free clears the strings");
	fy_cfg_free(tab, NTAB, &c);
	ok(1, "fy_cfg_free twice is harmless");
	t_rmtree(dir);
	free(dir);
	done_testing();
}
