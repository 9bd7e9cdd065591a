/*
 * fed.c - the federation API over Ferry's own TLS (trust/'s policy):
 * gSOAP reads and writes through fsend/frecv callbacks on our SSL, so
 * pinning, ALPN and the TLS exporter stay in one place.  Server handlers
 * for every operation and the client connection used by ferryctl's ops.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "config.h"
#include "gateway.h"
#include "soapH.h"
#include "Ferry.nsmap"

#define FED_MAX_OCCURS	1000	/* no array in the API comes near it */
#define FED_MAX_KEEPALIVE 256	/* requests per connection (ping --count 100 makes 200) */

struct fed_conn {
	struct site *site;
	struct site_keys *keys;
	struct fy_db *db;
	SSL *ssl;
	int fd;
	int64_t deadline_ms;		/* whole-connection limit (slow senders) */
	uint8_t spki[TRUST_HASH_LEN], certhash[TRUST_HASH_LEN];
	int paired, revoked, timed_out;
	struct trust_peer peer;
	char who[96];			/* "peer B" or "key ABCD-..." for the audit */
	char addr[80];
};

static void
set_timeouts(int fd, long long secs)
{
	struct timeval tv = { .tv_sec = (time_t)secs, .tv_usec = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
io_send(SSL *ssl, const char *p, size_t n)
{
	int w;

	while (n > 0) {
		if ((w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n)) <= 0)
			return SOAP_EOF;
		p += w;
		n -= (size_t)w;
	}
	return SOAP_OK;
}

static int
srv_fsend(struct soap *soap, const char *p, size_t n)
{
	struct fed_conn *c = soap->user;

	return io_send(c->ssl, p, n);
}

static size_t
srv_frecv(struct soap *soap, char *p, size_t n)
{
	struct fed_conn *c = soap->user;
	int r;

	if (fy_mono_ms() > c->deadline_ms) {
		c->timed_out = 1;
		return 0;
	}
	r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	return r > 0 ? (size_t)r : 0;
}

static int
noop_close(struct soap *soap)
{
	(void)soap;
	return SOAP_OK;
}

static int
noop_closesocket(struct soap *soap, SOAP_SOCKET s)
{
	(void)soap;
	(void)s;
	return SOAP_OK;
}

static void
soap_limits(struct soap *soap, const struct fy_conf *cf)
{
	soap_set_namespaces(soap, namespaces);
	soap->recv_maxlength = (ULONG64)cf->max_message;
	soap->maxlevel = (unsigned)cf->max_depth;
	soap->maxoccurs = FED_MAX_OCCURS;
	soap->max_keep_alive = FED_MAX_KEEPALIVE;
	soap->recv_timeout = soap->send_timeout = (int)cf->io_timeout;
	soap->transfer_timeout = (int)cf->io_timeout;
	soap->fclose = noop_close;
	soap->fclosesocket = noop_closesocket;
}

static void
ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, cap, "connection closed during handshake");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
}

/* ---------------------------------------------------------------- server */

static int
refuse(struct soap *soap, int code, const char *action, const char *fmt, ...)
{
	struct fed_conn *c = soap->user;
	char msg[400], fault[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s from %s refused: %s", action, c->who, msg);
	(void)trust_audit(c->db, c->who, c->paired ? c->peer.name : NULL, action, "refused",
	    "%s (%s)", msg, c->addr);
	snprintf(fault, sizeof(fault), "%s: %s", fy_errname(code), msg);
	return soap_sender_fault(soap, soap_strdup(soap, fault), NULL);
}

static int
require_paired(struct soap *soap, const char *action)
{
	struct fed_conn *c = soap->user;
	char fp[TRUST_FP_LEN];

	if (c->paired)
		return SOAP_OK;
	trust_fingerprint(c->spki, fp);
	if (c->revoked)
		return refuse(soap, FY_ERR_REVOKED, action, "key %s was unpaired from this site; pair again", fp);
	return refuse(soap, FY_ERR_AUTH, action, "key %s is not a paired site", fp);
}

static int
require_token(struct soap *soap, const char *action)
{
	struct fed_conn *c = soap->user;
	struct trust_token_check chk;
	struct trust_token t;
	int r;

	if (require_paired(soap, action) != SOAP_OK)
		return soap->error;
	if (soap->header == NULL || soap->header->fy__Token == NULL)
		return refuse(soap, FY_ERR_AUTH, action, "no token in the SOAP header (fy:Token)");
	if (strlen(soap->header->fy__Token) > TRUST_TOKEN_MAX)
		return refuse(soap, FY_ERR_LIMIT, action, "token longer than %d bytes", TRUST_TOKEN_MAX);
	memset(&chk, 0, sizeof(chk));
	chk.aud = "fed";
	chk.sub = c->spki;
	chk.cnf = c->certhash;
	chk.now_ms = fy_now_ms();
	chk.skew_ms = c->site->conf.clock_skew * 1000;
	if ((r = trust_token_verify(c->keys->id, soap->header->fy__Token, &chk, &t)) != 0) {
		switch (r) {
		case FY_ERR_EXPIRED:
			return refuse(soap, r, action, "token expired (beyond %llds of clock skew)",
			    c->site->conf.clock_skew);
		case FY_ERR_NOTYET:
			return refuse(soap, r, action, "token not yet valid (beyond %llds of clock skew)",
			    c->site->conf.clock_skew);
		case FY_ERR_AUDIENCE:
			return refuse(soap, r, action, "token is for audience \"%s\", not \"fed\"", t.aud);
		case FY_ERR_BINDING:
			return refuse(soap, r, action, "token is bound to another certificate or site");
		case FY_ERR_AUTH:
			return refuse(soap, r, action, "token signature does not verify (not issued here)");
		default:
			return refuse(soap, r, action, "token unreadable: %s", fy_strerror(r));
		}
	}
	if ((r = trust_replay_check(c->db, t.id, t.exp_ms + chk.skew_ms, chk.now_ms)) != 0)
		return refuse(soap, r, action, r == FY_ERR_REPLAY ?
		    "token already used (replay)" : "replay cache unavailable");
	if (trust_peer_touch(c->db, c->peer.name, chk.now_ms) != 0)
		log_debug("cannot record last contact of %s", c->peer.name);
	return SOAP_OK;
}

int
fy__Hello(struct soap *soap, char *site, LONG64 clockMs, struct fy__HelloResponse *out)
{
	struct fed_conn *c = soap->user;

	if (require_token(soap, "hello") != SOAP_OK)
		return soap->error;
	out->site = soap_strdup(soap, c->site->conf.site_name);
	out->fingerprint = soap_strdup(soap, trust_identity_fingerprint(c->keys->id));
	out->software = soap_strdup(soap, "ferry " PACKAGE_VERSION);
	out->protocol = TRUST_PROTOCOL_VERSION;
	out->capabilities = soap_strdup(soap, FY_CAPABILITIES);
	out->clockMs = fy_now_ms();
	return SOAP_OK;
}

int
fy__IssueToken(struct soap *soap, char *audience, char *scope, struct fy__IssueTokenResponse *out)
{
	struct fed_conn *c = soap->user;
	struct trust_token t;
	char buf[TRUST_TOKEN_MAX + 1];
	int r;

	if (require_paired(soap, "issue-token") != SOAP_OK)
		return soap->error;
	if (audience == NULL || (strcmp(audience, "fed") != 0 && strcmp(audience, "data") != 0))
		return refuse(soap, FY_ERR_AUDIENCE, "issue-token", "unknown audience \"%.32s\" (fed or data)",
		    audience ? audience : "");
	if (scope != NULL && strlen(scope) > TRUST_SCOPE_MAX)
		return refuse(soap, FY_ERR_LIMIT, "issue-token", "scope longer than %d", TRUST_SCOPE_MAX);
	memset(&t, 0, sizeof(t));
	memcpy(t.sub, c->spki, TRUST_HASH_LEN);
	memcpy(t.cnf, c->certhash, TRUST_HASH_LEN);
	t.nbf_ms = fy_now_ms();
	t.exp_ms = t.nbf_ms + c->site->conf.token_lifetime * 1000;
	snprintf(t.aud, sizeof(t.aud), "%s", audience);
	snprintf(t.scope, sizeof(t.scope), "%s", scope ? scope : "");
	if ((r = trust_token_issue(c->keys->id, &t, buf, sizeof(buf))) != 0)
		return soap_receiver_fault(soap, "crypto: cannot issue a token", NULL);
	out->token = soap_strdup(soap, buf);
	out->notAfterMs = t.exp_ms;
	return SOAP_OK;
}

static int
b64_exact(const char *s, uint8_t *out, size_t n)
{
	size_t got;

	if (s == NULL || strlen(s) > 128)
		return FY_ERR_FORMAT;
	if (fy_b64url_dec(s, strlen(s), out, n, &got) != 0 || got != n)
		return FY_ERR_FORMAT;
	return 0;
}

int
fy__Join(struct soap *soap, char *inviteId, char *secret_s, char *proof_s, char *site,
    char *endpoint, struct fy__JoinResponse *out)
{
	struct fed_conn *c = soap->user;
	struct trust_peer p, other;
	uint8_t id[TRUST_INVITE_ID_LEN], secret[TRUST_SECRET_LEN], proof[32], want[32], exp[32];
	char fp[TRUST_FP_LEN], b64[64], who[80];
	int r, proof_ok;

	memset(&p, 0, sizeof(p));
	trust_fingerprint(c->spki, fp);
	snprintf(who, sizeof(who), "%.63s", site && fy_valid_name(site) ? site : "?");
	if (c->paired)
		return refuse(soap, FY_ERR_EXISTS, "pair-join", "key %s is already paired as \"%s\"",
		    fp, c->peer.name);
	if (inviteId == NULL || fy_hex_dec(inviteId, id, sizeof(id)) != 0)
		return refuse(soap, FY_ERR_FORMAT, "pair-join", "malformed invite id");
	if (b64_exact(secret_s, secret, sizeof(secret)) != 0 || b64_exact(proof_s, proof, sizeof(proof)) != 0)
		return refuse(soap, FY_ERR_FORMAT, "pair-join", "malformed secret or proof");
	if (site == NULL || !fy_valid_name(site))
		return refuse(soap, FY_ERR_FORMAT, "pair-join", "invalid site name");
	if (endpoint == NULL || strlen(endpoint) > TRUST_ENDPOINT_MAX || endpoint[0] == '\0')
		return refuse(soap, FY_ERR_FORMAT, "pair-join", "invalid endpoint");
	if (strcmp(site, c->site->conf.site_name) == 0)
		return refuse(soap, FY_ERR_EXISTS, "pair-join", "joining site uses this site's own name \"%s\"", site);
	if ((r = trust_tls_exporter(c->ssl, "EXPORTER-ferry-pair", exp)) != 0 ||
	    (r = trust_proof(secret, "ferry-join", exp, trust_identity_spki(c->keys->id), c->spki, want)) != 0)
		return soap_receiver_fault(soap, "crypto: cannot compute the proof", NULL);
	proof_ok = fy_ct_equal(want, proof, sizeof(want));

	if ((r = fy_db_begin(c->db)) != 0)
		return soap_receiver_fault(soap, "db: database busy", NULL);
	if (trust_peer_by_name(c->db, site, &other) == 0) {
		trust_peer_clear(&other);
		fy_db_rollback(c->db);
		fy_wipe(secret, sizeof(secret));
		return refuse(soap, FY_ERR_EXISTS, "pair-join", "a peer named \"%s\" is already paired here", site);
	}
	r = trust_invite_redeem(c->db, id, secret, fy_now_ms(), (int)c->site->conf.pair_max_attempts,
	    site);
	fy_wipe(secret, sizeof(secret));
	if (r == 0 && !proof_ok) {
		/* Right secret, but the proof is not for this TLS session or key. */
		fy_db_rollback(c->db);
		return refuse(soap, FY_ERR_BINDING, "pair-join",
		    "proof does not match this TLS session and keys (relayed or altered join from %s)", who);
	}
	if (r != 0) {
		if (r == FY_ERR_AUTH) {
			/* Keep the failure count even though the join fails. */
			if (fy_db_commit(c->db) != 0)
				fy_db_rollback(c->db);
		} else
			fy_db_rollback(c->db);
		switch (r) {
		case FY_ERR_NOTFOUND:
			return refuse(soap, r, "pair-join", "unknown invite %s (from %s)", inviteId, who);
		case FY_ERR_USED:
			return refuse(soap, r, "pair-join", "invite %s was already used", inviteId);
		case FY_ERR_LOCKED:
			return refuse(soap, r, "pair-join", "invite %s is locked after too many wrong secrets", inviteId);
		case FY_ERR_EXPIRED:
			return refuse(soap, r, "pair-join", "invite %s has expired", inviteId);
		case FY_ERR_AUTH:
			return refuse(soap, r, "pair-join", "wrong secret for invite %s (from %s)", inviteId, who);
		default:
			return soap_receiver_fault(soap, "db: cannot redeem the invite", NULL);
		}
	}
	snprintf(p.name, sizeof(p.name), "%s", site);
	memcpy(p.spki, c->spki, TRUST_HASH_LEN);
	snprintf(p.endpoint, sizeof(p.endpoint), "%s", endpoint);
	snprintf(p.role, sizeof(p.role), "inviter");
	p.paired_ms = fy_now_ms();
	if ((r = trust_tls_peer_cert_pem(c->ssl, &p.cert_pem)) != 0 ||
	    (r = trust_peer_add(c->db, &p)) != 0 ||
	    (r = trust_audit(c->db, site, site, "pair", "ok", "joined with invite %s, key %s, endpoint %s",
	    inviteId, fp, endpoint)) != 0 || (r = fy_db_commit(c->db)) != 0) {
		fy_db_rollback(c->db);
		trust_peer_clear(&p);
		if (r == FY_ERR_EXISTS)
			return refuse(soap, r, "pair-join", "key %s is already paired", fp);
		return soap_receiver_fault(soap, "db: cannot store the peer", NULL);
	}
	log_info("paired with %s (%s) at %s", site, fp, endpoint);
	/* Mirror proof: we held the secret too.  Recompute from the stored hash? No: from the one given. */
	(void)b64_exact(secret_s, secret, sizeof(secret));
	r = trust_proof(secret, "ferry-accept", exp, trust_identity_spki(c->keys->id), c->spki, want);
	fy_wipe(secret, sizeof(secret));
	trust_peer_clear(&p);
	if (r != 0 || fy_b64url_enc(want, sizeof(want), b64, sizeof(b64)) != 0)
		return soap_receiver_fault(soap, "crypto: cannot compute the proof", NULL);
	out->site = soap_strdup(soap, c->site->conf.site_name);
	out->endpoint = soap_strdup(soap, fy_conf_endpoint(&c->site->conf));
	out->proof = soap_strdup(soap, b64);
	return SOAP_OK;
}

int
fy__Unpair(struct soap *soap, char *reason, struct fy__UnpairResponse *out)
{
	struct fed_conn *c = soap->user;
	int64_t until;
	int r;

	if (require_token(soap, "unpair") != SOAP_OK)
		return soap->error;
	until = fy_now_ms() + (c->site->conf.token_lifetime + c->site->conf.clock_skew) * 1000;
	if ((r = fy_db_begin(c->db)) != 0)
		return soap_receiver_fault(soap, "db: database busy", NULL);
	if ((r = trust_peer_remove(c->db, c->peer.name, until)) != 0 ||
	    (r = trust_audit(c->db, c->who, c->peer.name, "unpair", "ok", "requested by the peer: %.100s",
	    reason ? reason : "")) != 0 || (r = fy_db_commit(c->db)) != 0) {
		fy_db_rollback(c->db);
		return soap_receiver_fault(soap, "db: cannot remove the peer", NULL);
	}
	log_info("peer %s removed the pairing", c->peer.name);
	if (c->site->tp != NULL)
		tp_server_drop_peer(c->site->tp, c->peer.name);
	data_pool_drop(c->site, c->peer.name);
	out->site = soap_strdup(soap, c->site->conf.site_name);
	return SOAP_OK;
}

int
fy__Rotate(struct soap *soap, char *cert, char *sig_s, LONG64 clockMs, struct fy__RotateResponse *out)
{
	struct fed_conn *c = soap->user;
	uint8_t sig[64], nspki[TRUST_HASH_LEN];
	char fp[TRUST_FP_LEN], *curpem = NULL;
	int64_t now = fy_now_ms(), until;
	int r;

	if (require_token(soap, "rotate") != SOAP_OK)
		return soap->error;
	if (cert == NULL || strlen(cert) > 8192 || b64_exact(sig_s, sig, sizeof(sig)) != 0)
		return refuse(soap, FY_ERR_FORMAT, "rotate", "malformed rotation announcement");
	if (clockMs < now - c->site->conf.clock_skew * 1000 || clockMs > now + c->site->conf.clock_skew * 1000)
		return refuse(soap, FY_ERR_EXPIRED, "rotate", "announcement clock outside the %llds skew",
		    c->site->conf.clock_skew);
	/*
	 * Verify against the key this connection presented (pinned: the
	 * peer's current or, during an overlap, previous key).  A rotation the
	 * peer announced and then abandoned leaves it holding that previous
	 * key, and its next announcement is signed with it.
	 */
	if ((r = trust_tls_peer_cert_pem(c->ssl, &curpem)) != 0)
		return refuse(soap, FY_ERR_AUTH, "rotate", "no certificate on this connection");
	r = trust_verify_rotation(c->spki, curpem, cert, clockMs, sig, nspki);
	free(curpem);
	if (r != 0)
		return refuse(soap, FY_ERR_AUTH, "rotate", "announcement not signed by the pinned key");
	until = now + c->site->conf.rotate_overlap * 1000;
	trust_fingerprint(nspki, fp);
	if ((r = fy_db_begin(c->db)) != 0)
		return soap_receiver_fault(soap, "db: database busy", NULL);
	if ((r = trust_peer_announce(c->db, c->peer.name, nspki, cert)) != 0 ||
	    (r = trust_audit(c->db, c->who, c->peer.name, "peer-rotate", "ok", "announced next key %s", fp)) != 0 ||
	    (r = fy_db_commit(c->db)) != 0) {
		fy_db_rollback(c->db);
		return soap_receiver_fault(soap, r == FY_ERR_EXISTS ? "exists: that key is already in use" :
		    "db: cannot store the new key", NULL);
	}
	log_info("peer %s announced its next key %s", c->peer.name, fp);
	out->site = soap_strdup(soap, c->site->conf.site_name);
	out->overlapUntilMs = until;
	return SOAP_OK;
}

/* The peer now presents the key it announced: make it current. */
/*
 * Migration jobs: the handlers check the token and hand over to the job
 * engine (job.c) with the verified peer name; the engine owns the rules.
 */
static int
mig_refuse(struct soap *soap, const char *action, const struct fy_error *e)
{
	return refuse(soap, e->code ? e->code : FY_ERR_PEER, action, "%s", e->msg);
}

int
fy__MigPrepare(struct soap *soap, char *job, char *spec, char *options, struct fy__MigPrepareResponse *out)
{
	struct fed_conn *c = soap->user;
	struct fy_error e = { 0, "" };
	char vm[80] = "", uuid[40] = "";

	if (require_token(soap, "mig-prepare") != SOAP_OK)
		return soap->error;
	if (job_fed_prepare(c->site, c->peer.name, job, spec, options, vm, sizeof(vm), uuid, sizeof(uuid), &e) != 0)
		return mig_refuse(soap, "mig-prepare", &e);
	out->vm = soap_strdup(soap, vm);
	out->uuid = soap_strdup(soap, uuid);
	return SOAP_OK;
}

int
fy__MigFinish(struct soap *soap, char *job, char *digest, struct fy__MigFinishResponse *out)
{
	struct fed_conn *c = soap->user;
	struct fy_error e = { 0, "" };
	char dig[80] = "";
	int64_t resumed = 0;

	if (require_token(soap, "mig-finish") != SOAP_OK)
		return soap->error;
	if (job_fed_finish(c->site, c->peer.name, job, digest, dig, sizeof(dig), &resumed, &e) != 0)
		return mig_refuse(soap, "mig-finish", &e);
	out->outcome = soap_strdup(soap, "succeeded");
	out->memoryDigest = soap_strdup(soap, dig);
	out->resumedMs = resumed;
	return SOAP_OK;
}

int
fy__MigAbort(struct soap *soap, char *job, char *reason, struct fy__MigAbortResponse *out)
{
	struct fed_conn *c = soap->user;
	struct fy_error e = { 0, "" };

	if (require_token(soap, "mig-abort") != SOAP_OK)
		return soap->error;
	if (job_fed_abort(c->site, c->peer.name, job, reason, &e) != 0)
		return mig_refuse(soap, "mig-abort", &e);
	out->outcome = soap_strdup(soap, "aborted");
	return SOAP_OK;
}

int
fy__MigQuery(struct soap *soap, char *job, struct fy__MigQueryResponse *out)
{
	struct fed_conn *c = soap->user;
	struct fy_error e = { 0, "" };
	struct job_outcome o;

	if (require_token(soap, "mig-query") != SOAP_OK)
		return soap->error;
	memset(&o, 0, sizeof(o));
	if (job_fed_query(c->site, c->peer.name, job, &o, &e) != 0)
		return mig_refuse(soap, "mig-query", &e);
	out->phase = soap_strdup(soap, o.phase);
	out->outcome = soap_strdup(soap, o.outcome);
	out->error = soap_strdup(soap, o.error);
	out->firstLineMs = o.first_line_ms;
	out->resumedMs = o.resumed_ms;
	return SOAP_OK;
}

/* Pre-flight: this site's facts, gathered by its own driver, for the paired caller. */
int
fy__SiteFacts(struct soap *soap, char *scope, struct fy__SiteFactsResponse *out)
{
	struct fed_conn *c = soap->user;
	struct fy_error e = { 0, "" };
	json_t *f;
	char *text;

	if (require_token(soap, "site-facts") != SOAP_OK)
		return soap->error;
	if ((f = preflight_facts(c->site, NULL, &e)) == NULL) {
		/*
		 * The reason stays here: it may name this site's vCenter user,
		 * credential file or certificate, none of the peer's business.
		 */
		log_warnx("facts for %s: %s", c->peer.name, e.msg);
		return refuse(soap, e.code ? e.code : FY_ERR_PEER, "site-facts", "facts unavailable at %s (%s); "
		    "its log says why", c->site->conf.site_name, fy_strerror(e.code ? e.code : FY_ERR_PEER));
	}
	preflight_resolve_scope(c->site, f, scope);
	/* The peer has no use for this host's paths. */
	json_object_del(f, "qemu_binary");
	{
		json_t *ds;
		size_t i;
		json_array_foreach(json_object_get(f, "datastores"), i, ds)
			json_object_del(ds, "dir");
	}
	text = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	if (text == NULL)
		return refuse(soap, FY_ERR_NOMEM, "site-facts", "out of memory");
	out->facts = soap_strdup(soap, text);
	free(text);
	return SOAP_OK;
}

static void
fed_promote(struct site *s, struct fy_db *db, const char *name, const char *fp)
{
	int64_t until = fy_now_ms() + s->conf.rotate_overlap * 1000;

	if (fy_db_begin(db) != 0)
		return;
	if (trust_peer_promote(db, name, until) != 0 ||
	    trust_audit(db, "ferryd", name, "peer-rotate", "ok", "now uses key %s; previous accepted "
	    "for %llds", fp, s->conf.rotate_overlap) != 0 || fy_db_commit(db) != 0) {
		fy_db_rollback(db);
		log_warnx("cannot record %s's new key", name);
		return;
	}
	log_info("peer %s now uses its new key %s", name, fp);
}

void
fed_serve_conn(struct site *s, int fd, const char *addr)
{
	struct fed_conn c;
	struct soap *soap = NULL;
	char why[256], fp[TRUST_FP_LEN];
	int r;

	memset(&c, 0, sizeof(c));
	c.site = s;
	c.fd = fd;
	snprintf(c.addr, sizeof(c.addr), "%s", addr);
	snprintf(c.who, sizeof(c.who), "%s", addr);
	c.keys = site_keys_get(s);
	c.deadline_ms = fy_mono_ms() + 4 * s->conf.io_timeout * 1000;
	set_timeouts(fd, s->conf.io_timeout);
	if ((r = site_open_db(s, &c.db)) != 0) {
		log_warnx("database unavailable: %s", fy_strerror(r));
		goto out;
	}
	if ((c.ssl = SSL_new(c.keys->srv)) == NULL || SSL_set_fd(c.ssl, fd) != 1)
		goto out;
	if (SSL_accept(c.ssl) != 1) {
		ssl_reason(why, sizeof(why));
		log_warnx("TLS from %s refused: %s", addr, why);
		(void)trust_audit(c.db, addr, NULL, "tls", "refused", "%s", why);
		goto out;
	}
	if (trust_tls_peer_hashes(c.ssl, c.spki, c.certhash) != 0)
		goto out;
	{
		const unsigned char *alpn = NULL;
		unsigned alpnlen = 0;
		SSL_get0_alpn_selected(c.ssl, &alpn, &alpnlen);
		if (alpnlen == strlen(TRUST_ALPN_DATA) && memcmp(alpn, TRUST_ALPN_DATA, alpnlen) == 0) {
			/* A transport stream: it authenticates itself in its HELLO. */
			fy_db_close(c.db);
			c.db = NULL;
			site_keys_put(c.keys);
			c.keys = NULL;
			data_serve_stream(s, fd, c.ssl, addr);
			return;
		}
	}
	trust_fingerprint(c.spki, fp);
	r = trust_peer_by_spki(c.db, c.spki, fy_now_ms(), &c.peer);
	if (r == 0) {
		c.paired = 1;
		snprintf(c.who, sizeof(c.who), "peer %s", c.peer.name);
		if (c.peer.has_next && fy_ct_equal(c.spki, c.peer.spki_next, TRUST_HASH_LEN))
			fed_promote(s, c.db, c.peer.name, fp);
	} else {
		snprintf(c.who, sizeof(c.who), "key %.24s... at %s", fp, addr);
		c.revoked = trust_denied(c.db, c.spki, fy_now_ms()) == FY_ERR_REVOKED;
	}
	if ((soap = soap_new1(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT)) == NULL)
		goto out;
	soap_limits(soap, &s->conf);
	soap->socket = fd;
	soap->fsend = srv_fsend;
	soap->frecv = srv_frecv;
	soap->user = &c;
	r = soap_serve(soap);
	log_debug("%s: served, soap status %d", c.who, r);
	/* Faults from the handlers were audited by refuse(); this is the rest. */
	if (c.timed_out || (r != SOAP_OK && r != SOAP_EOF && r != SOAP_FAULT && r != SOAP_CLI_FAULT &&
	    r != SOAP_SVR_FAULT)) {
		const char *fs = soap_fault_string(soap);
		if (c.timed_out)
			snprintf(why, sizeof(why), "connection time limit (4 x io_timeout) reached: slow sender");
		else if (r == SOAP_LENGTH || r == SOAP_EOM || r == 413 || r == 414)
			snprintf(why, sizeof(why), "message larger than max_message (%lld bytes)",
			    s->conf.max_message);
		else if (r == SOAP_LEVEL)
			snprintf(why, sizeof(why), "XML nested deeper than max_depth (%lld)", s->conf.max_depth);
		else if (fs != NULL)
			snprintf(why, sizeof(why), "%s", fs);
		else
			snprintf(why, sizeof(why), "malformed request (SOAP status %d)", r);
		log_warnx("request from %s refused: %s", c.who, why);
		(void)trust_audit(c.db, c.who, c.paired ? c.peer.name : NULL, "request", "refused",
		    "%s (soap status %d)", why, r);
	}
out:
	if (soap != NULL) {
		soap->socket = SOAP_INVALID_SOCKET;
		soap_destroy(soap);
		soap_end(soap);
		soap_free(soap);
	}
	if (c.ssl != NULL) {
		(void)SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	ERR_clear_error();
	close(fd);
	trust_peer_clear(&c.peer);
	fy_db_close(c.db);
	site_keys_put(c.keys);
}

/* ---------------------------------------------------------------- client */

struct fed_client {
	struct site *site;
	struct site_keys *keys;
	SSL *ssl;
	int fd;
	struct soap *soap;
	uint8_t spki[TRUST_HASH_LEN];
	char token[TRUST_TOKEN_MAX + 1];
	struct SOAP_ENV__Header hdr;
};

static SOAP_SOCKET
cli_fopen(struct soap *soap, const char *endpoint, const char *host, int port)
{
	struct fed_client *c = soap->user;

	(void)endpoint;
	(void)host;
	(void)port;
	return c->fd;
}

static int
cli_fsend(struct soap *soap, const char *p, size_t n)
{
	struct fed_client *c = soap->user;

	return io_send(c->ssl, p, n);
}

static size_t
cli_frecv(struct soap *soap, char *p, size_t n)
{
	struct fed_client *c = soap->user;
	int r;

	r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	return r > 0 ? (size_t)r : 0;
}

static int
tcp_connect(const char *endpoint, long long timeout_s, int *out, struct fy_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[16];
	struct pollfd pfd;
	int fd = -1, e, soe = 0, one = 1;
	socklen_t sl = sizeof(soe);

	*out = -1;
	if (fy_split_hostport(endpoint, host, sizeof(host), port, sizeof(port)) != 0)
		return fy_fail(err, FY_ERR_FORMAT, "endpoint \"%.80s\" is not host:port", endpoint);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		return fy_fail(err, FY_ERR_CONNECT, "cannot resolve %s: %s", host, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, (int)(timeout_s * 1000)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soe, &sl) == 0 && soe == 0)
				break;
			if (soe == 0)
				soe = ETIMEDOUT;
		} else
			soe = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fy_fail(err, soe == ETIMEDOUT ? FY_ERR_TIMEOUT : FY_ERR_CONNECT,
		    "cannot connect to %s: %s", endpoint, strerror(soe ? soe : ECONNREFUSED));
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

int
fed_dial(struct site *s, const char *endpoint, const uint8_t *const *pins, int npins, const char *proto,
    int *fdp, SSL **sslp, uint8_t spki[TRUST_HASH_LEN], struct fy_error *err)
{
	struct site_keys *keys = NULL;
	char why[256], got[TRUST_FP_LEN], want[TRUST_FP_LEN];
	const unsigned char *alpn = NULL;
	unsigned alpnlen = 0;
	SSL *ssl = NULL;
	int r, i, fd = -1;

	*fdp = -1;
	*sslp = NULL;
	if (npins < 1)
		return fy_fail(err, FY_ERR_INVAL, "no pinned key");
	if ((r = tcp_connect(endpoint, s->conf.connect_timeout, &fd, err)) != 0)
		return r;
	set_timeouts(fd, s->conf.connect_timeout);
	keys = site_keys_get(s);
	ssl = SSL_new(keys->cli);	/* holds its own reference to the context */
	site_keys_put(keys);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || trust_tls_set_alpn(ssl, proto) != 0) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		ssl_reason(why, sizeof(why));
		r = fy_fail(err, FY_ERR_TLS, "TLS 1.3 handshake with %s failed: %s", endpoint, why);
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
	if (alpnlen != strlen(proto) || memcmp(alpn, proto, alpnlen) != 0) {
		r = fy_fail(err, FY_ERR_PROTO, "%s does not speak %s", endpoint, proto);
		goto out;
	}
	if ((r = trust_tls_peer_hashes(ssl, spki, NULL)) != 0) {
		r = fy_fail(err, FY_ERR_TLS, "%s presented no usable certificate", endpoint);
		goto out;
	}
	for (i = 0; i < npins; i++)
		if (fy_ct_equal(spki, pins[i], TRUST_HASH_LEN))
			break;
	if (i == npins) {
		trust_fingerprint(spki, got);
		trust_fingerprint(pins[0], want);
		r = fy_fail(err, FY_ERR_PIN, "%s presented key %s but the pinned key is %s; nothing was sent",
		    endpoint, got, want);
		goto out;
	}
	set_timeouts(fd, s->conf.io_timeout);
	*fdp = fd;
	*sslp = ssl;
	return 0;
out:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
	return r;
}

int
fed_connect(struct site *s, const char *endpoint, const uint8_t *const *pins, int npins,
    struct fed_client **out, struct fy_error *err)
{
	struct fed_client *c;
	int r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	c->fd = -1;
	c->site = s;
	c->keys = site_keys_get(s);
	if ((r = fed_dial(s, endpoint, pins, npins, TRUST_ALPN_FED, &c->fd, &c->ssl, c->spki, err)) != 0)
		goto out;
	if ((c->soap = soap_new1(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT)) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	soap_limits(c->soap, &s->conf);
	c->soap->user = c;
	c->soap->fopen = cli_fopen;
	c->soap->fsend = cli_fsend;
	c->soap->frecv = cli_frecv;
	c->soap->connect_timeout = (int)s->conf.connect_timeout;
	*out = c;
	c = NULL;
	r = 0;
out:
	fed_client_free(c);
	return r;
}

void
fed_client_free(struct fed_client *c)
{
	if (c == NULL)
		return;
	if (c->soap != NULL) {
		c->soap->socket = SOAP_INVALID_SOCKET;
		c->soap->header = NULL;
		soap_destroy(c->soap);
		soap_end(c->soap);
		soap_free(c->soap);
	}
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	fy_wipe(c->token, sizeof(c->token));
	site_keys_put(c->keys);
	free(c);
}

struct soap *
fed_client_soap(struct fed_client *c)
{
	return c->soap;
}

int
fed_client_fd(struct fed_client *c)
{
	return c->fd;
}

SSL *
fed_client_ssl(struct fed_client *c)
{
	return c->ssl;
}

void
fed_client_set_timeout(struct fed_client *c, long long secs)
{
	set_timeouts(c->fd, secs);
}

struct site_keys *
fed_client_keys(struct fed_client *c)
{
	return c->keys;
}

const uint8_t *
fed_client_peer_spki(struct fed_client *c)
{
	return c->spki;
}

int
fed_client_error(struct fed_client *c, const char *what, struct fy_error *err)
{
	struct soap *soap = c->soap;
	const char *fs, *colon;

	if ((soap->error == SOAP_FAULT || soap->error == SOAP_CLI_FAULT || soap->error == SOAP_SVR_FAULT) &&
	    (fs = soap_fault_string(soap)) != NULL) {
		if ((colon = strchr(fs, ':')) != NULL && colon - fs < 24)
			return fy_fail(err, fy_errcode(fs, (size_t)(colon - fs)), "peer refused %s:%s",
			    what, colon + 1);
		return fy_fail(err, FY_ERR_PEER, "peer refused %s: %s", what, fs);
	}
	if (soap->error == SOAP_EOF)
		return fy_fail(err, FY_ERR_CONNECT, "connection lost during %s", what);
	return fy_fail(err, FY_ERR_PROTO, "%s failed: SOAP error %d", what, soap->error);
}

int
fed_client_token(struct fed_client *c, const char *aud, const char *scope, struct fy_error *err)
{
	struct fy__IssueTokenResponse resp;
	int r;

	c->soap->header = NULL;
	memset(&resp, 0, sizeof(resp));
	if (soap_call_fy__IssueToken(c->soap, "http://peer/fed", NULL, (char *)aud, (char *)scope,
	    &resp) != SOAP_OK) {
		r = fed_client_error(c, "the token request", err);
		soap_end(c->soap);
		return r;
	}
	if (resp.token == NULL || strlen(resp.token) > TRUST_TOKEN_MAX) {
		soap_end(c->soap);
		return fy_fail(err, FY_ERR_PROTO, "peer sent an unusable token");
	}
	snprintf(c->token, sizeof(c->token), "%s", resp.token);
	soap_end(c->soap);
	memset(&c->hdr, 0, sizeof(c->hdr));
	c->hdr.fy__Token = c->token;
	c->soap->header = &c->hdr;
	return 0;
}

int
fed_connect_peer(struct site *s, struct fy_db *db, const char *name, struct trust_peer *p,
    struct fed_client **out, struct fy_error *err)
{
	int r;

	const uint8_t *pins[3];
	char fp[TRUST_FP_LEN];
	int n = 0;

	*out = NULL;
	if ((r = trust_peer_by_name(db, name, p)) != 0)
		return fy_fail(err, r == FY_ERR_NOTFOUND ? FY_ERR_NOTFOUND : r,
		    r == FY_ERR_NOTFOUND ? "no paired site named \"%s\" (see ferryctl peers)" :
		    "cannot read peer \"%s\"", name);
	/* Current key first: it is the one named when nothing matches. */
	pins[n++] = p->spki;
	if (p->has_next)
		pins[n++] = p->spki_next;
	if (p->has_prev && p->prev_until_ms > fy_now_ms())
		pins[n++] = p->spki_prev;
	if ((r = fed_connect(s, p->endpoint, pins, n, out, err)) != 0)
		return r;
	if (p->has_next && fy_ct_equal(fed_client_peer_spki(*out), p->spki_next, TRUST_HASH_LEN)) {
		trust_fingerprint(p->spki_next, fp);
		fed_promote(s, db, name, fp);
	}
	if ((r = fed_client_token(*out, "fed", NULL, err)) != 0) {
		fed_client_free(*out);
		*out = NULL;
	}
	return r;
}
