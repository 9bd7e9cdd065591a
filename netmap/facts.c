/*
 * facts.c - the facts reader: a site's facts as its domain driver (or the
 * peer gateway, through the federation API) reports them, from JSON into
 * struct netmap_facts.  Everything is bounded: the text, the nesting (of
 * unknown members too), the members of any object, the elements of any
 * array, every string.  Every refusal names the JSON path that was wrong
 * ("vms[3].nics[1].network: not a string").  Unknown members are ignored.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "netmap/netmap-int.h"

#define PATH_MAX_LEN	1024
#define KEY_IN_PATH	64		/* bytes of an unknown key shown in a path */
#define STRING_MAX	65536		/* any string, unknown members included */
#define UUID_MAX	64
#define VERSION_MAX	64
#define EVC_MAX		64
#define IDENT_MAX	32
#define ADDR_MAX	64
#define SITE_MAX	63
#define BYTES_MAX	((int64_t)1 << 62)
#define MEM_MIB_MAX	((int64_t)16 << 20)	/* 16 TiB */
#define HW_MAX		99
#define ACCELS_MAX	16
#define DIRTY_MAX	((int64_t)1 << 50)

/* String flags. */
#define S_REQ		0x1	/* missing or null is an error */
#define S_NONEMPTY	0x2
#define S_MSG		0x4	/* free text: control characters become spaces, long text is cut */

struct rd {
	struct netmap_arena *a;
	char *err;
	size_t errcap;
	char path[PATH_MAX_LEN];
	size_t plen;
};

static int fail(struct rd *, int code, const char *fmt, ...) FY_PRINTF(3, 4);

static int
fail(struct rd *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return netmap_fail(r->err, r->errcap, code, "%s: %s", r->plen ? r->path : "facts", msg);
}

static int
nomem(struct rd *r)
{
	return netmap_fail(r->err, r->errcap, FY_ERR_NOMEM, "facts: out of memory");
}

/* Append to the path; returns the length to restore. */
static size_t
push_key(struct rd *r, const char *key)
{
	size_t old = r->plen;
	int n;

	n = snprintf(r->path + r->plen, sizeof(r->path) - r->plen, "%s%.*s%s", r->plen ? "." : "",
	    KEY_IN_PATH, key, strlen(key) > KEY_IN_PATH ? "..." : "");
	if (n > 0)
		r->plen += (size_t)n < sizeof(r->path) - r->plen ? (size_t)n : sizeof(r->path) - r->plen - 1;
	return old;
}

static size_t
push_idx(struct rd *r, size_t i)
{
	size_t old = r->plen;
	int n;

	n = snprintf(r->path + r->plen, sizeof(r->path) - r->plen, "[%zu]", i);
	if (n > 0)
		r->plen += (size_t)n < sizeof(r->path) - r->plen ? (size_t)n : sizeof(r->path) - r->plen - 1;
	return old;
}

static void
pop(struct rd *r, size_t old)
{
	r->plen = old;
	r->path[old] = '\0';
}

/* ---- the generic bounds, over the whole document ---- */

static int
walk(struct rd *r, const json_t *v, int depth)
{
	const char *key;
	json_t *c;
	size_t i, old;
	int rc;

	if (json_is_string(v)) {
		if (json_string_length(v) > STRING_MAX)
			return fail(r, FY_ERR_LIMIT, "longer than %d bytes", STRING_MAX);
		return 0;
	}
	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (depth >= NETMAP_DEPTH_MAX)
		return fail(r, FY_ERR_LIMIT, "nested deeper than %d levels", NETMAP_DEPTH_MAX);
	if (json_is_object(v)) {
		if (json_object_size(v) > NETMAP_MEMBERS_MAX)
			return fail(r, FY_ERR_LIMIT, "more than %d members", NETMAP_MEMBERS_MAX);
		json_object_foreach((json_t *)v, key, c) {
			old = push_key(r, key);
			if ((rc = walk(r, c, depth + 1)) != 0)
				return rc;
			pop(r, old);
		}
		return 0;
	}
	if (json_array_size(v) > NETMAP_ARRAY_MAX)
		return fail(r, FY_ERR_LIMIT, "more than %d elements", NETMAP_ARRAY_MAX);
	json_array_foreach((json_t *)v, i, c) {
		old = push_idx(r, i);
		if ((rc = walk(r, c, depth + 1)) != 0)
			return rc;
		pop(r, old);
	}
	return 0;
}

/* ---- typed members; each pushes the key onto the path for its errors ---- */

/* A member that is absent or null: NULL. */
static const json_t *
member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v == NULL || json_is_null(v) ? NULL : v;
}

/* Copy a string value under the rules of flags. */
static int
take_str(struct rd *r, const json_t *v, size_t max, int flags, const char **out)
{
	const char *s;
	size_t n, i;
	char *p;

	if (!json_is_string(v))
		return fail(r, FY_ERR_INVAL, "not a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > max && !(flags & S_MSG))
		return fail(r, FY_ERR_LIMIT, "longer than %zu bytes", max);
	if (n == 0 && (flags & S_NONEMPTY))
		return fail(r, FY_ERR_INVAL, "empty");
	if (!(flags & S_MSG)) {
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return fail(r, FY_ERR_INVAL, "contains a control character");
		if ((p = netmap_arena_strdup(r->a, s)) == NULL)
			return nomem(r);
	} else {
		size_t keep = n > max ? max - 3 : n;
		/* Do not cut a UTF-8 sequence in two. */
		while (keep < n && keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep--;
		if ((p = netmap_arena_alloc(r->a, keep + 4)) == NULL)
			return nomem(r);
		for (i = 0; i < keep; i++)
			p[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
		if (keep < n)
			memcpy(p + keep, "...", 4);
		else
			p[keep] = '\0';
	}
	*out = p;
	return 0;
}

static int
get_str(struct rd *r, const json_t *o, const char *key, size_t max, int flags, const char **out)
{
	const json_t *v = member(o, key);
	size_t old;
	int rc;

	*out = NULL;
	old = push_key(r, key);
	if (v == NULL)
		rc = (flags & S_REQ) ? fail(r, FY_ERR_INVAL, "missing") : 0;
	else
		rc = take_str(r, v, max, flags, out);
	if (rc == 0)
		pop(r, old);
	return rc;
}

/* A string where an explicit null is a value: *has says the member is there. */
static int
get_nullable_str(struct rd *r, const json_t *o, const char *key, size_t max, int *has, const char **out)
{
	*has = json_object_get(o, key) != NULL;
	return get_str(r, o, key, max, S_NONEMPTY, out);
}

static int
get_int(struct rd *r, const json_t *o, const char *key, int64_t min, int64_t max, int req, int64_t *out)
{
	const json_t *v = member(o, key);
	size_t old;
	int rc = 0;

	*out = NETMAP_UNSET;
	old = push_key(r, key);
	if (v == NULL) {
		if (req)
			rc = fail(r, FY_ERR_INVAL, "missing");
	} else if (!json_is_integer(v))
		rc = fail(r, FY_ERR_INVAL, "not an integer");
	else if (json_integer_value(v) < min || json_integer_value(v) > max)
		rc = fail(r, FY_ERR_INVAL, "%lld is out of range (%lld to %lld)",
		    (long long)json_integer_value(v), (long long)min, (long long)max);
	else
		*out = json_integer_value(v);
	if (rc == 0)
		pop(r, old);
	return rc;
}

static int
get_bool(struct rd *r, const json_t *o, const char *key, enum netmap_tri *out)
{
	const json_t *v = member(o, key);
	size_t old;

	*out = NETMAP_TRI_ABSENT;
	if (v == NULL)
		return 0;
	old = push_key(r, key);
	if (!json_is_boolean(v))
		return fail(r, FY_ERR_INVAL, "not true or false");
	*out = json_is_true(v) ? NETMAP_TRI_YES : NETMAP_TRI_NO;
	pop(r, old);
	return 0;
}

/*
 * An array member of at most max elements (what: "VMs", for the message);
 * absent or null: *out NULL.  On success the key stays on the path: the
 * caller pops it to old after the elements.
 */
static int
get_arr(struct rd *r, const json_t *o, const char *key, size_t max, const char *what,
    const json_t **out, size_t *old)
{
	const json_t *v = member(o, key);

	*out = NULL;
	*old = push_key(r, key);
	if (v == NULL) {
		pop(r, *old);
		return 0;
	}
	if (!json_is_array(v))
		return fail(r, FY_ERR_INVAL, "not an array");
	if (json_array_size(v) > max)
		return fail(r, FY_ERR_LIMIT, "more than %zu %s", max, what);
	*out = v;
	return 0;
}

static int
need_obj(struct rd *r, const json_t *v)
{
	return json_is_object(v) ? 0 : fail(r, FY_ERR_INVAL, "not an object");
}

/* An array of strings (each under flags and max) into an arena array. */
static int
get_strlist(struct rd *r, const json_t *o, const char *key, size_t maxn, size_t max, int flags,
    const char *what, int *has, const char *const **out, size_t *n)
{
	const json_t *a, *v;
	const char **list;
	size_t i, old, o2;
	int rc;

	*out = NULL;
	*n = 0;
	if (has != NULL)
		*has = member(o, key) != NULL;
	if ((rc = get_arr(r, o, key, maxn, what, &a, &old)) != 0 || a == NULL)
		return rc;
	if ((list = netmap_arena_array(r->a, json_array_size(a) + 1, sizeof(*list))) == NULL)
		return nomem(r);
	json_array_foreach(a, i, v) {
		o2 = push_idx(r, i);
		if ((rc = take_str(r, v, max, flags, &list[i])) != 0)
			return rc;
		pop(r, o2);
	}
	pop(r, old);
	*out = list;
	*n = json_array_size(a);
	return 0;
}

/* ---- vocabularies ---- */

static int
get_kind(struct rd *r, const json_t *o, enum netmap_kind *out)
{
	const char *s;
	size_t old;
	int rc;

	*out = NETMAP_KIND_ABSENT;
	if ((rc = get_str(r, o, "kind", IDENT_MAX, 0, &s)) != 0 || s == NULL)
		return rc;
	if (strcmp(s, "standard") == 0)
		*out = NETMAP_KIND_STANDARD;
	else if (strcmp(s, "distributed") == 0)
		*out = NETMAP_KIND_DISTRIBUTED;
	else if (strcmp(s, "opaque") == 0)
		*out = NETMAP_KIND_OPAQUE;
	else {
		old = push_key(r, "kind");
		(void)old;
		return fail(r, FY_ERR_INVAL, "\"%s\": expected standard, distributed or opaque", s);
	}
	return 0;
}

static int
ident_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	return 1;
}

/* ---- the parts ---- */

static int
read_key(struct rd *r, const json_t *o, const char *key, int *has, const struct netmap_key **out)
{
	const json_t *v = member(o, key);
	struct netmap_key *k;
	size_t old;
	int rc;

	*out = NULL;
	if (has != NULL)
		*has = json_object_get(o, key) != NULL;
	if (v == NULL)
		return 0;
	old = push_key(r, key);
	if ((rc = need_obj(r, v)) != 0)
		return rc;
	if ((k = netmap_arena_alloc(r->a, sizeof(*k))) == NULL)
		return nomem(r);
	if ((rc = get_str(r, v, "key_id", NETMAP_NAME_MAX, 0, &k->key_id)) != 0 ||
	    (rc = get_str(r, v, "key_provider", NETMAP_NAME_MAX, 0, &k->provider)) != 0)
		return rc;
	pop(r, old);
	*out = k;
	return 0;
}

/* A VM's "boot": {"path": absolute, "sha256": hex}. */
static int
read_boot(struct rd *r, const json_t *o, struct netmap_vm *vm)
{
	const json_t *v = member(o, "boot");
	size_t old, i;
	int rc;

	if (v == NULL)
		return 0;
	old = push_key(r, "boot");
	if ((rc = need_obj(r, v)) != 0 ||
	    (rc = get_str(r, v, "path", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &vm->boot_path)) != 0 ||
	    (rc = get_str(r, v, "sha256", 64, S_NONEMPTY, &vm->boot_sha256)) != 0)
		return rc;
	if (vm->boot_path[0] != '/') {
		(void)push_key(r, "path");
		return fail(r, FY_ERR_INVAL, "\"%s\": not an absolute path", vm->boot_path);
	}
	for (i = 0; vm->boot_sha256 != NULL && vm->boot_sha256[i] != '\0'; i++)
		if (!strchr("0123456789abcdefABCDEF", vm->boot_sha256[i]))
			break;
	if (vm->boot_sha256 != NULL && (i != 64 || vm->boot_sha256[i] != '\0')) {
		(void)push_key(r, "sha256");
		return fail(r, FY_ERR_INVAL, "expected 64 hex digits");
	}
	pop(r, old);
	return 0;
}

static int
read_image(struct rd *r, const json_t *o, void *p)
{
	struct netmap_image *im = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "path", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &im->path)) != 0 ||
	    (rc = get_bool(r, o, "same", &im->same)) != 0 ||
	    (rc = get_str(r, o, "error", NETMAP_MSG_MAX, S_MSG, &im->error)) != 0)
		return rc;
	return 0;
}

static int
read_host(struct rd *r, const json_t *o, void *p)
{
	struct netmap_host *h = p;
	const json_t *a, *v;
	const char *s;
	int64_t n;
	size_t i, old, o2;
	int *hw, rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &h->name)) != 0 ||
	    (rc = get_str(r, o, "version", VERSION_MAX, 0, &h->version)) != 0 ||
	    (rc = get_str(r, o, "build", VERSION_MAX, 0, &h->build)) != 0 ||
	    (rc = get_str(r, o, "cluster", NETMAP_NAME_MAX, S_NONEMPTY, &h->cluster)) != 0 ||
	    (rc = get_bool(r, o, "maintenance", &h->maintenance)) != 0 ||
	    (rc = get_nullable_str(r, o, "max_evc", EVC_MAX, &h->has_max_evc, &h->max_evc)) != 0 ||
	    (rc = get_str(r, o, "connection_state", IDENT_MAX, 0, &s)) != 0)
		return rc;
	if (s == NULL)
		h->connection = NETMAP_CONN_ABSENT;
	else if (strcmp(s, "connected") == 0)
		h->connection = NETMAP_CONN_CONNECTED;
	else if (strcmp(s, "disconnected") == 0)
		h->connection = NETMAP_CONN_DISCONNECTED;
	else if (strcmp(s, "notResponding") == 0)
		h->connection = NETMAP_CONN_NOT_RESPONDING;
	else {
		(void)push_key(r, "connection_state");
		return fail(r, FY_ERR_INVAL, "\"%s\": expected connected, disconnected or notResponding", s);
	}
	if ((rc = get_arr(r, o, "hw_versions", NETMAP_HWVERS_MAX, "hardware versions", &a, &old)) != 0)
		return rc;
	if (a != NULL) {
		if ((hw = netmap_arena_array(r->a, json_array_size(a) + 1, sizeof(*hw))) == NULL)
			return nomem(r);
		json_array_foreach(a, i, v) {
			o2 = push_idx(r, i);
			if (!json_is_integer(v))
				return fail(r, FY_ERR_INVAL, "not an integer");
			n = json_integer_value(v);
			if (n < 1 || n > HW_MAX)
				return fail(r, FY_ERR_INVAL, "%lld is out of range (1 to %d)", (long long)n, HW_MAX);
			hw[i] = (int)n;
			pop(r, o2);
		}
		pop(r, old);
		h->hw_versions = hw;
		h->nhw_versions = json_array_size(a);
	}
	return 0;
}

static int
read_cluster(struct rd *r, const json_t *o, void *p)
{
	struct netmap_cluster *c = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &c->name)) != 0 ||
	    (rc = get_nullable_str(r, o, "evc_mode", EVC_MAX, &c->has_evc, &c->evc_mode)) != 0)
		return rc;
	return 0;
}

static int
read_datastore(struct rd *r, const json_t *o, void *p)
{
	struct netmap_datastore *d = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &d->name)) != 0 ||
	    (rc = get_int(r, o, "free_bytes", 0, BYTES_MAX, 0, &d->free_bytes)) != 0 ||
	    (rc = get_int(r, o, "capacity_bytes", 0, BYTES_MAX, 0, &d->capacity_bytes)) != 0 ||
	    (rc = get_str(r, o, "error", NETMAP_MSG_MAX, S_MSG, &d->error)) != 0)
		return rc;
	/* The qemu domain says total_bytes. */
	if (d->capacity_bytes == NETMAP_UNSET &&
	    (rc = get_int(r, o, "total_bytes", 0, BYTES_MAX, 0, &d->capacity_bytes)) != 0)
		return rc;
	return 0;
}

static int
read_network(struct rd *r, const json_t *o, void *p)
{
	struct netmap_network *n = p;
	const char *vk;
	int64_t vlan;
	int rc;

	n->vlan = NETMAP_UNSET;
	if (json_is_string(o))		/* the qemu domain lists names */
		return take_str(r, o, NETMAP_NAME_MAX, S_NONEMPTY, &n->name);
	if (!json_is_object(o))
		return fail(r, FY_ERR_INVAL, "not an object or a string");
	if ((rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &n->name)) != 0 ||
	    (rc = get_kind(r, o, &n->kind)) != 0 ||
	    (rc = get_str(r, o, "switch", NETMAP_NAME_MAX, 0, &n->switch_name)) != 0 ||
	    (rc = get_str(r, o, "switch_uuid", UUID_MAX * 2, 0, &n->switch_uuid)) != 0 ||
	    (rc = get_int(r, o, "vlan", 0, 4095, 0, &vlan)) != 0 ||
	    (rc = get_str(r, o, "vlan_kind", NETMAP_NAME_MAX, 0, &vk)) != 0)
		return rc;
	n->vlan = (int)vlan;
	/*
	 * A trunk carries all VLANs (the guest tags its frames): 4095, the ID
	 * a standard port group gives it, so that it compares equal to another
	 * trunk and unequal to one VLAN.
	 */
	if (n->vlan == NETMAP_UNSET && vk != NULL && strcmp(vk, "trunk") == 0)
		n->vlan = 4095;
	return 0;
}

static int
read_dns(struct rd *r, const json_t *o, void *p)
{
	struct netmap_dns *d = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &d->name)) != 0 ||
	    (rc = get_strlist(r, o, "forward", NETMAP_ADDRS_MAX, ADDR_MAX, S_NONEMPTY, "addresses", NULL,
	    &d->forward, &d->nforward)) != 0 ||
	    (rc = get_strlist(r, o, "reverse", NETMAP_ADDRS_MAX, NETMAP_NAME_MAX, S_NONEMPTY, "names", NULL,
	    &d->reverse, &d->nreverse)) != 0 ||
	    (rc = get_str(r, o, "error", NETMAP_MSG_MAX, S_MSG, &d->error)) != 0)
		return rc;
	return 0;
}

static int
read_usage(struct rd *r, const json_t *o, void *p)
{
	struct netmap_usage *u = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "datastore", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &u->datastore)) != 0 ||
	    (rc = get_int(r, o, "committed_bytes", 0, BYTES_MAX, 1, &u->committed_bytes)) != 0 ||
	    (rc = get_int(r, o, "uncommitted_bytes", 0, BYTES_MAX, 0, &u->uncommitted_bytes)) != 0)
		return rc;
	if (u->uncommitted_bytes == NETMAP_UNSET)
		u->uncommitted_bytes = 0;
	return 0;
}

static int
read_disk(struct rd *r, const json_t *o, void *p)
{
	struct netmap_disk *d = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "label", NETMAP_NAME_MAX, 0, &d->label)) != 0 ||
	    (rc = get_str(r, o, "datastore", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &d->datastore)) != 0 ||
	    (rc = get_int(r, o, "capacity_bytes", 0, BYTES_MAX, 0, &d->capacity_bytes)) != 0 ||
	    (rc = read_key(r, o, "encryption", NULL, &d->encryption)) != 0)
		return rc;
	return 0;
}

/* "00:50:56:aa:bb:cc" or with '-': kept lower-case with ':'. */
static int
read_mac(struct rd *r, const json_t *o, const char **out)
{
	const char *s;
	char *m;
	size_t i, old;
	int rc;

	if ((rc = get_str(r, o, "mac", ADDR_MAX, 0, &s)) != 0 || s == NULL) {
		*out = NULL;
		return rc;
	}
	old = push_key(r, "mac");
	if (strlen(s) != 17)
		return fail(r, FY_ERR_INVAL, "\"%s\": not a MAC address (xx:xx:xx:xx:xx:xx)", s);
	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' && s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return fail(r, FY_ERR_INVAL, "\"%s\": not a MAC address (xx:xx:xx:xx:xx:xx)", s);
	pop(r, old);
	m = (char *)s;		/* our own arena copy */
	for (i = 0; i < 17; i++)
		m[i] = i % 3 == 2 ? ':' : (char)tolower((unsigned char)m[i]);
	*out = m;
	return 0;
}

static int
read_nic(struct rd *r, const json_t *o, void *p)
{
	struct netmap_nic *n = p;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "label", NETMAP_NAME_MAX, 0, &n->label)) != 0 ||
	    (rc = get_str(r, o, "network", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &n->network)) != 0 ||
	    (rc = get_kind(r, o, &n->kind)) != 0 ||
	    (rc = get_str(r, o, "switch_uuid", UUID_MAX * 2, 0, &n->switch_uuid)) != 0 ||
	    (rc = read_mac(r, o, &n->mac)) != 0)
		return rc;
	return 0;
}

static int
read_checks(struct rd *r, const json_t *o, struct netmap_vm *vm)
{
	const json_t *v = member(o, "vcenter_checks");
	enum netmap_tri offered;
	size_t old;
	int rc;

	if (v == NULL)
		return 0;
	old = push_key(r, "vcenter_checks");
	if ((rc = need_obj(r, v)) != 0 || (rc = get_bool(r, v, "offered", &offered)) != 0)
		return rc;
	if (offered == NETMAP_TRI_ABSENT) {
		(void)push_key(r, "offered");
		return fail(r, FY_ERR_INVAL, "missing");
	}
	if ((rc = get_strlist(r, v, "errors", NETMAP_MSGS_MAX, NETMAP_MSG_MAX, S_MSG, "messages", NULL,
	    &vm->checks.errors, &vm->checks.nerrors)) != 0 ||
	    (rc = get_strlist(r, v, "warnings", NETMAP_MSGS_MAX, NETMAP_MSG_MAX, S_MSG, "messages", NULL,
	    &vm->checks.warnings, &vm->checks.nwarnings)) != 0)
		return rc;
	vm->checks.offered = offered == NETMAP_TRI_YES;
	if (!vm->checks.offered && vm->checks.nerrors + vm->checks.nwarnings > 0)
		return fail(r, FY_ERR_INVAL, "messages given although \"offered\" is false");
	vm->has_checks = 1;
	pop(r, old);
	return 0;
}

static enum netmap_power
power_of(const char *s)
{
	if (strcmp(s, "poweredOn") == 0 || strcmp(s, "running") == 0)
		return NETMAP_POWER_ON;
	if (strcmp(s, "poweredOff") == 0 || strcmp(s, "shutoff") == 0)
		return NETMAP_POWER_OFF;
	if (strcmp(s, "suspended") == 0)
		return NETMAP_POWER_SUSPENDED;
	if (strcmp(s, "paused") == 0)
		return NETMAP_POWER_PAUSED;
	return NETMAP_POWER_OTHER;
}

static int
read_hw_version(struct rd *r, const json_t *o, int *out)
{
	const json_t *v = member(o, "hw_version");
	const char *s;
	long n = 0;
	size_t old;

	*out = NETMAP_UNSET;
	if (v == NULL)
		return 0;
	old = push_key(r, "hw_version");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > HW_MAX)
			return fail(r, FY_ERR_INVAL, "%lld is out of range (1 to %d)",
			    (long long)json_integer_value(v), HW_MAX);
		n = (long)json_integer_value(v);
	} else if (json_is_string(v)) {
		/* vSphere's config.version: "vmx-13" */
		s = json_string_value(v);
		if (strncmp(s, "vmx-", 4) != 0 || strlen(s) < 5 || strlen(s) > 6 ||
		    strspn(s + 4, "0123456789") != strlen(s + 4) || (n = strtol(s + 4, NULL, 10)) < 1)
			return fail(r, FY_ERR_INVAL, "\"%.16s\": expected vmx-NN or a number", s);
	} else
		return fail(r, FY_ERR_INVAL, "not an integer or a \"vmx-NN\" string");
	*out = (int)n;
	pop(r, old);
	return 0;
}

typedef int (*read_fn)(struct rd *, const json_t *, void *);

/* An array member of objects read by fn into an arena array of elsize each; *has: present. */
static int
read_list(struct rd *r, const json_t *o, const char *key, size_t max, const char *what, size_t elsize,
    read_fn fn, const void **out, size_t *n, int *has)
{
	const json_t *a, *v;
	char *arr;
	size_t i, old, o2;
	int rc;

	if ((rc = get_arr(r, o, key, max, what, &a, &old)) != 0 || a == NULL)
		return rc;
	if ((arr = netmap_arena_array(r->a, json_array_size(a) + 1, elsize)) == NULL)
		return nomem(r);
	json_array_foreach(a, i, v) {
		o2 = push_idx(r, i);
		if ((rc = fn(r, v, arr + i * elsize)) != 0)
			return rc;
		pop(r, o2);
	}
	pop(r, old);
	*out = arr;
	*n = json_array_size(a);
	if (has != NULL)
		*has = 1;
	return 0;
}

static int
read_vm(struct rd *r, const json_t *o, void *p)
{
	struct netmap_vm *vm = p;
	const void *t;
	const char *s;
	int rc;

	if ((rc = need_obj(r, o)) != 0 ||
	    (rc = get_str(r, o, "name", NETMAP_NAME_MAX, S_REQ | S_NONEMPTY, &vm->name)) != 0 ||
	    (rc = get_str(r, o, "instance_uuid", UUID_MAX, S_NONEMPTY, &vm->instance_uuid)) != 0 ||
	    (rc = get_str(r, o, "bios_uuid", UUID_MAX, S_NONEMPTY, &vm->bios_uuid)) != 0 ||
	    (rc = get_str(r, o, "power_state", IDENT_MAX, S_NONEMPTY, &s)) != 0 ||
	    (rc = read_hw_version(r, o, &vm->hw_version)) != 0 ||
	    (rc = get_int(r, o, "memory_mib", 1, MEM_MIB_MAX, 0, &vm->memory_mib)) != 0 ||
	    (rc = get_str(r, o, "host", NETMAP_NAME_MAX, S_NONEMPTY, &vm->host)) != 0 ||
	    (rc = get_nullable_str(r, o, "min_evc", EVC_MAX, &vm->has_min_evc, &vm->min_evc)) != 0 ||
	    (rc = get_str(r, o, "accel", IDENT_MAX, S_NONEMPTY, &vm->accel)) != 0 ||
	    (rc = read_key(r, o, "encryption", &vm->has_encryption, &vm->encryption)) != 0 ||
	    (rc = get_int(r, o, "dirty_bytes_per_s", 0, DIRTY_MAX, 0, &vm->dirty_bytes_per_s)) != 0 ||
	    (rc = read_checks(r, o, vm)) != 0 ||
	    (rc = read_boot(r, o, vm)) != 0)
		return rc;
	if (s != NULL) {
		/* Any other (printable) state is one pre-flight refuses to move (FY-PWR-001). */
		vm->power = power_of(s);
		vm->power_state = s;
	}
	if ((rc = read_list(r, o, "storage", NETMAP_DISKS_MAX, "datastores",
	    sizeof(struct netmap_usage), read_usage,
	    &t, &vm->nstorage, &vm->has_storage)) != 0)
		return rc;
	vm->storage = t;
	if ((rc = read_list(r, o, "disks", NETMAP_DISKS_MAX, "disks",
	    sizeof(struct netmap_disk), read_disk,
	    &t, &vm->ndisks, NULL)) != 0)
		return rc;
	vm->disks = t;
	if ((rc = read_list(r, o, "nics", NETMAP_NICS_MAX, "NICs",
	    sizeof(struct netmap_nic), read_nic,
	    &t, &vm->nnics, NULL)) != 0)
		return rc;
	vm->nics = t;
	return 0;
}

static int
read_vcenter(struct rd *r, const json_t *o, struct netmap_facts *f)
{
	const json_t *v = member(o, "vcenter");
	size_t old;
	int rc;

	if (v == NULL)
		return 0;
	old = push_key(r, "vcenter");
	if ((rc = need_obj(r, v)) != 0 ||
	    (rc = get_str(r, v, "name", NETMAP_NAME_MAX, S_NONEMPTY, &f->vc_name)) != 0 ||
	    (rc = get_str(r, v, "version", VERSION_MAX, 0, &f->vc_version)) != 0 ||
	    (rc = get_str(r, v, "build", VERSION_MAX, 0, &f->vc_build)) != 0 ||
	    (rc = get_str(r, v, "instance_uuid", UUID_MAX, 0, &f->vc_instance_uuid)) != 0)
		return rc;
	f->has_vcenter = 1;
	pop(r, old);
	return 0;
}

static int
read_facts(struct rd *r, const json_t *j, struct netmap_facts *f)
{
	const void *t;
	int rc;

	if (!json_is_object(j))
		return fail(r, FY_ERR_INVAL, "not a JSON object");
	if ((rc = walk(r, j, 0)) != 0)
		return rc;
	if ((rc = get_str(r, j, "type", IDENT_MAX, S_REQ | S_NONEMPTY, &f->type)) != 0)
		return rc;
	if (!ident_ok(f->type)) {
		(void)push_key(r, "type");
		return fail(r, FY_ERR_INVAL, "\"%s\": expected a domain type such as vsphere or qemu", f->type);
	}
	if ((rc = get_str(r, j, "site", SITE_MAX, S_NONEMPTY, &f->site)) != 0 ||
	    (rc = read_vcenter(r, j, f)) != 0 ||
	    (rc = get_str(r, j, "qemu_version", VERSION_MAX, 0, &f->qemu_version)) != 0 ||
	    (rc = get_strlist(r, j, "accelerators", ACCELS_MAX, IDENT_MAX, S_NONEMPTY, "accelerators",
	    &f->has_accelerators, &f->accelerators, &f->naccelerators)) != 0)
		return rc;
	if ((rc = read_list(r, j, "hosts", NETMAP_HOSTS_MAX, "hosts",
	    sizeof(struct netmap_host), read_host,
	    &t, &f->nhosts, &f->has_hosts)) != 0)
		return rc;
	f->hosts = t;
	if ((rc = read_list(r, j, "clusters", NETMAP_CLUSTERS_MAX, "clusters",
	    sizeof(struct netmap_cluster), read_cluster,
	    &t, &f->nclusters, &f->has_clusters)) != 0)
		return rc;
	f->clusters = t;
	if ((rc = read_list(r, j, "datastores", NETMAP_DATASTORES_MAX, "datastores",
	    sizeof(struct netmap_datastore), read_datastore,
	    &t, &f->ndatastores, &f->has_datastores)) != 0)
		return rc;
	f->datastores = t;
	if ((rc = read_list(r, j, "networks", NETMAP_NETWORKS_MAX, "networks",
	    sizeof(struct netmap_network), read_network,
	    &t, &f->nnetworks, &f->has_networks)) != 0)
		return rc;
	f->networks = t;
	if ((rc = read_list(r, j, "dns", NETMAP_DNS_MAX, "names",
	    sizeof(struct netmap_dns), read_dns,
	    &t, &f->ndns, &f->has_dns)) != 0)
		return rc;
	f->dns = t;
	if ((rc = read_list(r, j, "vms", NETMAP_VMS_MAX, "VMs",
	    sizeof(struct netmap_vm), read_vm,
	    &t, &f->nvms, &f->has_vms)) != 0)
		return rc;
	f->vms = t;
	if ((rc = read_list(r, j, "boot_images", NETMAP_VMS_MAX, "boot images",
	    sizeof(struct netmap_image), read_image,
	    &t, &f->nboot_images, &f->has_boot_images)) != 0)
		return rc;
	f->boot_images = t;
	return 0;
}

int
netmap_facts_from_json(const json_t *j, struct netmap_facts **out, char *err, size_t errcap)
{
	struct netmap_facts *f;
	struct rd r;
	int rc;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.err = err;
	r.errcap = errcap;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (j == NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "facts: none given");
	if ((r.a = netmap_arena_new()) == NULL)
		return nomem(&r);
	if ((f = netmap_arena_alloc(r.a, sizeof(*f))) == NULL) {
		rc = nomem(&r);
		goto out;
	}
	f->priv = r.a;
	if ((rc = read_facts(&r, j, f)) != 0)
		goto out;
	*out = f;
	r.a = NULL;
	rc = 0;
out:
	netmap_arena_free(r.a);
	return rc;
}

int
netmap_facts_parse(const char *text, size_t len, struct netmap_facts **out, char *err, size_t errcap)
{
	json_error_t je;
	json_t *j;
	int rc;

	*out = NULL;
	if (text == NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "facts: none given");
	if (len > NETMAP_FACTS_TEXT_MAX)
		return netmap_fail(err, errcap, FY_ERR_LIMIT, "facts: longer than %d bytes", NETMAP_FACTS_TEXT_MAX);
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return netmap_fail(err, errcap, FY_ERR_FORMAT, "facts: not JSON: line %d column %d: %s",
		    je.line, je.column, je.text);
	rc = netmap_facts_from_json(j, out, err, errcap);
	json_decref(j);
	return rc;
}

void
netmap_facts_free(struct netmap_facts *f)
{
	if (f != NULL)
		netmap_arena_free(f->priv);
}
