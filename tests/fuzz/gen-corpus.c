/*
 * gen-corpus.c - writes the seed corpora in tests/fuzz/corpus/ with the real
 * encoders: valid invites and tokens, then truncated, damaged, re-sealed
 * and oversized variants; configuration files for config-fuzz; transport
 * frame streams for frame-fuzz.  Not part
 * of the build; run by hand when a format changes:
 *
 *   make tests/fuzz/gen-corpus && tests/fuzz/gen-corpus $srcdir/tests/fuzz/corpus
 *
 * Token signatures use a key made afresh in a temporary directory, so
 * regenerated token files differ byte for byte; that is fine for a corpus.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/sha.h>
#include "common.h"
#include "trust/trust.h"
#include "transport/transport.h"

static const char *outdir;

static void
die(const char *what)
{
	fprintf(stderr, "gen-corpus: %s\n", what);
	exit(1);
}

static void
put(const char *sub, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	if (fy_mkdir_p(path, 0755) != 0)
		die("mkdir");
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path);
}

static void
puts_(const char *sub, const char *name, const char *s)
{
	put(sub, name, s, strlen(s));
}

/* ---- invites ---- */

static void
sample_invite(struct trust_invite *iv)
{
	size_t i;

	memset(iv, 0, sizeof(*iv));
	for (i = 0; i < sizeof(iv->id); i++)
		iv->id[i] = (uint8_t)(0x31 + i);
	for (i = 0; i < sizeof(iv->secret); i++)
		iv->secret[i] = (uint8_t)(0x9c ^ i);
	for (i = 0; i < sizeof(iv->spki); i++)
		iv->spki[i] = (uint8_t)(i * 13 + 5);
	iv->expires_ms = 1795000000000LL;
	snprintf(iv->endpoint, sizeof(iv->endpoint), "gw.site-a.example:7443");
	snprintf(iv->site, sizeof(iv->site), "site-a");
}

/* "ferry1-" base64url(raw || SHA-256(raw)[0..4]) */
static void
seal(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	uint8_t buf[2048], h[SHA256_DIGEST_LENGTH];

	if (n + 4 > sizeof(buf))
		die("seal");
	memcpy(buf, raw, n);
	SHA256(raw, n, h);
	memcpy(buf + n, h, 4);
	memcpy(out, "ferry1-", 7);
	if (fy_b64url_enc(buf, n + 4, out + 7, cap - 7) != 0)
		die("seal encode");
}

/* Payload with the given fields, sealed. */
static void
sealed_invite(const char *name, uint8_t ver, uint64_t exp, const char *ep, size_t epl,
    const char *site, size_t sitel, const char *extra, size_t extral)
{
	struct trust_invite iv;
	struct fy_buf *b;
	char s[2048];

	sample_invite(&iv);
	if ((b = fy_buf_new(2048)) == NULL)
		die("nomem");
	if (fy_buf_put_u8(b, ver) != 0 || fy_buf_put(b, iv.id, 8) != 0 ||
	    fy_buf_put(b, iv.secret, 16) != 0 || fy_buf_put(b, iv.spki, 32) != 0 ||
	    fy_buf_put_u64(b, exp) != 0 || fy_buf_put_str16(b, ep, epl) != 0 ||
	    fy_buf_put_str16(b, site, sitel) != 0 || fy_buf_put(b, extra, extral) != 0)
		die("build");
	seal(fy_buf_ptr(b), fy_buf_len(b), s, sizeof(s));
	fy_buf_free(b);
	puts_("invite", name, s);
}

static void
invites(void)
{
	struct trust_invite iv;
	char s[2048], d[2048];
	size_t n;

	sample_invite(&iv);
	if (trust_invite_encode(&iv, s, sizeof(s)) != 0)
		die("encode");
	n = strlen(s);
	puts_("invite", "valid-basic", s);
	snprintf(d, sizeof(d), "  %s\r\n", s);
	puts_("invite", "valid-whitespace", d);
	snprintf(iv.endpoint, sizeof(iv.endpoint), "[2001:db8::7]:7443");
	snprintf(iv.site, sizeof(iv.site), "b.site_2");
	if (trust_invite_encode(&iv, d, sizeof(d)) != 0)
		die("encode");
	puts_("invite", "valid-ipv6", d);
	memset(iv.endpoint, 'e', 255);
	iv.endpoint[255] = '\0';
	memset(iv.site, 's', 50);
	iv.site[50] = '\0';
	if (trust_invite_encode(&iv, d, sizeof(d)) != 0)
		die("encode");
	puts_("invite", "valid-longest", d);	/* 511 characters */
	memset(iv.site, 's', 63);
	iv.site[63] = '\0';
	if (trust_invite_encode(&iv, d, sizeof(d)) != 0)
		die("encode");
	puts_("invite", "oversized-from-encoder", d);	/* 529: refused by parse */

	put("invite", "truncated-half", s, n / 2);
	put("invite", "truncated-last", s, n - 1);
	put("invite", "truncated-check", s, n - 5);
	puts_("invite", "prefix-only", "ferry1-");
	memcpy(d, s, n + 1);
	d[30] = d[30] == 'Q' ? 'R' : 'Q';
	puts_("invite", "damaged-checksum", d);
	memcpy(d, s, n + 1);
	d[12] = '+';
	puts_("invite", "damaged-alphabet", d);
	memcpy(d, s, n + 1);
	d[5] = '2';
	puts_("invite", "prefix-ferry2", d);
	put("invite", "empty", "", 0);

	sealed_invite("sealed-version2", 2, 1795000000000ULL, "h:1", 3, "ok", 2, "", 0);
	sealed_invite("sealed-bad-site", 1, 1795000000000ULL, "h:1", 3, "-bad site", 9, "", 0);
	sealed_invite("sealed-empty-endpoint", 1, 1795000000000ULL, "", 0, "ok", 2, "", 0);
	sealed_invite("sealed-nul-endpoint", 1, 1795000000000ULL, "h\0:1", 4, "ok", 2, "", 0);
	sealed_invite("sealed-trailing-byte", 1, 1795000000000ULL, "h:1", 3, "ok", 2, "\x00", 1);
	sealed_invite("sealed-expiry-overflow", 1, (uint64_t)INT64_MAX + 1, "h:1", 3, "ok", 2, "", 0);
	{
		/* Endpoint length claims more than there is. */
		struct fy_buf *b;
		if ((b = fy_buf_new(256)) == NULL)
			die("nomem");
		sample_invite(&iv);
		if (fy_buf_put_u8(b, 1) != 0 || fy_buf_put(b, iv.id, 8) != 0 ||
		    fy_buf_put(b, iv.secret, 16) != 0 || fy_buf_put(b, iv.spki, 32) != 0 ||
		    fy_buf_put_u64(b, 1) != 0 || fy_buf_put_u16(b, 0xffff) != 0 || fy_buf_put(b, "h:1", 3) != 0)
			die("build");
		seal(fy_buf_ptr(b), fy_buf_len(b), d, sizeof(d));
		fy_buf_free(b);
		puts_("invite", "sealed-length-overrun", d);
	}
	memset(d, 'A', 513);
	memcpy(d, "ferry1-", 7);
	put("invite", "oversized-513", d, 513);
	{
		static const uint8_t junk[] = {
			0x00, 0xff, 0x7f, 0x80, 'f', 'e', 'r', 'r', 'y', '1', '-', 0x0a, 0x0d, 0x09, 0x20, 0xc3,
			0xa9, '=', '+', '/', 0x00, 0x00, 0x41, 0x42,
		};
		put("invite", "binary-junk", junk, sizeof(junk));
	}
}

/* ---- tokens ---- */

static void
resign(const struct trust_identity *id, const char *sp, size_t sl, char *out, size_t cap)
{
	uint8_t sig[64];
	char s64[100];

	if (trust_identity_sign(id, sp, sl, sig) != 0 || fy_b64url_enc(sig, 64, s64, sizeof(s64)) != 0)
		die("sign");
	snprintf(out, cap, "%.*s.%s", (int)sl, sp, s64);
}

static void
issue(const struct trust_identity *id, const char *aud, const char *scope, int64_t nbf, int64_t exp,
    char *out, size_t cap)
{
	struct trust_token t;

	memset(&t, 0, sizeof(t));
	memset(t.sub, 0x5b, sizeof(t.sub));
	memset(t.cnf, 0xc5, sizeof(t.cnf));
	snprintf(t.aud, sizeof(t.aud), "%s", aud);
	snprintf(t.scope, sizeof(t.scope), "%s", scope);
	t.nbf_ms = nbf;
	t.exp_ms = exp;
	if (trust_token_issue(id, &t, out, cap) != 0)
		die("issue");
}

static void
tokens(void)
{
	struct trust_identity *id = NULL;
	char tmpl[] = "/tmp/ferry-gen-XXXXXX", s[2048], d[2048], body[2048], big[64 + 1];
	const char *dot;
	uint8_t raw[1024];
	size_t n, rl;
	const int64_t t0 = 1795000000000LL;

	if (mkdtemp(tmpl) == NULL || trust_identity_load(tmpl, "site-a", &id) != 0)
		die("identity");
	issue(id, "fed", "job-42", t0, t0 + 300000, s, sizeof(s));
	n = strlen(s);
	puts_("token", "valid-fed", s);
	issue(id, "data", "", t0, t0, d, sizeof(d));
	puts_("token", "valid-data-empty-scope", d);
	memset(big, 'x', 64);
	big[64] = '\0';
	issue(id, big, big, t0, t0 + 600000, d, sizeof(d));
	puts_("token", "valid-largest", d);

	put("token", "truncated-half", s, n / 2);
	put("token", "truncated-last", s, n - 1);
	dot = strchr(s + 4, '.');
	put("token", "truncated-no-signature", s, (size_t)(dot - s));
	put("token", "truncated-dot", s, (size_t)(dot - s) + 1);
	memcpy(d, s, n + 1);
	d[40] = d[40] == 'A' ? 'B' : 'A';
	puts_("token", "damaged-payload", d);
	memcpy(d, s, n + 1);
	d[n - 10] = d[n - 10] == 'A' ? 'B' : 'A';
	puts_("token", "damaged-signature", d);
	memcpy(d, s, n + 1);
	d[20] = '=';
	puts_("token", "damaged-alphabet", d);
	memcpy(d, s, n + 1);
	d[2] = '2';
	puts_("token", "prefix-ft2", d);
	snprintf(d, sizeof(d), "%s.", s);
	puts_("token", "extra-dot", d);
	snprintf(d, sizeof(d), "%sAAAA", s);
	puts_("token", "long-signature", d);

	/* Re-signed payload variants. */
	if (fy_b64url_dec(s + 4, (size_t)(dot - s - 4), raw, sizeof(raw), &rl) != 0)
		die("decode");
	raw[0] = 2;
	memcpy(body, "ft1.", 4);
	if (fy_b64url_enc(raw, rl, body + 4, sizeof(body) - 4) != 0)
		die("encode");
	resign(id, body, strlen(body), d, sizeof(d));
	puts_("token", "signed-version2", d);
	raw[0] = 1;
	raw[rl] = 0;
	if (fy_b64url_enc(raw, rl + 1, body + 4, sizeof(body) - 4) != 0)
		die("encode");
	resign(id, body, strlen(body), d, sizeof(d));
	puts_("token", "signed-trailing-byte", d);
	if (fy_b64url_enc(raw, rl - 3, body + 4, sizeof(body) - 4) != 0)
		die("encode");
	resign(id, body, strlen(body), d, sizeof(d));
	puts_("token", "signed-short-payload", d);
	issue(id, "fed", "job", t0, t0 - 1, d, sizeof(d));
	puts_("token", "signed-exp-before-nbf", d);
	issue(id, "fed", "job", -1, t0, d, sizeof(d));
	puts_("token", "signed-negative-nbf", d);

	memset(d, 'A', 1025);
	memcpy(d, s, n);
	put("token", "oversized-1025", d, 1025);
	put("token", "empty", "", 0);
	puts_("token", "prefix-only", "ft1.");
	puts_("token", "empty-parts", "ft1..");

	trust_identity_free(id);
	{
		char p[4096];
		snprintf(p, sizeof(p), "%s/key.pem", tmpl);
		unlink(p);
		snprintf(p, sizeof(p), "%s/cert.pem", tmpl);
		unlink(p);
		rmdir(tmpl);
	}
}

/* ---- configuration ---- */

static void
configs(void)
{
	char line[1100];

	puts_("config", "valid-full",
	    "# Ferry test configuration\n"
	    "site_name \"site a\"\n"
	    "listen 0.0.0.0:7443\n"
	    "state_dir /var/lib/ferry   # trailing comment\n"
	    "log_level debug\n"
	    "token_lifetime 5m\n"
	    "clock_skew 120s\n"
	    "pair_max_attempts 5\n"
	    "max_message 1048576\n"
	    "verbose yes\n");
	puts_("config", "valid-crlf", "site_name alpha\r\nlisten \"[::1]:7443\"\r\nverbose no\r\n");
	puts_("config", "valid-no-newline", "log_level WARNING");
	puts_("config", "valid-comments-only", "# nothing\n\n   \n\t# indented\n");
	puts_("config", "valid-empty-string", "site_name \"\"\nstate_dir \"\"\n");
	put("config", "empty", "", 0);
	puts_("config", "unknown-keyword", "listen 1.2.3.4:1\nbogus 1\n");
	puts_("config", "duplicate", "verbose yes\nverbose no\n");
	puts_("config", "missing-value", "token_lifetime   # none\n");
	puts_("config", "unterminated-quote", "site_name \"abc\n");
	puts_("config", "trailing-after-quote", "site_name \"abc\" def\n");
	puts_("config", "unquoted-space", "site_name a b\n");
	puts_("config", "range-int", "pair_max_attempts 101\n");
	puts_("config", "range-duration", "token_lifetime 11m\n");
	puts_("config", "bad-bool", "verbose true\n");
	puts_("config", "bad-loglevel", "log_level loud\n");
	puts_("config", "int-overflow", "max_message 99999999999999999999999\n");
	put("config", "nul-byte", "listen a\nsite\0_name x\n", 22);
	memcpy(line, "site_name ", 10);
	memset(line + 10, 'n', 1014);
	line[1024] = '\n';
	put("config", "line-1024", line, 1025);
	line[1023] = '\n';
	put("config", "line-1023", line, 1024);
}

/* ---- transport frames ---- */

/* One corpus file: a stream of frames built up in memory. */
static uint8_t fbuf[64 * 1024];
static size_t flen;

static void
frame_raw(uint8_t type, uint8_t flags, uint32_t channel, uint64_t seq, const void *p, size_t n)
{
	struct tp_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.flags = flags;
	h.channel = channel;
	h.seq = seq;
	h.len = h.raw_len = (uint32_t)n;
	if (flen + TP_HDR_LEN + n > sizeof(fbuf))
		die("frame buffer");
	tp_hdr_encode(&h, fbuf + flen);
	memcpy(fbuf + flen + TP_HDR_LEN, p, n);
	flen += TP_HDR_LEN + n;
}

/* A DATA frame from tp_data_encode; returns the offset of its payload. */
static size_t
frame_data(uint32_t channel, uint64_t seq, uint8_t flags, const uint8_t *raw, size_t n,
    enum tp_compress c)
{
	struct tp_hdr h;
	uint8_t *payload;
	size_t at;

	memset(&h, 0, sizeof(h));
	h.channel = channel;
	h.seq = seq;
	h.flags = flags;
	if (tp_data_encode(&h, raw, n, c, &payload) != 0)
		die("tp_data_encode");
	if (flen + TP_HDR_LEN + h.len > sizeof(fbuf))
		die("frame buffer");
	tp_hdr_encode(&h, fbuf + flen);
	at = flen + TP_HDR_LEN;
	if (h.len > 0)
		memcpy(fbuf + at, payload, h.len);
	flen = at + h.len;
	free(payload);
	return at;
}

static void
frame_put(const char *name)
{
	put("frame", name, fbuf, flen);
	flen = 0;
}

static void
frame_text(uint8_t *p, size_t n)
{
	static const char *const words[] = {
		"ferry", "gateway", "stream", "chunk", "vmdk", "migration", "site", "window",
	};
	unsigned x = 12345;
	size_t i = 0, l;
	const char *w;

	while (i < n) {
		x = x * 1103515245u + 12345u;
		w = words[(x >> 16) % 8];
		for (l = 0; w[l] != '\0' && i < n; l++)
			p[i++] = (uint8_t)w[l];
		if (i < n)
			p[i++] = ' ';
	}
}

static size_t
hello_payload(uint8_t *p, uint16_t idx, uint16_t claimed, const char *cred, size_t cl)
{
	size_t i;

	for (i = 0; i < 16; i++)
		p[i] = (uint8_t)(0x5a ^ i);
	p[16] = (uint8_t)(idx >> 8);
	p[17] = (uint8_t)idx;
	p[18] = (uint8_t)(claimed >> 8);
	p[19] = (uint8_t)claimed;
	memcpy(p + 20, cred, cl);
	return 20 + cl;
}

static void
ack_entry(uint8_t *p, uint32_t ch, uint64_t next, uint64_t consumed)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(ch >> (24 - 8 * i));
	for (i = 0; i < 8; i++) {
		p[4 + i] = (uint8_t)(next >> (56 - 8 * i));
		p[12 + i] = (uint8_t)(consumed >> (56 - 8 * i));
	}
}

static void
frames(void)
{
	static const char cred[] = "ferry-stream-credential-0123456789";
	uint8_t text[4096], rnd[256], zero[8192], hp[80], acks[3 * TP_ACK_ENT];
	size_t i, at, n;

	frame_text(text, sizeof(text));
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 167 + 13);
	memset(zero, 0, sizeof(zero));

	frame_data(1, 0, 0, rnd, sizeof(rnd), TP_COMPRESS_NONE);
	frame_put("data-raw");
	frame_data(1, 1, 0, text, sizeof(text), TP_COMPRESS_LZ4);
	frame_put("data-lz4");
	frame_data(1, 2, 0, text, sizeof(text), TP_COMPRESS_ZSTD);
	frame_put("data-zstd");
	frame_data(1, 3, 0, zero, sizeof(zero), TP_COMPRESS_ZSTD);
	frame_put("data-zero");
	frame_data(1, 0, TP_F_OPEN, (const uint8_t *)"vm-42/disk-0", 12, TP_COMPRESS_NONE);
	frame_put("data-open");
	frame_data(1, 9, TP_F_FIN, (const uint8_t *)"", 0, TP_COMPRESS_NONE);
	frame_put("data-fin-empty");

	/* A whole channel: OPEN, raw, lz4, zstd, zero, FIN. */
	frame_data(7, 0, TP_F_OPEN, (const uint8_t *)"tunnel:nbd", 10, TP_COMPRESS_NONE);
	frame_data(7, 1, 0, rnd, 100, TP_COMPRESS_LZ4);
	frame_data(7, 2, 0, text, sizeof(text), TP_COMPRESS_LZ4);
	frame_data(7, 3, 0, text, sizeof(text), TP_COMPRESS_ZSTD);
	frame_data(7, 4, 0, zero, sizeof(zero), TP_COMPRESS_LZ4);
	frame_data(7, 5, TP_F_FIN, rnd, 10, TP_COMPRESS_NONE);
	frame_put("stream-channel");

	/* A stream from its start: HELLO, WELCOME, OPEN, DATA, ACK, PING, BYE. */
	n = hello_payload(hp, 0, sizeof(cred) - 1, cred, sizeof(cred) - 1);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n);
	frame_raw(TP_WELCOME, 0, 0, 0, "", 0);
	frame_data(3, 0, TP_F_OPEN, (const uint8_t *)"ctl", 3, TP_COMPRESS_NONE);
	frame_data(3, 1, 0, rnd, 64, TP_COMPRESS_NONE);
	ack_entry(acks, 3, 2, 64);
	frame_raw(TP_ACK, 0, 0, 0, acks, TP_ACK_ENT);
	frame_raw(TP_PING, 0, 0, 1, "\0\0\0\0\0\0\0\1", 8);
	frame_raw(TP_BYE, 0, 0, 0, "", 0);
	frame_put("stream-session");

	n = hello_payload(hp, 31, sizeof(cred) - 1, cred, sizeof(cred) - 1);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n);
	frame_put("hello-valid");
	n = hello_payload(hp, TP_MAX_STREAMS, 4, "cred", 4);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n);
	frame_put("hello-index-32");
	n = hello_payload(hp, 1, 9, "cred", 4);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n);
	frame_put("hello-length-mismatch");
	n = hello_payload(hp, 1, 5, "cr\0ed", 5);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n);
	frame_put("hello-nul-credential");

	ack_entry(acks, 1, 10, 40960);
	ack_entry(acks + TP_ACK_ENT, 2, 0, 0);
	ack_entry(acks + 2 * TP_ACK_ENT, UINT32_MAX, UINT64_MAX, UINT64_MAX);
	frame_raw(TP_ACK, 0, 0, 0, acks, sizeof(acks));
	frame_put("ack-three");
	frame_raw(TP_ACK, 0, 0, 0, acks, TP_ACK_ENT + 1);
	frame_put("ack-length-21");

	frame_raw(TP_PING, 0, 0, 77, "\0\0\0\0\0\0\0\x4d", 8);
	frame_raw(TP_PONG, 0, 0, 77, "\0\0\0\0\0\0\0\x4d", 8);
	frame_raw(TP_RESET, 0, 5, 0, "peer refused the request", 24);
	frame_put("control-ping-pong-reset");

	/* Truncated and damaged. */
	frame_data(1, 0, 0, rnd, sizeof(rnd), TP_COMPRESS_NONE);
	flen = TP_HDR_LEN / 2;
	frame_put("truncated-header");
	at = frame_data(1, 1, 0, text, sizeof(text), TP_COMPRESS_LZ4);
	flen = at + (flen - at) / 2;
	frame_put("truncated-lz4-payload");
	at = frame_data(1, 2, 0, rnd, sizeof(rnd), TP_COMPRESS_NONE);
	fbuf[at + 100] ^= 0x10;
	frame_put("damaged-raw-checksum");
	at = frame_data(1, 3, 0, text, sizeof(text), TP_COMPRESS_LZ4);
	fbuf[at + 40] ^= 0xff;
	frame_put("damaged-lz4");
	at = frame_data(1, 4, 0, text, sizeof(text), TP_COMPRESS_ZSTD);
	fbuf[at + 30] ^= 0xff;
	frame_put("damaged-zstd");
	at = frame_data(1, 5, 0, text, sizeof(text), TP_COMPRESS_ZSTD);
	fbuf[at - TP_HDR_LEN + 19] ^= 0x01;	/* raw_len off by one */
	frame_put("damaged-zstd-raw-len");
	frame_data(1, 6, 0, rnd, 16, TP_COMPRESS_NONE);
	fbuf[2] = 2;
	frame_put("bad-version");
	frame_data(1, 6, 0, rnd, 16, TP_COMPRESS_NONE);
	fbuf[4] = TP_F_LZ4 | TP_F_ZSTD;
	frame_put("bad-flags-lz4-zstd");
	frame_data(1, 6, 0, zero, sizeof(zero), TP_COMPRESS_NONE);
	fbuf[15] = 1;				/* ZERO with a payload length */
	frame_put("bad-zero-with-len");
	frame_raw(TP_PING, 0, 0, 1, "\0\0\0\0\0\0\0\1", 8);
	fbuf[0] = 'G';
	frame_put("bad-magic");
	frame_raw(TP_PING, 0, 0, 1, "\0\0\0\0\0\0\0\1", 8);
	fbuf[3] = TP_RESET + 1;
	frame_put("bad-type-9");
	frame_raw(TP_PING, TP_F_FIN, 0, 1, "\0\0\0\0\0\0\0\1", 8);
	frame_put("bad-control-flag");
	frame_raw(TP_DATA, TP_F_OPEN, 1, 0, text, TP_NAME_MAX + 1);
	frame_put("bad-open-name-65");
	frame_raw(TP_DATA, 0, 1, 0, "", 0);
	fbuf[13] = fbuf[17] = 0x40;		/* len = raw_len = TP_CHUNK_MAX + 1 */
	fbuf[15] = fbuf[19] = 0x01;
	frame_put("bad-data-over-limit");
	n = hello_payload(hp, 1, 0, "", 0);
	frame_raw(TP_HELLO, 0, 0, 0, hp, n - 1);
	frame_put("hello-short");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	fy_log_init("gen-corpus", 1, FY_LOG_ERR);
	invites();
	tokens();
	configs();
	frames();
	return 0;
}
