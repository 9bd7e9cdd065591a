/*
 * identity.c - the site's long-term Ed25519 key and self-signed certificate;
 * its identity is the SHA-256 of the SubjectPublicKeyInfo.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include "trust.h"
#include "trust-int.h"

#define KEY_FILE	"key.pem"
#define CERT_FILE	"cert.pem"
#define PREV_KEY_FILE	"key.prev.pem"
#define PREV_CERT_FILE	"cert.prev.pem"
#define PEM_MAX		(16 * 1024)

struct trust_identity {
	EVP_PKEY *key, *prev, *next;
	X509 *cert, *next_cert;
	char *cert_pem, *next_pem;
	uint8_t spki[TRUST_HASH_LEN], prev_spki[TRUST_HASH_LEN];
	int has_prev;
	char fp[TRUST_FP_LEN];
};

int
trust_pkey_spki(EVP_PKEY *k, uint8_t out[TRUST_HASH_LEN])
{
	unsigned char *der = NULL;
	int n;

	if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return FY_ERR_CRYPTO;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

void
trust_fingerprint(const uint8_t spki[TRUST_HASH_LEN], char out[TRUST_FP_LEN])
{
	char b32[64];
	size_t i, o = 0, n;

	if (fy_b32_enc(spki, TRUST_HASH_LEN, b32, sizeof(b32)) != 0) {
		out[0] = '\0';
		return;
	}
	n = strlen(b32);	/* 52 characters, 13 groups of 4 */
	for (i = 0; i < n; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = b32[i];
	}
	out[o] = '\0';
}

int
trust_fingerprint_parse(const char *s, uint8_t spki[TRUST_HASH_LEN])
{
	char clean[80], fp[TRUST_FP_LEN];
	size_t i, o = 0;
	uint8_t h[TRUST_HASH_LEN];

	if (strlen(s) == 64 && fy_hex_dec(s, spki, TRUST_HASH_LEN) == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '-' || s[i] == ' ' || s[i] == ':')
			continue;
		if (o + 1 >= sizeof(clean))
			return FY_ERR_FORMAT;
		clean[o++] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	}
	clean[o] = '\0';
	if (o != 52)
		return FY_ERR_FORMAT;
	/* Decode base32 by value. */
	{
		uint32_t acc = 0;
		int bits = 0;
		size_t k = 0;
		for (i = 0; i < o; i++) {
			char c = clean[i];
			int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
			if (v < 0)
				return FY_ERR_FORMAT;
			acc = (acc << 5) | (uint32_t)v;
			bits += 5;
			if (bits >= 8) {
				bits -= 8;
				if (k < TRUST_HASH_LEN)
					h[k++] = (acc >> bits) & 0xff;
			}
		}
		if (k != TRUST_HASH_LEN)
			return FY_ERR_FORMAT;
	}
	trust_fingerprint(h, fp);	/* round trip rejects non-canonical tails */
	for (i = 0, o = 0; fp[i]; i++)
		if (fp[i] != '-' && fp[i] != clean[o++])
			return FY_ERR_FORMAT;
	memcpy(spki, h, TRUST_HASH_LEN);
	return 0;
}

static int
make_key(EVP_PKEY **out)
{
	EVP_PKEY_CTX *pc;
	int r = FY_ERR_CRYPTO;

	*out = NULL;
	if ((pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL)
		return FY_ERR_CRYPTO;
	if (EVP_PKEY_keygen_init(pc) == 1 && EVP_PKEY_keygen(pc, out) == 1)
		r = 0;
	EVP_PKEY_CTX_free(pc);
	return r;
}

static int
make_cert(EVP_PKEY *k, const char *site, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *nm;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	int r = FY_ERR_CRYPTO;

	*out = NULL;
	if ((x = X509_new()) == NULL || fy_random(serial, sizeof(serial)) != 0)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	X509_set_version(x, 2);
	/* Validity is not what we trust (the pin is); keep it long and honest. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, NULL) == NULL)
		goto out;
	nm = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"Ferry site", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)site, -1, -1, 0) ||
	    !X509_set_issuer_name(x, nm) || !X509_set_pubkey(x, k))
		goto out;
	if (X509_sign(x, k, NULL) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	BN_free(bn);
	X509_free(x);
	return r;
}

static int
cert_to_pem(X509 *x, char **out)
{
	BIO *b;
	char *p;
	long n;
	int r = FY_ERR_CRYPTO;

	*out = NULL;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return FY_ERR_NOMEM;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0) {
		if ((*out = strndup(p, (size_t)n)) != NULL)
			r = 0;
		else
			r = FY_ERR_NOMEM;
	}
	BIO_free(b);
	return r;
}

static int
path_in(char *buf, size_t cap, const char *dir, const char *f)
{
	return (size_t)snprintf(buf, cap, "%s/%s", dir, f) >= cap ? FY_ERR_LIMIT : 0;
}

static int
save_key(const char *dir, const char *f, EVP_PKEY *k)
{
	char path[PATH_MAX], *p;
	BIO *b;
	long n;
	int r;

	if ((r = path_in(path, sizeof(path), dir, f)) != 0)
		return r;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return FY_ERR_NOMEM;
	r = FY_ERR_CRYPTO;
	if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		r = fy_write_file_atomic(path, p, (size_t)n, 0600);
	BIO_free(b);	/* BIO_s_mem frees (and does not wipe): keep the window short */
	return r;
}

static int
save_cert(const char *dir, const char *f, const char *pem)
{
	char path[PATH_MAX];
	int r;

	if ((r = path_in(path, sizeof(path), dir, f)) != 0)
		return r;
	return fy_write_file_atomic(path, pem, strlen(pem), 0644);
}

static int
load_key(const char *dir, const char *f, EVP_PKEY **out)
{
	char path[PATH_MAX];
	struct fy_buf *b = NULL;
	BIO *bio;
	int r;

	*out = NULL;
	if ((r = path_in(path, sizeof(path), dir, f)) != 0)
		return r;
	if ((r = fy_read_file(path, PEM_MAX, &b)) != 0)
		return r;
	r = FY_ERR_CRYPTO;
	if ((bio = BIO_new_mem_buf(fy_buf_ptr(b), (int)fy_buf_len(b))) != NULL) {
		if ((*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) != NULL &&
		    EVP_PKEY_get_id(*out) == EVP_PKEY_ED25519)
			r = 0;
		BIO_free(bio);
	}
	if (r != 0 && *out != NULL) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	fy_buf_free(b);
	return r;
}

X509 *
trust_pem_to_x509(const char *pem)
{
	BIO *bio;
	X509 *x = NULL;

	if (strlen(pem) > PEM_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

static int
load_cert(const char *dir, const char *f, X509 **out)
{
	char path[PATH_MAX];
	struct fy_buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = path_in(path, sizeof(path), dir, f)) != 0)
		return r;
	if ((r = fy_read_file(path, PEM_MAX, &b)) != 0)
		return r;
	*out = trust_pem_to_x509((const char *)fy_buf_ptr(b));
	fy_buf_free(b);
	return *out != NULL ? 0 : FY_ERR_CRYPTO;
}

void
trust_identity_free(struct trust_identity *id)
{
	if (id == NULL)
		return;
	EVP_PKEY_free(id->key);
	EVP_PKEY_free(id->prev);
	EVP_PKEY_free(id->next);
	X509_free(id->cert);
	X509_free(id->next_cert);
	free(id->cert_pem);
	free(id->next_pem);
	free(id);
}

int
trust_identity_load(const char *dir, const char *site, struct trust_identity **out)
{
	struct trust_identity *id = NULL;
	int r;

	*out = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return FY_ERR_NOMEM;
	r = load_key(dir, KEY_FILE, &id->key);
	if (r == FY_ERR_NOTFOUND) {
		log_info("generating a new Ed25519 site key in %s", dir);
		if ((r = make_key(&id->key)) != 0 || (r = make_cert(id->key, site, &id->cert)) != 0 ||
		    (r = cert_to_pem(id->cert, &id->cert_pem)) != 0 ||
		    (r = save_cert(dir, CERT_FILE, id->cert_pem)) != 0 ||
		    (r = save_key(dir, KEY_FILE, id->key)) != 0)
			goto out;
	} else if (r != 0) {
		log_warnx("%s/%s: cannot load the site key: %s", dir, KEY_FILE, fy_strerror(r));
		goto out;
	} else {
		if ((r = load_cert(dir, CERT_FILE, &id->cert)) != 0) {
			log_warnx("%s/%s: cannot load the site certificate", dir, CERT_FILE);
			goto out;
		}
		if (X509_check_private_key(id->cert, id->key) != 1) {
			log_warnx("%s: certificate does not match key", dir);
			r = FY_ERR_CRYPTO;
			goto out;
		}
		if ((r = cert_to_pem(id->cert, &id->cert_pem)) != 0)
			goto out;
	}
	if ((r = trust_pkey_spki(id->key, id->spki)) != 0)
		goto out;
	if (load_key(dir, PREV_KEY_FILE, &id->prev) == 0) {
		if ((r = trust_pkey_spki(id->prev, id->prev_spki)) != 0)
			goto out;
		id->has_prev = 1;
	}
	trust_fingerprint(id->spki, id->fp);
	*out = id;
	id = NULL;
	r = 0;
out:
	trust_identity_free(id);
	return r;
}

const uint8_t *
trust_identity_spki(const struct trust_identity *id)
{
	return id->spki;
}

const uint8_t *
trust_identity_prev_spki(const struct trust_identity *id)
{
	return id->has_prev ? id->prev_spki : NULL;
}

const char *
trust_identity_fingerprint(const struct trust_identity *id)
{
	return id->fp;
}

const char *
trust_identity_cert_pem(const struct trust_identity *id)
{
	return id->cert_pem;
}

EVP_PKEY *
trust_identity_key(const struct trust_identity *id)
{
	return id->key;
}

X509 *
trust_identity_x509(const struct trust_identity *id)
{
	return id->cert;
}

static int
ed_sign(EVP_PKEY *k, const void *p, size_t n, uint8_t sig[64])
{
	EVP_MD_CTX *m;
	size_t sl = 64;
	int r = FY_ERR_CRYPTO;

	if ((m = EVP_MD_CTX_new()) == NULL)
		return FY_ERR_NOMEM;
	if (EVP_DigestSignInit(m, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(m, sig, &sl, p, n) == 1 && sl == 64)
		r = 0;
	EVP_MD_CTX_free(m);
	return r;
}

int
trust_ed_verify(EVP_PKEY *k, const void *p, size_t n, const uint8_t sig[64])
{
	EVP_MD_CTX *m;
	int r = FY_ERR_AUTH;

	if ((m = EVP_MD_CTX_new()) == NULL)
		return FY_ERR_NOMEM;
	if (EVP_DigestVerifyInit(m, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(m, sig, 64, p, n) == 1)
		r = 0;
	EVP_MD_CTX_free(m);
	return r;
}

int
trust_identity_sign(const struct trust_identity *id, const void *p, size_t n, uint8_t sig[64])
{
	return ed_sign(id->key, p, n, sig);
}

int
trust_identity_verify_own(const struct trust_identity *id, const void *p, size_t n,
    const uint8_t sig[64], int allow_prev)
{
	if (trust_ed_verify(id->key, p, n, sig) == 0)
		return 0;
	if (allow_prev && id->prev != NULL && trust_ed_verify(id->prev, p, n, sig) == 0)
		return 0;
	return FY_ERR_AUTH;
}

static int
rotation_message(const uint8_t spki[TRUST_HASH_LEN], int64_t clock_ms, struct fy_buf **out)
{
	struct fy_buf *b;
	int r;

	*out = NULL;
	if ((b = fy_buf_new(128)) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put(b, "ferry-rotate", 12)) != 0 ||
	    (r = fy_buf_put(b, spki, TRUST_HASH_LEN)) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)clock_ms)) != 0) {
		fy_buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

int
trust_identity_rotate_begin(struct trust_identity *id, const char *site, int64_t clock_ms,
    char **cert_pem, uint8_t sig[64])
{
	uint8_t spki[TRUST_HASH_LEN];
	struct fy_buf *m = NULL;
	int r;

	*cert_pem = NULL;
	trust_identity_rotate_abort(id);
	if ((r = make_key(&id->next)) != 0 || (r = make_cert(id->next, site, &id->next_cert)) != 0 ||
	    (r = cert_to_pem(id->next_cert, &id->next_pem)) != 0 ||
	    (r = trust_pkey_spki(id->next, spki)) != 0 ||
	    (r = rotation_message(spki, clock_ms, &m)) != 0 ||
	    (r = ed_sign(id->key, fy_buf_ptr(m), fy_buf_len(m), sig)) != 0)
		goto out;
	if ((*cert_pem = strdup(id->next_pem)) == NULL) {
		r = FY_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	fy_buf_free(m);
	if (r != 0)
		trust_identity_rotate_abort(id);
	return r;
}

void
trust_identity_rotate_abort(struct trust_identity *id)
{
	EVP_PKEY_free(id->next);
	X509_free(id->next_cert);
	free(id->next_pem);
	id->next = NULL;
	id->next_cert = NULL;
	id->next_pem = NULL;
}

int
trust_identity_rotate_commit(struct trust_identity *id, const char *dir)
{
	int r;

	if (id->next == NULL)
		return FY_ERR_INVAL;
	/*
	 * Old key becomes prev first, so a crash at any point leaves a key
	 * that peers accept on disk.  The in-memory identity is not changed:
	 * other threads may be using it; the caller loads the new one.
	 */
	if ((r = save_key(dir, PREV_KEY_FILE, id->key)) != 0 ||
	    (r = save_cert(dir, PREV_CERT_FILE, id->cert_pem)) != 0 ||
	    (r = save_cert(dir, CERT_FILE, id->next_pem)) != 0 ||
	    (r = save_key(dir, KEY_FILE, id->next)) != 0)
		return r;
	trust_identity_rotate_abort(id);
	return 0;
}

int
trust_identity_forget_prev(const char *dir)
{
	char path[PATH_MAX];

	if (path_in(path, sizeof(path), dir, PREV_KEY_FILE) == 0)
		(void)unlink(path);
	if (path_in(path, sizeof(path), dir, PREV_CERT_FILE) == 0)
		(void)unlink(path);
	return 0;
}

int
trust_cert_pem_spki(const char *pem, uint8_t spki[TRUST_HASH_LEN])
{
	X509 *x;
	EVP_PKEY *k;
	int r = FY_ERR_CRYPTO;

	if ((x = trust_pem_to_x509(pem)) == NULL)
		return FY_ERR_FORMAT;
	if ((k = X509_get0_pubkey(x)) != NULL)
		r = trust_pkey_spki(k, spki);
	X509_free(x);
	return r;
}

int
trust_verify_rotation(const uint8_t old_spki[TRUST_HASH_LEN], const char *old_cert_pem,
    const char *new_cert_pem, int64_t clock_ms, const uint8_t sig[64],
    uint8_t new_spki[TRUST_HASH_LEN])
{
	X509 *old = NULL, *nx = NULL;
	uint8_t h[TRUST_HASH_LEN];
	struct fy_buf *m = NULL;
	int r = FY_ERR_FORMAT;

	if ((old = trust_pem_to_x509(old_cert_pem)) == NULL ||
	    (nx = trust_pem_to_x509(new_cert_pem)) == NULL)
		goto out;
	if ((r = trust_pkey_spki(X509_get0_pubkey(old), h)) != 0)
		goto out;
	if (!fy_ct_equal(h, old_spki, TRUST_HASH_LEN)) {
		r = FY_ERR_PIN;
		goto out;
	}
	if (EVP_PKEY_get_id(X509_get0_pubkey(nx)) != EVP_PKEY_ED25519) {
		r = FY_ERR_CRYPTO;
		goto out;
	}
	if ((r = trust_pkey_spki(X509_get0_pubkey(nx), new_spki)) != 0 ||
	    (r = rotation_message(new_spki, clock_ms, &m)) != 0)
		goto out;
	r = trust_ed_verify(X509_get0_pubkey(old), fy_buf_ptr(m), fy_buf_len(m), sig);
out:
	fy_buf_free(m);
	X509_free(old);
	X509_free(nx);
	return r;
}
