/* trust-int.h - helpers private to trust/.  GPL-2.0-or-later */
#ifndef FY_TRUST_INT_H
#define FY_TRUST_INT_H
#include <openssl/evp.h>
#include <openssl/x509.h>

int trust_pkey_spki(EVP_PKEY *, uint8_t out[TRUST_HASH_LEN]);
int trust_ed_verify(EVP_PKEY *, const void *, size_t, const uint8_t sig[64]);
EVP_PKEY *trust_identity_key(const struct trust_identity *);
X509 *trust_identity_x509(const struct trust_identity *);
X509 *trust_pem_to_x509(const char *pem);
#endif
