/*
 * proof-t.c - the pairing proof equals an independent HMAC-SHA256 (OpenSSL
 * EVP_MAC) over label || exporter || spki_inviter || spki_joiner, and
 * changes with every input.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"

static uint8_t secret[TRUST_SECRET_LEN], exporter[32], spki_a[TRUST_HASH_LEN], spki_b[TRUST_HASH_LEN];

/* HMAC-SHA256 through the EVP_MAC interface, fed in four updates. */
static void
reference(const uint8_t *key, const char *label, const uint8_t *exp, const uint8_t *sa,
    const uint8_t *sb, uint8_t out[32])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t ol = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
		bail("EVP_MAC_fetch");
	if (EVP_MAC_init(ctx, key, TRUST_SECRET_LEN, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)label, strlen(label)) != 1 ||
	    EVP_MAC_update(ctx, exp, 32) != 1 ||
	    EVP_MAC_update(ctx, sa, TRUST_HASH_LEN) != 1 ||
	    EVP_MAC_update(ctx, sb, TRUST_HASH_LEN) != 1 ||
	    EVP_MAC_final(ctx, out, &ol, 32) != 1 || ol != 32)
		bail("EVP_MAC");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

static int
proof(const char *label, uint8_t out[32])
{
	return trust_proof(secret, label, exporter, spki_a, spki_b, out);
}

int
main(void)
{
	uint8_t p[32], q[32], ref[32];
	char label[80];
	size_t i;

	plan_lazy();
	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i + 1);
	for (i = 0; i < 32; i++) {
		exporter[i] = (uint8_t)(0x40 + i);
		spki_a[i] = (uint8_t)(0x80 + i);
		spki_b[i] = (uint8_t)(0xc0 + i);
	}

	is_int(proof("ferry-join", p), 0, "join proof");
	reference(secret, "ferry-join", exporter, spki_a, spki_b, ref);
	ok(memcmp(p, ref, 32) == 0, "join proof = HMAC-SHA256(secret, label||exporter||spki_a||spki_b)");
	is_int(proof("ferry-accept", q), 0, "accept proof");
	reference(secret, "ferry-accept", exporter, spki_a, spki_b, ref);
	ok(memcmp(q, ref, 32) == 0, "accept proof matches the reference");
	ok(memcmp(p, q, 32) != 0, "join and accept proofs differ");
	is_int(proof("ferry-join", q), 0, "join proof again");
	ok(memcmp(p, q, 32) == 0, "deterministic");

	/* A known answer (computed with Python's hmac module), so the layout cannot drift. */
	{
		char hex[65];
		if (fy_hex_enc(p, 32, hex, sizeof(hex)) != 0)
			bail("hex");
		is_str(hex, "19fdf669be8c0fc158217880813dc45e96a33c59f2a7640ee0c3489cb754834b",
		    "join proof known answer");
	}

	/* Each input matters. */
	exporter[31] ^= 1;
	is_int(proof("ferry-join", q), 0, "proof with another exporter");
	ok(memcmp(p, q, 32) != 0, "changes with the TLS exporter");
	reference(secret, "ferry-join", exporter, spki_a, spki_b, ref);
	ok(memcmp(q, ref, 32) == 0, "and still matches the reference");
	exporter[31] ^= 1;
	spki_a[0] ^= 0x80;
	is_int(proof("ferry-join", q), 0, "proof with another inviter key");
	ok(memcmp(p, q, 32) != 0, "changes with the inviter's SPKI");
	spki_a[0] ^= 0x80;
	spki_b[16] ^= 0x01;
	is_int(proof("ferry-join", q), 0, "proof with another joiner key");
	ok(memcmp(p, q, 32) != 0, "changes with the joiner's SPKI");
	spki_b[16] ^= 0x01;
	secret[15] ^= 0x01;
	is_int(proof("ferry-join", q), 0, "proof with another secret");
	ok(memcmp(p, q, 32) != 0, "changes with the secret");
	secret[15] ^= 0x01;
	is_int(trust_proof(secret, "ferry-join", exporter, spki_b, spki_a, q), 0, "keys swapped");
	ok(memcmp(p, q, 32) != 0, "the order of the two keys matters");
	is_int(proof("ferry-joiN", q), 0, "label with one letter changed");
	ok(memcmp(p, q, 32) != 0, "changes with the label");
	is_int(proof("", q), 0, "empty label");
	reference(secret, "", exporter, spki_a, spki_b, ref);
	ok(memcmp(q, ref, 32) == 0, "empty label matches the reference");
	is_int(proof("ferry-join", q), 0, "back to the original inputs");
	ok(memcmp(p, q, 32) == 0, "same proof again");

	/* Label length limit. */
	memset(label, 'L', 64);
	label[64] = '\0';
	is_int(proof(label, q), 0, "64-byte label accepted");
	reference(secret, label, exporter, spki_a, spki_b, ref);
	ok(memcmp(q, ref, 32) == 0, "64-byte label matches the reference");
	label[64] = 'L';
	label[65] = '\0';
	is_int(proof(label, q), FY_ERR_INVAL, "65-byte label refused");
	done_testing();
}
