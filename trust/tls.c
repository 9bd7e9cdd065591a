/*
 * tls.c - the one TLS policy: TLS 1.3 only, three AEAD suites, our Ed25519
 * certificate, peer certificate required, no CA store.  Trust comes from
 * the SPKI pin the caller checks after the handshake, never from a chain.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/sha.h>
#include <openssl/pem.h>
#include "trust.h"
#include "trust-int.h"

#define SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static int
accept_any_chain(int ok, X509_STORE_CTX *x)
{
	/*
	 * Self-signed certificates never chain; the pin decides.  The
	 * handshake still proves possession of the private key.
	 */
	(void)ok;
	(void)x;
	return 1;
}

/* Server preference order; one port serves both. */
static const unsigned char alpn_wire[] = "\x0b" TRUST_ALPN_FED "\x0c" TRUST_ALPN_DATA;

static int
alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *o;

	if (SSL_select_next_proto(&o, outlen, alpn_wire, sizeof(alpn_wire) - 1, in, inlen)
	    != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

int
trust_tls_ctx(const struct trust_identity *id, int server, SSL_CTX **out)
{
	SSL_CTX *c;
	int r = FY_ERR_TLS;

	*out = NULL;
	if ((c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())) == NULL)
		return FY_ERR_NOMEM;
	if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(c, SUITES) != 1 ||
	    SSL_CTX_use_certificate(c, trust_identity_x509(id)) != 1 ||
	    SSL_CTX_use_PrivateKey(c, trust_identity_key(id)) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)
		goto out;
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	    accept_any_chain);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_num_tickets(c, 0);
	if (server)
		SSL_CTX_set_alpn_select_cb(c, alpn_select, NULL);
	else if (SSL_CTX_set_alpn_protos(c, alpn_wire, 1 + strlen(TRUST_ALPN_FED)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	SSL_CTX_free(c);
	return r;
}

int
trust_tls_set_alpn(SSL *s, const char *proto)
{
	unsigned char w[32];
	size_t n = strlen(proto);

	if (n == 0 || n >= sizeof(w))
		return FY_ERR_INVAL;
	w[0] = (unsigned char)n;
	memcpy(w + 1, proto, n);
	return SSL_set_alpn_protos(s, w, (unsigned)(n + 1)) == 0 ? 0 : FY_ERR_TLS;
}

int
trust_tls_peer_hashes(SSL *s, uint8_t spki[TRUST_HASH_LEN], uint8_t certhash[TRUST_HASH_LEN])
{
	X509 *x;
	unsigned char *der = NULL;
	int n, r = FY_ERR_AUTH;

	if ((x = SSL_get0_peer_certificate(s)) == NULL)
		return FY_ERR_AUTH;
	if (spki != NULL && (r = trust_pkey_spki(X509_get0_pubkey(x), spki)) != 0)
		return r;
	if (certhash != NULL) {
		if ((n = i2d_X509(x, &der)) <= 0)
			return FY_ERR_CRYPTO;
		SHA256(der, (size_t)n, certhash);
		OPENSSL_free(der);
	}
	return 0;
}

int
trust_tls_peer_cert_pem(SSL *s, char **pem)
{
	X509 *x;
	BIO *b;
	char *p;
	long n;
	int r = FY_ERR_CRYPTO;

	*pem = NULL;
	if ((x = SSL_get0_peer_certificate(s)) == NULL)
		return FY_ERR_AUTH;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return FY_ERR_NOMEM;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (*pem = strndup(p, (size_t)n)) != NULL)
		r = 0;
	BIO_free(b);
	return r;
}

int
trust_tls_exporter(SSL *s, const char *label, uint8_t out[32])
{
	if (SSL_export_keying_material(s, out, 32, label, strlen(label), NULL, 0, 0) != 1)
		return FY_ERR_CRYPTO;
	return 0;
}
