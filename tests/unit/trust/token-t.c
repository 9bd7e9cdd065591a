/*
 * token-t.c - federation tokens: round trip, the skew window at its exact
 * edges, audience, holder binding, foreign and forged signatures, every
 * single-byte corruption, truncation, size and version.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

#define T0	1795000000000LL		/* nbf */
#define LIFE	300000LL		/* 5 min */
#define SKEW	120000LL		/* 2 min */

static struct trust_identity *a, *b;
static uint8_t cnf[TRUST_HASH_LEN];

static struct trust_identity *
load(const char *dir, const char *sub, const char *site)
{
	struct trust_identity *id = NULL;
	char path[512];
	int r;

	t_path(path, sizeof(path), dir, sub);
	if (mkdir(path, 0700) != 0 && fy_mkdir_p(path, 0700) != 0)
		bail("mkdir %s", path);
	if ((r = trust_identity_load(path, site, &id)) != 0)
		bail("identity %s: %s", path, fy_strerror(r));
	return id;
}

/* A token issued by id for holder b with certificate hash cnf. */
static void
issue(const struct trust_identity *id, int64_t nbf, int64_t exp, const char *aud,
    struct trust_token *t, char *out, size_t cap)
{
	int r;

	memset(t, 0, sizeof(*t));
	memcpy(t->sub, trust_identity_spki(b), TRUST_HASH_LEN);
	memcpy(t->cnf, cnf, TRUST_HASH_LEN);
	t->nbf_ms = nbf;
	t->exp_ms = exp;
	snprintf(t->aud, sizeof(t->aud), "%s", aud);
	snprintf(t->scope, sizeof(t->scope), "job-42");
	if ((r = trust_token_issue(id, t, out, cap)) != 0)
		bail("trust_token_issue: %s", fy_strerror(r));
}

static int
verify_at(const struct trust_identity *id, const char *tok, int64_t now, int64_t skew,
    struct trust_token *out)
{
	struct trust_token_check c = {
		.aud = "fed", .sub = trust_identity_spki(b), .cnf = cnf,
		.now_ms = now, .skew_ms = skew,
	};

	return trust_token_verify(id, tok, &c, out);
}

/* The signed part of tok re-signed by signer; "ft1.<payload>.<sig>". */
static void
resign(const struct trust_identity *signer, const char *signed_part, size_t sl, char *out, size_t cap)
{
	uint8_t sig[64];
	char s64[100];

	if (trust_identity_sign(signer, signed_part, sl, sig) != 0 ||
	    fy_b64url_enc(sig, sizeof(sig), s64, sizeof(s64)) != 0)
		bail("resign");
	if ((size_t)snprintf(out, cap, "%.*s.%s", (int)sl, signed_part, s64) >= cap)
		bail("resign: too long");
}

int
main(void)
{
	struct trust_token t, got, p;
	char tok[TRUST_TOKEN_MAX + 64], tok2[TRUST_TOKEN_MAX + 64], *dir, bigtok[2048];
	const uint8_t *sp;
	uint8_t sig[64];
	size_t len, sl, i;
	int r;

	plan_lazy();
	fy_log_set_level(FY_LOG_ERR);
	dir = t_tmpdir("token");
	a = load(dir, "a", "alpha");
	b = load(dir, "b", "beta");
	memset(cnf, 0xc5, sizeof(cnf));

	/* Round trip. */
	issue(a, T0, T0 + LIFE, "fed", &t, tok, sizeof(tok));
	len = strlen(tok);
	ok(strncmp(tok, "ft1.", 4) == 0, "token starts with ft1.");
	ok(len < TRUST_TOKEN_MAX, "token (%zu bytes) is below TRUST_TOKEN_MAX", len);
	ok(memcmp(t.iss, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "issue fills in iss");
	is_int(verify_at(a, tok, T0 + 1000, SKEW, &got), 0, "verifies");
	ok(memcmp(got.id, t.id, 16) == 0, "id round trip");
	ok(memcmp(got.iss, t.iss, TRUST_HASH_LEN) == 0, "iss round trip");
	ok(memcmp(got.sub, trust_identity_spki(b), TRUST_HASH_LEN) == 0, "sub round trip");
	ok(memcmp(got.cnf, cnf, TRUST_HASH_LEN) == 0, "cnf round trip");
	is_int(got.nbf_ms, T0, "nbf round trip");
	is_int(got.exp_ms, T0 + LIFE, "exp round trip");
	is_str(got.aud, "fed", "aud round trip");
	is_str(got.scope, "job-42", "scope round trip");
	is_int(trust_token_parse(tok, len, &p, sig, &sp, &sl, NULL), 0, "parse without verifying");
	ok(sp == (const uint8_t *)tok && sl == (size_t)(strchr(tok + 4, '.') - tok),
	    "signed part is \"ft1.<payload>\"");
	ok(memcmp(p.id, t.id, 16) == 0 && strcmp(p.scope, "job-42") == 0, "parse gives the fields");
	issue(a, T0, T0 + LIFE, "fed", &p, tok2, sizeof(tok2));
	ok(memcmp(p.id, t.id, 16) != 0, "each token gets a fresh random id");

	/* The window: valid while now >= nbf - skew and now < exp + skew. */
	is_int(verify_at(a, tok, T0 - SKEW, SKEW, &got), 0, "now = nbf - skew: valid");
	is_int(verify_at(a, tok, T0 - SKEW - 1, SKEW, &got), FY_ERR_NOTYET, "now = nbf - skew - 1: not yet");
	is_int(verify_at(a, tok, T0 + LIFE + SKEW - 1, SKEW, &got), 0, "now = exp + skew - 1: valid");
	is_int(verify_at(a, tok, T0 + LIFE + SKEW, SKEW, &got), FY_ERR_EXPIRED, "now = exp + skew: expired");
	is_int(verify_at(a, tok, T0, 0, &got), 0, "no skew, now = nbf: valid");
	is_int(verify_at(a, tok, T0 - 1, 0, &got), FY_ERR_NOTYET, "no skew, now = nbf - 1: not yet");
	is_int(verify_at(a, tok, T0 + LIFE - 1, 0, &got), 0, "no skew, now = exp - 1: valid");
	is_int(verify_at(a, tok, T0 + LIFE, 0, &got), FY_ERR_EXPIRED, "no skew, now = exp: expired");
	is_int(verify_at(a, tok, T0 - 86400000LL, SKEW, &got), FY_ERR_NOTYET, "a day early: not yet");
	is_int(verify_at(a, tok, T0 + 86400000LL, SKEW, &got), FY_ERR_EXPIRED, "a day late: expired");
	/* trust.h: after the signature verified, out holds the token even on failure. */
	r = verify_at(a, tok, T0 + LIFE + SKEW, SKEW, &got);
	ok(r == FY_ERR_EXPIRED && got.exp_ms == T0 + LIFE && strcmp(got.aud, "fed") == 0,
	    "an authentic but expired token is still returned for the error message");

	/* Audience and holder binding. */
	{
		struct trust_token_check c = {
			.aud = "data", .sub = trust_identity_spki(b), .cnf = cnf,
			.now_ms = T0, .skew_ms = SKEW,
		};
		uint8_t other[TRUST_HASH_LEN];
		is_int(trust_token_verify(a, tok, &c, &got), FY_ERR_AUDIENCE, "wrong audience");
		c.aud = "fe";
		is_int(trust_token_verify(a, tok, &c, &got), FY_ERR_AUDIENCE, "audience prefix is not a match");
		c.aud = "fed";
		memcpy(other, cnf, sizeof(other));
		other[31] ^= 1;
		c.cnf = other;
		is_int(trust_token_verify(a, tok, &c, &got), FY_ERR_BINDING, "another certificate hash: binding");
		c.cnf = cnf;
		c.sub = trust_identity_spki(a);
		is_int(trust_token_verify(a, tok, &c, &got), FY_ERR_BINDING, "another subject: binding");
		c.sub = trust_identity_spki(b);
		is_int(trust_token_verify(a, tok, &c, &got), 0, "right audience and holder");
	}

	/* Issued by someone else; forged with another key. */
	issue(b, T0, T0 + LIFE, "fed", &p, tok2, sizeof(tok2));
	is_int(verify_at(b, tok2, T0, SKEW, &got), 0, "b's token verifies at b");
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_AUTH, "b's token at a: auth");
	if (trust_token_parse(tok, len, &p, sig, &sp, &sl, NULL) != 0)
		bail("parse");
	resign(b, (const char *)sp, sl, tok2, sizeof(tok2));
	is_int(trust_token_parse(tok2, strlen(tok2), &p, sig, NULL, NULL, NULL), 0, "forgery parses");
	memset(&got, 0xee, sizeof(got));
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_AUTH, "a's claims signed by b's key: auth");
	{
		struct trust_token zero;
		memset(&zero, 0, sizeof(zero));
		ok(memcmp(&got, &zero, sizeof(zero)) == 0, "a forged token leaves out zeroed");
	}
	resign(a, (const char *)sp, sl, tok2, sizeof(tok2));
	is_int(verify_at(a, tok2, T0, SKEW, &got), 0, "the same claims re-signed by a verify (control)");

	/* Every single-byte change of the token string is refused. */
	{
		int accepted = 0, odd = 0, tried = 0, c;
		for (i = 0; i < len; i++) {
			for (c = 1; c < 256; c++) {
				if (c == (unsigned char)tok[i])
					continue;
				memcpy(tok2, tok, len + 1);
				tok2[i] = (char)c;
				tried++;
				r = verify_at(a, tok2, T0, SKEW, &got);
				if (r == 0) {
					accepted++;
					diag("accepted with byte %zu = 0x%02x", i, c);
				} else if (r != FY_ERR_FORMAT && r != FY_ERR_AUTH && r != FY_ERR_VERSION) {
					odd++;
					diag("byte %zu = 0x%02x: %s", i, c, fy_strerror(r));
				}
			}
		}
		is_int(accepted, 0, "none of %d single-byte corruptions is accepted", tried);
		is_int(odd, 0, "each fails as format, version or auth");
	}
	{
		int accepted = 0;
		for (i = 0; i < len; i++) {
			memcpy(tok2, tok, i);
			tok2[i] = '\0';
			if (verify_at(a, tok2, T0, SKEW, &got) == 0 ||
			    trust_token_parse(tok, i, &p, sig, NULL, NULL, NULL) == 0)
				accepted++;
		}
		is_int(accepted, 0, "none of the %zu truncations is accepted", len);
	}
	memcpy(tok2, tok, len);
	memcpy(tok2 + len, "AAAA", 5);
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "appended characters: format");
	snprintf(tok2, sizeof(tok2), "%s\n", tok);
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "trailing newline: format");
	snprintf(tok2, sizeof(tok2), "%s.", tok);
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "extra dot: format");

	/* Size. */
	memcpy(bigtok, tok, len);
	memset(bigtok + len, 'A', TRUST_TOKEN_MAX + 1 - len);
	bigtok[TRUST_TOKEN_MAX + 1] = '\0';
	is_int(verify_at(a, bigtok, T0, SKEW, &got), FY_ERR_LIMIT, "%d bytes: limit", TRUST_TOKEN_MAX + 1);
	is_int(trust_token_parse(bigtok, TRUST_TOKEN_MAX + 1, &p, sig, NULL, NULL, NULL), FY_ERR_LIMIT,
	    "parse of %d bytes: limit", TRUST_TOKEN_MAX + 1);
	bigtok[TRUST_TOKEN_MAX] = '\0';
	is_int(verify_at(a, bigtok, T0, SKEW, &got), FY_ERR_FORMAT, "%d bytes of junk: format, not limit",
	    TRUST_TOKEN_MAX);
	{
		char longaud[TRUST_SCOPE_MAX + 2];
		memset(&p, 0, sizeof(p));
		memset(longaud, 'x', sizeof(longaud) - 1);
		longaud[sizeof(longaud) - 1] = '\0';
		memset(p.aud, 'a', TRUST_SCOPE_MAX);
		memset(p.scope, 's', TRUST_SCOPE_MAX);
		p.nbf_ms = T0;
		p.exp_ms = T0 + LIFE;
		is_int(trust_token_issue(a, &p, tok2, sizeof(tok2)), 0, "issue with 64-byte aud and scope");
		ok(strlen(tok2) <= TRUST_TOKEN_MAX, "the largest token fits TRUST_TOKEN_MAX");
		is_int(trust_token_parse(tok2, strlen(tok2), &got, sig, NULL, NULL, NULL), 0,
		    "the largest token parses");
		is_int(strlen(got.scope), TRUST_SCOPE_MAX, "64-byte scope round trip");
		is_int(trust_token_issue(a, &p, tok2, 100), FY_ERR_LIMIT, "issue into a short buffer: limit");
		is_int(trust_token_issue(a, &p, tok2, 4), FY_ERR_LIMIT, "issue into a 4-byte buffer: limit");
	}

	/* Version and prefix. */
	memcpy(tok2, tok, len + 1);
	tok2[2] = '2';
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_VERSION, "ft2. prefix: version");
	is_int(verify_at(a, "", T0, SKEW, &got), FY_ERR_FORMAT, "empty: format");
	is_int(verify_at(a, "hello", T0, SKEW, &got), FY_ERR_FORMAT, "not a token: format");
	is_int(verify_at(a, "ft1.", T0, SKEW, &got), FY_ERR_FORMAT, "bare prefix: format");
	is_int(verify_at(a, "ft1..", T0, SKEW, &got), FY_ERR_FORMAT, "empty parts: format");
	{
		/* A payload with version byte 2, properly signed by a. */
		uint8_t raw[600];
		char body[800];
		size_t rl;
		const char *dot = strchr(tok + 4, '.');
		if (fy_b64url_dec(tok + 4, (size_t)(dot - tok - 4), raw, sizeof(raw), &rl) != 0)
			bail("decode payload");
		is_int(raw[0], 1, "payload starts with version 1");
		raw[0] = 2;
		memcpy(body, "ft1.", 4);
		if (fy_b64url_enc(raw, rl, body + 4, sizeof(body) - 4) != 0)
			bail("encode payload");
		resign(a, body, strlen(body), tok2, sizeof(tok2));
		is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_VERSION, "payload version 2: version");
		is_int(trust_token_parse(tok2, strlen(tok2), &p, sig, NULL, NULL, NULL), FY_ERR_VERSION,
		    "parse of payload version 2: version");
		/* One trailing byte after the scope, signed: format. */
		raw[0] = 1;
		raw[rl] = 0;
		if (fy_b64url_enc(raw, rl + 1, body + 4, sizeof(body) - 4) != 0)
			bail("encode payload");
		resign(a, body, strlen(body), tok2, sizeof(tok2));
		is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "trailing payload byte: format");
	}

	/* Times the parser refuses even when signed. */
	issue(a, T0, T0 - 1, "fed", &p, tok2, sizeof(tok2));
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "exp before nbf: format");
	issue(a, -1, T0, "fed", &p, tok2, sizeof(tok2));
	is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_FORMAT, "negative nbf: format");
	issue(a, T0, T0, "fed", &p, tok2, sizeof(tok2));
	is_int(verify_at(a, tok2, T0 - SKEW, SKEW, &got), 0, "nbf = exp parses and is valid within the skew");

	/* Rotation: tokens from the previous key stay valid during the overlap. */
	{
		struct trust_identity *a2 = NULL, *a3 = NULL;
		char pdir[512], *pem = NULL;
		uint8_t rsig[64];
		t_path(pdir, sizeof(pdir), dir, "a");
		if (trust_identity_rotate_begin(a, "alpha", T0, &pem, rsig) != 0 ||
		    trust_identity_rotate_commit(a, pdir) != 0)
			bail("rotate");
		free(pem);
		a2 = load(dir, "a", "alpha");
		ok(trust_identity_prev_spki(a2) != NULL &&
		    memcmp(trust_identity_prev_spki(a2), trust_identity_spki(a), TRUST_HASH_LEN) == 0,
		    "after rotation the old key is the previous key");
		is_int(verify_at(a2, tok, T0, SKEW, &got), 0, "old token verifies with the rotated identity");
		issue(a2, T0, T0 + LIFE, "fed", &p, tok2, sizeof(tok2));
		is_int(verify_at(a2, tok2, T0, SKEW, &got), 0, "new token verifies");
		is_int(verify_at(a, tok2, T0, SKEW, &got), FY_ERR_AUTH, "new token refused by the old identity");
		is_int(trust_identity_forget_prev(pdir), 0, "forget the previous key");
		a3 = load(dir, "a", "alpha");
		ok(trust_identity_prev_spki(a3) == NULL, "no previous key after forgetting");
		is_int(verify_at(a3, tok, T0, SKEW, &got), FY_ERR_AUTH, "old token refused after the overlap");
		is_int(verify_at(a3, tok2, T0, SKEW, &got), 0, "new token still verifies");
		trust_identity_free(a2);
		trust_identity_free(a3);
	}

	trust_identity_free(a);
	trust_identity_free(b);
	t_rmtree(dir);
	free(dir);
	done_testing();
}
