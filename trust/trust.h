/*
 * trust.h - site identity, TLS policy, SPKI pins, pairing, tokens, replay
 * cache, deny-list and the hash-chained audit trail.  trust/ owns every
 * private key: other modules get an SSL_CTX or a signature, never the key.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_TRUST_H
#define FY_TRUST_H

#include <stdint.h>
#include "common.h"

struct ssl_ctx_st;
struct ssl_st;
struct fy_db;

#define TRUST_HASH_LEN		32	/* SHA-256 */
#define TRUST_FP_LEN		72	/* fingerprint text incl. NUL (52 + 12 dashes) */
#define TRUST_SECRET_LEN	16	/* 128-bit invite secret */
#define TRUST_INVITE_ID_LEN	8
#define TRUST_ENDPOINT_MAX	255
#define TRUST_INVITE_MAX	600	/* longest invite string accepted (the largest encodes to 529) */
#define TRUST_TOKEN_MAX		1024	/* longest token string accepted */
#define TRUST_SCOPE_MAX		64
#define TRUST_ALPN_FED		"ferry-fed/1"	/* federation API (SOAP) */
#define TRUST_ALPN_DATA		"ferry-data/1"	/* transport streams, same port */
#define TRUST_PROTOCOL_VERSION	1

/* ---- identity (identity.c) ---- */
struct trust_identity;
/*
 * Load the site key and certificate from dir (key.pem mode 0600, cert.pem),
 * generating an Ed25519 key and a self-signed certificate named after site
 * on first start.  Also loads key.prev.pem when present (rotation overlap).
 */
int trust_identity_load(const char *dir, const char *site, struct trust_identity **out) FY_WUR;
void trust_identity_free(struct trust_identity *);
const uint8_t *trust_identity_spki(const struct trust_identity *);
const uint8_t *trust_identity_prev_spki(const struct trust_identity *); /* NULL if none */
const char *trust_identity_fingerprint(const struct trust_identity *);
/* The certificate in PEM (NUL-terminated, owned by the identity). */
const char *trust_identity_cert_pem(const struct trust_identity *);
/* Sign with the current key (Ed25519); sig must hold 64 bytes. */
int trust_identity_sign(const struct trust_identity *, const void *, size_t, uint8_t sig[64]) FY_WUR;
/* Verify with our current key or, when allow_prev, the previous one. */
int trust_identity_verify_own(const struct trust_identity *, const void *, size_t,
    const uint8_t sig[64], int allow_prev) FY_WUR;
/*
 * Rotation, step 1: make a new key and certificate (kept in memory as
 * "next"), and return the announcement: the new certificate PEM and an
 * Ed25519 signature by the current key over "ferry-rotate" || new SPKI ||
 * clock.  Step 2 (trust_identity_rotate_commit) makes it current on disk,
 * keeping the old key as key.prev.pem; the caller then loads a new
 * identity (the one in memory is never changed under other threads).
 */
int trust_identity_rotate_begin(struct trust_identity *, const char *site, int64_t clock_ms,
    char **cert_pem, uint8_t sig[64]) FY_WUR;
int trust_identity_rotate_commit(struct trust_identity *, const char *dir) FY_WUR;
void trust_identity_rotate_abort(struct trust_identity *);
/* Drop key.prev.pem once the overlap has passed. */
int trust_identity_forget_prev(const char *dir) FY_WUR;

/* Hashes and fingerprints of PEM certificates and X509 objects. */
int trust_cert_pem_spki(const char *pem, uint8_t spki[TRUST_HASH_LEN]) FY_WUR;
int trust_verify_rotation(const uint8_t old_spki[TRUST_HASH_LEN], const char *old_cert_pem,
    const char *new_cert_pem, int64_t clock_ms, const uint8_t sig[64],
    uint8_t new_spki[TRUST_HASH_LEN]) FY_WUR;
/* "ABCD-EFGH-..." (base32 of the SPKI SHA-256, groups of 4). */
void trust_fingerprint(const uint8_t spki[TRUST_HASH_LEN], char out[TRUST_FP_LEN]);
/* Accepts a fingerprint with or without dashes, any case; or 64 hex chars. */
int trust_fingerprint_parse(const char *, uint8_t spki[TRUST_HASH_LEN]) FY_WUR;

/* ---- TLS policy (tls.c) ---- */
/*
 * A TLS 1.3-only context (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305),
 * presenting the site certificate, requiring the peer's certificate, with
 * no CA store: the caller checks the peer's SPKI against a pin after the
 * handshake.  Server contexts require a client certificate.
 */
int trust_tls_ctx(const struct trust_identity *, int server, struct ssl_ctx_st **out) FY_WUR;
/* Client: offer only this ALPN protocol on ssl (TRUST_ALPN_FED or TRUST_ALPN_DATA). */
int trust_tls_set_alpn(struct ssl_st *, const char *proto) FY_WUR;
/* Peer's SPKI hash and certificate (DER) hash after the handshake. */
int trust_tls_peer_hashes(struct ssl_st *, uint8_t spki[TRUST_HASH_LEN],
    uint8_t certhash[TRUST_HASH_LEN]) FY_WUR;
int trust_tls_peer_cert_pem(struct ssl_st *, char **pem) FY_WUR;
/* RFC 8446 exporter with Ferry's label, 32 bytes. */
int trust_tls_exporter(struct ssl_st *, const char *label, uint8_t out[32]) FY_WUR;

/* ---- invites (invite.c, pure) ---- */
struct trust_invite {
	uint8_t id[TRUST_INVITE_ID_LEN];
	uint8_t secret[TRUST_SECRET_LEN];
	uint8_t spki[TRUST_HASH_LEN];
	int64_t expires_ms;
	char endpoint[TRUST_ENDPOINT_MAX + 1];
	char site[64];
};
/* "ferry1-" + base64url(payload || 4-byte check). */
int trust_invite_encode(const struct trust_invite *, char *out, size_t cap) FY_WUR;
/* Clear errors: FY_ERR_FORMAT (damaged), FY_ERR_VERSION, FY_ERR_CHECKSUM, FY_ERR_LIMIT. */
int trust_invite_parse(const char *, size_t, struct trust_invite *) FY_WUR;
void trust_secret_hash(const uint8_t secret[TRUST_SECRET_LEN], uint8_t out[TRUST_HASH_LEN]);

/* ---- pairing proof (proof.c, pure) ---- */
/*
 * HMAC-SHA256(secret, label || exporter || spki_inviter || spki_joiner),
 * label "ferry-join" from the joiner, "ferry-accept" from the inviter.
 */
int trust_proof(const uint8_t secret[TRUST_SECRET_LEN], const char *label,
    const uint8_t exporter[32], const uint8_t spki_a[TRUST_HASH_LEN],
    const uint8_t spki_b[TRUST_HASH_LEN], uint8_t out[32]) FY_WUR;

/* ---- tokens (token.c; parse is pure) ---- */
struct trust_token {
	uint8_t id[16];
	uint8_t iss[TRUST_HASH_LEN];	/* issuer SPKI (the callee) */
	uint8_t sub[TRUST_HASH_LEN];	/* holder site SPKI (the caller) */
	uint8_t cnf[TRUST_HASH_LEN];	/* holder certificate hash (RFC 8705) */
	int64_t nbf_ms, exp_ms;
	char aud[TRUST_SCOPE_MAX + 1];	/* "fed" or "data" */
	char scope[TRUST_SCOPE_MAX + 1];
};
int trust_token_issue(const struct trust_identity *, struct trust_token *, char *out, size_t cap) FY_WUR;
/* Decode without verifying: FY_ERR_FORMAT/LIMIT/VERSION on damage. */
int trust_token_parse(const char *, size_t, struct trust_token *, uint8_t sig[64],
    const uint8_t **signed_part, size_t *signed_len, struct fy_buf **raw) FY_WUR;
struct trust_token_check {
	const char *aud;		/* expected audience */
	const uint8_t *sub;		/* presenting peer SPKI */
	const uint8_t *cnf;		/* presenting peer certificate hash */
	int64_t now_ms;
	int64_t skew_ms;
};
/*
 * Verify signature (our current or previous key), audience, holder
 * binding and time window with skew.  Does not touch the replay cache.
 * On success, and on a failure after the signature verified, out holds the
 * token (so errors can quote it); otherwise out is zeroed.
 */
int trust_token_verify(const struct trust_identity *, const char *tok,
    const struct trust_token_check *, struct trust_token *out) FY_WUR;

/* ---- SQLite-backed state (store.c) ---- */
int trust_db_open(const char *path, struct fy_db **out) FY_WUR;
/* Replay cache: FY_ERR_REPLAY when id was seen; purges expired ids. */
int trust_replay_check(struct fy_db *, const uint8_t id[16], int64_t keep_until_ms, int64_t now_ms) FY_WUR;

struct trust_peer {
	char name[64];
	uint8_t spki[TRUST_HASH_LEN];
	uint8_t spki_prev[TRUST_HASH_LEN];
	int has_prev;
	uint8_t spki_next[TRUST_HASH_LEN];	/* announced, not yet seen in use */
	int has_next;
	int64_t prev_until_ms;
	char endpoint[TRUST_ENDPOINT_MAX + 1];
	char role[16];			/* "inviter" or "joiner": who we were */
	int64_t paired_ms, last_contact_ms;
	char *cert_pem;			/* malloc'd */
};
void trust_peer_clear(struct trust_peer *);
int trust_peer_by_name(struct fy_db *, const char *, struct trust_peer *) FY_WUR;
/* Matches the current key, the announced next one, or the previous one while its overlap lasts. */
int trust_peer_by_spki(struct fy_db *, const uint8_t spki[TRUST_HASH_LEN], int64_t now_ms,
    struct trust_peer *) FY_WUR;
/* Callback gets each peer; return non-zero to stop. */
int trust_peer_list(struct fy_db *, int (*cb)(const struct trust_peer *, void *), void *) FY_WUR;
/* In the caller's txn; FY_ERR_EXISTS for a name or key already pinned. */
int trust_peer_add(struct fy_db *, const struct trust_peer *) FY_WUR;
int trust_peer_touch(struct fy_db *, const char *name, int64_t now_ms) FY_WUR;
int trust_peer_remove(struct fy_db *, const char *name, int64_t deny_until_ms) FY_WUR;
/*
 * Rotation at a peer, in two steps.  announce: the peer's next key is
 * recorded and accepted (pinned) beside its current one.  promote: once the
 * peer is seen using it, it becomes current and the old key stays accepted
 * until overlap_until.  A rotation the peer abandons leaves only an unused
 * pending key, replaced by its next announcement.
 */
/* FY_ERR_EXISTS when new_spki is pinned for another peer. */
int trust_peer_announce(struct fy_db *, const char *name, const uint8_t new_spki[TRUST_HASH_LEN],
    const char *new_cert_pem) FY_WUR;
int trust_peer_promote(struct fy_db *, const char *name, int64_t overlap_until_ms) FY_WUR;
/* FY_ERR_REVOKED when spki is on the deny-list. */
int trust_denied(struct fy_db *, const uint8_t spki[TRUST_HASH_LEN], int64_t now_ms) FY_WUR;

int trust_invite_store(struct fy_db *, const struct trust_invite *, int64_t now_ms) FY_WUR;
/*
 * Redeem an invite inside the caller's BEGIN IMMEDIATE transaction: checks
 * it exists, is unused, not locked, not expired and that the secret hashes
 * to the stored hash (constant time).  A wrong secret counts a failure and
 * burns the invite after max_failures; that count is committed even though
 * the join fails (the caller commits on FY_ERR_AUTH).  On success marks it
 * used (UPDATE ... WHERE used = 0).
 */
int trust_invite_redeem(struct fy_db *, const uint8_t id[TRUST_INVITE_ID_LEN],
    const uint8_t secret[TRUST_SECRET_LEN], int64_t now_ms, int max_failures,
    const char *used_by) FY_WUR;
/* Number of live (unused, unexpired) invites. */
int trust_invite_count_live(struct fy_db *, int64_t now_ms);

/* ---- audit trail (audit.c) ---- */
struct trust_audit_rec {
	int64_t seq, time_ms;
	char actor[64], peer[64], action[32], outcome[32], detail[256];
};
/* Appends a record chained to the previous one (own transaction if none open). */
int trust_audit(struct fy_db *, const char *actor, const char *peer, const char *action,
    const char *outcome, const char *detailfmt, ...) FY_PRINTF(6, 7);
int trust_audit_list(struct fy_db *, int64_t since_ms,
    int (*cb)(const struct trust_audit_rec *, void *), void *) FY_WUR;
/* FY_ERR_CHAIN with *bad_seq set to the first record that fails. */
int trust_audit_verify(struct fy_db *, int64_t *count, int64_t *bad_seq, char *why, size_t whycap) FY_WUR;

#endif
