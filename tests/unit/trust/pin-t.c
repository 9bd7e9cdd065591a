/*
 * pin-t.c - site identity and SPKI pins: key files and modes, fingerprint
 * format and parser, distinct identities, the signed rotation announcement.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

static char *dir;

static struct trust_identity *
load(const char *sub, const char *site, int *rp)
{
	struct trust_identity *id = NULL;
	char path[512];

	t_path(path, sizeof(path), dir, sub);
	if (mkdir(path, 0700) != 0 && fy_mkdir_p(path, 0700) != 0)
		bail("mkdir %s", path);
	*rp = trust_identity_load(path, site, &id);
	return id;
}

static int
fp_format_ok(const char *fp)
{
	size_t i;

	if (strlen(fp) != 64)
		return 0;
	for (i = 0; i < 64; i++) {
		if (i % 5 == 4) {
			if (fp[i] != '-')
				return 0;
		} else if (!((fp[i] >= 'A' && fp[i] <= 'Z') || (fp[i] >= '2' && fp[i] <= '7')))
			return 0;
	}
	return 1;
}

static int
file_mode(const char *sub, const char *f)
{
	char p1[512], p2[600];
	struct stat st;

	t_path(p1, sizeof(p1), dir, sub);
	t_path(p2, sizeof(p2), p1, f);
	if (stat(p2, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

int
main(void)
{
	struct trust_identity *a, *a2, *b;
	uint8_t spki[TRUST_HASH_LEN], spki2[TRUST_HASH_LEN], sig[64], nspki[TRUST_HASH_LEN];
	char fp[TRUST_FP_LEN], s[200], *pem = NULL;
	const char *afp;
	size_t i, o;
	int r;

	plan_lazy();
	fy_log_set_level(FY_LOG_ERR);
	dir = t_tmpdir("pin");

	/* Generation on first start, reload on the next. */
	a = load("a", "alpha", &r);
	is_int(r, 0, "identity generated in an empty directory");
	if (a == NULL)
		bail("no identity");
	is_int(file_mode("a", "key.pem"), 0600, "key.pem has mode 0600");
	is_int(file_mode("a", "cert.pem"), 0644, "cert.pem has mode 0644");
	is_int(file_mode("a", "key.pem.tmp"), -1, "no temporary file left behind");
	ok(trust_identity_prev_spki(a) == NULL, "a fresh identity has no previous key");
	ok(strncmp(trust_identity_cert_pem(a), "-----BEGIN CERTIFICATE-----", 27) == 0,
	    "certificate PEM is available");
	is_int(trust_cert_pem_spki(trust_identity_cert_pem(a), spki), 0, "SPKI from the certificate PEM");
	ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "certificate SPKI = identity SPKI");
	a2 = load("a", "alpha", &r);
	is_int(r, 0, "identity reloaded");
	ok(a2 != NULL && memcmp(trust_identity_spki(a2), trust_identity_spki(a), TRUST_HASH_LEN) == 0,
	    "reloading gives the same SPKI");
	ok(a2 != NULL && strcmp(trust_identity_cert_pem(a2), trust_identity_cert_pem(a)) == 0,
	    "and the same certificate");
	trust_identity_free(a2);
	trust_identity_free(NULL);
	{
		uint8_t msig[64];
		is_int(trust_identity_sign(a, "msg", 3, msig), 0, "sign");
		is_int(trust_identity_verify_own(a, "msg", 3, msig, 0), 0, "verify own signature");
		is_int(trust_identity_verify_own(a, "msG", 3, msig, 0), FY_ERR_AUTH, "other message: auth");
	}

	/* Fingerprint format: 13 groups of 4 base32 characters. */
	afp = trust_identity_fingerprint(a);
	ok(fp_format_ok(afp), "fingerprint %s is 13 dash-separated groups of 4 base32 characters", afp);
	trust_fingerprint(trust_identity_spki(a), fp);
	is_str(fp, afp, "trust_fingerprint of the SPKI = identity fingerprint");
	{
		char b32[64];
		if (fy_b32_enc(trust_identity_spki(a), TRUST_HASH_LEN, b32, sizeof(b32)) != 0)
			bail("b32");
		for (i = 0, o = 0; afp[i]; i++)
			if (afp[i] != '-')
				s[o++] = afp[i];
		s[o] = '\0';
		is_str(s, b32, "fingerprint without dashes = base32(SPKI SHA-256)");
	}

	/* Parser: accepted forms. */
	memset(spki, 0, sizeof(spki));
	is_int(trust_fingerprint_parse(afp, spki), 0, "parse the dashed fingerprint");
	ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "dashed: right SPKI");
	memset(spki, 0, sizeof(spki));
	is_int(trust_fingerprint_parse(s, spki), 0, "parse undashed");
	ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "undashed: right SPKI");
	{
		char low[80];
		for (i = 0; afp[i]; i++)
			low[i] = (char)tolower((unsigned char)afp[i]);
		low[i] = '\0';
		memset(spki, 0, sizeof(spki));
		is_int(trust_fingerprint_parse(low, spki), 0, "parse lower case");
		ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "lower case: right SPKI");
	}
	{
		char hex[65], up[65];
		if (fy_hex_enc(trust_identity_spki(a), TRUST_HASH_LEN, hex, sizeof(hex)) != 0)
			bail("hex");
		memset(spki, 0, sizeof(spki));
		is_int(trust_fingerprint_parse(hex, spki), 0, "parse 64 hex characters");
		ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0, "hex: right SPKI");
		for (i = 0; i < 64; i++)
			up[i] = (char)toupper((unsigned char)hex[i]);
		up[64] = '\0';
		is_int(trust_fingerprint_parse(up, spki), 0, "parse upper-case hex");
		hex[63] = '\0';
		is_int(trust_fingerprint_parse(hex, spki), FY_ERR_FORMAT, "63 hex characters refused");
		hex[63] = '0';
		snprintf(up, sizeof(up), "%s", hex);
		snprintf(s, sizeof(s), "%s0", up);
		is_int(trust_fingerprint_parse(s, spki), FY_ERR_FORMAT, "65 hex characters refused");
		up[10] = 'g';
		is_int(trust_fingerprint_parse(up, spki), FY_ERR_FORMAT, "hex with a 'g' refused");
	}
	{
		/* Spaces and colons as separators, as people read them out. */
		char sp[80];
		for (i = 0; afp[i]; i++)
			sp[i] = afp[i] == '-' ? ' ' : afp[i];
		sp[i] = '\0';
		is_int(trust_fingerprint_parse(sp, spki), 0, "space-separated groups accepted");
	}

	/* Parser: refused forms. */
	snprintf(s, sizeof(s), "%.63s", afp);
	is_int(trust_fingerprint_parse(s, spki), FY_ERR_FORMAT, "one character short refused");
	snprintf(s, sizeof(s), "%sA", afp);
	is_int(trust_fingerprint_parse(s, spki), FY_ERR_FORMAT, "one character long refused");
	snprintf(s, sizeof(s), "%s-%s", afp, afp);
	is_int(trust_fingerprint_parse(s, spki), FY_ERR_FORMAT, "doubled refused");
	is_int(trust_fingerprint_parse("", spki), FY_ERR_FORMAT, "empty refused");
	{
		static const char badch[] = "0189!=_.+/";
		int accepted = 0;
		for (i = 0; badch[i]; i++) {
			snprintf(s, sizeof(s), "%s", afp);
			s[0] = badch[i];
			if (trust_fingerprint_parse(s, spki) == 0)
				accepted++;
		}
		is_int(accepted, 0, "characters outside base32 (0 1 8 9 ! = _ . + /) refused");
		snprintf(s, sizeof(s), "%s", afp);
		s[0] = (char)0xc3;
		is_int(trust_fingerprint_parse(s, spki), FY_ERR_FORMAT, "8-bit character refused");
	}
	{
		/* The last character carries 1 bit of the hash and 4 zero bits. */
		int accepted = 0;
		const char *c;
		for (c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; *c; c++) {
			snprintf(s, sizeof(s), "%s", afp);
			if (s[63] == *c)
				continue;
			s[63] = *c;
			if (trust_fingerprint_parse(s, spki) == 0)
				accepted++;
		}
		is_int(accepted, 1, "of the other 31 last characters only the one flipping the data bit parses");
	}
	{
		/* Every other single-character change decodes to another SPKI or is refused. */
		int same = 0;
		const char *c;
		for (i = 0; i < 63; i++) {
			if (afp[i] == '-')
				continue;
			for (c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; *c; c++) {
				if (*c == afp[i])
					continue;
				snprintf(s, sizeof(s), "%s", afp);
				s[i] = *c;
				if (trust_fingerprint_parse(s, spki) == 0 &&
				    memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0)
					same++;
			}
		}
		is_int(same, 0, "no changed fingerprint maps to the same SPKI");
	}

	/* A second identity. */
	b = load("b", "beta", &r);
	is_int(r, 0, "second identity");
	if (b == NULL)
		bail("no identity");
	ok(memcmp(trust_identity_spki(a), trust_identity_spki(b), TRUST_HASH_LEN) != 0,
	    "a second identity has a different SPKI");
	ok(strcmp(trust_identity_fingerprint(a), trust_identity_fingerprint(b)) != 0,
	    "and a different fingerprint");
	{
		uint8_t msig[64];
		if (trust_identity_sign(b, "msg", 3, msig) != 0)
			bail("sign");
		is_int(trust_identity_verify_own(a, "msg", 3, msig, 1), FY_ERR_AUTH,
		    "b's signature does not verify as a's");
	}

	/* Damaged key material. */
	{
		char p1[512], p2[600];
		struct trust_identity *x = NULL;
		t_path(p1, sizeof(p1), dir, "c");
		if (mkdir(p1, 0700) != 0)
			bail("mkdir");
		t_path(p2, sizeof(p2), p1, "key.pem");
		{
			static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
			t_write_file(p2, junk, sizeof(junk) - 1);
		}
		is_int(trust_identity_load(p1, "gamma", &x), FY_ERR_CRYPTO, "garbage key.pem refused");
		ok(x == NULL, "no identity returned");
		/* b's key with a's certificate. */
		{
			char src[600], *kp;
			struct fy_buf *kb = NULL;
			t_path(src, sizeof(src), dir, "b/key.pem");
			if (fy_read_file(src, 65536, &kb) != 0)
				bail("read key");
			t_write_file(p2, fy_buf_ptr(kb), fy_buf_len(kb));
			fy_buf_free(kb);
			t_path(src, sizeof(src), p1, "cert.pem");
			kp = (char *)trust_identity_cert_pem(a);
			t_write_file(src, kp, strlen(kp));
		}
		is_int(trust_identity_load(p1, "gamma", &x), FY_ERR_CRYPTO, "key and certificate that do not match refused");
		ok(x == NULL, "no identity returned");
	}

	/* Rotation: announcement signed by the current key over the new SPKI and clock. */
	{
		const int64_t clk = 1795000000000LL;
		char adir[512];
		t_path(adir, sizeof(adir), dir, "a");
		is_int(trust_identity_rotate_begin(a, "alpha", clk, &pem, sig), 0, "rotate: begin");
		ok(pem != NULL, "new certificate returned");
		is_int(trust_cert_pem_spki(pem, spki2), 0, "new certificate SPKI");
		ok(memcmp(spki2, trust_identity_spki(a), TRUST_HASH_LEN) != 0, "new key differs from the old");
		is_int(trust_verify_rotation(trust_identity_spki(a), trust_identity_cert_pem(a), pem, clk, sig, nspki),
		    0, "announcement verifies with the right old certificate");
		ok(memcmp(nspki, spki2, TRUST_HASH_LEN) == 0, "and yields the new SPKI");
		is_int(trust_verify_rotation(trust_identity_spki(b), trust_identity_cert_pem(b), pem, clk, sig, nspki),
		    FY_ERR_AUTH, "verified against another identity's key: auth");
		is_int(trust_verify_rotation(trust_identity_spki(b), trust_identity_cert_pem(a), pem, clk, sig, nspki),
		    FY_ERR_PIN, "old certificate not matching the pinned SPKI: pin");
		is_int(trust_verify_rotation(trust_identity_spki(a), trust_identity_cert_pem(a), pem, clk + 1, sig, nspki),
		    FY_ERR_AUTH, "altered clock: auth");
		sig[5] ^= 1;
		is_int(trust_verify_rotation(trust_identity_spki(a), trust_identity_cert_pem(a), pem, clk, sig, nspki),
		    FY_ERR_AUTH, "altered signature: auth");
		sig[5] ^= 1;
		is_int(trust_verify_rotation(trust_identity_spki(a), trust_identity_cert_pem(a),
		    trust_identity_cert_pem(b), clk, sig, nspki), FY_ERR_AUTH, "another new certificate: auth");
		is_int(trust_verify_rotation(trust_identity_spki(a), trust_identity_cert_pem(a), "junk", clk, sig, nspki),
		    FY_ERR_FORMAT, "new certificate not PEM: format");
		is_int(trust_cert_pem_spki(trust_identity_cert_pem(a), spki), 0, "current certificate after begin");
		ok(memcmp(spki, trust_identity_spki(a), TRUST_HASH_LEN) == 0 && memcmp(spki, spki2, TRUST_HASH_LEN) != 0,
		    "the identity in memory still presents the old key");

		is_int(trust_identity_rotate_commit(a, adir), 0, "rotate: commit");
		is_int(file_mode("a", "key.pem"), 0600, "new key.pem has mode 0600");
		is_int(file_mode("a", "key.prev.pem"), 0600, "key.prev.pem has mode 0600");
		is_int(trust_identity_rotate_commit(a, adir), FY_ERR_INVAL, "commit twice: inval");
		a2 = load("a", "alpha", &r);
		is_int(r, 0, "reload after rotation");
		ok(a2 != NULL && memcmp(trust_identity_spki(a2), spki2, TRUST_HASH_LEN) == 0,
		    "the new key is current");
		ok(a2 != NULL && trust_identity_prev_spki(a2) != NULL &&
		    memcmp(trust_identity_prev_spki(a2), trust_identity_spki(a), TRUST_HASH_LEN) == 0,
		    "the old key is the previous key");
		{
			uint8_t msig[64];
			if (trust_identity_sign(a, "msg", 3, msig) != 0)
				bail("sign");
			is_int(trust_identity_verify_own(a2, "msg", 3, msig, 1), 0, "old signature accepted with allow_prev");
			is_int(trust_identity_verify_own(a2, "msg", 3, msig, 0), FY_ERR_AUTH, "and refused without");
		}
		trust_identity_free(a2);
		free(pem);
		pem = NULL;

		is_int(trust_identity_rotate_begin(a, "alpha", clk, &pem, sig), 0, "begin again");
		trust_identity_rotate_abort(a);
		is_int(trust_identity_rotate_commit(a, adir), FY_ERR_INVAL, "commit after abort: inval");
		free(pem);
		is_int(trust_identity_forget_prev(adir), 0, "forget the previous key");
		is_int(file_mode("a", "key.prev.pem"), -1, "key.prev.pem removed");
		a2 = load("a", "alpha", &r);
		ok(r == 0 && a2 != NULL && trust_identity_prev_spki(a2) == NULL, "reloaded without a previous key");
		trust_identity_free(a2);
	}
	is_int(trust_cert_pem_spki("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", spki),
	    FY_ERR_FORMAT, "damaged certificate PEM: format");

	trust_identity_free(a);
	trust_identity_free(b);
	t_rmtree(dir);
	free(dir);
	done_testing();
}
