/*
 * invite.c - the one-time invite string, pure code (fuzzed).
 *   "ferry1-" base64url( ver=1 | id[8] | secret[16] | spki[32] | expires u64 |
 *                        str16 endpoint | str16 site | check[4] )
 * check = first 4 bytes of SHA-256 over everything before it, so a damaged
 * copy-paste is reported as such rather than as a wrong secret.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <string.h>
#include <openssl/sha.h>
#include "trust.h"

#define PREFIX "ferry1-"
#define INVITE_VERSION 1

void
trust_secret_hash(const uint8_t secret[TRUST_SECRET_LEN], uint8_t out[TRUST_HASH_LEN])
{
	SHA256(secret, TRUST_SECRET_LEN, out);
}

int
trust_invite_encode(const struct trust_invite *iv, char *out, size_t cap)
{
	struct fy_buf *b;
	uint8_t h[SHA256_DIGEST_LENGTH];
	size_t pl = strlen(PREFIX);
	int r;

	if (cap < pl + 1)
		return FY_ERR_LIMIT;
	if ((b = fy_buf_new(TRUST_INVITE_MAX)) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put_u8(b, INVITE_VERSION)) != 0 ||
	    (r = fy_buf_put(b, iv->id, sizeof(iv->id))) != 0 ||
	    (r = fy_buf_put(b, iv->secret, sizeof(iv->secret))) != 0 ||
	    (r = fy_buf_put(b, iv->spki, sizeof(iv->spki))) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)iv->expires_ms)) != 0 ||
	    (r = fy_buf_put_str16(b, iv->endpoint, strlen(iv->endpoint))) != 0 ||
	    (r = fy_buf_put_str16(b, iv->site, strlen(iv->site))) != 0)
		goto out;
	SHA256(fy_buf_ptr(b), fy_buf_len(b), h);
	if ((r = fy_buf_put(b, h, 4)) != 0)
		goto out;
	memcpy(out, PREFIX, pl);
	r = fy_b64url_enc(fy_buf_ptr(b), fy_buf_len(b), out + pl, cap - pl);
out:
	fy_buf_free(b);
	return r;
}

int
trust_invite_parse(const char *s, size_t n, struct trust_invite *iv)
{
	uint8_t raw[TRUST_INVITE_MAX], h[SHA256_DIGEST_LENGTH], ver;
	struct fy_buf *b = NULL;
	size_t pl = strlen(PREFIX), rl;
	uint64_t exp;
	int r;

	memset(iv, 0, sizeof(*iv));
	/* Tolerate surrounding whitespace from copy and paste. */
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	if (n > TRUST_INVITE_MAX)
		return FY_ERR_LIMIT;
	if (n < pl || memcmp(s, PREFIX, pl) != 0)
		return n >= 5 && memcmp(s, "ferry", 5) == 0 ? FY_ERR_VERSION : FY_ERR_FORMAT;
	if ((r = fy_b64url_dec(s + pl, n - pl, raw, sizeof(raw), &rl)) != 0)
		return FY_ERR_FORMAT;
	if (rl < 1 + 4)
		return FY_ERR_FORMAT;
	SHA256(raw, rl - 4, h);
	if (!fy_ct_equal(h, raw + rl - 4, 4))
		return FY_ERR_CHECKSUM;
	if ((b = fy_buf_new(sizeof(raw))) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put(b, raw, rl - 4)) != 0)
		goto out;
	if ((r = fy_buf_get_u8(b, &ver)) != 0)
		goto out;
	if (ver != INVITE_VERSION) {
		r = FY_ERR_VERSION;
		goto out;
	}
	if ((r = fy_buf_get(b, iv->id, sizeof(iv->id))) != 0 ||
	    (r = fy_buf_get(b, iv->secret, sizeof(iv->secret))) != 0 ||
	    (r = fy_buf_get(b, iv->spki, sizeof(iv->spki))) != 0 ||
	    (r = fy_buf_get_u64(b, &exp)) != 0 ||
	    (r = fy_buf_get_str16(b, iv->endpoint, sizeof(iv->endpoint))) != 0 ||
	    (r = fy_buf_get_str16(b, iv->site, sizeof(iv->site))) != 0) {
		if (r == FY_ERR_LIMIT)
			r = FY_ERR_FORMAT;
		goto out;
	}
	if (fy_buf_len(b) != 0 || exp > INT64_MAX || iv->endpoint[0] == '\0' ||
	    !fy_valid_name(iv->site)) {
		r = FY_ERR_FORMAT;
		goto out;
	}
	iv->expires_ms = (int64_t)exp;
	r = 0;
out:
	fy_wipe(raw, sizeof(raw));
	fy_buf_free(b);
	if (r != 0)
		fy_wipe(iv, sizeof(*iv));
	return r;
}
