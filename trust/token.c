/*
 * token.c - short-lived federation tokens, issued and verified by the same
 * site (the callee's token service), signed with its Ed25519 key, bound to
 * the holder's TLS certificate (RFC 8705 style).
 *   "ft1." base64url(payload) "." base64url(signature)
 *   payload = ver=1 | id[16] | iss[32] | sub[32] | cnf[32] | nbf u64 | exp u64 |
 *             str16 aud | str16 scope
 * The signature covers the ASCII "ft1." and the encoded payload.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "trust.h"

#define PREFIX "ft1."
#define TOKEN_VERSION 1
#define PAYLOAD_MAX 512

int
trust_token_issue(const struct trust_identity *id, struct trust_token *t, char *out, size_t cap)
{
	struct fy_buf *b = NULL;
	uint8_t sig[64];
	size_t pl = strlen(PREFIX), n;
	int r;

	if (strlen(t->aud) > TRUST_SCOPE_MAX || strlen(t->scope) > TRUST_SCOPE_MAX)
		return FY_ERR_LIMIT;
	if ((r = fy_random(t->id, sizeof(t->id))) != 0)
		return r;
	memcpy(t->iss, trust_identity_spki(id), TRUST_HASH_LEN);
	if ((b = fy_buf_new(PAYLOAD_MAX)) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put_u8(b, TOKEN_VERSION)) != 0 ||
	    (r = fy_buf_put(b, t->id, sizeof(t->id))) != 0 ||
	    (r = fy_buf_put(b, t->iss, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_put(b, t->sub, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_put(b, t->cnf, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)t->nbf_ms)) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)t->exp_ms)) != 0 ||
	    (r = fy_buf_put_str16(b, t->aud, strlen(t->aud))) != 0 ||
	    (r = fy_buf_put_str16(b, t->scope, strlen(t->scope))) != 0)
		goto out;
	if (cap < pl + 1) {
		r = FY_ERR_LIMIT;
		goto out;
	}
	memcpy(out, PREFIX, pl);
	if ((r = fy_b64url_enc(fy_buf_ptr(b), fy_buf_len(b), out + pl, cap - pl)) != 0)
		goto out;
	n = strlen(out);
	if ((r = trust_identity_sign(id, out, n, sig)) != 0)
		goto out;
	if (cap < n + 2) {
		r = FY_ERR_LIMIT;
		goto out;
	}
	out[n++] = '.';
	r = fy_b64url_enc(sig, sizeof(sig), out + n, cap - n);
out:
	fy_buf_free(b);
	return r;
}

int
trust_token_parse(const char *s, size_t n, struct trust_token *t, uint8_t sig[64],
    const uint8_t **signed_part, size_t *signed_len, struct fy_buf **rawp)
{
	uint8_t raw[PAYLOAD_MAX];
	struct fy_buf *b = NULL;
	const char *dot;
	size_t pl = strlen(PREFIX), rl, sl;
	uint64_t nbf, exp;
	uint8_t ver;
	int r;

	memset(t, 0, sizeof(*t));
	if (signed_part != NULL)
		*signed_part = NULL;
	if (rawp != NULL)
		*rawp = NULL;
	if (n > TRUST_TOKEN_MAX)
		return FY_ERR_LIMIT;
	if (n < pl || memcmp(s, PREFIX, pl) != 0)
		return n >= 2 && s[0] == 'f' && s[1] == 't' ? FY_ERR_VERSION : FY_ERR_FORMAT;
	if ((dot = memchr(s + pl, '.', n - pl)) == NULL)
		return FY_ERR_FORMAT;
	if (fy_b64url_dec(s + pl, (size_t)(dot - (s + pl)), raw, sizeof(raw), &rl) != 0)
		return FY_ERR_FORMAT;
	if (fy_b64url_dec(dot + 1, n - (size_t)(dot + 1 - s), sig, 64, &sl) != 0 || sl != 64)
		return FY_ERR_FORMAT;
	if ((b = fy_buf_new(sizeof(raw))) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put(b, raw, rl)) != 0 || (r = fy_buf_get_u8(b, &ver)) != 0)
		goto bad;
	if (ver != TOKEN_VERSION) {
		r = FY_ERR_VERSION;
		goto out;
	}
	if ((r = fy_buf_get(b, t->id, sizeof(t->id))) != 0 ||
	    (r = fy_buf_get(b, t->iss, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_get(b, t->sub, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_get(b, t->cnf, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_get_u64(b, &nbf)) != 0 || (r = fy_buf_get_u64(b, &exp)) != 0 ||
	    (r = fy_buf_get_str16(b, t->aud, sizeof(t->aud))) != 0 ||
	    (r = fy_buf_get_str16(b, t->scope, sizeof(t->scope))) != 0)
		goto bad;
	if (fy_buf_len(b) != 0 || nbf > INT64_MAX || exp > INT64_MAX || exp < nbf)
		goto bad;
	t->nbf_ms = (int64_t)nbf;
	t->exp_ms = (int64_t)exp;
	if (signed_part != NULL) {
		*signed_part = (const uint8_t *)s;
		*signed_len = (size_t)(dot - s);
	}
	r = 0;
	goto out;
bad:
	r = FY_ERR_FORMAT;
out:
	fy_buf_free(b);
	if (r != 0)
		memset(t, 0, sizeof(*t));
	return r;
}

int
trust_token_verify(const struct trust_identity *id, const char *tok,
    const struct trust_token_check *c, struct trust_token *out)
{
	struct trust_token t;
	const uint8_t *sp;
	uint8_t sig[64];
	size_t sl = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = trust_token_parse(tok, strlen(tok), &t, sig, &sp, &sl, NULL)) != 0)
		return r;
	/* Issued by us (current key, or the previous one during a rotation). */
	if (!fy_ct_equal(t.iss, trust_identity_spki(id), TRUST_HASH_LEN) &&
	    (trust_identity_prev_spki(id) == NULL ||
	    !fy_ct_equal(t.iss, trust_identity_prev_spki(id), TRUST_HASH_LEN)))
		return FY_ERR_AUTH;
	if ((r = trust_identity_verify_own(id, sp, sl, sig, 1)) != 0)
		return FY_ERR_AUTH;
	/* Signed by us: its fields may be quoted in the error that follows. */
	*out = t;
	if (strcmp(t.aud, c->aud) != 0)
		return FY_ERR_AUDIENCE;
	if (!fy_ct_equal(t.sub, c->sub, TRUST_HASH_LEN) || !fy_ct_equal(t.cnf, c->cnf, TRUST_HASH_LEN))
		return FY_ERR_BINDING;
	if (c->now_ms + c->skew_ms < t.nbf_ms)
		return FY_ERR_NOTYET;
	if (c->now_ms - c->skew_ms >= t.exp_ms)
		return FY_ERR_EXPIRED;
	return 0;
}
