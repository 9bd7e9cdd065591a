/*
 * config.c - the configuration table drives parsing, defaults and the -T
 * dump.  Syntax: one "keyword value" per line, '#' starts a comment, a value
 * may be double-quoted.  GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include "common.h"

#define FY_CFG_MAX	(256 * 1024)	/* a config file larger than this is refused */
#define FY_CFG_LINE	1024

static int
set_value(const struct fy_cfg_ent *e, void *base, const char *v, const char **why)
{
	char *p = (char *)base + e->offset;
	long long iv;
	int64_t d;
	int lv;

	switch (e->type) {
	case FY_CFG_STR: {
		char *s = strdup(v), **sp = (char **)(void *)p;
		if (s == NULL)
			return FY_ERR_NOMEM;
		free(*sp);
		*sp = s;
		return 0;
	}
	case FY_CFG_INT:
		if (fy_parse_int(v, e->min, e->max, &iv) != 0) {
			*why = "expected an integer in range";
			return FY_ERR_CONFIG;
		}
		*(long long *)(void *)p = iv;
		return 0;
	case FY_CFG_DURATION:
		if (fy_parse_duration(v, &d) != 0 || d < e->min || d > e->max) {
			*why = "expected a duration in range (e.g. 90s, 5m, 1h)";
			return FY_ERR_CONFIG;
		}
		*(long long *)(void *)p = d;
		return 0;
	case FY_CFG_BOOL:
		if (strcmp(v, "yes") == 0)
			*(int *)(void *)p = 1;
		else if (strcmp(v, "no") == 0)
			*(int *)(void *)p = 0;
		else {
			*why = "expected yes or no";
			return FY_ERR_CONFIG;
		}
		return 0;
	case FY_CFG_LOGLEVEL:
		if ((lv = fy_log_level_parse(v)) < 0) {
			*why = "expected error, warning, info or debug";
			return FY_ERR_CONFIG;
		}
		*(int *)(void *)p = lv;
		return 0;
	}
	return FY_ERR_INVAL;
}

int
fy_cfg_defaults(const struct fy_cfg_ent *t, size_t n, void *base)
{
	const char *why = NULL;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (t[i].def == NULL)
			continue;
		if ((r = set_value(&t[i], base, t[i].def, &why)) != 0)
			return r;
	}
	return 0;
}

int
fy_cfg_parse_buf(const struct fy_cfg_ent *t, size_t n, void *base, const char *name,
    const char *text, size_t len, char *err, size_t errcap)
{
	char line[FY_CFG_LINE], *kw, *val, *e;
	unsigned char seen[128];
	const char *why;
	size_t pos = 0, ll, i;
	int lineno = 0, r, quoted;

	memset(seen, 0, sizeof(seen));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (ll >= sizeof(line)) {
			snprintf(err, errcap, "%s:%d: line longer than %d bytes", name, lineno, FY_CFG_LINE - 1);
			return FY_ERR_CONFIG;
		}
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		if (memchr(line, '\0', ll) != NULL) {
			snprintf(err, errcap, "%s:%d: NUL byte in line", name, lineno);
			return FY_ERR_CONFIG;
		}
		for (kw = line; isspace((unsigned char)*kw); kw++)
			;
		if (*kw == '#' || *kw == '\0')
			continue;
		for (val = kw; *val && !isspace((unsigned char)*val); val++)
			;
		if (*val)
			*val++ = '\0';
		while (isspace((unsigned char)*val))
			val++;
		quoted = 0;
		if (*val == '"') {
			quoted = 1;
			val++;
			if ((e = strchr(val, '"')) == NULL) {
				snprintf(err, errcap, "%s:%d: unterminated quote", name, lineno);
				return FY_ERR_CONFIG;
			}
			*e++ = '\0';
			while (isspace((unsigned char)*e))
				e++;
			if (*e != '\0' && *e != '#') {
				snprintf(err, errcap, "%s:%d: trailing text after quoted value", name, lineno);
				return FY_ERR_CONFIG;
			}
		} else {
			if ((e = strchr(val, '#')) != NULL)
				*e = '\0';
			e = val + strlen(val);
			while (e > val && isspace((unsigned char)e[-1]))
				*--e = '\0';
			if (strpbrk(val, " \t") != NULL) {
				snprintf(err, errcap, "%s:%d: %s: value has spaces; quote it", name, lineno, kw);
				return FY_ERR_CONFIG;
			}
		}
		for (i = 0; i < n; i++)
			if (strcmp(t[i].name, kw) == 0)
				break;
		if (i == n) {
			snprintf(err, errcap, "%s:%d: unknown keyword \"%.64s\"", name, lineno, kw);
			return FY_ERR_CONFIG;
		}
		if (*val == '\0' && !(quoted && t[i].type == FY_CFG_STR)) {
			snprintf(err, errcap, "%s:%d: %s: missing value", name, lineno, kw);
			return FY_ERR_CONFIG;
		}
		if (i < sizeof(seen) && seen[i]++) {
			snprintf(err, errcap, "%s:%d: %s: given more than once", name, lineno, kw);
			return FY_ERR_CONFIG;
		}
		why = "invalid value";
		if ((r = set_value(&t[i], base, val, &why)) != 0) {
			if (r == FY_ERR_NOMEM)
				return r;
			snprintf(err, errcap, "%s:%d: %s: %s: \"%.64s\"", name, lineno, kw, why, val);
			return FY_ERR_CONFIG;
		}
	}
	return 0;
}

int
fy_cfg_load(const struct fy_cfg_ent *t, size_t n, void *base, const char *file,
    char *err, size_t errcap)
{
	struct fy_buf *b = NULL;
	int r;

	if ((r = fy_cfg_defaults(t, n, base)) != 0) {
		snprintf(err, errcap, "%s: bad built-in default", file);
		return r;
	}
	if ((r = fy_read_file(file, FY_CFG_MAX, &b)) != 0) {
		snprintf(err, errcap, "%s: %s", file,
		    r == FY_ERR_LIMIT ? "file larger than 256 KiB" :
		    r == FY_ERR_NOTFOUND ? "no such file" : "cannot read");
		return FY_ERR_CONFIG;
	}
	r = fy_cfg_parse_buf(t, n, base, file, (const char *)fy_buf_ptr(b), fy_buf_len(b), err, errcap);
	fy_buf_free(b);
	return r;
}

void
fy_cfg_dump(const struct fy_cfg_ent *t, size_t n, const void *base, FILE *f)
{
	const char *p;
	size_t i;

	for (i = 0; i < n; i++) {
		p = (const char *)base + t[i].offset;
		switch (t[i].type) {
		case FY_CFG_STR: {
			/* Quoted when needed, so the dump reads back (no value holds '"'). */
			const char *s = *(char *const *)(const void *)p;
			if (s == NULL || *s == '\0' || strpbrk(s, " \t#") != NULL)
				fprintf(f, "%s \"%s\"\n", t[i].name, s ? s : "");
			else
				fprintf(f, "%s %s\n", t[i].name, s);
			break;
		}
		case FY_CFG_INT:
			fprintf(f, "%s %lld\n", t[i].name, *(const long long *)(const void *)p);
			break;
		case FY_CFG_DURATION:
			fprintf(f, "%s %llds\n", t[i].name, *(const long long *)(const void *)p);
			break;
		case FY_CFG_BOOL:
			fprintf(f, "%s %s\n", t[i].name, *(const int *)(const void *)p ? "yes" : "no");
			break;
		case FY_CFG_LOGLEVEL: {
			int l = *(const int *)(const void *)p;
			fprintf(f, "%s %s\n", t[i].name, l == FY_LOG_ERR ? "error" :
			    l == FY_LOG_WARN ? "warning" : l == FY_LOG_INFO ? "info" : "debug");
			break;
		}
		}
	}
}

void
fy_cfg_free(const struct fy_cfg_ent *t, size_t n, void *base)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].type == FY_CFG_STR) {
			char **sp = (char **)(void *)((char *)base + t[i].offset);
			free(*sp);
			*sp = NULL;
		}
}
