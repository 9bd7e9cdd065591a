/*
 * report.c - the findings of one pre-flight: verdicts per VM and overall,
 * the exit code, the JSON for scripts and the text for people.  A report
 * copies what it shows, so it outlives the facts it was made from.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "netmap/netmap-int.h"

#define TEXT_MAX	((size_t)256 << 20)	/* far above NETMAP_FINDINGS_MAX short lines */
#define JSON_VERSION	1

struct item {
	struct netmap_finding f;
	size_t seq;			/* order of addition, for a stable sort */
};

struct vmrow {
	const char *name, *uuid;
	size_t count[3];		/* by severity */
};

struct netmap_report {
	struct netmap_arena *a;
	struct item *items;
	size_t n, cap;
	size_t count[3];		/* by severity, all findings */
	size_t site_count[3];		/* site-level findings */
	struct vmrow *vms;
	size_t nvms;
	const char *src_site, *src_type, *dst_site, *dst_type;
};

static const char *
dup_or(struct netmap_arena *a, const char *s, const char *dflt)
{
	return s != NULL ? netmap_arena_strdup(a, s) : dflt;
}

struct netmap_report *
netmap_report_new(const struct netmap_facts *src, const struct netmap_facts *dst)
{
	struct netmap_report *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->a = netmap_arena_new()) == NULL)
		goto fail;
	r->nvms = src->nvms;
	if ((r->vms = netmap_arena_array(r->a, r->nvms + 1, sizeof(*r->vms))) == NULL)
		goto fail;
	for (i = 0; i < r->nvms; i++) {
		if ((r->vms[i].name = dup_or(r->a, src->vms[i].name, "")) == NULL ||
		    (r->vms[i].uuid = dup_or(r->a, src->vms[i].instance_uuid, "")) == NULL)
			goto fail;
	}
	if ((r->src_site = dup_or(r->a, src->site, "source")) == NULL ||
	    (r->dst_site = dup_or(r->a, dst->site, "destination")) == NULL ||
	    (r->src_type = dup_or(r->a, src->type, "")) == NULL ||
	    (r->dst_type = dup_or(r->a, dst->type, "")) == NULL)
		goto fail;
	return r;
fail:
	netmap_report_free(r);
	return NULL;
}

void
netmap_report_free(struct netmap_report *r)
{
	if (r == NULL)
		return;
	free(r->items);
	netmap_arena_free(r->a);
	free(r);
}

struct netmap_arena *
netmap_report_arena(struct netmap_report *r)
{
	return r->a;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Make s valid UTF-8 in place: a value cut in the middle of a character by
 * a bounded buffer, or bytes a peer sent broken, become '?' (jansson, and
 * so the JSON report, refuses invalid UTF-8).
 */
static void
utf8_fix(const char *cs)
{
	unsigned char *p = (unsigned char *)(uintptr_t)cs;
	size_t n;

	while (p != NULL && *p != '\0') {
		if ((n = utf8_len(p)) == 0)
			*p++ = '?';
		else
			p += n;
	}
}

int
netmap_report_add(struct netmap_report *r, enum netmap_code_id id, int vm_index, const char *subject,
    const char *src, const char *dst, const char *fix, const char *fmt, ...)
{
	struct netmap_finding *f;
	struct item *ni;
	va_list ap;
	size_t nc;

	if (r->n >= NETMAP_FINDINGS_MAX)
		return FY_ERR_LIMIT;
	if (vm_index < -1 || (vm_index >= 0 && (size_t)vm_index >= r->nvms))
		return FY_ERR_INVAL;
	if (r->n == r->cap) {
		nc = r->cap ? r->cap * 2 : 64;
		if ((ni = realloc(r->items, nc * sizeof(*ni))) == NULL)
			return FY_ERR_NOMEM;
		r->items = ni;
		r->cap = nc;
	}
	f = &r->items[r->n].f;
	memset(f, 0, sizeof(*f));
	f->code = netmap_catalogue_code(id);
	f->severity = netmap_catalogue_severity(id);
	f->vm_index = vm_index;
	f->vm = vm_index >= 0 ? r->vms[vm_index].name : NULL;
	va_start(ap, fmt);
	f->message = netmap_arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	if (f->message == NULL ||
	    (f->subject = dup_or(r->a, subject, "")) == NULL ||
	    (f->src_value = dup_or(r->a, src, "")) == NULL ||
	    (f->dst_value = dup_or(r->a, dst, "")) == NULL ||
	    (f->fix = dup_or(r->a, fix, netmap_catalogue_fix(id))) == NULL)
		return FY_ERR_NOMEM;
	/* Only the arena's copies: the defaults are constants, valid already. */
	utf8_fix(f->message);
	if (subject != NULL)
		utf8_fix(f->subject);
	if (src != NULL)
		utf8_fix(f->src_value);
	if (dst != NULL)
		utf8_fix(f->dst_value);
	if (fix != NULL)
		utf8_fix(f->fix);
	r->items[r->n].seq = r->n;
	r->n++;
	r->count[f->severity]++;
	if (vm_index < 0)
		r->site_count[f->severity]++;
	else
		r->vms[vm_index].count[f->severity]++;
	return 0;
}

static int
by_vm(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->f.vm_index != y->f.vm_index)
		return x->f.vm_index < y->f.vm_index ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
netmap_report_finish(struct netmap_report *r)
{
	if (r->n > 1)
		qsort(r->items, r->n, sizeof(*r->items), by_vm);
}

size_t
netmap_report_count(const struct netmap_report *r)
{
	return r->n;
}

const struct netmap_finding *
netmap_report_get(const struct netmap_report *r, size_t i)
{
	return i < r->n ? &r->items[i].f : NULL;
}

const struct netmap_finding *
netmap_report_find(const struct netmap_report *r, const char *code, int vm_index)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->items[i].f.code, code) == 0 &&
		    (vm_index == -2 || r->items[i].f.vm_index == vm_index))
			return &r->items[i].f;
	return NULL;
}

size_t
netmap_report_nvms(const struct netmap_report *r)
{
	return r->nvms;
}

static enum netmap_verdict
verdict_of(const size_t *c)
{
	if (c[NETMAP_ERROR] > 0)
		return NETMAP_BLOCKED;
	if (c[NETMAP_WARNING] > 0)
		return NETMAP_WARNINGS;
	return NETMAP_CLEAR;
}

enum netmap_verdict
netmap_report_verdict(const struct netmap_report *r, int vm_index)
{
	enum netmap_verdict site, vm;

	if (vm_index < 0 || (size_t)vm_index >= r->nvms)
		return verdict_of(r->count);
	/* What blocks the site blocks each of its VMs. */
	site = verdict_of(r->site_count);
	vm = verdict_of(r->vms[vm_index].count);
	return site > vm ? site : vm;
}

int
netmap_report_exit_code(const struct netmap_report *r, int strict)
{
	switch (netmap_report_verdict(r, -1)) {
	case NETMAP_BLOCKED:
		return 2;
	case NETMAP_WARNINGS:
		return strict ? 1 : 0;
	default:
		return 0;
	}
}

/* ---- JSON ---- */

static json_t *
finding_json(const struct netmap_finding *f)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s}",
	    "code", f->code, "severity", netmap_severity_name(f->severity),
	    "vm", f->vm ? json_string(f->vm) : json_null(),
	    "vm_index", f->vm_index >= 0 ? json_integer(f->vm_index) : json_null(),
	    "subject", f->subject, "source", f->src_value, "destination", f->dst_value,
	    "message", f->message, "fix", f->fix);
	return o;
}

static json_t *
counts_json(const size_t *c)
{
	return json_pack("{s:I, s:I, s:I}", "error", (json_int_t)c[NETMAP_ERROR],
	    "warning", (json_int_t)c[NETMAP_WARNING], "info", (json_int_t)c[NETMAP_INFO]);
}

json_t *
netmap_report_json(const struct netmap_report *r)
{
	json_t *j = NULL, *vms = NULL, *fs = NULL, *o;
	size_t i;

	if ((vms = json_array()) == NULL || (fs = json_array()) == NULL)
		goto fail;
	for (i = 0; i < r->nvms; i++) {
		o = json_pack("{s:s, s:s, s:s, s:o}", "name", r->vms[i].name, "instance_uuid", r->vms[i].uuid,
		    "verdict", netmap_verdict_name(netmap_report_verdict(r, (int)i)),
		    "counts", counts_json(r->vms[i].count));
		if (json_array_append_new(vms, o) != 0)
			goto fail;
	}
	for (i = 0; i < r->n; i++)
		if (json_array_append_new(fs, finding_json(&r->items[i].f)) != 0)
			goto fail;
	j = json_pack("{s:i, s:s, s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:o}",
	    "version", JSON_VERSION, "verdict", netmap_verdict_name(netmap_report_verdict(r, -1)),
	    "counts", counts_json(r->count),
	    "source", "site", r->src_site, "type", r->src_type,
	    "destination", "site", r->dst_site, "type", r->dst_type,
	    "vms", vms, "findings", fs);
	return j;		/* json_pack's "o" took vms and fs, even on failure */
fail:
	json_decref(vms);
	json_decref(fs);
	return NULL;
}

/* ---- text ---- */

struct sb {
	char *p;
	size_t len, cap;
	int bad;
};

static void sb_printf(struct sb *, const char *fmt, ...) FY_PRINTF(2, 3);

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	size_t nc;
	char *np;
	int n;

	if (b->bad)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->bad = 1;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		nc = b->cap ? b->cap : 4096;
		while (nc < b->len + (size_t)n + 1 && nc <= TEXT_MAX)
			nc *= 2;
		if (nc > TEXT_MAX || (np = realloc(b->p, nc)) == NULL) {
			b->bad = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static const char *
label(enum netmap_severity s)
{
	return s == NETMAP_ERROR ? "ERROR" : s == NETMAP_WARNING ? "WARNING" : "INFO";
}

static void
upper(char *out, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < cap; i++)
		out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	out[i] = '\0';
}

static void
text_finding(struct sb *b, const struct netmap_finding *f)
{
	sb_printf(b, "  %-8s %-12s %s\n", label(f->severity), f->code, f->message);
	if (f->src_value[0] != '\0' || f->dst_value[0] != '\0')
		sb_printf(b, "  %-8s %-12s source: %s | destination: %s\n", "", "",
		    f->src_value[0] ? f->src_value : "-", f->dst_value[0] ? f->dst_value : "-");
	if (f->severity != NETMAP_INFO)
		sb_printf(b, "  %-8s %-12s fix: %s\n", "", "", f->fix);
}

static void
count_line(struct sb *b, const size_t *c)
{
	sb_printf(b, "%zu error%s, %zu warning%s, %zu note%s", c[NETMAP_ERROR], c[NETMAP_ERROR] == 1 ? "" : "s",
	    c[NETMAP_WARNING], c[NETMAP_WARNING] == 1 ? "" : "s", c[NETMAP_INFO], c[NETMAP_INFO] == 1 ? "" : "s");
}

char *
netmap_report_text(const struct netmap_report *r)
{
	struct sb b = { NULL, 0, 0, 0 };
	size_t i, k = 0, nv[3] = { 0, 0, 0 };
	char v[16];
	int vi;

	for (i = 0; i < r->nvms; i++)
		nv[netmap_report_verdict(r, (int)i)]++;
	upper(v, sizeof(v), netmap_verdict_name(netmap_report_verdict(r, -1)));
	sb_printf(&b, "Pre-flight %s (%s) -> %s (%s): %s\n", r->src_site, r->src_type, r->dst_site,
	    r->dst_type, v);
	sb_printf(&b, "%zu VM%s: %zu clear, %zu with warnings, %zu blocked; ", r->nvms, r->nvms == 1 ? "" : "s",
	    nv[NETMAP_CLEAR], nv[NETMAP_WARNINGS], nv[NETMAP_BLOCKED]);
	count_line(&b, r->count);
	sb_printf(&b, "\n\nSite\n");
	for (; k < r->n && r->items[k].f.vm_index < 0; k++)
		text_finding(&b, &r->items[k].f);
	if (k == 0)
		sb_printf(&b, "  no findings\n");
	for (vi = 0; (size_t)vi < r->nvms; vi++) {
		upper(v, sizeof(v), netmap_verdict_name(netmap_report_verdict(r, vi)));
		sb_printf(&b, "\nVM %s%s%s%s: %s%s (", r->vms[vi].name, r->vms[vi].uuid[0] ? " (" : "",
		    r->vms[vi].uuid, r->vms[vi].uuid[0] ? ")" : "", v,
		    verdict_of(r->vms[vi].count) < netmap_report_verdict(r, vi) ? " by the site" : "");
		count_line(&b, r->vms[vi].count);
		sb_printf(&b, ")\n");
		if (k >= r->n || r->items[k].f.vm_index != vi)
			sb_printf(&b, "  no findings\n");
		for (; k < r->n && r->items[k].f.vm_index == vi; k++)
			text_finding(&b, &r->items[k].f);
	}
	if (b.bad || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
