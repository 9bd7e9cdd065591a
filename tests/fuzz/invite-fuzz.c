/*
 * invite-fuzz.c - libFuzzer harness for trust_invite_parse(), the parser of
 * the invite string an administrator pastes from another site.
 *
 * Each input is tried twice: as the string itself, and as a raw payload
 * sealed the way the encoder seals it (the 4-byte SHA-256 check appended,
 * base64url, "ferry1-" prefix), so the fuzzer reaches the payload decoder
 * behind the checksum it could not guess.  Oracle: an accepted invite
 * re-encodes to a string that parses to the same fields.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/fuzz/fuzz.h"

static void
check(const char *s, size_t n)
{
	struct trust_invite iv, again;
	char out[1024];

	if (trust_invite_parse(s, n, &iv) != 0)
		return;
	if (iv.endpoint[0] == '\0' || !fy_valid_name(iv.site) || iv.expires_ms < 0)
		abort();
	if (trust_invite_encode(&iv, out, sizeof(out)) != 0)
		abort();
	if (trust_invite_parse(out, strlen(out), &again) != 0 || memcmp(&iv, &again, sizeof(iv)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t raw[TRUST_INVITE_MAX], h[SHA256_DIGEST_LENGTH];
	char *s;
	size_t cap;

	check((const char *)data, size);
	if (size + 4 > sizeof(raw))
		return 0;
	memcpy(raw, data, size);
	SHA256(raw, size, h);
	memcpy(raw + size, h, 4);
	cap = 7 + ((size + 4 + 2) / 3) * 4 + 1;
	if ((s = malloc(cap)) == NULL)
		return 0;
	memcpy(s, "ferry1-", 7);
	if (fy_b64url_enc(raw, size + 4, s + 7, cap - 7) == 0)
		check(s, strlen(s));
	free(s);
	return 0;
}
