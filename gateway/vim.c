/*
 * vim.c - the vim25 client (vim.h): our own TCP+TLS under gSOAP's
 * generated vim25 stubs (vim25.gsoap.h), as fed.c does for the federation:
 * gSOAP asks fopen() for a connection and reads and writes through
 * frecv()/fsend() on our SSL, so the thumbprint pin is checked before any
 * byte of HTTP leaves, and every read and write is bounded by the call's
 * deadline.  The session cookie is kept by hand (the cookie-enabled gSOAP
 * variant has another struct soap layout than the federation's).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "config.h"
#include "gateway.h"
#include "vim.h"
#include "vim-names.h"
#include "vimH.h"
#include "vim.nsmap"

#define XSI_NS		"http://www.w3.org/2001/XMLSchema-instance"
#define VIM_ACTION	"urn:vim25/6.5"		/* oldest API Ferry supports */
#define VIM_MAXLEVEL	64			/* XML depth: config.hardware.device is ~12 */
#define VIM_MAXOCCURS	100000
#define VIM_CRED_MAX	4096
#define VIM_COOKIE_MAX	512
#define VIM_ID_MAX	1024			/* a managed object id (datastores' hold paths) */
#define VIM_TEXT_MAX	(1 << 20)		/* one text node */

/* ------------------------------------------------------------ value trees */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char mem[];
};

struct vim_val {
	const char *name, *type, *type_ns, *text, *attr_type;
	struct vim_val **kids;
	size_t nkids;
};

struct prop {
	const char *name;
	struct vim_val *val;
};

struct obj {
	const char *type, *id;
	struct prop *props;
	size_t nprops;
	const char **missing;
	size_t nmissing;
};

struct vim_objset {
	struct chunk *arena;
	struct obj *objs;
	size_t n, cap, max_objects, nodes;
	size_t bytes;			/* the arena's, all pages: at most VIM_SET_BYTES_MAX */
	int over;			/* the arena refused to grow past it */
	unsigned pages;
};

/* What one collect may hold in memory, all pages together. */
#define VIM_SET_BYTES_MAX	((size_t)512 << 20)

static void *
arena_alloc(struct vim_objset *s, size_t n)
{
	struct chunk *c = s->arena;
	size_t cap;

	n = (n + 15) & ~(size_t)15;
	if (c == NULL || c->cap - c->used < n) {
		cap = n > 60000 ? n : 60000;
		if (s->bytes + cap > VIM_SET_BYTES_MAX) {
			s->over = 1;
			return NULL;
		}
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		s->bytes += cap;
		c->used = 0;
		c->cap = cap;
		c->next = s->arena;
		s->arena = c;
	}
	c->used += n;
	return c->mem + c->used - n;
}

static const char *
arena_str(struct vim_objset *s, const char *p)
{
	size_t n;
	char *d;

	if (p == NULL)
		return "";
	if ((n = strnlen(p, VIM_TEXT_MAX + 1)) > VIM_TEXT_MAX)
		return NULL;
	if ((d = arena_alloc(s, n + 1)) == NULL)
		return NULL;
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static const char *
local_name(const char *q)
{
	const char *c;

	if (q == NULL)
		return "";
	return (c = strrchr(q, ':')) != NULL ? c + 1 : q;
}

/* The chain of elements from a value's root down to the one converted. */
struct anc {
	const struct soap_dom_element *e;
	const struct anc *up;
};

/* The namespace URI bound to prefix (len bytes, 0: the default namespace)
   by the xmlns declarations kept in the value's own subtree; "" when it
   was declared outside the value (on the envelope). */
static const char *
prefix_uri(const struct anc *a, const char *prefix, size_t len)
{
	const struct soap_dom_attribute *at;
	const char *n;

	for (; a != NULL; a = a->up)
		for (at = a->e->atts; at != NULL; at = at->next) {
			n = at->name;
			if (n == NULL || at->text == NULL)
				continue;
			if (len == 0 && strcmp(n, "xmlns") == 0)
				return at->text;
			if (len > 0 && strncmp(n, "xmlns:", 6) == 0 && strlen(n + 6) == len &&
			    memcmp(n + 6, prefix, len) == 0)
				return at->text;
		}
	return "";
}

static struct vim_val *
convert(struct vim_objset *s, const struct soap_dom_element *e, const struct anc *up, int depth)
{
	const struct anc here = { e, up };
	const struct soap_dom_attribute *a;
	const struct soap_dom_element *k;
	struct vim_val *v;
	const char *t, *colon;
	size_t n = 0, i;

	if (depth > VIM_MAXLEVEL || ++s->nodes > VIM_NODES_MAX)
		return NULL;
	if ((v = arena_alloc(s, sizeof(*v))) == NULL)
		return NULL;
	memset(v, 0, sizeof(*v));
	v->type = v->type_ns = v->attr_type = "";
	if ((v->name = arena_str(s, local_name(e->name))) == NULL ||
	    (v->text = arena_str(s, e->text)) == NULL)
		return NULL;
	for (a = e->atts; a != NULL; a = a->next) {
		if (a->name == NULL || a->text == NULL)
			continue;
		/* xsi:type by its namespace URI: govmomi spells it XMLSchema-instance:type */
		if (a->nstr != NULL && strcmp(a->nstr, XSI_NS) == 0 && strcmp(local_name(a->name), "type") == 0) {
			t = a->text;
			colon = strchr(t, ':');
			if ((v->type = arena_str(s, local_name(t))) == NULL ||
			    (v->type_ns = arena_str(s, prefix_uri(&here, t, colon ? (size_t)(colon - t) : 0))) == NULL)
				return NULL;
		} else if ((a->nstr == NULL || *a->nstr == '\0') && strcmp(a->name, "type") == 0) {
			if ((v->attr_type = arena_str(s, a->text)) == NULL)
				return NULL;
		}
	}
	for (k = e->elts; k != NULL; k = k->next)
		n++;
	if (n == 0)
		return v;
	if (n > VIM_MAXOCCURS || (v->kids = arena_alloc(s, n * sizeof(*v->kids))) == NULL)
		return NULL;
	for (i = 0, k = e->elts; k != NULL; k = k->next, i++)
		if ((v->kids[i] = convert(s, k, &here, depth + 1)) == NULL)
			return NULL;
	v->nkids = n;
	return v;
}

const char *vim_val_name(const struct vim_val *v) { return v ? v->name : ""; }
const char *vim_val_text(const struct vim_val *v) { return v ? v->text : ""; }
const char *vim_val_attr_type(const struct vim_val *v) { return v ? v->attr_type : ""; }
size_t vim_val_count(const struct vim_val *v) { return v ? v->nkids : 0; }

const char *
vim_val_type(const struct vim_val *v, const char **ns)
{
	if (ns != NULL)
		*ns = v ? v->type_ns : "";
	return v ? v->type : "";
}

const struct vim_val *
vim_val_child(const struct vim_val *v, size_t i)
{
	return v != NULL && i < v->nkids ? v->kids[i] : NULL;
}

const struct vim_val *
vim_val_path(const struct vim_val *v, const char *path)
{
	const char *p = path, *end, *br;
	size_t len, i, want, seen;
	long long idx;
	char num[24];

	while (v != NULL && p != NULL && *p != '\0') {
		end = strchr(p, '.');
		len = end ? (size_t)(end - p) : strlen(p);
		want = 0;
		if ((br = memchr(p, '[', len)) != NULL) {
			if (p[len - 1] != ']' || (size_t)(p + len - 1 - br - 1) >= sizeof(num) ||
			    p + len - 1 == br + 1)
				return NULL;
			memcpy(num, br + 1, (size_t)(p + len - 1 - br - 1));
			num[p + len - 1 - br - 1] = '\0';
			if (fy_parse_int(num, 0, VIM_MAXOCCURS, &idx) != 0)
				return NULL;
			want = (size_t)idx;
			len = (size_t)(br - p);
		}
		for (i = 0, seen = 0; i < v->nkids; i++)
			if (strlen(v->kids[i]->name) == len && memcmp(v->kids[i]->name, p, len) == 0 &&
			    seen++ == want)
				break;
		v = i < v->nkids ? v->kids[i] : NULL;
		p = end ? end + 1 : NULL;
	}
	return v;
}

int
vim_val_str(const struct vim_val *v, const char **out)
{
	*out = NULL;
	if (v == NULL)
		return FY_ERR_NOTFOUND;
	if (v->nkids > 0)
		return FY_ERR_FORMAT;
	*out = v->text;
	return 0;
}

int
vim_val_int(const struct vim_val *v, long long *out)
{
	*out = 0;
	if (v == NULL || *v->text == '\0')
		return FY_ERR_NOTFOUND;
	return fy_parse_int(v->text, LLONG_MIN, LLONG_MAX, out) == 0 ? 0 : FY_ERR_FORMAT;
}

int
vim_val_bool(const struct vim_val *v, int *out)
{
	*out = 0;
	if (v == NULL || *v->text == '\0')
		return FY_ERR_NOTFOUND;
	if (strcmp(v->text, "true") == 0 || strcmp(v->text, "1") == 0)
		*out = 1;
	else if (strcmp(v->text, "false") != 0 && strcmp(v->text, "0") != 0)
		return FY_ERR_FORMAT;
	return 0;
}

int
vim_val_moref(const struct vim_val *v, const char **type, const char **id)
{
	*type = *id = NULL;
	if (v == NULL || *v->text == '\0')
		return FY_ERR_NOTFOUND;
	if (*v->attr_type == '\0' || v->nkids > 0)
		return FY_ERR_FORMAT;
	*type = v->attr_type;
	*id = v->text;
	return 0;
}

size_t vim_objset_count(const struct vim_objset *s) { return s ? s->n : 0; }
unsigned vim_objset_pages(const struct vim_objset *s) { return s ? s->pages : 0; }
const char *vim_obj_type(const struct vim_objset *s, size_t i) { return i < s->n ? s->objs[i].type : NULL; }
const char *vim_obj_id(const struct vim_objset *s, size_t i) { return i < s->n ? s->objs[i].id : NULL; }
size_t vim_obj_nprops(const struct vim_objset *s, size_t i) { return i < s->n ? s->objs[i].nprops : 0; }
size_t vim_obj_nmissing(const struct vim_objset *s, size_t i) { return i < s->n ? s->objs[i].nmissing : 0; }

const char *
vim_obj_missing_at(const struct vim_objset *s, size_t i, size_t j)
{
	return i < s->n && j < s->objs[i].nmissing ? s->objs[i].missing[j] : NULL;
}

const struct vim_val *
vim_obj_prop_at(const struct vim_objset *s, size_t i, size_t j, const char **name)
{
	if (i >= s->n || j >= s->objs[i].nprops) {
		if (name != NULL)
			*name = NULL;
		return NULL;
	}
	if (name != NULL)
		*name = s->objs[i].props[j].name;
	return s->objs[i].props[j].val;
}

const struct vim_val *
vim_obj_prop(const struct vim_objset *s, size_t i, const char *name)
{
	size_t j;

	if (i >= s->n)
		return NULL;
	for (j = 0; j < s->objs[i].nprops; j++)
		if (strcmp(s->objs[i].props[j].name, name) == 0)
			return s->objs[i].props[j].val;
	return NULL;
}

void
vim_objset_free(struct vim_objset *s)
{
	struct chunk *c, *n;

	if (s == NULL)
		return;
	for (c = s->arena; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(s->objs);
	free(s);
}

static struct vim_objset *
objset_new(size_t max_objects)
{
	struct vim_objset *s;

	if ((s = calloc(1, sizeof(*s))) != NULL)
		s->max_objects = max_objects;
	return s;
}

/* Copy one reply's objects into the set, within its limits. */
static int
add_objects(struct vim_objset *s, const struct vim__RetrieveResult *rr, struct fy_error *err)
{
	const struct vim__ObjectContent *oc;
	struct obj *o, *grown;
	size_t cap;
	int i, j;

	if (rr == NULL)
		return 0;
	if (rr->__sizeobjects < 0 || (size_t)rr->__sizeobjects > s->max_objects - s->n)
		return fy_fail(err, FY_ERR_LIMIT, "vCenter returned more than %zu objects", s->max_objects);
	if (s->n + (size_t)rr->__sizeobjects > s->cap) {
		cap = s->cap ? s->cap : 64;
		while (cap < s->n + (size_t)rr->__sizeobjects)
			cap *= 2;
		if ((grown = reallocarray(s->objs, cap, sizeof(*grown))) == NULL)
			return fy_fail(err, FY_ERR_NOMEM, "out of memory");
		s->objs = grown;
		s->cap = cap;
	}
	for (i = 0; i < rr->__sizeobjects; i++) {
		oc = &rr->objects[i];
		o = &s->objs[s->n];
		memset(o, 0, sizeof(*o));
		if (oc->obj.__item == NULL || oc->obj.type == NULL || *oc->obj.__item == '\0' ||
		    strlen(oc->obj.__item) > VIM_ID_MAX)
			return fy_fail(err, FY_ERR_FORMAT, "malformed reply: an object without a valid reference");
		if (oc->__sizepropSet < 0 || oc->__sizepropSet > VIM_PROPS_MAX ||
		    oc->__sizemissingSet < 0 || oc->__sizemissingSet > VIM_PROPS_MAX)
			return fy_fail(err, FY_ERR_LIMIT, "vCenter returned more than %d properties for %.80s",
			    VIM_PROPS_MAX, oc->obj.__item);
		if ((o->type = arena_str(s, oc->obj.type)) == NULL || (o->id = arena_str(s, oc->obj.__item)) == NULL)
			goto nomem;
		if (oc->__sizepropSet > 0 &&
		    (o->props = arena_alloc(s, (size_t)oc->__sizepropSet * sizeof(*o->props))) == NULL)
			goto nomem;
		for (j = 0; j < oc->__sizepropSet; j++) {
			if (oc->propSet[j].name == NULL)
				return fy_fail(err, FY_ERR_FORMAT, "malformed reply: a property without a name");
			if ((o->props[j].name = arena_str(s, oc->propSet[j].name)) == NULL)
				goto nomem;
			if ((o->props[j].val = convert(s, &oc->propSet[j].val, NULL, 0)) == NULL)
				return fy_fail(err, s->nodes > VIM_NODES_MAX ? FY_ERR_LIMIT : FY_ERR_FORMAT,
				    "value of %.80s of %.80s too large or too deep", oc->propSet[j].name,
				    oc->obj.__item);
		}
		o->nprops = (size_t)oc->__sizepropSet;
		if (oc->__sizemissingSet > 0 &&
		    (o->missing = arena_alloc(s, (size_t)oc->__sizemissingSet * sizeof(*o->missing))) == NULL)
			goto nomem;
		for (j = 0; j < oc->__sizemissingSet; j++)
			if ((o->missing[j] = arena_str(s, oc->missingSet[j].path)) == NULL)
				goto nomem;
		o->nmissing = (size_t)oc->__sizemissingSet;
		s->n++;
	}
	return 0;
nomem:
	return fy_fail(err, FY_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ the context */

struct vim {
	char *url, *host, *port, *endpoint, *cred_file;
	uint8_t pin[EVP_MAX_MD_SIZE];
	size_t pinlen;
	int timeout_s;
	size_t max_reply, max_objects;
	int page_size;

	struct soap *soap;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	int64_t deadline_ms;
	int timed_out, dial_failed, conn_bad;
	size_t rx;
	/* HTTP framing of the reply, so a body shorter than promised ends at
	   its Content-Length instead of waiting for bytes that never come. */
	int hdr_match, in_body;
	long long clen;
	size_t body_rx;
	struct fy_error dial_err;
	int (*parsehdr)(struct soap *, const char *, const char *);
	char cookie[VIM_COOKIE_MAX];
	char cookie_hdr[VIM_COOKIE_MAX + 16];

	int have_sc, logged_in;
	unsigned relogins;
	char fault[64];
	struct vim__ManagedObjectReference si, root, pc, views, sessions, checker;
	char *about_str[9];
	char *user;
};

static char *
xstrdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* "AA:BB:.." or "aabb..": 20 bytes (SHA-1) or 32 (SHA-256). */
static int
parse_thumbprint(const char *t, uint8_t *out, size_t *len)
{
	char hex[2 * 32 + 1];
	size_t n = 0;

	for (; *t != '\0'; t++) {
		if (*t == ':' || *t == ' ')
			continue;
		if (!isxdigit((unsigned char)*t) || n >= sizeof(hex) - 1)
			return FY_ERR_FORMAT;
		hex[n++] = (char)tolower((unsigned char)*t);
	}
	hex[n] = '\0';
	if (n != 40 && n != 64)
		return FY_ERR_FORMAT;
	*len = n / 2;
	return fy_hex_dec(hex, out, *len) == 0 ? 0 : FY_ERR_FORMAT;
}

static void
fmt_thumbprint(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02X", i ? ":" : "", p[i]);
}

static int
remaining_ms(struct vim *c)
{
	int64_t left = c->deadline_ms - fy_mono_ms();

	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void
set_sock_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (ms <= 0)
		tv.tv_usec = 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void
drop_conn(struct vim *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);	/* no close_notify: the peer may be stalled */
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ERR_clear_error();
}

static int dial_fail(struct vim *, int, const char *, ...) FY_PRINTF(3, 4);

static int
dial_fail(struct vim *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->dial_failed = 1;
	c->dial_err.code = code;
	va_start(ap, fmt);
	vsnprintf(c->dial_err.msg, sizeof(c->dial_err.msg), fmt, ap);
	va_end(ap);
	fy_sanitize(c->dial_err.msg);
	drop_conn(c);
	return code;
}

/* TCP connect, TLS, pin: all within the call's deadline. */
static int
dial(struct vim *c)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	char why[256], got[3 * EVP_MAX_MD_SIZE], want[3 * EVP_MAX_MD_SIZE];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	X509 *cert;
	int fd = -1, e, soe = 0, one = 1, rc;
	socklen_t sl = sizeof(soe);

	drop_conn(c);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
		return dial_fail(c, FY_ERR_CONNECT, "cannot resolve %s: %s", c->host, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		soe = errno;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			soe = ETIMEDOUT;
			if (poll(&pfd, 1, remaining_ms(c)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soe, &sl) == 0 && soe == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return dial_fail(c, soe == ETIMEDOUT ? FY_ERR_TIMEOUT : FY_ERR_CONNECT,
		    "cannot connect to vCenter %s:%s: %s", c->host, c->port, strerror(soe ? soe : ECONNREFUSED));
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	set_sock_timeout(fd, remaining_ms(c));
	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1)
		return dial_fail(c, FY_ERR_NOMEM, "out of memory");
	(void)SSL_set_tlsext_host_name(c->ssl, c->host);
	if ((rc = SSL_connect(c->ssl)) != 1) {
		if (remaining_ms(c) == 0)
			return dial_fail(c, FY_ERR_TIMEOUT, "TLS handshake with vCenter %s:%s timed out",
			    c->host, c->port);
		e = (int)ERR_peek_last_error();
		if (e != 0)
			ERR_error_string_n((unsigned long)e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "connection closed during the handshake");
		return dial_fail(c, FY_ERR_TLS, "TLS handshake with vCenter %s:%s failed: %s", c->host, c->port, why);
	}
	/* The pin: vCenter's thumbprint is over the DER certificate. */
	if ((cert = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return dial_fail(c, FY_ERR_TLS, "vCenter %s:%s presented no certificate", c->host, c->port);
	rc = X509_digest(cert, c->pinlen == 20 ? EVP_sha1() : EVP_sha256(), md, &mdlen);
	X509_free(cert);
	if (rc != 1 || mdlen != c->pinlen)
		return dial_fail(c, FY_ERR_CRYPTO, "cannot hash the certificate of %s:%s", c->host, c->port);
	if (!fy_ct_equal(md, c->pin, c->pinlen)) {
		fmt_thumbprint(md, mdlen, got, sizeof(got));
		fmt_thumbprint(c->pin, c->pinlen, want, sizeof(want));
		return dial_fail(c, FY_ERR_PIN, "vCenter %s:%s presented a certificate with %s thumbprint %s "
		    "but the pinned thumbprint is %s; nothing was sent", c->host, c->port,
		    c->pinlen == 20 ? "SHA-1" : "SHA-256", got, want);
	}
	return 0;
}

static SOAP_SOCKET
cb_fopen(struct soap *soap, const char *endpoint, const char *host, int port)
{
	struct vim *c = soap->user;

	(void)endpoint;
	(void)host;
	(void)port;
	if (dial(c) != 0) {
		soap->error = SOAP_TCP_ERROR;
		return SOAP_INVALID_SOCKET;
	}
	return c->fd;
}

static int
cb_fclose(struct soap *soap)
{
	struct vim *c = soap->user;

	drop_conn(c);
	soap->socket = SOAP_INVALID_SOCKET;
	return SOAP_OK;
}

static int
cb_fclosesocket(struct soap *soap, SOAP_SOCKET s)
{
	struct vim *c = soap->user;

	if (c != NULL && s == c->fd)
		drop_conn(c);
	return SOAP_OK;
}

static int
wait_io(struct vim *c, short ev)
{
	struct pollfd pfd = { .fd = c->fd, .events = ev };
	int ms, r;

	for (;;) {
		if ((ms = remaining_ms(c)) == 0) {
			c->timed_out = 1;
			return -1;
		}
		set_sock_timeout(c->fd, ms);
		if ((r = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
cb_fsend(struct soap *soap, const char *p, size_t n)
{
	struct vim *c = soap->user;
	int w;

	while (n > 0) {
		if (c->ssl == NULL || wait_io(c, POLLOUT) != 0)
			return SOAP_EOF;
		if ((w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n)) <= 0) {
			if (remaining_ms(c) == 0)
				c->timed_out = 1;
			return SOAP_EOF;
		}
		p += w;
		n -= (size_t)w;
	}
	return SOAP_OK;
}

static size_t
cb_frecv(struct soap *soap, char *p, size_t n)
{
	struct vim *c = soap->user;
	int r;

	static const char crlf2[4] = { '\r', '\n', '\r', '\n' };
	size_t i;

	if (c->ssl == NULL)
		return 0;
	if (c->in_body && c->clen >= 0) {
		if (c->body_rx >= (size_t)c->clen)
			return 0;	/* all the body announced: the document ends here */
		if (n > (size_t)c->clen - c->body_rx)
			n = (size_t)c->clen - c->body_rx;
	}
	if (SSL_pending(c->ssl) == 0 && wait_io(c, POLLIN) != 0)
		return 0;
	r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r <= 0) {
		if (remaining_ms(c) == 0)
			c->timed_out = 1;
		return 0;
	}
	c->rx += (size_t)r;
	for (i = 0; i < (size_t)r && !c->in_body; i++) {
		c->hdr_match = p[i] == crlf2[c->hdr_match] ? c->hdr_match + 1 : p[i] == '\r' ? 1 : 0;
		if (c->hdr_match == 4)
			c->in_body = 1;
	}
	if (c->in_body)
		c->body_rx += (size_t)r - i;
	return (size_t)r;
}

/* Keep vmware_soap_session from Set-Cookie; the rest goes to gSOAP. */
static int
cb_parsehdr(struct soap *soap, const char *key, const char *val)
{
	struct vim *c = soap->user;
	const char *v = val, *end;
	size_t n;

	if (key != NULL && val != NULL && strcasecmp(key, "Content-Length") == 0 &&
	    fy_parse_int(val, 0, LLONG_MAX, &c->clen) != 0)
		c->clen = -1;
	if (key != NULL && val != NULL && strcasecmp(key, "Set-Cookie") == 0) {
		while (*v == ' ')
			v++;
		if (strncmp(v, "vmware_soap_session=", 20) == 0) {
			end = strchr(v, ';');
			n = end ? (size_t)(end - v) : strlen(v);
			if (n < sizeof(c->cookie) && memchr(v, '\r', n) == NULL && memchr(v, '\n', n) == NULL) {
				memcpy(c->cookie, v, n);
				c->cookie[n] = '\0';
			}
		}
		return SOAP_OK;
	}
	return c->parsehdr(soap, key, val);
}

static void
set_limits(struct soap *soap, size_t max_reply)
{
	soap_set_namespaces(soap, vim_namespaces);
	soap->recv_maxlength = (ULONG64)max_reply;
	soap->maxlevel = VIM_MAXLEVEL + 16;	/* the envelope around the values */
	soap->maxoccurs = VIM_MAXOCCURS;
	soap->header = NULL;
}

int
vim_new(const struct vim_opts *o, struct vim **out, struct fy_error *err)
{
	struct vim *c = NULL;
	const char *u, *hp, *slash;
	char host[300], port[16], hostport[300];
	int r;

	*out = NULL;
	if (o->url == NULL || strncmp(o->url, "https://", 8) != 0)
		return fy_fail(err, FY_ERR_CONFIG, "vCenter URL must start with https://");
	if (o->thumbprint == NULL || o->cred_file == NULL)
		return fy_fail(err, FY_ERR_CONFIG, "vCenter thumbprint and credential file are required");
	u = o->url + 8;
	slash = strchr(u, '/');
	if ((size_t)(slash ? slash - u : (ptrdiff_t)strlen(u)) >= sizeof(hostport))
		return fy_fail(err, FY_ERR_CONFIG, "vCenter URL too long");
	snprintf(hostport, sizeof(hostport), "%.*s", (int)(slash ? slash - u : (ptrdiff_t)strlen(u)), u);
	hp = hostport;
	if (strchr(hp, ':') == NULL || (hp[0] == '[' && strstr(hp, "]:") == NULL)) {
		snprintf(host, sizeof(host), "%s", hp);
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strcspn(host, "]")] = '\0';
		}
		snprintf(port, sizeof(port), "443");
	} else if (fy_split_hostport(hp, host, sizeof(host), port, sizeof(port)) != 0)
		return fy_fail(err, FY_ERR_CONFIG, "vCenter URL %.120s: bad host:port", o->url);
	if (host[0] == '\0')
		return fy_fail(err, FY_ERR_CONFIG, "vCenter URL %.120s has no host", o->url);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	c->fd = -1;
	if (parse_thumbprint(o->thumbprint, c->pin, &c->pinlen) != 0) {
		r = fy_fail(err, FY_ERR_CONFIG, "vCenter thumbprint \"%.100s\" is neither a SHA-1 nor a SHA-256 "
		    "fingerprint in hex", o->thumbprint);
		goto out;
	}
	c->timeout_s = o->timeout_s > 0 ? o->timeout_s : VIM_TIMEOUT_DEF;
	c->max_reply = o->max_reply > 0 ? o->max_reply : VIM_REPLY_MAX;
	c->max_objects = o->max_objects > 0 ? o->max_objects : VIM_OBJECTS_MAX;
	c->page_size = o->page_size > 0 ? o->page_size : VIM_PAGE_DEF;
	c->url = xstrdup(o->url);
	c->host = xstrdup(host);
	c->port = xstrdup(port);
	c->cred_file = xstrdup(o->cred_file);
	/* gSOAP sees plain http: the TLS is ours, under fopen/frecv/fsend. */
	if (asprintf(&c->endpoint, "http://%s%s", hostport, slash ? slash : "/sdk") < 0)
		c->endpoint = NULL;
	if (c->url == NULL || c->host == NULL || c->port == NULL || c->cred_file == NULL || c->endpoint == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/*
	 * TLS 1.2 or later: vCenter is not a Ferry peer (Ferry's own links are
	 * TLS 1.3 only) and vCenter 6.5/6.7 speak at most TLS 1.2.  No CA
	 * store: the pinned thumbprint is the only trust, checked in dial().
	 */
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		r = fy_fail(err, FY_ERR_TLS, "cannot set up TLS");
		goto out;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	if ((c->soap = soap_new1(SOAP_IO_KEEPALIVE)) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	set_limits(c->soap, c->max_reply);
	c->soap->user = c;
	c->soap->fopen = cb_fopen;
	c->soap->fclose = cb_fclose;
	c->soap->fclosesocket = cb_fclosesocket;
	c->soap->fsend = cb_fsend;
	c->soap->frecv = cb_frecv;
	c->parsehdr = c->soap->fparsehdr;
	c->soap->fparsehdr = cb_parsehdr;
	c->si.type = c->si.__item = "ServiceInstance";
	*out = c;
	c = NULL;
	r = 0;
out:
	vim_free(c);
	return r;
}

/* ------------------------------------------------------------ calls */

static void
call_begin(struct vim *c)
{
	c->deadline_ms = fy_mono_ms() + (int64_t)c->timeout_s * 1000;
	c->timed_out = c->dial_failed = 0;
	c->rx = c->body_rx = 0;
	c->hdr_match = c->in_body = 0;
	c->clen = -1;
	c->fault[0] = '\0';
	set_limits(c->soap, c->max_reply);
	if (c->cookie[0] != '\0') {
		snprintf(c->cookie_hdr, sizeof(c->cookie_hdr), "Cookie: %s", c->cookie);
		c->soap->http_extra_header = c->cookie_hdr;	/* used once: set before each call */
	} else
		c->soap->http_extra_header = NULL;
}

/* The fault type from the detail element: <InvalidLoginFault xsi:type="InvalidLogin">. */
static void
fault_type(const char *d, char *out, size_t cap)
{
	size_t n, i;
	const char *p;

	out[0] = '\0';
	if (d == NULL)
		return;
	while (*d != '\0' && *d != '<')
		d++;
	if (*d++ != '<')
		return;
	n = strcspn(d, " \t\r\n/>");
	for (i = 0; i < n; i++)
		if (d[i] == ':') {
			d += i + 1;
			n -= i + 1;
			i = 0;
		}
	if (n > 5 && strncmp(d + n - 5, "Fault", 5) == 0)
		n -= 5;
	for (p = d, i = 0; i < n && i + 1 < cap; i++, p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			break;
		out[i] = *p;
	}
	out[i] = '\0';
}

static int
fault_code(const char *type)
{
	if (strcmp(type, "InvalidLogin") == 0 || strcmp(type, "NotAuthenticated") == 0 ||
	    strcmp(type, "NoPermission") == 0)
		return strcmp(type, "NoPermission") == 0 ? FY_ERR_DENIED : FY_ERR_AUTH;
	if (strcmp(type, "MethodNotFound") == 0 || strcmp(type, "NotSupported") == 0)
		return FY_ERR_VERSION;
	if (strcmp(type, "ManagedObjectNotFound") == 0)
		return FY_ERR_NOTFOUND;
	if (strcmp(type, "InvalidArgument") == 0 || strcmp(type, "InvalidProperty") == 0 ||
	    strcmp(type, "InvalidType") == 0)
		return FY_ERR_INVAL;
	return FY_ERR_PEER;
}

/* Map the outcome of one generated call; frees nothing. */
static int
call_end(struct vim *c, const char *op, int rc, struct fy_error *err)
{
	struct soap *soap = c->soap;
	const char *fs;
	char msg[400];

	c->conn_bad = 0;
	if (rc == SOAP_OK)
		return 0;
	c->conn_bad = c->dial_failed || c->timed_out || rc == SOAP_EOF;
	if (c->dial_failed) {
		*err = c->dial_err;
		return err->code;
	}
	if (c->timed_out)
		return fy_fail(err, FY_ERR_TIMEOUT, "vCenter %s:%s gave no complete reply to %s within %d s",
		    c->host, c->port, op, c->timeout_s);
	if (rc == SOAP_FAULT || rc == SOAP_CLI_FAULT || rc == SOAP_SVR_FAULT) {
		fault_type(soap_fault_detail(soap), c->fault, sizeof(c->fault));
		fs = soap_fault_string(soap);
		snprintf(msg, sizeof(msg), "%s", fs ? fs : "");
		if (c->fault[0] == '\0')
			snprintf(c->fault, sizeof(c->fault), "SOAPFault");
		return fy_fail(err, fault_code(c->fault), "vCenter refused %s: %s: %.300s", op, c->fault, msg);
	}
	if (rc == SOAP_LENGTH || c->rx > c->max_reply)
		return fy_fail(err, FY_ERR_LIMIT, "the reply to %s is larger than %zu bytes", op, c->max_reply);
	if (rc == SOAP_LEVEL || rc == SOAP_OCCURS)
		return fy_fail(err, FY_ERR_LIMIT, "the reply to %s is nested too deep or has too many elements", op);
	if (rc == SOAP_EOF && c->rx == 0)
		return fy_fail(err, FY_ERR_CONNECT, "vCenter %s:%s closed the connection without replying to %s",
		    c->host, c->port, op);
	if (rc >= 100 && rc < 600)
		return fy_fail(err, FY_ERR_PROTO, "vCenter answered %s with HTTP status %d", op, rc);
	return fy_fail(err, FY_ERR_FORMAT, "malformed reply to %s from vCenter %s:%s (gSOAP error %d%s)",
	    op, c->host, c->port, rc, rc == SOAP_EOF ? ": truncated" : "");
}

static void
call_done(struct vim *c)
{
	soap_destroy(c->soap);
	soap_end(c->soap);
}

static int
fetch_sc(struct vim *c, struct fy_error *err)
{
	struct vim__RetrieveServiceContentResponse resp;
	struct vim__ServiceContent *sc;
	struct vim__AboutInfo *a;
	const char *v[9];
	int r, i;

	if (c->have_sc)
		return 0;
	call_begin(c);
	memset(&resp, 0, sizeof(resp));
	r = call_end(c, "RetrieveServiceContent",
	    soap_call_vim__RetrieveServiceContent(c->soap, c->endpoint, VIM_ACTION, &c->si, &resp), err);
	if (r != 0)
		goto out;
	if ((sc = resp.returnval) == NULL || sc->rootFolder.__item == NULL || sc->propertyCollector.__item == NULL ||
	    sc->viewManager == NULL || sc->viewManager->__item == NULL || sc->sessionManager == NULL ||
	    sc->sessionManager->__item == NULL) {
		r = fy_fail(err, FY_ERR_FORMAT, "vCenter's service content lacks the root folder, property "
		    "collector, view manager or session manager");
		goto out;
	}
	a = &sc->about;
	v[0] = a->name; v[1] = a->fullName; v[2] = a->vendor; v[3] = a->version; v[4] = a->build;
	v[5] = a->apiType; v[6] = a->apiVersion; v[7] = a->instanceUuid; v[8] = a->productLineId;
	for (i = 0; i < 9; i++)
		if ((c->about_str[i] = xstrdup(v[i])) == NULL) {
			r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
			goto out;
		}
#define KEEP(dst, src) do { (dst).type = xstrdup((src)->type); (dst).__item = xstrdup((src)->__item); \
	if ((dst).type == NULL || (dst).__item == NULL) { r = fy_fail(err, FY_ERR_NOMEM, "out of memory"); goto out; } \
	} while (0)
	KEEP(c->root, &sc->rootFolder);
	KEEP(c->pc, &sc->propertyCollector);
	KEEP(c->views, sc->viewManager);
	KEEP(c->sessions, sc->sessionManager);
	if (sc->vmProvisioningChecker != NULL && sc->vmProvisioningChecker->__item != NULL)
		KEEP(c->checker, sc->vmProvisioningChecker);
#undef KEEP
	c->have_sc = 1;
	r = 0;
out:
	call_done(c);
	return r;
}

int
vim_about(struct vim *c, struct vim_about *a, struct fy_error *err)
{
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = fetch_sc(c, err)) != 0)
		return r;
	a->name = c->about_str[0];
	a->full_name = c->about_str[1];
	a->vendor = c->about_str[2];
	a->version = c->about_str[3];
	a->build = c->about_str[4];
	a->api_type = c->about_str[5];
	a->api_version = c->about_str[6];
	a->instance_uuid = c->about_str[7];
	a->product_line = c->about_str[8];
	return 0;
}

/* Read "user\npassword\n" from a file only its owner can read. */
static int
read_creds(const char *path, char *buf, size_t cap, char **user, char **pass, struct fy_error *err)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	char *nl;
	int fd, r;

	*user = *pass = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return fy_fail(err, FY_ERR_CONFIG, "cannot open the vCenter credential file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = fy_fail(err, FY_ERR_CONFIG, "vCenter credential file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		r = fy_fail(err, FY_ERR_DENIED, "vCenter credential file %s is accessible by group or others "
		    "(mode %04o): it must be readable by its owner only (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		r = fy_fail(err, FY_ERR_DENIED, "vCenter credential file %s belongs to uid %u, not to us (uid %u)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	if (len == cap - 1 || memchr(buf, '\0', len) != NULL) {
		r = fy_fail(err, FY_ERR_CONFIG, "vCenter credential file %s is too large or not text", path);
		goto out;
	}
	if ((nl = strchr(buf, '\n')) == NULL) {
		r = fy_fail(err, FY_ERR_CONFIG, "vCenter credential file %s: want the user on line 1 and the "
		    "password on line 2", path);
		goto out;
	}
	*nl = '\0';
	*pass = nl + 1;
	(*pass)[strcspn(*pass, "\r\n")] = '\0';
	buf[strcspn(buf, "\r")] = '\0';
	if (buf[0] == '\0' || **pass == '\0') {
		*pass = NULL;
		r = fy_fail(err, FY_ERR_CONFIG, "vCenter credential file %s: empty user or password", path);
		goto out;
	}
	*user = buf;
	r = 0;
out:
	close(fd);
	return r;
}

static int
do_login(struct vim *c, struct fy_error *err)
{
	struct vim__LoginResponse resp;
	char buf[VIM_CRED_MAX], *user, *pass, uname[128];
	int r;

	/* The credential file first: a refused file sends nothing. */
	if ((r = read_creds(c->cred_file, buf, sizeof(buf), &user, &pass, err)) != 0)
		goto out;
	if ((r = fetch_sc(c, err)) != 0)
		goto out;
	snprintf(uname, sizeof(uname), "%.120s", user);
	c->cookie[0] = '\0';	/* a new session, not the dead one */
	c->logged_in = 0;
	call_begin(c);
	memset(&resp, 0, sizeof(resp));
	r = call_end(c, "Login", soap_call_vim__Login(c->soap, c->endpoint, VIM_ACTION, &c->sessions, user, pass,
	    NULL, &resp), err);
	/* The password passed through gSOAP's buffer: wipe that too. */
	fy_wipe(c->soap->buf, sizeof(c->soap->buf));
	if (r == 0 && (resp.returnval == NULL || c->cookie[0] == '\0'))
		r = fy_fail(err, FY_ERR_PROTO, "vCenter accepted the login but sent no session cookie");
	if (r == FY_ERR_AUTH && strcmp(c->fault, "InvalidLogin") == 0)
		fy_fail_prefix(err, r, "login as %s", uname);
	if (r == 0) {
		free(c->user);
		c->user = xstrdup(resp.returnval->userName ? resp.returnval->userName : uname);
		c->logged_in = 1;
	}
	call_done(c);
out:
	fy_wipe(buf, sizeof(buf));
	return r;
}

int
vim_login(struct vim *c, struct fy_error *err)
{
	if (c->logged_in)
		return 0;
	return do_login(c, err);
}

/* A NotAuthenticated fault on a logged-in context: log in again, once. */
static int
relogin_needed(struct vim *c, int r)
{
	return r == FY_ERR_AUTH && c->logged_in && strcmp(c->fault, "NotAuthenticated") == 0;
}

static int
relogin(struct vim *c, struct fy_error *err)
{
	int r;

	c->logged_in = 0;
	if ((r = do_login(c, err)) == 0) {
		c->relogins++;
		log_info("vCenter %s:%s: session expired, logged in again", c->host, c->port);
	}
	return r;
}

unsigned vim_relogins(const struct vim *c) { return c->relogins; }
const char *vim_fault(const struct vim *c) { return c->fault; }

/* One RetrievePropertiesEx and its Continue pages into s. */
static int
retrieve(struct vim *c, struct vim__PropertyFilterSpec *spec, struct vim_objset *s, struct fy_error *err)
{
	struct vim__RetrievePropertiesExResponse resp;
	struct vim__ContinueRetrievePropertiesExResponse cresp;
	struct vim__RetrieveOptions opts;
	struct vim__RetrieveResult *rr;
	char *token = NULL;
	int r, maxobj = c->page_size;

	memset(&opts, 0, sizeof(opts));
	opts.maxObjects = &maxobj;
	call_begin(c);
	memset(&resp, 0, sizeof(resp));
	r = call_end(c, "RetrievePropertiesEx", soap_call_vim__RetrievePropertiesEx(c->soap, c->endpoint,
	    VIM_ACTION, &c->pc, 1, spec, &opts, &resp), err);
	rr = resp.returnval;
	for (;;) {
		size_t before = s->n;
		if (r != 0)
			break;
		s->pages++;
		if ((r = add_objects(s, rr, err)) != 0) {
			if (s->over)
				r = fy_fail(err, FY_ERR_LIMIT, "vCenter's answer is larger than %zu MiB in all",
				    VIM_SET_BYTES_MAX >> 20);
			break;
		}
		free(token);
		token = NULL;
		if (rr == NULL || rr->token == NULL || *rr->token == '\0')
			break;
		/*
		 * Every page that promises more must bring some: the object limit
		 * then bounds the pages too (an empty page with a token would
		 * loop for ever).
		 */
		if (s->n == before) {
			r = fy_fail(err, FY_ERR_FORMAT, "vCenter sent a page with no objects and a continuation token");
			break;
		}
		if (strlen(rr->token) > VIM_ID_MAX || (token = strdup(rr->token)) == NULL) {
			r = fy_fail(err, FY_ERR_FORMAT, "unusable continuation token from vCenter");
			break;
		}
		call_done(c);
		call_begin(c);
		memset(&cresp, 0, sizeof(cresp));
		r = call_end(c, "ContinueRetrievePropertiesEx", soap_call_vim__ContinueRetrievePropertiesEx(c->soap,
		    c->endpoint, VIM_ACTION, &c->pc, token, &cresp), err);
		rr = cresp.returnval;
		if (r == 0 && rr == NULL)
			r = fy_fail(err, FY_ERR_FORMAT, "ContinueRetrievePropertiesEx returned nothing");
	}
	free(token);
	call_done(c);
	return r;
}

static int
collect_view(struct vim *c, const char *type, char **paths, size_t npaths, struct vim_objset *s,
    struct fy_error *err)
{
	struct vim__CreateContainerViewResponse cv;
	struct vim__DestroyViewResponse dv;
	struct vim__ManagedObjectReference view = { NULL, NULL };
	struct vim__PropertySpec ps;
	struct vim__ObjectSpec os;
	struct vim__TraversalSpec ts;
	struct vim__PropertyFilterSpec spec;
	enum xsd__boolean yes = true_, no = false_;
	char *types[1] = { (char *)type };
	struct fy_error derr;
	char fault[sizeof(c->fault)];
	int r;

	call_begin(c);
	memset(&cv, 0, sizeof(cv));
	r = call_end(c, "CreateContainerView", soap_call_vim__CreateContainerView(c->soap, c->endpoint,
	    VIM_ACTION, &c->views, &c->root, 1, types, true_, &cv), err);
	if (r == 0 && (cv.returnval == NULL || cv.returnval->__item == NULL))
		r = fy_fail(err, FY_ERR_FORMAT, "CreateContainerView returned no view");
	if (r == 0 && ((view.__item = strdup(cv.returnval->__item)) == NULL || (view.type = strdup("ContainerView")) == NULL))
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
	call_done(c);
	if (r != 0)
		goto out;
	memset(&ps, 0, sizeof(ps));
	ps.type = (char *)type;
	ps.__sizepathSet = (int)npaths;
	ps.pathSet = paths;
	memset(&ts, 0, sizeof(ts));
	ts.xsi__type = "vim:TraversalSpec";
	ts.type = "ContainerView";
	ts.path = "view";
	ts.skip = &no;
	memset(&os, 0, sizeof(os));
	os.obj = view;
	os.skip = &yes;
	os.__sizeselectSet = 1;
	os.selectSet = &ts;
	memset(&spec, 0, sizeof(spec));
	spec.__sizepropSet = 1;
	spec.propSet = &ps;
	spec.__sizeobjectSet = 1;
	spec.objectSet = &os;
	r = retrieve(c, &spec, s, err);
	/* The view lives in the session: destroy it, whatever happened (not
	   after a timeout: the vCenter is not answering).  The fault reported
	   stays the retrieve's. */
	if (r != 0 && c->conn_bad)
		goto out;
	snprintf(fault, sizeof(fault), "%s", c->fault);
	call_begin(c);
	memset(&dv, 0, sizeof(dv));
	if (call_end(c, "DestroyView", soap_call_vim__DestroyView(c->soap, c->endpoint, VIM_ACTION, &view, &dv),
	    &derr) != 0)
		log_debug("vCenter %s:%s: %s", c->host, c->port, derr.msg);
	call_done(c);
	snprintf(c->fault, sizeof(c->fault), "%s", fault);
out:
	free(view.__item);
	free(view.type);
	return r;
}

static int
collect_obj(struct vim *c, const char *type, const char *id, char **paths, size_t npaths,
    struct vim_objset *s, struct fy_error *err)
{
	struct vim__PropertySpec ps;
	struct vim__ObjectSpec os;
	struct vim__PropertyFilterSpec spec;

	memset(&ps, 0, sizeof(ps));
	ps.type = (char *)type;
	ps.__sizepathSet = (int)npaths;
	ps.pathSet = paths;
	memset(&os, 0, sizeof(os));
	os.obj.type = (char *)type;
	os.obj.__item = (char *)id;
	memset(&spec, 0, sizeof(spec));
	spec.__sizepropSet = 1;
	spec.propSet = &ps;
	spec.__sizeobjectSet = 1;
	spec.objectSet = &os;
	return retrieve(c, &spec, s, err);
}

static int
collect(struct vim *c, const char *type, const char *id, const char *const *paths, size_t npaths,
    int retry, struct vim_objset **out, struct fy_error *err)
{
	struct vim_objset *s = NULL;
	size_t i;
	int r, attempt;

	*out = NULL;
	if (type == NULL || *type == '\0' || strlen(type) > 128)
		return fy_fail(err, FY_ERR_INVAL, "no managed object type");
	if (npaths > VIM_PROPS_MAX)
		return fy_fail(err, FY_ERR_LIMIT, "more than %d properties asked", VIM_PROPS_MAX);
	for (i = 0; i < npaths; i++)
		if (paths[i] == NULL || *paths[i] == '\0' || strlen(paths[i]) > 256)
			return fy_fail(err, FY_ERR_INVAL, "empty or overlong property path");
	if ((r = vim_login(c, err)) != 0)
		return r;
	for (attempt = 0;; attempt++) {
		vim_objset_free(s);
		if ((s = objset_new(id ? 1 : c->max_objects)) == NULL)
			return fy_fail(err, FY_ERR_NOMEM, "out of memory");
		if (id != NULL)
			r = collect_obj(c, type, id, (char **)paths, npaths, s, err);
		else
			r = collect_view(c, type, (char **)paths, npaths, s, err);
		if (r == 0 || attempt > 0 || !retry || !relogin_needed(c, r))
			break;
		if ((r = relogin(c, err)) != 0)
			break;
	}
	if (r != 0) {
		vim_objset_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int
vim_collect(struct vim *c, const char *type, const char *const *paths, size_t npaths,
    struct vim_objset **out, struct fy_error *err)
{
	return collect(c, type, NULL, paths, npaths, 1, out, err);
}

int
vim_collect_one(struct vim *c, const char *type, const char *id, const char *const *paths, size_t npaths,
    struct vim_objset **out, struct fy_error *err)
{
	if (id == NULL || *id == '\0' || strlen(id) > VIM_ID_MAX)
		return fy_fail(err, FY_ERR_INVAL, "no managed object id");
	return collect(c, type, id, paths, npaths, 1, out, err);
}

int
vim_keepalive(struct vim *c, struct fy_error *err)
{
	static const char *const path[] = { "currentSession" };
	struct vim_objset *s = NULL;
	int r;

	if (!c->logged_in)
		return vim_login(c, err);
	r = collect(c, "SessionManager", c->sessions.__item, path, 1, 0, &s, err);
	if (r == 0 && vim_obj_prop(s, 0, "currentSession") == NULL) {
		r = FY_ERR_AUTH;	/* read fine, but no session: it expired */
		snprintf(c->fault, sizeof(c->fault), "NotAuthenticated");
	}
	vim_objset_free(s);
	if (relogin_needed(c, r))
		r = relogin(c, err);
	return r;
}

/* ------------------------------------------------------------ tasks */

int
vim_task_wait(struct vim *c, const char *task, int timeout_s, struct vim_objset **result, struct fy_error *err)
{
	static const char *const path[] = { "info" };
	struct vim_objset *s = NULL;
	const struct vim_val *info;
	const char *state, *msg, *ftype;
	int64_t end = fy_mono_ms() + (int64_t)(timeout_s > 0 ? timeout_s : c->timeout_s) * 1000;
	int r, sleep_ms = 100;

	if (result != NULL)
		*result = NULL;
	for (;;) {
		if ((r = vim_collect_one(c, "Task", task, path, 1, &s, err)) != 0)
			return r;
		if ((info = vim_obj_prop(s, 0, "info")) == NULL) {
			vim_objset_free(s);
			return fy_fail(err, FY_ERR_FORMAT, "task %.80s has no info", task);
		}
		state = vim_val_text(vim_val_path(info, "state"));
		if (strcmp(state, "success") == 0)
			break;
		if (strcmp(state, "error") == 0) {
			msg = vim_val_text(vim_val_path(info, "error.localizedMessage"));
			ftype = vim_val_type(vim_val_path(info, "error.fault"), NULL);
			r = fy_fail(err, FY_ERR_PEER, "task %.80s failed: %s%s%s", task, *ftype ? ftype : "error",
			    *msg ? ": " : "", msg);
			vim_objset_free(s);
			return r;
		}
		if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0) {
			vim_objset_free(s);
			return fy_fail(err, FY_ERR_FORMAT, "task %.80s in unknown state \"%.40s\"", task, state);
		}
		vim_objset_free(s);
		s = NULL;
		if (fy_mono_ms() + sleep_ms > end)
			return fy_fail(err, FY_ERR_TIMEOUT, "task %.80s still %s after %d s", task, state,
			    timeout_s > 0 ? timeout_s : c->timeout_s);
		fy_sleep_ms(sleep_ms);
		if (sleep_ms < 2000)
			sleep_ms *= 2;
	}
	if (result != NULL)
		*result = s;
	else
		vim_objset_free(s);
	return 0;
}

static int
not_offered(struct vim *c, const char *op, struct fy_error *err)
{
	return fy_fail(err, FY_ERR_VERSION, "vCenter %s:%s does not offer %s (not offered%s%s)", c->host, c->port,
	    op, c->fault[0] ? ": " : "", c->fault);
}

static int
start_task(struct vim *c, const char *op, int which, struct vim__ManagedObjectReference *vms, int nvm,
    struct vim__ManagedObjectReference *hosts, int nhost, char **task, struct fy_error *err)
{
	struct vim__CheckRelocate_USCORETaskResponse cr;
	struct vim__QueryVMotionCompatibilityEx_USCORETaskResponse qr;
	struct vim__VirtualMachineRelocateSpec spec;
	struct vim__ManagedObjectReference *ret;
	int r, attempt;

	*task = NULL;
	for (attempt = 0;; attempt++) {
		call_begin(c);
		if (which == 0) {
			memset(&spec, 0, sizeof(spec));
			spec.host = nhost > 0 ? hosts : NULL;
			memset(&cr, 0, sizeof(cr));
			r = call_end(c, op, soap_call_vim__CheckRelocate_USCORETask(c->soap, c->endpoint, VIM_ACTION,
			    &c->checker, vms, &spec, 0, NULL, &cr), err);
			ret = cr.returnval;
		} else {
			memset(&qr, 0, sizeof(qr));
			r = call_end(c, op, soap_call_vim__QueryVMotionCompatibilityEx_USCORETask(c->soap, c->endpoint,
			    VIM_ACTION, &c->checker, nvm, vms, nhost, hosts, &qr), err);
			ret = qr.returnval;
		}
		if (r == 0 && (ret == NULL || ret->__item == NULL || strlen(ret->__item) > VIM_ID_MAX))
			r = fy_fail(err, FY_ERR_FORMAT, "%s returned no task", op);
		if (r == 0 && (*task = strdup(ret->__item)) == NULL)
			r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		call_done(c);
		if (r == 0 || attempt > 0 || !relogin_needed(c, r))
			break;
		if ((r = relogin(c, err)) != 0)
			break;
	}
	if (r == FY_ERR_VERSION && strcmp(c->fault, "MethodNotFound") == 0)
		return not_offered(c, op, err);
	return r;
}

int
vim_check_relocate(struct vim *c, const char *vm, const char *host, int timeout_s, struct vim_objset **result,
    struct fy_error *err)
{
	struct vim__ManagedObjectReference v = { "VirtualMachine", (char *)vm }, h = { "HostSystem", (char *)host };
	char *task = NULL;
	int r;

	*result = NULL;
	if (vm == NULL || *vm == '\0')
		return fy_fail(err, FY_ERR_INVAL, "no VM");
	if ((r = vim_login(c, err)) != 0)
		return r;
	if (c->checker.__item == NULL) {
		c->fault[0] = '\0';
		return not_offered(c, "CheckRelocate_Task", err);
	}
	if ((r = start_task(c, "CheckRelocate_Task", 0, &v, 1, &h, host ? 1 : 0, &task, err)) != 0)
		return r;
	r = vim_task_wait(c, task, timeout_s, result, err);
	free(task);
	return r;
}

int
vim_query_vmotion(struct vim *c, const char *const *vms, size_t nvms, const char *const *hosts, size_t nhosts,
    int timeout_s, struct vim_objset **result, struct fy_error *err)
{
	struct vim__ManagedObjectReference *v = NULL, *h = NULL;
	char *task = NULL;
	size_t i;
	int r;

	*result = NULL;
	if (nvms == 0 || nhosts == 0 || nvms > 1000 || nhosts > 1000)
		return fy_fail(err, FY_ERR_INVAL, "QueryVMotionCompatibilityEx needs 1 to 1000 VMs and hosts");
	if ((r = vim_login(c, err)) != 0)
		return r;
	if (c->checker.__item == NULL) {
		c->fault[0] = '\0';
		return not_offered(c, "QueryVMotionCompatibilityEx_Task", err);
	}
	if ((v = calloc(nvms, sizeof(*v))) == NULL || (h = calloc(nhosts, sizeof(*h))) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nvms; i++) {
		v[i].type = "VirtualMachine";
		v[i].__item = (char *)vms[i];
	}
	for (i = 0; i < nhosts; i++) {
		h[i].type = "HostSystem";
		h[i].__item = (char *)hosts[i];
	}
	if ((r = start_task(c, "QueryVMotionCompatibilityEx_Task", 1, v, (int)nvms, h, (int)nhosts, &task, err)) != 0)
		goto out;
	r = vim_task_wait(c, task, timeout_s, result, err);
out:
	free(task);
	free(v);
	free(h);
	return r;
}

void
vim_free(struct vim *c)
{
	struct vim__LogoutResponse resp;
	struct fy_error err;
	int i;

	if (c == NULL)
		return;
	if (c->soap != NULL && c->logged_in && !c->conn_bad) {
		c->timeout_s = c->timeout_s > 5 ? 5 : c->timeout_s;	/* best effort */
		call_begin(c);
		memset(&resp, 0, sizeof(resp));
		(void)call_end(c, "Logout", soap_call_vim__Logout(c->soap, c->endpoint, VIM_ACTION, &c->sessions,
		    &resp), &err);
		call_done(c);
	}
	if (c->soap != NULL) {
		c->soap->fparsehdr = c->parsehdr;
		soap_closesock(c->soap);
		c->soap->socket = SOAP_INVALID_SOCKET;
		soap_destroy(c->soap);
		soap_end(c->soap);
		soap_free(c->soap);
	}
	drop_conn(c);
	SSL_CTX_free(c->ctx);
	fy_wipe(c->cookie, sizeof(c->cookie));
	fy_wipe(c->cookie_hdr, sizeof(c->cookie_hdr));
	for (i = 0; i < 9; i++)
		free(c->about_str[i]);
	free(c->root.type); free(c->root.__item);
	free(c->pc.type); free(c->pc.__item);
	free(c->views.type); free(c->views.__item);
	free(c->sessions.type); free(c->sessions.__item);
	free(c->checker.type); free(c->checker.__item);
	free(c->user);
	free(c->url);
	free(c->host);
	free(c->port);
	free(c->endpoint);
	free(c->cred_file);
	free(c);
}

/* ------------------------------------------------------------ pure reader */

struct membuf {
	const char *p;
	size_t left;
};

static size_t
mem_frecv(struct soap *soap, char *p, size_t n)
{
	struct membuf *m = soap->user;

	if (n > m->left)
		n = m->left;
	memcpy(p, m->p, n);
	m->p += n;
	m->left -= n;
	return n;
}

int
vim_parse_reply(const char *xml, size_t len, struct vim_objset **out, char **token, struct fy_error *err)
{
	struct vim__RetrievePropertiesExResponse resp;
	struct vim_objset *s = NULL;
	struct membuf m = { xml, len };
	struct soap *soap;
	int r;

	*out = NULL;
	if (token != NULL)
		*token = NULL;
	if (len > VIM_REPLY_MAX)
		return fy_fail(err, FY_ERR_LIMIT, "reply larger than %d bytes", VIM_REPLY_MAX);
	if ((soap = soap_new()) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	set_limits(soap, VIM_REPLY_MAX);
	soap->user = &m;
	soap->frecv = mem_frecv;
	soap_set_version(soap, 1);
	memset(&resp, 0, sizeof(resp));
	if (soap_begin_recv(soap) || soap_envelope_begin_in(soap) || soap_recv_header(soap) ||
	    soap_body_begin_in(soap)) {
		r = fy_fail(err, FY_ERR_FORMAT, "malformed SOAP envelope (gSOAP error %d)", soap->error);
		goto out;
	}
	if (soap_recv_fault(soap, 1) != SOAP_OK) {
		r = fy_fail(err, FY_ERR_PEER, "a SOAP fault");
		goto out;
	}
	if (soap_get_vim__RetrievePropertiesExResponse(soap, &resp, "vim:RetrievePropertiesExResponse", NULL) == NULL ||
	    soap_body_end_in(soap) || soap_envelope_end_in(soap) || soap_end_recv(soap)) {
		r = fy_fail(err, FY_ERR_FORMAT, "malformed RetrievePropertiesEx reply (gSOAP error %d)", soap->error);
		goto out;
	}
	if ((s = objset_new(VIM_OBJECTS_MAX)) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->pages = 1;
	if ((r = add_objects(s, resp.returnval, err)) != 0)
		goto out;
	if (token != NULL && resp.returnval != NULL && resp.returnval->token != NULL &&
	    (*token = strdup(resp.returnval->token)) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	vim_objset_free(s);
	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
	return r;
}
