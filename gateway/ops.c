/*
 * ops.c - what ferryctl's commands do inside ferryd.  Each op takes JSON
 * arguments and returns a JSON result or fills an fy_error whose message
 * names what was wrong.  Changes to trust are audited.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <xxhash.h>
#include "config.h"
#include "gateway.h"
#include "soapH.h"
#include "netmap/netmap.h"

static const char *
arg_str(json_t *args, const char *k)
{
	return args ? json_string_value(json_object_get(args, k)) : NULL;
}

static int
arg_bool(json_t *args, const char *k)
{
	return args ? json_is_true(json_object_get(args, k)) : 0;
}

json_t *
fy_time_json(int64_t ms)
{
	char t[40];

	if (ms <= 0)
		return json_null();
	fy_fmt_time(ms, t, sizeof(t));
	return json_string(t);
}

/* Audit from an op that has no database open. */
int
trust_audit_noerr(struct site *s, const char *actor, const char *peer, const char *action,
    const char *outcome, const char *fmt, ...)
{
	struct fy_db *db = NULL;
	char detail[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if ((r = site_open_db(s, &db)) == 0)
		r = trust_audit(db, actor, peer, action, outcome, "%s", detail);
	fy_db_close(db);
	return r;
}

static json_t *
op_status(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct site_keys *k = site_keys_get(s);
	struct fy_db *db = NULL;
	char fp[TRUST_FP_LEN], hex[65];
	json_t *j = NULL;
	int npeers = 0, r;

	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		goto out;
	}
	{
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT count(*) FROM peers", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				npeers = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
	}
	(void)fy_hex_enc(trust_identity_spki(k->id), TRUST_HASH_LEN, hex, sizeof(hex));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:o, s:s}",
	    "site", s->conf.site_name, "fingerprint", trust_identity_fingerprint(k->id),
	    "spki_sha256", hex, "endpoint", fy_conf_endpoint(&s->conf),
	    "software", "ferry " PACKAGE_VERSION, "protocol", TRUST_PROTOCOL_VERSION,
	    "capabilities", FY_CAPABILITIES,
	    "peers", npeers, "live_invites", trust_invite_count_live(db, fy_now_ms()),
	    "started", fy_time_json(s->started_ms), "state_dir", s->conf.state_dir);
	if (j != NULL && trust_identity_prev_spki(k->id) != NULL) {
		trust_fingerprint(trust_identity_prev_spki(k->id), fp);
		json_object_set_new(j, "previous_fingerprint", json_string(fp));
	}
out:
	fy_db_close(db);
	site_keys_put(k);
	return j;
}

static json_t *
op_invite(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct site_keys *k = site_keys_get(s);
	struct trust_invite iv;
	struct fy_db *db = NULL;
	char str[TRUST_INVITE_MAX + 1], idhex[2 * TRUST_INVITE_ID_LEN + 1];
	const char *ttl_s = arg_str(args, "ttl");
	int64_t ttl = s->conf.invite_ttl, now = fy_now_ms();
	json_t *j = NULL;
	int r;

	memset(&iv, 0, sizeof(iv));
	if (ttl_s != NULL && (fy_parse_duration(ttl_s, &ttl) != 0 || ttl < 60 || ttl > 3600)) {
		fy_fail(err, FY_ERR_INVAL, "--ttl \"%.32s\": give a duration from 1m to 1h (e.g. 10m)", ttl_s);
		goto out;
	}
	if (fy_random(iv.id, sizeof(iv.id)) != 0 || fy_random(iv.secret, sizeof(iv.secret)) != 0) {
		fy_fail(err, FY_ERR_CRYPTO, "no randomness");
		goto out;
	}
	memcpy(iv.spki, trust_identity_spki(k->id), TRUST_HASH_LEN);
	iv.expires_ms = now + ttl * 1000;
	snprintf(iv.endpoint, sizeof(iv.endpoint), "%s", fy_conf_endpoint(&s->conf));
	snprintf(iv.site, sizeof(iv.site), "%s", s->conf.site_name);
	(void)fy_hex_enc(iv.id, sizeof(iv.id), idhex, sizeof(idhex));
	if ((r = site_open_db(s, &db)) != 0 || (r = fy_db_begin(db)) != 0) {
		fy_fail(err, r, "database unavailable");
		goto out;
	}
	if ((r = trust_invite_store(db, &iv, now)) != 0 ||
	    (r = trust_audit(db, who->actor, NULL, "invite", "ok", "invite %s, expires in %llds",
	    idhex, (long long)ttl)) != 0 || (r = fy_db_commit(db)) != 0) {
		fy_db_rollback(db);
		fy_fail(err, r, "cannot store the invite");
		goto out;
	}
	if ((r = trust_invite_encode(&iv, str, sizeof(str))) != 0) {
		fy_fail(err, r, "cannot encode the invite");
		goto out;
	}
	j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "invite", str, "id", idhex,
	    "expires", fy_time_json(iv.expires_ms), "site", s->conf.site_name,
	    "fingerprint", trust_identity_fingerprint(k->id), "endpoint", iv.endpoint);
	fy_wipe(str, sizeof(str));
out:
	fy_wipe(&iv, sizeof(iv));
	fy_db_close(db);
	site_keys_put(k);
	return j;
}

static json_t *
op_join(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct trust_invite iv;
	struct trust_peer p, other;
	struct fed_client *c = NULL;
	struct fy_db *db = NULL;
	struct fy__JoinResponse resp;
	uint8_t exp[32], proof[32], want[32], got[32];
	char idhex[2 * TRUST_INVITE_ID_LEN + 1], sec64[32], proof64[64], fp[TRUST_FP_LEN];
	const char *str = arg_str(args, "invite");
	const uint8_t *pins[1];
	size_t gl;
	int64_t t0 = fy_mono_ms();
	json_t *j = NULL;
	int r;

	memset(&iv, 0, sizeof(iv));
	memset(&p, 0, sizeof(p));
	if (str == NULL) {
		fy_fail(err, FY_ERR_INVAL, "missing invite string");
		return NULL;
	}
	if ((r = trust_invite_parse(str, strlen(str), &iv)) != 0) {
		fy_fail(err, r, "invite string %s", r == FY_ERR_CHECKSUM ?
		    "is damaged (checksum mismatch): copy it again" : r == FY_ERR_VERSION ?
		    "is from an unsupported Ferry version" : r == FY_ERR_LIMIT ?
		    "is too long" : "is malformed (expected ferry1-...)");
		return NULL;
	}
	(void)fy_hex_enc(iv.id, sizeof(iv.id), idhex, sizeof(idhex));
	trust_fingerprint(iv.spki, fp);
	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		goto out;
	}
	if (strcmp(iv.site, s->conf.site_name) == 0) {
		fy_fail(err, FY_ERR_INVAL, "the invite is from this site (%s); run pair join at the other site", iv.site);
		goto out;
	}
	if (trust_peer_by_name(db, iv.site, &other) == 0) {
		trust_peer_clear(&other);
		fy_fail(err, FY_ERR_EXISTS, "already paired with a site named \"%s\"; remove it first", iv.site);
		goto out;
	}
	pins[0] = iv.spki;
	if ((r = fed_connect(s, iv.endpoint, pins, 1, &c, err)) != 0) {
		(void)trust_audit(db, who->actor, iv.site, "pair-join", "failed", "%s", err->msg);
		goto out;
	}
	{
		/* Our own SPKI as the peer sees it: from the keys this client uses. */
		struct site_keys *k = fed_client_keys(c);
		r = trust_tls_exporter(fed_client_ssl(c), "EXPORTER-ferry-pair", exp);
		if (r == 0)
			r = trust_proof(iv.secret, "ferry-join", exp, iv.spki, trust_identity_spki(k->id), proof);
		if (r == 0)
			r = trust_proof(iv.secret, "ferry-accept", exp, iv.spki, trust_identity_spki(k->id), want);
		memcpy(p.spki, iv.spki, TRUST_HASH_LEN);
	}
	if (r != 0 || fy_b64url_enc(iv.secret, sizeof(iv.secret), sec64, sizeof(sec64)) != 0 ||
	    fy_b64url_enc(proof, sizeof(proof), proof64, sizeof(proof64)) != 0) {
		fy_fail(err, FY_ERR_CRYPTO, "cannot compute the pairing proof");
		goto out;
	}
	memset(&resp, 0, sizeof(resp));
	if (soap_call_fy__Join(fed_client_soap(c), "http://peer/fed", NULL, idhex, sec64, proof64,
	    s->conf.site_name, (char *)fy_conf_endpoint(&s->conf), &resp) != SOAP_OK) {
		fed_client_error(c, "the join", err);
		(void)trust_audit(db, who->actor, iv.site, "pair-join", "refused", "%s", err->msg);
		goto out;
	}
	if (resp.proof == NULL || fy_b64url_dec(resp.proof, strlen(resp.proof), got, sizeof(got), &gl) != 0 ||
	    gl != sizeof(got) || !fy_ct_equal(got, want, sizeof(want))) {
		fy_fail(err, FY_ERR_AUTH, "%s did not prove it holds the invite secret; not paired "
		    "(it may have stored us: remove it there)", iv.endpoint);
		(void)trust_audit(db, who->actor, iv.site, "pair-join", "refused", "bad mirror proof");
		goto out;
	}
	if (resp.site == NULL || strcmp(resp.site, iv.site) != 0) {
		fy_fail(err, FY_ERR_PROTO, "peer calls itself \"%s\" but the invite says \"%s\"",
		    resp.site ? resp.site : "", iv.site);
		goto out;
	}
	snprintf(p.name, sizeof(p.name), "%s", iv.site);
	snprintf(p.endpoint, sizeof(p.endpoint), "%s", iv.endpoint);
	snprintf(p.role, sizeof(p.role), "joiner");
	p.paired_ms = fy_now_ms();
	if ((r = trust_tls_peer_cert_pem(fed_client_ssl(c), &p.cert_pem)) != 0 ||
	    (r = fy_db_begin(db)) != 0) {
		fy_fail(err, r, "cannot store the peer");
		goto out;
	}
	if ((r = trust_peer_add(db, &p)) != 0 ||
	    (r = trust_audit(db, who->actor, p.name, "pair", "ok", "joined %s with invite %s, key %s",
	    iv.endpoint, idhex, fp)) != 0 || (r = fy_db_commit(db)) != 0) {
		fy_db_rollback(db);
		fy_fail(err, r, "cannot store the peer");
		goto out;
	}
	log_info("paired with %s (%s) at %s", p.name, fp, p.endpoint);
	j = json_pack("{s:s, s:s, s:s, s:I}", "peer", p.name, "fingerprint", fp, "endpoint", p.endpoint,
	    "elapsed_ms", (json_int_t)(fy_mono_ms() - t0));
out:
	fy_wipe(&iv, sizeof(iv));
	fy_wipe(sec64, sizeof(sec64));
	trust_peer_clear(&p);
	fed_client_free(c);
	fy_db_close(db);
	return j;
}

struct peers_ctx {
	json_t *arr;
};

static int
peer_row(const struct trust_peer *p, void *arg)
{
	struct peers_ctx *pc = arg;
	char fp[TRUST_FP_LEN], pfp[TRUST_FP_LEN];
	json_t *o;

	trust_fingerprint(p->spki, fp);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", p->name, "fingerprint", fp,
	    "endpoint", p->endpoint, "role", p->role, "paired", fy_time_json(p->paired_ms),
	    "last_contact", fy_time_json(p->last_contact_ms));
	if (o == NULL)
		return FY_ERR_NOMEM;
	if (p->has_prev && p->prev_until_ms > fy_now_ms()) {
		trust_fingerprint(p->spki_prev, pfp);
		json_object_set_new(o, "previous_fingerprint", json_string(pfp));
		json_object_set_new(o, "previous_until", fy_time_json(p->prev_until_ms));
	}
	if (p->has_next) {
		trust_fingerprint(p->spki_next, pfp);
		json_object_set_new(o, "next_fingerprint", json_string(pfp));
	}
	json_array_append_new(pc->arr, o);
	return 0;
}

static json_t *
op_peers(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct peers_ctx pc;
	struct fy_db *db = NULL;
	int r;

	pc.arr = json_array();
	if ((r = site_open_db(s, &db)) != 0 || (r = trust_peer_list(db, peer_row, &pc)) != 0) {
		fy_fail(err, r, "cannot list peers");
		json_decref(pc.arr);
		pc.arr = NULL;
	}
	fy_db_close(db);
	return pc.arr;
}

static json_t *
op_ping(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct trust_peer p;
	struct fed_client *c = NULL;
	struct fy_db *db = NULL;
	struct fy__HelloResponse h;
	const char *name = arg_str(args, "site");
	json_int_t count = args ? json_integer_value(json_object_get(args, "count")) : 0;
	int64_t t0, t1, rtt, best = -1, sum = 0, worst = 0, offset = 0, tc0 = fy_mono_us(), tconn;
	json_t *j = NULL;
	int i, r;

	memset(&p, 0, sizeof(p));
	if (name == NULL) {
		fy_fail(err, FY_ERR_INVAL, "missing site name");
		return NULL;
	}
	if (count <= 0)
		count = 3;
	if (count > 100) {
		fy_fail(err, FY_ERR_INVAL, "--count: at most 100");
		return NULL;
	}
	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		return NULL;
	}
	if ((r = fed_connect_peer(s, db, name, &p, &c, err)) != 0) {
		(void)trust_audit(db, who->actor, name, "ping", "failed", "%s", err->msg);
		goto out;
	}
	tconn = fy_mono_us() - tc0;	/* TCP, TLS 1.3 and the first token */
	for (i = 0; i < count; i++) {
		int64_t w0;
		if (i > 0 && (r = fed_client_token(c, "fed", NULL, err)) != 0)
			goto out;
		memset(&h, 0, sizeof(h));
		w0 = fy_now_ms();
		t0 = fy_mono_us();
		if (soap_call_fy__Hello(fed_client_soap(c), "http://peer/fed", NULL, s->conf.site_name, w0, &h)
		    != SOAP_OK) {
			fed_client_error(c, "hello", err);
			goto out;
		}
		t1 = fy_mono_us();
		rtt = t1 - t0;
		if (best < 0 || rtt < best) {
			best = rtt;
			/* NTP-style: the peer's clock minus the midpoint of our send and receive. */
			offset = (int64_t)h.clockMs - (w0 + rtt / 2000);
		}
		if (rtt > worst)
			worst = rtt;
		sum += rtt;
		if (i + 1 == count) {
			char fp[TRUST_FP_LEN];
			trust_fingerprint(fed_client_peer_spki(c), fp);
			j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:f, s:f, s:f, s:I, s:f}",
			    "site", h.site ? h.site : "", "fingerprint", fp, "endpoint", p.endpoint,
			    "software", h.software ? h.software : "", "protocol", h.protocol,
			    "capabilities", h.capabilities ? h.capabilities : "",
			    "count", (json_int_t)count,
			    "rtt_avg_ms", (double)sum / (double)count / 1000.0,
			    "rtt_min_ms", (double)best / 1000.0, "rtt_max_ms", (double)worst / 1000.0,
			    "clock_offset_ms", (json_int_t)offset,
			    "connect_ms", (double)tconn / 1000.0);
		}
		soap_end(fed_client_soap(c));
	}
	if (trust_peer_touch(db, name, fy_now_ms()) != 0)
		log_debug("cannot record last contact of %s", name);
out:
	trust_peer_clear(&p);
	fed_client_free(c);
	fy_db_close(db);
	return j;
}

static json_t *
op_remove(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct trust_peer p;
	struct fed_client *c = NULL;
	struct fy_db *db = NULL;
	struct fy__UnpairResponse ur;
	struct fy_error perr;
	const char *name = arg_str(args, "site");
	int force = arg_bool(args, "force"), notified = 0, r;
	int64_t until;
	json_t *j = NULL;

	memset(&p, 0, sizeof(p));
	memset(&perr, 0, sizeof(perr));
	if (name == NULL) {
		fy_fail(err, FY_ERR_INVAL, "missing site name");
		return NULL;
	}
	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		return NULL;
	}
	if ((r = fed_connect_peer(s, db, name, &p, &c, &perr)) == 0) {
		memset(&ur, 0, sizeof(ur));
		if (soap_call_fy__Unpair(fed_client_soap(c), "http://peer/fed", NULL, "removed by admin", &ur)
		    == SOAP_OK)
			notified = 1;
		else
			fed_client_error(c, "unpair", &perr);
	}
	if (r == FY_ERR_NOTFOUND) {
		*err = perr;
		goto out;
	}
	if (!notified && !force) {
		fy_fail(err, perr.code ? perr.code : FY_ERR_CONNECT, "%s; nothing removed (use --force to "
		    "remove it here only)", perr.msg);
		(void)trust_audit(db, who->actor, name, "unpair", "failed", "%s", perr.msg);
		goto out;
	}
	until = fy_now_ms() + (s->conf.token_lifetime + s->conf.clock_skew) * 1000;
	if ((r = fy_db_begin(db)) != 0) {
		fy_fail(err, r, "database busy");
		goto out;
	}
	if ((r = trust_peer_remove(db, name, until)) != 0 ||
	    (r = trust_audit(db, who->actor, name, "unpair", "ok", notified ? "both sides" :
	    "forced, here only: %s", perr.msg)) != 0 || (r = fy_db_commit(db)) != 0) {
		fy_db_rollback(db);
		fy_fail(err, r, "cannot remove peer \"%s\"", name);
		goto out;
	}
	if (s->tp != NULL)
		tp_server_drop_peer(s->tp, name);
	data_pool_drop(s, name);
	j = json_pack("{s:s, s:b, s:s}", "site", name, "peer_notified", notified,
	    "peer_error", notified ? "" : perr.msg);
out:
	trust_peer_clear(&p);
	fed_client_free(c);
	fy_db_close(db);
	return j;
}

static int
collect_name(const struct trust_peer *p, void *arg)
{
	return json_array_append_new(arg, json_string(p->name)) == 0 ? 0 : FY_ERR_NOMEM;
}

static json_t *
op_rotate(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct site_keys *k = NULL;
	struct fy_db *db = NULL;
	char *cert = NULL, sig64[100], oldfp[TRUST_FP_LEN];
	uint8_t sig[64];
	int64_t clock = fy_now_ms();
	int force = arg_bool(args, "force"), r, failed = 0, n;
	size_t i;
	json_t *j = NULL, *arr = json_array(), *names = json_array(), *nm;

	pthread_mutex_lock(&s->rotate_mtx);
	k = site_keys_get(s);
	snprintf(oldfp, sizeof(oldfp), "%s", trust_identity_fingerprint(k->id));
	if ((r = site_open_db(s, &db)) != 0 || (r = trust_peer_list(db, collect_name, names)) != 0) {
		fy_fail(err, r, "cannot list peers");
		goto out;
	}
	if ((r = trust_identity_rotate_begin(k->id, s->conf.site_name, clock, &cert, sig)) != 0 ||
	    fy_b64url_enc(sig, sizeof(sig), sig64, sizeof(sig64)) != 0) {
		fy_fail(err, FY_ERR_CRYPTO, "cannot make a new key");
		goto out;
	}
	/* Announce to every peer first, signed by the current key. */
	n = (int)json_array_size(names);
	json_array_foreach(names, i, nm) {
		const char *name = json_string_value(nm);
		struct trust_peer p;
		struct fed_client *c = NULL;
		struct fy__RotateResponse rr;
		struct fy_error pe;
		memset(&pe, 0, sizeof(pe));
		memset(&rr, 0, sizeof(rr));
		if (fed_connect_peer(s, db, name, &p, &c, &pe) == 0 &&
		    soap_call_fy__Rotate(fed_client_soap(c), "http://peer/fed", NULL, cert, sig64, clock, &rr)
		    != SOAP_OK)
			fed_client_error(c, "the rotation", &pe);
		if (pe.code != 0)
			failed++;
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s}", "peer", name, "ok", pe.code == 0,
		    "error", pe.msg));
		trust_peer_clear(&p);
		fed_client_free(c);
	}
	if (failed > 0 && !force) {
		trust_identity_rotate_abort(k->id);
		fy_fail(err, FY_ERR_PEER, "%d of %d peers did not take the new key; the old key stays "
		    "(--force rotates anyway; those peers must then pair again)", failed, n);
		(void)trust_audit(db, who->actor, NULL, "rotate", "failed", "%d peers unreachable", failed);
		/*
		 * Peers that were told hold the abandoned key only as "next",
		 * pending until seen in use: it never will be, and our next
		 * announcement (signed by the key we keep) replaces it.
		 */
		goto out;
	}
	if ((r = trust_identity_rotate_commit(k->id, s->conf.state_dir)) != 0) {
		fy_fail(err, r, "cannot save the new key");
		goto out;
	}
	{
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(fy_db_handle(db), "INSERT OR REPLACE INTO meta (key, value) "
		    "VALUES ('rotated_at', ?)", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, fy_now_ms());
			(void)sqlite3_step(st);
			sqlite3_finalize(st);
		}
	}
	if ((r = site_reload_keys(s)) != 0) {
		fy_fail(err, r, "new key saved but not loaded; restart ferryd");
		goto out;
	}
	site_keys_put(k);
	k = site_keys_get(s);
	(void)trust_audit(db, who->actor, NULL, "rotate", "ok", "%s -> %s, %d/%d peers told", oldfp,
	    trust_identity_fingerprint(k->id), n - failed, n);
	j = json_pack("{s:s, s:s, s:I, s:O}", "previous_fingerprint", oldfp, "fingerprint",
	    trust_identity_fingerprint(k->id), "overlap_s", (json_int_t)s->conf.rotate_overlap, "peers", arr);
out:
	json_decref(arr);
	json_decref(names);
	free(cert);
	fy_db_close(db);
	site_keys_put(k);
	pthread_mutex_unlock(&s->rotate_mtx);
	return j;
}

struct audit_ctx {
	json_t *arr;
	size_t n, max;
};

static int
audit_row(const struct trust_audit_rec *a, void *arg)
{
	struct audit_ctx *ac = arg;

	if (ac->n >= ac->max)
		json_array_remove(ac->arr, 0);	/* keep the newest max records */
	else
		ac->n++;
	json_array_append_new(ac->arr, json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s}",
	    "seq", (json_int_t)a->seq, "time", fy_time_json(a->time_ms), "actor", a->actor, "peer", a->peer,
	    "action", a->action, "outcome", a->outcome, "detail", a->detail));
	return 0;
}

static json_t *
op_audit(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct audit_ctx ac;
	struct fy_db *db = NULL;
	const char *since_s = arg_str(args, "since");
	int64_t since = 0;
	int r;

	ac.arr = json_array();
	ac.n = 0;
	ac.max = 10000;
	if (since_s != NULL && fy_parse_since(since_s, fy_now_ms(), &since) != 0) {
		fy_fail(err, FY_ERR_INVAL, "--since \"%.40s\": give a duration (1h, 2d) or a date "
		    "(2026-11-21 or 2026-11-21T10:00:00)", since_s);
		goto bad;
	}
	if ((r = site_open_db(s, &db)) != 0 || (r = trust_audit_list(db, since, audit_row, &ac)) != 0) {
		fy_fail(err, r, "cannot read the audit trail");
		goto bad;
	}
	fy_db_close(db);
	return ac.arr;
bad:
	fy_db_close(db);
	json_decref(ac.arr);
	return NULL;
}

static json_t *
op_audit_verify(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct fy_db *db = NULL;
	int64_t count = 0, bad = 0;
	char why[256];
	json_t *j = NULL;
	int r;

	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		return NULL;
	}
	r = trust_audit_verify(db, &count, &bad, why, sizeof(why));
	if (r == 0 || r == FY_ERR_CHAIN)
		j = json_pack("{s:b, s:I, s:I, s:s}", "intact", r == 0, "records", (json_int_t)count,
		    "first_bad", (json_int_t)bad, "reason", why);
	else
		fy_fail(err, r, "cannot read the audit trail");
	fy_db_close(db);
	return j;
}

/*
 * End a link-test channel: end-of-stream, wait until the peer has taken
 * everything (*drained_ms: when), then check its answer, the digest and
 * count of what it received, against h and sent.  0, or an error that
 * names what was checked ("link test", "loss probe") and what went wrong.
 */
static int
verified_end(struct tp_channel *ch, XXH3_state_t *h, uint64_t sent, int drain_ms, const char *what,
    const char *name, int64_t *drained_ms, struct fy_error *err)
{
	XXH128_hash_t d = XXH3_128bits_digest(h);
	uint8_t answer[24];
	uint64_t hi = 0, lo = 0, total = 0;
	long got = 0, n;
	int r, i;

	if ((r = tp_channel_shutdown(ch)) != 0 || (r = tp_channel_drain(ch, drain_ms)) != 0)
		return fy_fail(err, r, "%s to %s: the peer did not take all the data: %s", what, name, fy_strerror(r));
	*drained_ms = fy_mono_ms();
	n = 0;
	while (got < (long)sizeof(answer) &&
	    (n = tp_channel_read(ch, answer + got, sizeof(answer) - (size_t)got, 10000)) > 0)
		got += n;
	if (got != (long)sizeof(answer))
		return fy_fail(err, n < 0 ? (int)n : FY_ERR_CHECKSUM, "%s to %s: no digest of the %llu bytes sent "
		    "came back: %s", what, name, (unsigned long long)sent, n < 0 ? fy_strerror((int)n) :
		    "the peer ended the channel");
	for (i = 0; i < 8; i++) {
		hi = hi << 8 | answer[i];
		lo = lo << 8 | answer[8 + i];
		total = total << 8 | answer[16 + i];
	}
	if (hi != d.high64 || lo != d.low64 || total != sent)
		return fy_fail(err, FY_ERR_CHECKSUM, "%s to %s: the peer received %llu of %llu bytes and its digest "
		    "differs", what, name, (unsigned long long)total, (unsigned long long)sent);
	return 0;
}

/* The loss probe after a link test: what a paced flow, well under the goodput, lost. */
struct loss_probe {
	double seconds, mbit, loss_pct;
	uint64_t bytes, retransmits;
};

#define PROBE_PIECE	(64u << 10)	/* bytes per write (a chunk each): the paced flow's bursts */

/*
 * The link test's bulk flow fills the bottleneck's queue, and where that
 * queue is short (one bandwidth-delay product, as on the WAN emulator)
 * its streams resend 2-10 % of their segments on a link that loses
 * nothing: that is their own overflow, not the path's loss.  So the loss
 * FY-LINK-004 judges is a second flow's, after the first has drained:
 * a quarter of the goodput (at least 1 Mbit/s), in 64 KiB writes, for ms
 * milliseconds, whose bytes the peer also verifies.  0 and *pr filled,
 * or an error (the caller reports the test without a loss figure).
 */
static int
probe_loss(struct tp_session *sess, const char *name, uint8_t *buf, uint64_t rate, int ms, struct loss_probe *pr,
    struct fy_error *err)
{
	struct tp_channel *ch = NULL;
	struct tp_stats st0, st1;
	XXH3_state_t *h = XXH3_createState();
	uint64_t sent = 0;
	int64_t t0, t1;
	int r;

	memset(pr, 0, sizeof(*pr));
	if (h == NULL || XXH3_128bits_reset(h) != XXH_OK) {
		XXH3_freeState(h);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	if ((r = tp_channel_open(sess, "link-test", &ch)) != 0) {
		fy_fail(err, r, "cannot open a channel to %s for the loss probe", name);
		goto out;
	}
	tp_channel_set_rate(ch, rate);
	tp_session_stats(sess, &st0);
	t0 = fy_mono_ms();
	while (fy_mono_ms() - t0 < ms) {
		buf[0]++;
		(void)XXH3_128bits_update(h, buf, PROBE_PIECE);
		sent += PROBE_PIECE;
		if ((r = tp_channel_write(ch, buf, PROBE_PIECE)) != 0) {
			fy_fail(err, r, "loss probe to %s failed: %s", name, fy_strerror(r));
			goto out;
		}
	}
	if ((r = verified_end(ch, h, sent, 30000, "loss probe", name, &t1, err)) != 0)
		goto out;
	tp_session_stats(sess, &st1);
	pr->seconds = (double)(t1 - t0) / 1000;
	pr->bytes = st1.tcp_acked > st0.tcp_acked ? st1.tcp_acked - st0.tcp_acked : 0;
	pr->retransmits = st1.retransmits > st0.retransmits ? st1.retransmits - st0.retransmits : 0;
	pr->mbit = pr->seconds > 0 ? (double)sent * 8 / pr->seconds / 1e6 : 0;
	pr->loss_pct = netmap_loss_pct((double)pr->retransmits, (double)pr->bytes);
	r = 0;
out:
	tp_channel_free(ch);
	XXH3_freeState(h);
	return r;
}

json_t *
op_link_test(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct tp_config cfg;
	struct tp_session *sess = NULL;
	struct tp_channel *ch = NULL;
	struct tp_stats st;
	const char *name = arg_str(args, "site"), *streams = arg_str(args, "streams");
	json_int_t secs = args ? json_integer_value(json_object_get(args, "seconds")) : 0;
	json_int_t limit = args ? json_integer_value(json_object_get(args, "bytes")) : 0;
	long long nstreams = 0;
	uint8_t *buf = NULL;
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t d;
	uint64_t sent = 0, base, wacked = 0;
	int64_t t0, t1, until, now, wt;
	double elapsed, rate_w = 0;
	json_t *j = NULL;
	struct loss_probe pr;
	struct fy_error perr;
	int r;

	if (name == NULL) {
		fy_fail(err, FY_ERR_INVAL, "missing site name");
		return NULL;
	}
	if (secs <= 0)
		secs = 10;
	if (secs > 600) {
		fy_fail(err, FY_ERR_INVAL, "--seconds: at most 600");
		return NULL;
	}
	data_config(s, &cfg);
	if (streams != NULL && strcmp(streams, "auto") != 0) {
		if (fy_parse_int(streams, 1, TP_MAX_STREAMS, &nstreams) != 0) {
			fy_fail(err, FY_ERR_INVAL, "--streams: give auto or 1-%d", TP_MAX_STREAMS);
			return NULL;
		}
		cfg.min_streams = cfg.max_streams = (int)nstreams;
	}
	/*
	 * With transport_rate_limit, no more than the limit lets through in the
	 * test's time: the rest would only queue (a whole window of it) and
	 * the drain would wait for it at the capped rate.
	 */
	if (cfg.rate_limit > 0 && (limit <= 0 || (uint64_t)limit > cfg.rate_limit * (uint64_t)secs))
		limit = (json_int_t)(cfg.rate_limit * (uint64_t)secs);
	if (h == NULL || XXH3_128bits_reset(h) != XXH_OK || (buf = malloc(cfg.chunk_size)) == NULL ||
	    fy_random(buf, cfg.chunk_size) != 0) {
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = data_session_open(s, name, &cfg, &sess, err)) != 0)
		goto out;
	if ((r = tp_channel_open(sess, "link-test", &ch)) != 0) {
		fy_fail(err, r, "cannot open a channel to %s", name);
		goto out;
	}
	/*
	 * Incompressible data for the whole period, as fast as the link takes
	 * it; but never more queued than the rate seen delivers in the time
	 * left (plus two chunks), or a slow link would take far longer than
	 * asked to drain the window: 30 s for a 2 s test at 20 Mbit/s.  The
	 * rate is the better of the average since the start and the best
	 * 200 ms, TCP's count, so that the streams' start does not hold the
	 * test back.
	 */
	t0 = fy_mono_ms();
	until = t0 + secs * 1000;
	tp_session_stats(sess, &st);
	base = st.tcp_acked;	/* the handshakes' */
	wt = t0;
	while ((now = fy_mono_ms()) < until && (limit <= 0 || sent < (uint64_t)limit)) {
		double rate;	/* bytes/ms */
		uint64_t dl;	/* bytes delivered since t0 */

		tp_session_stats(sess, &st);
		dl = st.tcp_acked > base ? st.tcp_acked - base : 0;
		if (now - wt >= 200) {
			if ((double)(dl - wacked) / (double)(now - wt) > rate_w)
				rate_w = (double)(dl - wacked) / (double)(now - wt);
			wt = now;
			wacked = dl;
		}
		rate = (double)dl / (double)(now - t0 > 50 ? now - t0 : 50);
		if (rate_w > rate)
			rate = rate_w;
		if (sent > dl && (double)(sent - dl) > rate * (double)(until - now) + 2.0 * cfg.chunk_size) {
			(void)poll(NULL, 0, 5);	/* enough queued; the rate may still rise */
			continue;
		}
		buf[0]++;	/* every chunk differs */
		(void)XXH3_128bits_update(h, buf, cfg.chunk_size);
		sent += cfg.chunk_size;
		if ((r = tp_channel_write(ch, buf, cfg.chunk_size)) != 0) {
			tp_session_stats(sess, &st);
			fy_fail(err, r, "link test to %s failed: %s", name, st.last_error[0] ? st.last_error :
			    fy_strerror(r));
			goto out;
		}
	}
	/* The peer's digest of what it received, and how much. */
	if ((r = verified_end(ch, h, sent, 60000, "link test", name, &t1, err)) != 0)
		goto out;
	d = XXH3_128bits_digest(h);
	tp_session_stats(sess, &st);
	elapsed = (double)(t1 - t0 > 0 ? t1 - t0 : 1) / 1000.0;
	tp_channel_free(ch);
	ch = NULL;
	/*
	 * A tenth of the test, 0.5 to 1 s, at a quarter of its goodput (at
	 * least 1 Mbit/s).  A probe that fails leaves the verified test
	 * standing, without a loss figure (loss_error says why).
	 */
	{
		uint64_t rate = (uint64_t)((double)st.bytes_acked / elapsed / 4);
		long long pms = secs * 100 < 500 ? 500 : secs * 100 > 1000 ? 1000 : secs * 100;
		if (rate < 125000)
			rate = 125000;
		memset(&perr, 0, sizeof(perr));
		if (probe_loss(sess, name, buf, rate, (int)pms, &pr, &perr) != 0) {
			log_warnx("link test to %s: %s", name, perr.msg);
			pr.loss_pct = -1;
		}
	}
	j = json_pack("{s:s, s:f, s:I, s:f, s:f, s:I, s:i, s:i, s:i, s:i, s:b, s:s, s:I, s:I, s:s}",
	    "site", name, "seconds", elapsed, "bytes", (json_int_t)st.bytes_acked,
	    "goodput_mbit", (double)st.bytes_acked * 8 / elapsed / 1e6,
	    "rtt_ms", st.min_rtt_ms > 0 ? st.min_rtt_ms : st.rtt_ms, "retransmits", (json_int_t)st.retransmits,
	    "streams", st.streams_target, "streams_max", st.streams_max_seen,
	    "sndbuf", st.sndbuf, "rcvbuf", st.rcvbuf, "buffers_capped", st.buffers_capped,
	    "congestion", st.congestion, "stream_failures", (json_int_t)st.stream_failures,
	    "chunks_resent", (json_int_t)st.chunks_resent,
	    "mode", nstreams ? "fixed" : "auto");
	if (j != NULL) {
		char hex[33];
		snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)d.high64,
		    (unsigned long long)d.low64);
		json_object_set_new(j, "verified", json_true());
		json_object_set_new(j, "xxh128", json_string(hex));
		json_object_set_new(j, "redials", json_integer((json_int_t)st.redials));
		json_object_set_new(j, "rtt_loaded_ms", json_real(st.rtt_ms));
		if (pr.loss_pct >= 0) {
			json_object_set_new(j, "loss_pct", json_real(pr.loss_pct));
			json_object_set_new(j, "probe", json_pack("{s:f, s:f, s:I, s:I}", "seconds", pr.seconds,
			    "mbit", pr.mbit, "bytes", (json_int_t)pr.bytes, "retransmits", (json_int_t)pr.retransmits));
		} else
			json_object_set_new(j, "loss_error", json_string(perr.msg[0] ? perr.msg :
			    "the loss probe carried no data"));
	}
	jobs_link_note(s, name, (long long)((double)st.bytes_acked * 8 / elapsed / 1e6),
	    (int64_t)((st.min_rtt_ms > 0 ? st.min_rtt_ms : st.rtt_ms) * 1000));
	(void)trust_audit_noerr(s, who->actor, name, "link-test", "ok", "%.0f Mbit/s over %d streams",
	    (double)st.bytes_acked * 8 / elapsed / 1e6, st.streams_target);
out:
	tp_channel_free(ch);
	/*
	 * A verified session of the default shape is kept for the next job to
	 * the peer (transport_keep_idle): a pre-flight precedes a move, and the
	 * move then starts on streams whose congestion windows the test opened.
	 * The next link test still measures on a session of its own.
	 */
	data_session_release(s, sess, j != NULL && (streams == NULL || strcmp(streams, "auto") == 0));
	XXH3_freeState(h);
	free(buf);
	return j;
}

const struct op_ent fy_ops[] = {
	{ "link-test", op_link_test },
	{ "status", op_status },
	{ "pair-invite", op_invite },
	{ "pair-join", op_join },
	{ "pair-remove", op_remove },
	{ "peers", op_peers },
	{ "peer-ping", op_ping },
	{ "identity-rotate", op_rotate },
	{ "audit", op_audit },
	{ "audit-verify", op_audit_verify },
	{ NULL, NULL },
};

const struct op_ent *
fy_op_find(const char *name)
{
	static const struct op_ent *const tables[] = { fy_ops, fy_vm_ops, fy_job_ops, fy_preflight_ops };
	const struct op_ent *o;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (o = tables[i]; o->name != NULL; o++)
			if (strcmp(o->name, name) == 0)
				return o;
	return NULL;
}
