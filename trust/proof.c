/* proof.c - the pairing proof, bound to the TLS session.  GPL-2.0-or-later */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "trust.h"

int
trust_proof(const uint8_t secret[TRUST_SECRET_LEN], const char *label,
    const uint8_t exporter[32], const uint8_t spki_a[TRUST_HASH_LEN],
    const uint8_t spki_b[TRUST_HASH_LEN], uint8_t out[32])
{
	uint8_t msg[64 + 32 + 2 * TRUST_HASH_LEN];
	size_t ll = strlen(label), n = 0;
	unsigned int ol = 32;

	if (ll > 64)
		return FY_ERR_INVAL;
	memcpy(msg + n, label, ll);
	n += ll;
	memcpy(msg + n, exporter, 32);
	n += 32;
	memcpy(msg + n, spki_a, TRUST_HASH_LEN);
	n += TRUST_HASH_LEN;
	memcpy(msg + n, spki_b, TRUST_HASH_LEN);
	n += TRUST_HASH_LEN;
	if (HMAC(EVP_sha256(), secret, TRUST_SECRET_LEN, msg, n, out, &ol) == NULL || ol != 32)
		return FY_ERR_CRYPTO;
	return 0;
}
