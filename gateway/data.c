/*
 * data.c - the data plane as the gateway sees it: dialling and
 * authenticating transport streams to a paired peer (each stream presents
 * a single-use token with audience "data", bound to its TLS certificate),
 * accepting the peer's streams on the federation port (ALPN ferry-data/1),
 * and the services behind channel names ("link-test"; "mig/..." goes to job.c).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <xxhash.h>
#include "config.h"
#include "gateway.h"
#include "soapH.h"

void
data_config(const struct site *s, struct tp_config *c)
{
	const struct fy_conf *cf = &s->conf;

	tp_config_defaults(c);
	c->min_streams = (int)cf->tp_streams_min;
	c->max_streams = (int)cf->tp_streams_max;
	c->chunk_size = (size_t)cf->tp_chunk_size;
	c->window = (size_t)cf->tp_window;
	c->compress = strcmp(cf->tp_compress, "lz4") == 0 ? TP_COMPRESS_LZ4 :
	    strcmp(cf->tp_compress, "zstd") == 0 ? TP_COMPRESS_ZSTD : TP_COMPRESS_NONE;
	c->rate_limit = (uint64_t)cf->tp_rate_limit * 1000000 / 8;
	c->stream_timeout_ms = (int)cf->tp_stream_timeout * 1000;
	c->dead_timeout_ms = (int)cf->tp_dead_timeout * 1000;
	c->link_rate_hint = (uint64_t)cf->tp_link_rate * 1000000 / 8;
	c->congestion = cf->tp_congestion;
}

/* ---------------------------------------------------------------- acceptor */

static int
verify_stream(void *arg, SSL *ssl, const char *cred, char *peer, size_t peercap)
{
	struct site *s = arg;
	struct site_keys *k = site_keys_get(s);
	struct trust_token_check chk;
	struct trust_token t;
	struct trust_peer p;
	struct fy_db *db = NULL;
	uint8_t spki[TRUST_HASH_LEN], certhash[TRUST_HASH_LEN];
	char fp[TRUST_FP_LEN];
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = trust_tls_peer_hashes(ssl, spki, certhash)) != 0 || (r = site_open_db(s, &db)) != 0)
		goto out;
	trust_fingerprint(spki, fp);
	if ((r = trust_peer_by_spki(db, spki, fy_now_ms(), &p)) != 0) {
		r = trust_denied(db, spki, fy_now_ms()) == FY_ERR_REVOKED ? FY_ERR_REVOKED : FY_ERR_AUTH;
		(void)trust_audit(db, fp, NULL, "data-stream", "refused", "key %s is %s", fp,
		    r == FY_ERR_REVOKED ? "revoked" : "not a paired site");
		goto out;
	}
	memset(&chk, 0, sizeof(chk));
	chk.aud = "data";
	chk.sub = spki;
	chk.cnf = certhash;
	chk.now_ms = fy_now_ms();
	chk.skew_ms = s->conf.clock_skew * 1000;
	if ((r = trust_token_verify(k->id, cred, &chk, &t)) != 0 ||
	    (r = trust_replay_check(db, t.id, t.exp_ms + chk.skew_ms, chk.now_ms)) != 0) {
		(void)trust_audit(db, p.name, p.name, "data-stream", "refused", "token: %s", fy_strerror(r));
		goto out;
	}
	snprintf(peer, peercap, "%s", p.name);
	r = 0;
out:
	trust_peer_clear(&p);
	fy_db_close(db);
	site_keys_put(k);
	return r;
}

/*
 * link-test: take everything, hash it in order (XXH3-128), and answer with
 * the digest and the byte count after the sender's end-of-stream, so the
 * sender knows every byte arrived, once, in order.
 */
static void
serve_link_test(struct tp_channel *c)
{
	uint8_t *buf = malloc(1 << 20), out[24];
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t d;
	uint64_t total = 0;
	long n;
	int i;

	if (buf == NULL || h == NULL || XXH3_128bits_reset(h) != XXH_OK)
		goto out;
	while ((n = tp_channel_read(c, buf, 1 << 20, 60000)) > 0) {
		(void)XXH3_128bits_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0) {
		log_warnx("link-test: %s", fy_strerror((int)n));
		goto out;
	}
	d = XXH3_128bits_digest(h);
	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(d.high64 >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(d.low64 >> (56 - 8 * i));
		out[16 + i] = (uint8_t)(total >> (56 - 8 * i));
	}
	if (tp_channel_write(c, out, sizeof(out)) != 0 || tp_channel_shutdown(c) != 0 ||
	    tp_channel_drain(c, 10000) != 0)
		log_debug("link-test: the peer left first");
out:
	XXH3_freeState(h);
	free(buf);
}

static void
on_channel(void *arg, struct tp_session *sess, struct tp_channel *c)
{
	if (strcmp(tp_channel_name(c), "link-test") == 0)
		serve_link_test(c);
	else if (strncmp(tp_channel_name(c), "mig/", 4) == 0) {
		job_channel(arg, sess, c);	/* takes c */
		return;
	} else
		log_warnx("transport: no service for channel \"%s\"; refused", tp_channel_name(c));
	tp_channel_free(c);
}

/*
 * Sessions kept between jobs: one idle session per peer, kept after a job
 * for the next job to the same peer (an evacuation moves VM after VM).
 * The next job skips dialling its streams (a TLS handshake, a token call
 * and a second handshake each, on both gateways' CPUs while the
 * destination starts QEMU) and finds their congestion windows open.  A
 * session is kept transport_keep_idle seconds, and dropped sooner when the
 * peer is unpaired, at shutdown, or when it is not usable any more.
 */
#define POOL_MAX 16
#define DIAL_KEYS 4	/* distinct peer keys a session's streams may have been pinned to */
static int session_still_paired(struct site *, struct tp_session *);
struct data_pool {
	pthread_mutex_t mtx;
	struct pooled {
		char peer[64];
		struct tp_session *sess;
		int64_t since;
	} e[POOL_MAX];
	struct rtt_memo {		/* the last round trip measured to a peer */
		char peer[64];
		int64_t us;
	} rtt[POOL_MAX];
};

int
data_init(struct site *s)
{
	struct tp_config cfg;

	if ((s->pool = calloc(1, sizeof(*s->pool))) == NULL)
		return FY_ERR_NOMEM;
	pthread_mutex_init(&s->pool->mtx, NULL);
	data_config(s, &cfg);
	return tp_server_new(&cfg, verify_stream, on_channel, s, &s->tp);
}

void
data_fini(struct site *s)
{
	data_pool_drop(s, NULL);
	tp_server_free(s->tp);
	s->tp = NULL;
	if (s->pool != NULL) {
		pthread_mutex_destroy(&s->pool->mtx);
		free(s->pool);
		s->pool = NULL;
	}
}

/* Close the kept sessions to peer (NULL: all), or those idle past their time (expired_only). */
static void
pool_sweep(struct site *s, const char *peer, int expired_only)
{
	struct tp_session *gone[POOL_MAX];
	int64_t now = fy_mono_ms();
	int i, n = 0;

	if (s->pool == NULL)
		return;
	pthread_mutex_lock(&s->pool->mtx);
	for (i = 0; i < POOL_MAX; i++) {
		struct pooled *e = &s->pool->e[i];
		if (e->sess == NULL || (peer != NULL && strcmp(e->peer, peer) != 0))
			continue;
		if (expired_only && now - e->since < s->conf.tp_keep_idle * 1000 && tp_session_idle_ok(e->sess))
			continue;
		gone[n++] = e->sess;
		e->sess = NULL;
	}
	pthread_mutex_unlock(&s->pool->mtx);
	for (i = 0; i < n; i++) {
		log_debug("transport to %s: idle session closed", tp_session_peer(gone[i]));
		data_session_close(gone[i], 1000);
	}
}

void
data_end_sessions(struct site *s)
{
	if (s->tp != NULL)
		tp_server_drop_peer(s->tp, NULL);
}

void
data_pool_drop(struct site *s, const char *peer)
{
	pool_sweep(s, peer, 0);
}

void
data_pool_expire(struct site *s)
{
	pool_sweep(s, NULL, 1);
}

/*
 * The path round trip to peer its last session's TCP measured (recorded
 * as an initiated session is closed or kept: rtt_memo_from): the next
 * session to the peer dials all its initial streams at once from it.
 */
static void
rtt_memo_set(struct site *s, const char *peer, int64_t us)
{
	struct rtt_memo *m = NULL;
	int i;

	if (s->pool == NULL || us <= 0)
		return;
	pthread_mutex_lock(&s->pool->mtx);
	for (i = 0; i < POOL_MAX; i++) {
		if (strcmp(s->pool->rtt[i].peer, peer) == 0) {
			m = &s->pool->rtt[i];
			break;
		}
		if (m == NULL && s->pool->rtt[i].peer[0] == '\0')
			m = &s->pool->rtt[i];
	}
	if (m == NULL)
		m = &s->pool->rtt[fy_mono_ms() % POOL_MAX];	/* full: any one goes */
	snprintf(m->peer, sizeof(m->peer), "%s", peer);
	m->us = us;
	pthread_mutex_unlock(&s->pool->mtx);
}

static int64_t
rtt_memo_get(struct site *s, const char *peer)
{
	int64_t us = 0;
	int i;

	if (s->pool == NULL)
		return 0;
	pthread_mutex_lock(&s->pool->mtx);
	for (i = 0; i < POOL_MAX; i++)
		if (strcmp(s->pool->rtt[i].peer, peer) == 0)
			us = s->pool->rtt[i].us;
	pthread_mutex_unlock(&s->pool->mtx);
	return us;
}

/* A session's path round trip, as its streams' TCP measured it, for the next one to its peer. */
static void
rtt_memo_from(struct site *s, const char *peer, struct tp_session *sess)
{
	struct tp_stats st;

	tp_session_stats(sess, &st);
	if (st.min_rtt_ms > 0)
		rtt_memo_set(s, peer, (int64_t)(st.min_rtt_ms * 1000));
}

int
data_session_take(struct site *s, const char *peer, const struct tp_config *cfg, struct tp_session **out,
    int *reused, struct fy_error *err)
{
	struct tp_session *sess = NULL;
	int i;

	*reused = 0;
	if (s->pool != NULL) {
		pthread_mutex_lock(&s->pool->mtx);
		for (i = 0; i < POOL_MAX && sess == NULL; i++)
			if (s->pool->e[i].sess != NULL && strcmp(s->pool->e[i].peer, peer) == 0) {
				sess = s->pool->e[i].sess;
				s->pool->e[i].sess = NULL;
			}
		pthread_mutex_unlock(&s->pool->mtx);
	}
	if (sess != NULL) {
		/*
		 * Still paired with the keys its streams were pinned to (an unpair
		 * drops the kept sessions; this is the belt to those braces: a job
		 * may have released it during an unpair and a new pairing under
		 * the same name), still up.
		 */
		if (session_still_paired(s, sess) && tp_session_idle_ok(sess)) {
			*out = sess;
			*reused = 1;
			return 0;
		}
		data_session_close(sess, 1000);
	}
	return data_session_open(s, peer, cfg, out, err);
}

void
data_session_release(struct site *s, struct tp_session *sess, int keep)
{
	struct tp_session *old = NULL;
	const char *peer;
	int i, slot = -1;

	if (sess == NULL)
		return;
	if (!keep || s->pool == NULL || s->conf.tp_keep_idle <= 0 || !tp_session_idle_ok(sess)) {
		data_session_close(sess, 5000);
		return;
	}
	/* Not kept for a peer unpaired (or paired anew) while the job ran: its streams are idle now. */
	if (!session_still_paired(s, sess)) {
		data_session_close(sess, 1000);
		return;
	}
	peer = tp_session_peer(sess);
	rtt_memo_from(s, peer, sess);	/* kept: a session dialled beside it starts from it too */
	pthread_mutex_lock(&s->pool->mtx);
	/* One per peer: a kept one is replaced by the newer (its windows are the fresher). */
	for (i = 0; i < POOL_MAX; i++) {
		if (s->pool->e[i].sess != NULL && strcmp(s->pool->e[i].peer, peer) == 0) {
			old = s->pool->e[i].sess;
			slot = i;
			break;
		}
		if (s->pool->e[i].sess == NULL && slot < 0)
			slot = i;
	}
	if (slot >= 0) {
		snprintf(s->pool->e[slot].peer, sizeof(s->pool->e[slot].peer), "%s", peer);
		s->pool->e[slot].sess = sess;
		s->pool->e[slot].since = fy_mono_ms();
		sess = NULL;
	}
	pthread_mutex_unlock(&s->pool->mtx);
	data_session_close(old, 1000);
	data_session_close(sess, 5000);		/* no room */
}

void
data_serve_stream(struct site *s, int fd, SSL *ssl, const char *addr)
{
	tp_server_stream(s->tp, fd, ssl, addr);
}

/* ---------------------------------------------------------------- initiator */

struct dialer {
	struct site *s;
	char peer[64];
	pthread_mutex_t mtx;		/* streams are dialled from their own threads */
	uint8_t keys[DIAL_KEYS][TRUST_HASH_LEN];	/* the peer keys its streams were pinned to */
	int nkeys, overflow;
	int64_t rtt_us;			/* the round trip, known or measured while dialling; 0 unknown */
};

/* tp_config.rtt_hint: the round trip, as soon as it is known. */
static int64_t
dial_rtt_hint(void *arg)
{
	struct dialer *d = arg;
	int64_t us;

	pthread_mutex_lock(&d->mtx);
	us = d->rtt_us;
	pthread_mutex_unlock(&d->mtx);
	return us;
}

/* The key a stream of d's session was pinned to. */
static void
dial_note_key(struct dialer *d, const uint8_t spki[TRUST_HASH_LEN])
{
	int i;

	pthread_mutex_lock(&d->mtx);
	for (i = 0; i < d->nkeys; i++)
		if (fy_ct_equal(d->keys[i], spki, TRUST_HASH_LEN))
			break;
	if (i == d->nkeys) {
		if (d->nkeys < DIAL_KEYS)
			memcpy(d->keys[d->nkeys++], spki, TRUST_HASH_LEN);
		else
			d->overflow = 1;
	}
	pthread_mutex_unlock(&d->mtx);
}

/* 1 when k is one of the keys p is pinned to now (as client_still_paired in job.c). */
static int
pinned_now(const struct trust_peer *p, const uint8_t *k)
{
	return fy_ct_equal(k, p->spki, TRUST_HASH_LEN) || (p->has_next && fy_ct_equal(k, p->spki_next,
	    TRUST_HASH_LEN)) || (p->has_prev && p->prev_until_ms > fy_now_ms() &&
	    fy_ct_equal(k, p->spki_prev, TRUST_HASH_LEN));
}

/*
 * 1 when sess's peer is still paired here under its name and every key its
 * streams were pinned to is still one of that pairing's; 0 otherwise (a
 * new pairing under the same name, a key rotated out, the peer unpaired).
 */
static int
session_still_paired(struct site *s, struct tp_session *sess)
{
	struct dialer *d = tp_session_arg(sess);
	uint8_t keys[DIAL_KEYS][TRUST_HASH_LEN];
	struct trust_peer p;
	struct fy_db *db = NULL;
	int i, n, ok = 0;

	if (d == NULL)
		return 0;
	pthread_mutex_lock(&d->mtx);
	n = d->overflow ? 0 : d->nkeys;
	memcpy(keys, d->keys, sizeof(keys));
	pthread_mutex_unlock(&d->mtx);
	memset(&p, 0, sizeof(p));
	if (n > 0 && site_open_db(s, &db) == 0 && trust_peer_by_name(db, d->peer, &p) == 0)
		for (ok = 1, i = 0; i < n && ok; i++)
			ok = pinned_now(&p, keys[i]);
	trust_peer_clear(&p);
	fy_db_close(db);
	return ok;
}

/* A stream's own TLS connection, made beside the token request. */
struct stream_conn {
	struct site *s;
	const char *endpoint;
	const uint8_t *const *pins;
	int npins, fd, r;
	SSL *ssl;
	uint8_t spki[TRUST_HASH_LEN];
	struct fy_error err;
	int64_t ms;
};

static void *
stream_conn_main(void *arg)
{
	struct stream_conn *sc = arg;
	int64_t t0 = fy_mono_ms();

	sc->r = fed_dial(sc->s, sc->endpoint, sc->pins, sc->npins, TRUST_ALPN_DATA, &sc->fd, &sc->ssl, sc->spki,
	    &sc->err);
	sc->ms = fy_mono_ms() - t0;
	return NULL;
}

static int
dial(void *arg, int idx, int *fdp, SSL **sslp, char *cred, size_t credcap, char *errbuf, size_t errcap)
{
	struct dialer *d = arg;
	struct trust_peer p;
	struct fed_client *c = NULL;
	struct fy__IssueTokenResponse tr;
	struct fy_db *db = NULL;
	struct fy_error err;
	struct stream_conn sc;
	const uint8_t *pins[3];
	char scope[32];
	pthread_t th;
	int64_t t0, t1, t2;
	int n = 0, r, beside = 0;

	memset(&p, 0, sizeof(p));
	memset(&err, 0, sizeof(err));
	memset(&sc, 0, sizeof(sc));
	sc.fd = -1;
	if ((r = site_open_db(d->s, &db)) != 0)
		goto out;
	if ((r = trust_peer_by_name(db, d->peer, &p)) != 0) {
		fy_fail(&err, r, "no paired site named \"%s\" (see ferryctl peers)", d->peer);
		goto out;
	}
	pins[n++] = p.spki;
	if (p.has_next)
		pins[n++] = p.spki_next;
	if (p.has_prev && p.prev_until_ms > fy_now_ms())
		pins[n++] = p.spki_prev;
	/*
	 * The stream's own connection (TCP, TLS 1.3 with the data ALPN, the
	 * pin checked) is made beside the token request rather than after it:
	 * the dial costs the token's three round trips and the HELLO's, not
	 * five and one.
	 */
	sc.s = d->s;
	sc.endpoint = p.endpoint;
	sc.pins = pins;
	sc.npins = n;
	beside = pthread_create(&th, NULL, stream_conn_main, &sc) == 0;
	/*
	 * A fresh single-use "data" token from the peer's token service (the
	 * pinned TLS connection is its authentication), every step bounded by
	 * connect_timeout so dialling never outlasts the transport's timeouts.
	 */
	t0 = fy_mono_ms();
	if ((r = fed_connect(d->s, p.endpoint, pins, n, &c, &err)) != 0)
		goto out;
	t1 = fy_mono_ms();
	{
		/* Its TCP has measured the round trip (handshakes): the session may dial the rest now. */
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);
		if (getsockopt(fed_client_fd(c), IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_rtt > 0) {
			pthread_mutex_lock(&d->mtx);
			if (d->rtt_us <= 0)
				d->rtt_us = ti.tcpi_rtt;
			pthread_mutex_unlock(&d->mtx);
		}
	}
	fed_client_set_timeout(c, d->s->conf.connect_timeout);
	memset(&tr, 0, sizeof(tr));
	snprintf(scope, sizeof(scope), "stream-%d", idx);
	if (soap_call_fy__IssueToken(fed_client_soap(c), "http://peer/fed", NULL, "data", scope, &tr) != SOAP_OK ||
	    tr.token == NULL || strlen(tr.token) >= credcap) {
		r = fed_client_error(c, "the data token request", &err);
		goto out;
	}
	snprintf(cred, credcap, "%s", tr.token);
	t2 = fy_mono_ms();
	if (beside) {
		pthread_join(th, NULL);
		beside = 0;
	} else
		(void)stream_conn_main(&sc);
	if ((r = sc.r) != 0) {
		err = sc.err;
		goto out;
	}
	dial_note_key(d, sc.spki);
	*fdp = sc.fd;
	*sslp = sc.ssl;
	sc.fd = -1;
	sc.ssl = NULL;
	log_debug("transport to %s, stream %d: connect %lld ms, token %lld ms, stream TLS %lld ms (beside them), "
	    "waited %lld ms more", d->peer, idx, (long long)(t1 - t0), (long long)(t2 - t1), (long long)sc.ms,
	    (long long)(fy_mono_ms() - t2));
out:
	if (beside)
		pthread_join(th, NULL);
	if (sc.ssl != NULL)
		SSL_free(sc.ssl);
	if (sc.fd >= 0)
		close(sc.fd);
	if (r != 0) {
		fy_wipe(cred, credcap);
		if (err.msg[0]) {
			log_warnx("transport to %s, stream %d: %s", d->peer, idx, err.msg);
			snprintf(errbuf, errcap, "%s", err.msg);
		}
	}
	fed_client_free(c);
	trust_peer_clear(&p);
	fy_db_close(db);
	return r;
}

int
data_session_open(struct site *s, const char *peer, const struct tp_config *cfg, struct tp_session **out,
    struct fy_error *err)
{
	struct dialer *d;
	struct tp_config c2;
	char e[300];
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	d->s = s;
	snprintf(d->peer, sizeof(d->peer), "%s", peer);
	pthread_mutex_init(&d->mtx, NULL);
	d->rtt_us = rtt_memo_get(s, peer);
	c2 = *cfg;
	c2.peer = d->peer;
	c2.rtt_hint = dial_rtt_hint;
	if ((r = tp_session_open(&c2, dial, d, out, e, sizeof(e))) != 0) {
		/* Its streams' threads are joined by then. */
		pthread_mutex_destroy(&d->mtx);
		free(d);
		return fy_fail(err, r, "transport to %s: %.300s", peer, e);
	}
	/* d is freed by data_session_close. */
	return 0;
}

void
data_session_close(struct tp_session *sess, int timeout_ms)
{
	struct dialer *d;

	if (sess == NULL)
		return;
	d = tp_session_arg(sess);
	if (d != NULL)
		rtt_memo_from(d->s, d->peer, sess);
	tp_session_close(sess, timeout_ms);
	if (d != NULL) {
		pthread_mutex_destroy(&d->mtx);
		free(d);
	}
}
