/*
 * token-fuzz.c - libFuzzer harness for trust_token_parse(), the decoder of
 * the bearer token a peer presents (before its signature is checked).
 *
 * Each input is tried twice: as the token string, and as a raw payload
 * wrapped as "ft1." base64url(input) "." base64url(64 zero bytes), so the
 * fuzzer works on the payload decoder directly.  Oracles: accepted fields
 * are within their documented bounds and the signed part lies inside the
 * input.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/fuzz/fuzz.h"

static void
check(const char *s, size_t n)
{
	struct trust_token t;
	const uint8_t *sp = NULL;
	size_t sl = 0;
	uint8_t sig[64];
	struct fy_buf *raw = NULL;

	if (trust_token_parse(s, n, &t, sig, &sp, &sl, &raw) != 0) {
		if (sp != NULL || raw != NULL)
			abort();
		return;
	}
	fy_buf_free(raw);
	if (n > TRUST_TOKEN_MAX || sp != (const uint8_t *)s || sl < 5 || sl >= n || s[sl] != '.')
		abort();
	if (t.nbf_ms < 0 || t.exp_ms < t.nbf_ms)
		abort();
	if (strlen(t.aud) > TRUST_SCOPE_MAX || strlen(t.scope) > TRUST_SCOPE_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zsig[64];
	char *s;
	size_t cap, o;

	check((const char *)data, size);
	if (size > TRUST_TOKEN_MAX)
		return 0;
	cap = 4 + ((size + 2) / 3) * 4 + 1 + 88 + 1;
	if ((s = malloc(cap)) == NULL)
		return 0;
	memcpy(s, "ft1.", 4);
	if (fy_b64url_enc(data, size, s + 4, cap - 4) == 0) {
		o = strlen(s);
		s[o++] = '.';
		if (fy_b64url_enc(zsig, sizeof(zsig), s + o, cap - o) == 0)
			check(s, strlen(s));
	}
	free(s);
	return 0;
}
