/*
 * invite-t.c - the invite string: round trip, damage is reported as a
 * checksum error, prefix and version, whitespace from copy and paste, size.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"

#define PREFIX "ferry1-"

static void
sample(struct trust_invite *iv)
{
	size_t i;

	memset(iv, 0, sizeof(*iv));
	for (i = 0; i < sizeof(iv->id); i++)
		iv->id[i] = (uint8_t)(0x10 + i);
	for (i = 0; i < sizeof(iv->secret); i++)
		iv->secret[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < sizeof(iv->spki); i++)
		iv->spki[i] = (uint8_t)(i * 7);
	iv->expires_ms = 1795000000000LL;
	snprintf(iv->endpoint, sizeof(iv->endpoint), "gw.site-a.example:7443");
	snprintf(iv->site, sizeof(iv->site), "site-a");
}

static int
same(const struct trust_invite *x, const struct trust_invite *y)
{
	return memcmp(x->id, y->id, sizeof(x->id)) == 0 &&
	    memcmp(x->secret, y->secret, sizeof(x->secret)) == 0 &&
	    memcmp(x->spki, y->spki, sizeof(x->spki)) == 0 && x->expires_ms == y->expires_ms &&
	    strcmp(x->endpoint, y->endpoint) == 0 && strcmp(x->site, y->site) == 0;
}

/* "ferry1-" + base64url(raw || first 4 bytes of SHA-256(raw)): a well-sealed payload. */
static void
seal(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	uint8_t buf[1024], h[SHA256_DIGEST_LENGTH];

	if (n + 4 > sizeof(buf) || cap < sizeof(PREFIX))
		bail("seal: too big");
	memcpy(buf, raw, n);
	SHA256(raw, n, h);
	memcpy(buf + n, h, 4);
	memcpy(out, PREFIX, sizeof(PREFIX) - 1);
	if (fy_b64url_enc(buf, n + 4, out + sizeof(PREFIX) - 1, cap - (sizeof(PREFIX) - 1)) != 0)
		bail("seal: encode");
}

/* The payload (without the check bytes) of a valid invite string. */
static size_t
unseal(const char *s, uint8_t *raw, size_t cap)
{
	size_t n;

	if (fy_b64url_dec(s + sizeof(PREFIX) - 1, strlen(s) - (sizeof(PREFIX) - 1), raw, cap, &n) != 0)
		bail("unseal");
	return n - 4;
}

static int
parse(const char *s, struct trust_invite *iv)
{
	return trust_invite_parse(s, strlen(s), iv);
}

int
main(void)
{
	struct trust_invite iv, got;
	char s[1024], d[1024];
	uint8_t raw[1024];
	size_t len, pl = sizeof(PREFIX) - 1, rl, i;
	int r;

	plan_lazy();

	/* Round trip. */
	sample(&iv);
	is_int(trust_invite_encode(&iv, s, sizeof(s)), 0, "encode");
	len = strlen(s);
	ok(strncmp(s, PREFIX, pl) == 0, "starts with ferry1-");
	ok(strspn(s + pl, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len - pl,
	    "body is base64url");
	is_int(parse(s, &got), 0, "parse");
	ok(same(&iv, &got), "every field round trips");
	is_int(trust_invite_parse(s, len, &got), 0, "parse with an explicit length");
	is_int(trust_invite_encode(&iv, s, len), FY_ERR_LIMIT, "encode into a buffer one byte short");
	is_int(trust_invite_encode(&iv, s, 4), FY_ERR_LIMIT, "encode into a tiny buffer");
	is_int(trust_invite_encode(&iv, s, sizeof(s)), 0, "encode again");

	/* Damage: one changed character is a checksum error. */
	memcpy(d, s, len + 1);
	d[pl + 20] = d[pl + 20] == 'A' ? 'B' : 'A';
	is_int(parse(d, &got), FY_ERR_CHECKSUM, "one damaged character: checksum");
	ok(got.endpoint[0] == '\0' && got.secret[0] == 0, "nothing is returned from a damaged invite");
	{
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int accepted = 0, checksum = 0, odd = 0, tried = 0;
		const char *c;
		for (i = pl; i < len; i++) {
			for (c = b64; *c; c++) {
				if (*c == s[i])
					continue;
				memcpy(d, s, len + 1);
				d[i] = *c;
				tried++;
				r = parse(d, &got);
				if (r == 0)
					accepted++;
				else if (r == FY_ERR_CHECKSUM)
					checksum++;
				else if (r != FY_ERR_FORMAT)
					odd++;
			}
		}
		is_int(accepted, 0, "none of %d single-character substitutions is accepted", tried);
		is_int(odd, 0, "each is a checksum or format error");
		ok(checksum > tried * 9 / 10, "most (%d) are reported as checksum errors", checksum);
	}
	memcpy(d, s, len + 1);
	d[pl + 5] = '+';
	is_int(parse(d, &got), FY_ERR_FORMAT, "a character outside base64url: format");
	memcpy(d, s, len + 1);
	d[pl + 5] = ' ';
	is_int(parse(d, &got), FY_ERR_FORMAT, "a space inside: format");
	{
		int accepted = 0;
		for (i = 0; i < len; i++)
			if (trust_invite_parse(s, i, &got) == 0)
				accepted++;
		is_int(accepted, 0, "none of the %zu truncations is accepted", len);
	}
	memcpy(d, s, len - 4);
	d[len - 4] = '\0';
	r = parse(d, &got);
	ok(r == FY_ERR_CHECKSUM || r == FY_ERR_FORMAT, "last 4 characters cut: refused (%s)", fy_strerror(r));

	/* Prefix and version. */
	snprintf(d, sizeof(d), "ferry2-%s", s + pl);
	is_int(parse(d, &got), FY_ERR_VERSION, "ferry2- prefix: version");
	snprintf(d, sizeof(d), "ferry-%s", s + pl);
	is_int(parse(d, &got), FY_ERR_VERSION, "ferry- prefix: version");
	snprintf(d, sizeof(d), "Ferry1-%s", s + pl);
	is_int(parse(d, &got), FY_ERR_FORMAT, "Ferry1- prefix: format");
	snprintf(d, sizeof(d), "%s", s + pl);
	is_int(parse(d, &got), FY_ERR_FORMAT, "no prefix: format");
	is_int(parse("", &got), FY_ERR_FORMAT, "empty: format");
	is_int(parse("ferr", &got), FY_ERR_FORMAT, "\"ferr\": format");
	is_int(parse(PREFIX, &got), FY_ERR_FORMAT, "bare prefix: format");
	is_int(parse(PREFIX "AAAA", &got), FY_ERR_FORMAT, "3 bytes: format");
	rl = unseal(s, raw, sizeof(raw));
	raw[0] = 2;
	seal(raw, rl, d, sizeof(d));
	is_int(parse(d, &got), FY_ERR_VERSION, "payload version 2 with a valid check: version");
	raw[0] = 0;
	seal(raw, rl, d, sizeof(d));
	is_int(parse(d, &got), FY_ERR_VERSION, "payload version 0: version");
	raw[0] = 1;
	seal(raw, rl, d, sizeof(d));
	is_int(parse(d, &got), 0, "payload version 1 resealed: accepted (control)");

	/* Well-sealed but malformed payloads. */
	seal(raw, rl - 1, d, sizeof(d));
	is_int(parse(d, &got), FY_ERR_FORMAT, "payload one byte short: format");
	raw[rl] = 0;
	seal(raw, rl + 1, d, sizeof(d));
	is_int(parse(d, &got), FY_ERR_FORMAT, "one trailing byte: format");
	seal(raw, 1, d, sizeof(d));
	is_int(parse(d, &got), FY_ERR_FORMAT, "only the version byte: format");
	{
		/* Rebuild payloads field by field. */
		struct fy_buf *b;
		const char *sites[] = { "", "-bad", "bad site", "x/y" };
		for (i = 0; i < 6; i++) {
			if ((b = fy_buf_new(1024)) == NULL)
				bail("fy_buf_new");
			if (fy_buf_put_u8(b, 1) != 0 || fy_buf_put(b, iv.id, 8) != 0 ||
			    fy_buf_put(b, iv.secret, 16) != 0 || fy_buf_put(b, iv.spki, 32) != 0 ||
			    fy_buf_put_u64(b, i == 4 ? (uint64_t)INT64_MAX + 1 : 1795000000000ULL) != 0 ||
			    fy_buf_put_str16(b, i == 5 ? "" : "h:1", i == 5 ? 0 : 3) != 0 ||
			    fy_buf_put_str16(b, i < 4 ? sites[i] : "ok", i < 4 ? strlen(sites[i]) : 2) != 0)
				bail("build payload");
			seal(fy_buf_ptr(b), fy_buf_len(b), d, sizeof(d));
			fy_buf_free(b);
			r = parse(d, &got);
			if (i < 4)
				is_int(r, FY_ERR_FORMAT, "site name \"%s\": format", sites[i]);
			else if (i == 4)
				is_int(r, FY_ERR_FORMAT, "expiry above INT64_MAX: format");
			else
				is_int(r, FY_ERR_FORMAT, "empty endpoint: format");
		}
		if ((b = fy_buf_new(1024)) == NULL)
			bail("fy_buf_new");
		if (fy_buf_put_u8(b, 1) != 0 || fy_buf_put(b, iv.id, 8) != 0 ||
		    fy_buf_put(b, iv.secret, 16) != 0 || fy_buf_put(b, iv.spki, 32) != 0 ||
		    fy_buf_put_u64(b, 1) != 0 || fy_buf_put_str16(b, "h\0:1", 4) != 0 ||
		    fy_buf_put_str16(b, "ok", 2) != 0)
			bail("build payload");
		seal(fy_buf_ptr(b), fy_buf_len(b), d, sizeof(d));
		fy_buf_free(b);
		is_int(parse(d, &got), FY_ERR_FORMAT, "NUL inside the endpoint: format");
		if ((b = fy_buf_new(1024)) == NULL)
			bail("fy_buf_new");
		if (fy_buf_put_u8(b, 1) != 0 || fy_buf_put(b, iv.id, 8) != 0 ||
		    fy_buf_put(b, iv.secret, 16) != 0 || fy_buf_put(b, iv.spki, 32) != 0 ||
		    fy_buf_put_u64(b, 1) != 0 || fy_buf_put_u16(b, 300) != 0 ||
		    fy_buf_put(b, "h:1", 3) != 0)
			bail("build payload");
		seal(fy_buf_ptr(b), fy_buf_len(b), d, sizeof(d));
		fy_buf_free(b);
		is_int(parse(d, &got), FY_ERR_FORMAT, "endpoint length beyond the payload: format");
	}

	/* Surrounding whitespace from copy and paste. */
	snprintf(d, sizeof(d), "  %s\r\n", s);
	is_int(parse(d, &got), 0, "leading spaces and trailing CRLF tolerated");
	ok(same(&iv, &got), "and the fields are right");
	snprintf(d, sizeof(d), "\t%s \n\n", s);
	is_int(parse(d, &got), 0, "leading tab, trailing space and newlines tolerated");
	snprintf(d, sizeof(d), "%s x", s);
	is_int(parse(d, &got), FY_ERR_FORMAT, "trailing word: format");
	snprintf(d, sizeof(d), "\n%s", s);
	is_int(parse(d, &got), 0, "leading newline tolerated");
	snprintf(d, sizeof(d), "%s\t", s);
	is_int(parse(d, &got), 0, "trailing tab tolerated");

	/* Size. */
	memset(d, ' ', TRUST_INVITE_MAX + 1);
	d[TRUST_INVITE_MAX + 1] = '\0';
	memcpy(d, s, len);
	memset(d + len, 'A', TRUST_INVITE_MAX + 1 - len);
	is_int(parse(d, &got), FY_ERR_LIMIT, "%d characters: limit", TRUST_INVITE_MAX + 1);
	{
		char *big = malloc(1 << 20);
		if (big == NULL)
			bail("malloc");
		memset(big, 'A', 1 << 20);
		memcpy(big, PREFIX, pl);
		is_int(trust_invite_parse(big, 1 << 20, &got), FY_ERR_LIMIT, "1 MiB: limit");
		free(big);
	}
	sample(&iv);
	memset(iv.endpoint, 'e', 255);
	iv.endpoint[255] = '\0';
	memset(iv.site, 's', 50);
	iv.site[50] = '\0';
	is_int(trust_invite_encode(&iv, s, sizeof(s)), 0, "encode a 255-byte endpoint and 50-byte site");
	ok(strlen(s) <= TRUST_INVITE_MAX, "it is %zu characters, within TRUST_INVITE_MAX", strlen(s));
	is_int(parse(s, &got), 0, "and parses");
	ok(same(&iv, &got), "long fields round trip");
	memset(iv.site, 's', 63);
	iv.site[63] = '\0';
	r = trust_invite_encode(&iv, s, sizeof(s));
	diag("encode of the largest invite: %s, %zu characters", fy_strerror(r), r == 0 ? strlen(s) : 0);
	is_int(r, 0, "the largest invite (255-byte endpoint, 63-byte site) encodes");
	ok(strlen(s) <= TRUST_INVITE_MAX, "within TRUST_INVITE_MAX");
	is_int(parse(s, &got), 0, "and parses");

	/* trust_secret_hash is plain SHA-256 of the secret. */
	{
		uint8_t h1[TRUST_HASH_LEN], h2[SHA256_DIGEST_LENGTH];
		trust_secret_hash(iv.secret, h1);
		SHA256(iv.secret, TRUST_SECRET_LEN, h2);
		ok(memcmp(h1, h2, TRUST_HASH_LEN) == 0, "trust_secret_hash = SHA-256(secret)");
	}
	done_testing();
}
