/*
 * frame-t.c - the transport wire format (transport/frame.c): header round
 * trip and byte layout, every single-byte header corruption, the
 * header's refusals (magic, version, reserved bytes, types, limits,
 * illegal flag combinations), DATA encode/decode with each compressor on
 * random, compressible, zero and OPEN chunks, bit flips in raw and
 * compressed payloads, ACK and HELLO payloads, and tp_checksum against
 * XXH3_64bits.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <lz4.h>
#include "common.h"
#include "transport/transport.h"
#include "tests/tap.h"

#define CTRL_MAX	(64 * 1024)	/* largest control payload (frame.c) */
#define LEN_SLACK	65536		/* compressed DATA may exceed raw_len by this */

/* Deterministic xorshift64: the same bytes on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 24);
}

/* Words in random order: compresses well with LZ4 and zstd, not periodic. */
static void
fill_text(uint8_t *p, size_t n)
{
	static const char *const words[] = {
		"ferry", "gateway", "stream", "chunk", "vmdk", "migration", "site",
		"transport", "window", "qemu", "disk", "datastore", "vcenter", "bbr",
	};
	const char *w;
	size_t i = 0, l;

	while (i < n) {
		w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		for (l = 0; w[l] != '\0' && i < n; l++)
			p[i++] = (uint8_t)w[l];
		if (i < n)
			p[i++] = ' ';
	}
}

static uint8_t *
xmalloc(size_t n)
{
	uint8_t *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		bail("malloc %zu", n);
	return p;
}

static int
same_hdr(const struct tp_hdr *a, const struct tp_hdr *b)
{
	return a->type == b->type && a->flags == b->flags && a->channel == b->channel &&
	    a->len == b->len && a->raw_len == b->raw_len && a->seq == b->seq && a->sum == b->sum;
}

static struct tp_hdr
mkhdr(uint8_t type, uint8_t flags, uint32_t channel, uint32_t len, uint32_t raw_len,
    uint64_t seq, uint64_t sum)
{
	struct tp_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.flags = flags;
	h.channel = channel;
	h.len = len;
	h.raw_len = raw_len;
	h.seq = seq;
	h.sum = sum;
	return h;
}

/* Encode h and decode the bytes again. */
static int
reparse(const struct tp_hdr *h, struct tp_hdr *out)
{
	uint8_t w[TP_HDR_LEN];

	tp_hdr_encode(h, w);
	return tp_hdr_decode(w, out);
}

static int
hdr_rc(uint8_t type, uint8_t flags, uint32_t len, uint32_t raw_len)
{
	struct tp_hdr h = mkhdr(type, flags, 7, len, raw_len, 1, 2), got;

	return reparse(&h, &got);
}

static void
test_checksum(void)
{
	static const char *const s[] = { "", "a", "ferry", "The quick brown fox jumps over the lazy dog" };
	uint8_t *big;
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		ok(tp_checksum(s[i], strlen(s[i])) == XXH3_64bits(s[i], strlen(s[i])),
		    "tp_checksum(\"%s\") is XXH3-64", s[i]);
	big = xmalloc(1 << 20);
	fill_random(big, 1 << 20);
	ok(tp_checksum(big, 1 << 20) == XXH3_64bits(big, 1 << 20), "tp_checksum of 1 MiB is XXH3-64");
	ok(tp_checksum(big + 1, 241) == XXH3_64bits(big + 1, 241), "tp_checksum of an unaligned 241 bytes");
	ok(tp_checksum(big, 241) != tp_checksum(big + 1, 241), "different bytes, different sums");
	free(big);
}

static void
test_hdr_roundtrip(void)
{
	static const uint8_t want[TP_HDR_LEN] = {
		0x46, 0x59, 0x01, 0x03, 0x12, 0x00, 0x00, 0x00,
		0x01, 0x02, 0x03, 0x04,		/* channel */
		0x00, 0x00, 0x10, 0x00,		/* len */
		0x00, 0x01, 0x00, 0x00,		/* raw_len */
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,	/* seq */
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,	/* sum */
	};
	struct tp_hdr h, got;
	uint8_t w[TP_HDR_LEN];
	int t;

	h = mkhdr(TP_DATA, TP_F_FIN | TP_F_ZSTD, 0x01020304, 0x1000, 0x10000,
	    0x1112131415161718ULL, 0xa1a2a3a4a5a6a7a8ULL);
	memset(w, 0xee, sizeof(w));
	tp_hdr_encode(&h, w);
	ok(memcmp(w, want, sizeof(w)) == 0, "header layout: magic FY, version 1, big-endian fields");
	is_int(tp_hdr_decode(want, &got), 0, "the reference header decodes");
	ok(same_hdr(&h, &got), "and gives the fields back");

	for (t = TP_HELLO; t <= TP_RESET; t++) {
		if (t == TP_DATA) {
			h = mkhdr(TP_DATA, 0, UINT32_MAX, TP_CHUNK_MAX, TP_CHUNK_MAX, UINT64_MAX, UINT64_MAX);
			is_int(reparse(&h, &got), 0, "DATA raw, all fields at their maximum");
			ok(same_hdr(&h, &got), "DATA raw maximum round trip");
			h = mkhdr(TP_DATA, TP_F_LZ4 | TP_F_FIN, UINT32_MAX, TP_CHUNK_MAX + LEN_SLACK,
			    TP_CHUNK_MAX, UINT64_MAX, UINT64_MAX);
			is_int(reparse(&h, &got), 0, "DATA lz4, len at TP_CHUNK_MAX + 64 KiB");
			ok(same_hdr(&h, &got), "DATA lz4 maximum round trip");
			h = mkhdr(TP_DATA, TP_F_ZSTD, 0x80000000u, 1, TP_CHUNK_MAX,
			    0x8000000000000000ULL, 1);
			is_int(reparse(&h, &got), 0, "DATA zstd, 1 byte expanding to TP_CHUNK_MAX");
			ok(same_hdr(&h, &got), "DATA zstd round trip");
			h = mkhdr(TP_DATA, TP_F_OPEN | TP_F_FIN, 0x80000000u, TP_NAME_MAX, TP_NAME_MAX,
			    0x8000000000000000ULL, 1);
			is_int(reparse(&h, &got), 0, "DATA OPEN+FIN with a 64-byte name");
			ok(same_hdr(&h, &got), "DATA OPEN+FIN round trip");
			h = mkhdr(TP_DATA, TP_F_ZERO | TP_F_FIN, 1, 0, TP_CHUNK_MAX, 0, UINT64_MAX);
			is_int(reparse(&h, &got), 0, "DATA zero chunk of TP_CHUNK_MAX");
			ok(same_hdr(&h, &got), "DATA zero round trip");
		} else {
			h = mkhdr((uint8_t)t, 0, UINT32_MAX, CTRL_MAX, CTRL_MAX, UINT64_MAX, UINT64_MAX);
			is_int(reparse(&h, &got), 0, "type %d, fields at their maximum", t);
			ok(same_hdr(&h, &got), "type %d maximum round trip", t);
		}
		h = mkhdr((uint8_t)t, 0, 0, 0, 0, 0, 0);
		is_int(reparse(&h, &got), 0, "type %d, all fields zero", t);
		ok(same_hdr(&h, &got), "type %d zero round trip", t);
	}
}

/* Every changed byte of a DATA header is refused or visible in the fields. */
static void
test_hdr_corruption(void)
{
	struct tp_hdr h, got;
	uint8_t w[TP_HDR_LEN], c[TP_HDR_LEN];
	int i, x, silent, refused;

	h = mkhdr(TP_DATA, TP_F_ZSTD | TP_F_FIN, 0x0a0b0c0d, 3000, 9000, 0x0102030405060708ULL,
	    0xdeadbeefcafef00dULL);
	tp_hdr_encode(&h, w);
	if (tp_hdr_decode(w, &got) != 0 || !same_hdr(&h, &got))
		bail("reference DATA header does not decode");
	for (i = 0; i < TP_HDR_LEN; i++) {
		silent = refused = 0;
		for (x = 1; x < 256; x++) {
			memcpy(c, w, sizeof(c));
			c[i] ^= (uint8_t)x;
			if (tp_hdr_decode(c, &got) != 0)
				refused++;
			else if (same_hdr(&h, &got))
				silent++;
		}
		ok(silent == 0, "byte %d: all 255 changes refused (%d) or visible in the fields", i, refused);
	}
}

static void
test_hdr_refusals(void)
{
	struct tp_hdr h, got;
	uint8_t w[TP_HDR_LEN], c[TP_HDR_LEN];
	int i;

	h = mkhdr(TP_PING, 0, 1, 8, 8, 5, 0);
	tp_hdr_encode(&h, w);
	memcpy(c, w, sizeof(c));
	c[0] = 'F' ^ 0x20;
	is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "bad magic (first byte): FY_ERR_FORMAT");
	memcpy(c, w, sizeof(c));
	c[1] = 'Z';
	is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "bad magic (second byte): FY_ERR_FORMAT");
	memcpy(c, w, sizeof(c));
	c[0] = 'Y';
	c[1] = 'F';
	is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "byte-swapped magic: FY_ERR_FORMAT");
	memset(c, 0, sizeof(c));
	is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "all-zero header: FY_ERR_FORMAT");

	memcpy(c, w, sizeof(c));
	c[2] = 0;
	is_int(tp_hdr_decode(c, &got), FY_ERR_VERSION, "version 0: FY_ERR_VERSION");
	c[2] = 2;
	is_int(tp_hdr_decode(c, &got), FY_ERR_VERSION, "version 2: FY_ERR_VERSION");
	c[2] = 0xff;
	is_int(tp_hdr_decode(c, &got), FY_ERR_VERSION, "version 255: FY_ERR_VERSION");

	for (i = 5; i <= 7; i++) {
		memcpy(c, w, sizeof(c));
		c[i] = 0x01;
		is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "reserved byte %d = 0x01: FY_ERR_FORMAT", i);
		c[i] = 0x80;
		is_int(tp_hdr_decode(c, &got), FY_ERR_FORMAT, "reserved byte %d = 0x80: FY_ERR_FORMAT", i);
	}

	is_int(hdr_rc(0, 0, 0, 0), FY_ERR_FORMAT, "type 0: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_RESET + 1, 0, 0, 0), FY_ERR_FORMAT, "type 9: FY_ERR_FORMAT");
	is_int(hdr_rc(0x83, 0, 0, 0), FY_ERR_FORMAT, "type 0x83: FY_ERR_FORMAT");
	is_int(hdr_rc(0xff, 0, 0, 0), FY_ERR_FORMAT, "type 255: FY_ERR_FORMAT");

	/* DATA limits. */
	is_int(hdr_rc(TP_DATA, 0, TP_CHUNK_MAX, TP_CHUNK_MAX), 0, "DATA raw of exactly TP_CHUNK_MAX");
	is_int(hdr_rc(TP_DATA, 0, TP_CHUNK_MAX + 1, TP_CHUNK_MAX + 1), FY_ERR_LIMIT,
	    "DATA raw over TP_CHUNK_MAX: FY_ERR_LIMIT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO, 0, TP_CHUNK_MAX + 1), FY_ERR_LIMIT,
	    "DATA zero chunk over TP_CHUNK_MAX: FY_ERR_LIMIT");
	is_int(hdr_rc(TP_DATA, TP_F_LZ4, 100, TP_CHUNK_MAX + 1), FY_ERR_LIMIT,
	    "DATA lz4 expanding over TP_CHUNK_MAX: FY_ERR_LIMIT");
	is_int(hdr_rc(TP_DATA, TP_F_ZSTD, TP_CHUNK_MAX + LEN_SLACK + 1, 100), FY_ERR_LIMIT,
	    "DATA zstd payload over TP_CHUNK_MAX + 64 KiB: FY_ERR_LIMIT");
	is_int(hdr_rc(TP_DATA, 0, UINT32_MAX, UINT32_MAX), FY_ERR_LIMIT, "DATA len 2^32-1: FY_ERR_LIMIT");

	/* DATA flags. */
	is_int(hdr_rc(TP_DATA, TP_F_LZ4 | TP_F_ZSTD, 10, 100), FY_ERR_FORMAT, "LZ4+ZSTD: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO | TP_F_LZ4, 0, 100), FY_ERR_FORMAT, "ZERO+LZ4: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO | TP_F_ZSTD, 0, 100), FY_ERR_FORMAT, "ZERO+ZSTD: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO, 1, 100), FY_ERR_FORMAT, "ZERO with a 1-byte payload: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO, 100, 100), FY_ERR_FORMAT, "ZERO with len = raw_len: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_ZERO, 0, 100), 0, "ZERO with no payload is fine");
	is_int(hdr_rc(TP_DATA, 0, 99, 100), FY_ERR_FORMAT, "raw DATA with len < raw_len: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, 0, 101, 100), FY_ERR_FORMAT, "raw DATA with len > raw_len: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_FIN, 0, 1), FY_ERR_FORMAT, "raw FIN with len 0, raw_len 1: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_FIN, 0, 0), 0, "empty FIN is fine");
	is_int(hdr_rc(TP_DATA, TP_F_LZ4, 200, 100), 0, "compressed DATA may be longer than raw_len");
	for (i = 0x20; i <= 0x80; i <<= 1)
		is_int(hdr_rc(TP_DATA, (uint8_t)i, 100, 100), FY_ERR_FORMAT, "unknown DATA flag 0x%02x: FY_ERR_FORMAT", i);
	is_int(hdr_rc(TP_DATA, TP_F_OPEN, 0, 0), FY_ERR_FORMAT, "OPEN with an empty name: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_OPEN, TP_NAME_MAX + 1, TP_NAME_MAX + 1), FY_ERR_FORMAT,
	    "OPEN with a 65-byte name: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_OPEN | TP_F_LZ4, 10, TP_NAME_MAX + 1), FY_ERR_FORMAT,
	    "OPEN whose name decompresses to 65 bytes: FY_ERR_FORMAT");
	is_int(hdr_rc(TP_DATA, TP_F_OPEN, 1, 1), 0, "OPEN with a 1-byte name");
	is_int(hdr_rc(TP_DATA, TP_F_OPEN | TP_F_FIN, TP_NAME_MAX, TP_NAME_MAX), 0, "OPEN+FIN with a 64-byte name");

	/* Control frames. */
	for (i = TP_HELLO; i <= TP_RESET; i++) {
		if (i == TP_DATA)
			continue;
		is_int(hdr_rc((uint8_t)i, TP_F_OPEN, 4, 4), FY_ERR_FORMAT, "type %d with a flag: FY_ERR_FORMAT", i);
		is_int(hdr_rc((uint8_t)i, 0x80, 4, 4), FY_ERR_FORMAT, "type %d with flag 0x80: FY_ERR_FORMAT", i);
		is_int(hdr_rc((uint8_t)i, 0, CTRL_MAX + 1, CTRL_MAX + 1), FY_ERR_FORMAT,
		    "type %d over 64 KiB: FY_ERR_FORMAT", i);
		is_int(hdr_rc((uint8_t)i, 0, 4, 5), FY_ERR_FORMAT, "type %d with raw_len != len: FY_ERR_FORMAT", i);
	}
}

/* Encode, check the header survives the wire, decode into an exact buffer. */
static int
roundtrip(const uint8_t *raw, size_t n, enum tp_compress c, uint8_t flags, struct tp_hdr *h,
    const char *what)
{
	struct tp_hdr wire;
	uint8_t *payload = NULL, *out;
	int r, good;

	memset(h, 0, sizeof(*h));
	h->channel = 42;
	h->seq = 7;
	h->flags = flags;
	if ((r = tp_data_encode(h, raw, n, c, &payload)) != 0) {
		ok(0, "%s: tp_data_encode: %s", what, fy_strerror(r));
		return r;
	}
	if ((r = reparse(h, &wire)) != 0 || !same_hdr(h, &wire)) {
		ok(0, "%s: encoded header does not decode: %s", what, fy_strerror(r));
		free(payload);
		return r ? r : FY_ERR_FORMAT;
	}
	out = xmalloc(n);
	memset(out, 0xa5, n);
	r = tp_data_decode(&wire, payload, out);
	good = r == 0 && memcmp(out, raw, n) == 0;
	ok(good, "%s: decodes to the same %zu bytes", what, n);
	free(out);
	free(payload);
	return good ? 0 : FY_ERR_FORMAT;
}

static void
test_data_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 65536, 1 << 20 };
	static const char *const cname[] = { "none", "lz4", "zstd" };
	struct tp_hdr h;
	uint8_t *raw, *payload;
	size_t i, n;
	int c;

	raw = xmalloc(TP_CHUNK_MAX + 1);

	/* Random data is incompressible: sent raw, whatever was asked. */
	for (c = TP_COMPRESS_NONE; c <= TP_COMPRESS_ZSTD; c++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			n = sizes[i];
			fill_random(raw, n);
			if (n > 0)
				raw[0] |= 1;	/* never all zero */
			if (roundtrip(raw, n, (enum tp_compress)c, 0, &h, "random") != 0)
				continue;
			ok(h.type == TP_DATA && h.flags == 0 && h.len == n && h.raw_len == n &&
			    h.sum == tp_checksum(raw, n),
			    "random %zu bytes, %s: raw, no flag, len = raw_len, sum = XXH3", n, cname[c]);
		}
	}

	/* Compressible data: flag set, at least 10% saved. */
	for (c = TP_COMPRESS_LZ4; c <= TP_COMPRESS_ZSTD; c++) {
		for (i = 3; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			n = sizes[i];
			fill_text(raw, n);
			if (roundtrip(raw, n, (enum tp_compress)c, TP_F_FIN, &h, "text") != 0)
				continue;
			ok(h.flags == (TP_F_FIN | (c == TP_COMPRESS_LZ4 ? TP_F_LZ4 : TP_F_ZSTD)),
			    "text %zu bytes, %s: compression flag (and FIN) set", n, cname[c]);
			ok((uint64_t)h.len * 10 <= (uint64_t)n * 9 && h.raw_len == n,
			    "text %zu bytes, %s: %u bytes on the wire, >= 10%% smaller", n, cname[c], h.len);
		}
		fill_text(raw, 4095);
		if (roundtrip(raw, 4095, (enum tp_compress)c, 0, &h, "text 4095") == 0)
			ok(h.flags == 0 && h.len == 4095, "text under 4096 bytes, %s: not compressed", cname[c]);
	}
	fill_text(raw, 65536);
	if (roundtrip(raw, 65536, TP_COMPRESS_NONE, 0, &h, "text, none") == 0)
		ok(h.flags == 0 && h.len == 65536, "text with TP_COMPRESS_NONE: raw");

	/* The largest chunk, and one byte more. */
	fill_text(raw, TP_CHUNK_MAX);
	if (roundtrip(raw, TP_CHUNK_MAX, TP_COMPRESS_ZSTD, 0, &h, "text TP_CHUNK_MAX zstd") == 0)
		ok(h.flags == TP_F_ZSTD, "TP_CHUNK_MAX of text: zstd");
	h = mkhdr(0, 0, 0, 0, 0, 0, 0);
	payload = (uint8_t *)&h;	/* must be reset to NULL */
	is_int(tp_data_encode(&h, raw, TP_CHUNK_MAX + 1, TP_COMPRESS_NONE, &payload), FY_ERR_LIMIT,
	    "encoding TP_CHUNK_MAX + 1: FY_ERR_LIMIT");
	ok(payload == NULL, "and *payload is NULL");

	/* Zero chunks: no payload, decode to zeros. */
	for (c = TP_COMPRESS_NONE; c <= TP_COMPRESS_ZSTD; c++) {
		memset(raw, 0, 65536);
		payload = raw;
		h = mkhdr(0, TP_F_FIN, 3, 0, 0, 9, 0);
		is_int(tp_data_encode(&h, raw, 65536, (enum tp_compress)c, &payload), 0, "zero 64 KiB, %s: encodes", cname[c]);
		ok(h.flags == (TP_F_ZERO | TP_F_FIN) && h.len == 0 && h.raw_len == 65536 && payload == NULL,
		    "zero 64 KiB, %s: TP_F_ZERO (FIN kept), len 0, no payload", cname[c]);
		free(payload);
	}
	if (roundtrip(raw, 1, TP_COMPRESS_LZ4, 0, &h, "one zero byte") == 0)
		ok(h.flags == TP_F_ZERO && h.len == 0, "a single zero byte is a zero chunk");
	memset(raw, 0, TP_CHUNK_MAX);
	if (roundtrip(raw, TP_CHUNK_MAX, TP_COMPRESS_ZSTD, 0, &h, "zero TP_CHUNK_MAX") == 0)
		ok(h.flags == TP_F_ZERO && h.len == 0 && h.raw_len == TP_CHUNK_MAX, "zero TP_CHUNK_MAX: TP_F_ZERO");
	raw[TP_CHUNK_MAX - 1] = 1;
	if (roundtrip(raw, TP_CHUNK_MAX, TP_COMPRESS_NONE, 0, &h, "zero but the last byte") == 0)
		ok(!(h.flags & TP_F_ZERO) && h.len == TP_CHUNK_MAX, "zero but the last byte: not a zero chunk");
	raw[TP_CHUNK_MAX - 1] = 0;
	raw[4096] = 1;
	if (roundtrip(raw, 8192, TP_COMPRESS_NONE, 0, &h, "zero but byte 4096") == 0)
		ok(!(h.flags & TP_F_ZERO), "zero but byte 4096: not a zero chunk");

	/* OPEN: never zero-elided, never compressed. */
	if (roundtrip((const uint8_t *)"vm-42/disk-0", 12, TP_COMPRESS_ZSTD, TP_F_OPEN, &h, "OPEN name") == 0)
		ok(h.flags == TP_F_OPEN && h.len == 12, "OPEN chunk: raw, flag kept");
	memset(raw, 0, TP_NAME_MAX);
	if (roundtrip(raw, TP_NAME_MAX, TP_COMPRESS_LZ4, TP_F_OPEN, &h, "OPEN all-zero name") == 0)
		ok(h.flags == TP_F_OPEN && h.len == TP_NAME_MAX, "OPEN with an all-zero name: not zero-elided");
	fill_text(raw, 65536);
	for (c = TP_COMPRESS_LZ4; c <= TP_COMPRESS_ZSTD; c++) {
		h = mkhdr(0, TP_F_OPEN, 0, 0, 0, 0, 0);
		is_int(tp_data_encode(&h, raw, 65536, (enum tp_compress)c, &payload), 0, "OPEN with 64 KiB of text encodes");
		ok(h.flags == TP_F_OPEN && h.len == 65536 && payload != NULL && memcmp(payload, raw, 65536) == 0,
		    "OPEN with compressible bytes, %s: not compressed", cname[c]);
		free(payload);
	}

	/* Stale flags in the header are cleared; OPEN and FIN are kept. */
	fill_random(raw, 100);
	raw[0] |= 1;
	h = mkhdr(TP_PING, 0xff, 0, 0, 0, 0, 0);
	is_int(tp_data_encode(&h, raw, 100, TP_COMPRESS_NONE, &payload), 0, "encode with stale flags 0xff");
	ok(h.type == TP_DATA && h.flags == (TP_F_OPEN | TP_F_FIN), "type set to DATA, only OPEN|FIN kept");
	free(payload);

	free(raw);
}

/* Flip every bit of a payload; count the decodes that did not refuse. */
static void
flip_all(const struct tp_hdr *h, uint8_t *payload, const uint8_t *raw, int *wrong, int *same,
    int *bad_rc, int *checksum)
{
	uint8_t *out = xmalloc(h->raw_len);
	size_t bit;
	int r;

	*wrong = *same = *bad_rc = *checksum = 0;
	for (bit = 0; bit < (size_t)h->len * 8; bit++) {
		payload[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = tp_data_decode(h, payload, out);
		if (r == 0 && memcmp(out, raw, h->raw_len) == 0)
			(*same)++;
		else if (r == 0)
			(*wrong)++;
		else if (r == FY_ERR_CHECKSUM)
			(*checksum)++;
		else if (r != FY_ERR_FORMAT)
			(*bad_rc)++;
		payload[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(out);
}

static void
test_bitflips(void)
{
	static const char *const cname[] = { "none", "lz4", "zstd" };
	struct tp_hdr h;
	uint8_t raw[6000], *payload, *big, out[6000];
	int c, wrong, same, bad_rc, checksum;

	/* Raw payload: every flip is a checksum failure. */
	fill_random(raw, 512);
	h = mkhdr(0, 0, 1, 0, 0, 0, 0);
	if (tp_data_encode(&h, raw, 512, TP_COMPRESS_NONE, &payload) != 0)
		bail("tp_data_encode");
	flip_all(&h, payload, raw, &wrong, &same, &bad_rc, &checksum);
	is_int(checksum, 512 * 8, "raw payload: each of the 4096 bit flips is FY_ERR_CHECKSUM");
	h.sum ^= 1;
	is_int(tp_data_decode(&h, payload, out), FY_ERR_CHECKSUM, "raw payload, flipped sum: FY_ERR_CHECKSUM");
	h.sum ^= 1;
	is_int(tp_data_decode(&h, payload, out), 0, "raw payload intact: 0");
	free(payload);

	/* Zero chunk with a wrong sum. */
	memset(raw, 0, 1000);
	h = mkhdr(0, 0, 1, 0, 0, 0, 0);
	if (tp_data_encode(&h, raw, 1000, TP_COMPRESS_NONE, &payload) != 0 || !(h.flags & TP_F_ZERO))
		bail("zero chunk");
	h.sum ^= 0x8000000000000000ULL;
	is_int(tp_data_decode(&h, NULL, out), FY_ERR_CHECKSUM, "zero chunk with a wrong sum: FY_ERR_CHECKSUM");

	/*
	 * Compressed payloads: a flip is refused (FY_ERR_FORMAT from the
	 * decompressor or FY_ERR_CHECKSUM), or lands in a redundant bit (an
	 * LZ4 match offset to an identical earlier string, zstd's window
	 * size) and decodes to exactly the original bytes, which the
	 * checksum then rightly accepts.  Never 0 with different bytes.
	 */
	for (c = TP_COMPRESS_LZ4; c <= TP_COMPRESS_ZSTD; c++) {
		fill_text(raw, sizeof(raw));
		h = mkhdr(0, 0, 1, 0, 0, 0, 0);
		if (tp_data_encode(&h, raw, sizeof(raw), (enum tp_compress)c, &payload) != 0 ||
		    !(h.flags & (TP_F_LZ4 | TP_F_ZSTD)))
			bail("compressed %s payload", cname[c]);
		flip_all(&h, payload, raw, &wrong, &same, &bad_rc, &checksum);
		diag("%s: %u payload bytes, %d flips caught by the checksum, %d decode to the original",
		    cname[c], h.len, checksum, same);
		is_int(wrong, 0, "%s payload: no bit flip decodes to different bytes with 0", cname[c]);
		is_int(bad_rc, 0, "%s payload: every refusal is FY_ERR_FORMAT or FY_ERR_CHECKSUM", cname[c]);
		ok(same < (int)h.len, "%s payload: flips that change nothing are rare (%d of %u bits)",
		    cname[c], same, h.len * 8);

		/* Truncated and extended payloads. */
		if ((big = malloc(h.len + 1)) == NULL)
			bail("malloc");
		memcpy(big, payload, h.len);
		big[h.len] = 0;
		h.len--;
		ok(tp_data_decode(&h, big, out) != 0, "%s payload one byte short: refused", cname[c]);
		h.len += 2;
		ok(tp_data_decode(&h, big, out) != 0, "%s payload with a trailing byte: refused", cname[c]);
		h.len--;
		h.raw_len--;
		ok(tp_data_decode(&h, big, out) != 0, "%s payload, raw_len one short: refused", cname[c]);
		h.raw_len++;
		is_int(tp_data_decode(&h, big, out), 0, "%s payload intact: 0", cname[c]);
		free(big);
		free(payload);
	}

	/* Garbage flagged as compressed. */
	fill_random(raw, 300);
	h = mkhdr(TP_DATA, TP_F_LZ4, 1, 300, 4096, 0, 0);
	ok(tp_data_decode(&h, raw, out) != 0, "random bytes flagged LZ4: refused");
	h.flags = TP_F_ZSTD;
	is_int(tp_data_decode(&h, raw, out), FY_ERR_FORMAT, "random bytes flagged ZSTD: FY_ERR_FORMAT");
}

/*
 * "Kept only when it saves at least 10%": look for an input whose LZ4
 * output is exactly n - n/10 bytes, which saves floor(n/10) < n/10.
 */
static void
test_ten_percent_edge(void)
{
	uint8_t raw[4096], cmp[LZ4_COMPRESSBOUND(4096)], *payload;
	const size_t n = sizeof(raw);
	struct tp_hdr h;
	size_t k;
	int got;

	for (k = 3000; k < n; k++) {
		memset(raw, 0, n);
		fill_random(raw, k);
		got = LZ4_compress_default((const char *)raw, (char *)cmp, (int)n, (int)sizeof(cmp));
		if (got == (int)(n - n / 10))
			break;
	}
	if (k == n) {
		skip(1, "no input compresses to exactly n - n/10 bytes");
		return;
	}
	h = mkhdr(0, 0, 0, 0, 0, 0, 0);
	if (tp_data_encode(&h, raw, n, TP_COMPRESS_LZ4, &payload) != 0)
		bail("tp_data_encode");
	ok(!(h.flags & TP_F_LZ4) || (uint64_t)h.len * 10 <= (uint64_t)n * 9,
	    "lz4 output of %u of %zu bytes (%.3f%% saved) is not kept", h.len, n,
	    100.0 * (double)(n - h.len) / (double)n);
	free(payload);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static void
test_ack(void)
{
	struct tp_ack a[4];
	uint8_t p[5 * TP_ACK_ENT];
	size_t n, len;
	int i, bad;

	memset(p, 0, sizeof(p));
	put32(p, 0x01020304);
	put64(p + 4, 0x1112131415161718ULL);
	put64(p + 12, 0xa1a2a3a4a5a6a7a8ULL);
	put32(p + 20, UINT32_MAX);
	put64(p + 24, UINT64_MAX);
	put64(p + 32, 0);
	put32(p + 40, 0);
	put64(p + 44, 1);
	put64(p + 52, 0x8000000000000000ULL);
	n = 99;
	is_int(tp_ack_decode(p, 3 * TP_ACK_ENT, a, 4, &n), 0, "three ACK entries");
	is_int(n, 3, "count 3");
	ok(a[0].channel == 0x01020304 && a[0].next_seq == 0x1112131415161718ULL &&
	    a[0].consumed == 0xa1a2a3a4a5a6a7a8ULL, "entry 0: big-endian channel, next_seq, consumed");
	ok(a[1].channel == UINT32_MAX && a[1].next_seq == UINT64_MAX && a[1].consumed == 0,
	    "entry 1: maximum values");
	ok(a[2].channel == 0 && a[2].next_seq == 1 && a[2].consumed == 0x8000000000000000ULL,
	    "entry 2: small and top-bit values");
	n = 99;
	is_int(tp_ack_decode(p, 0, a, 4, &n), 0, "empty ACK");
	is_int(n, 0, "count 0");
	is_int(tp_ack_decode(p, 3 * TP_ACK_ENT, a, 3, &n), 0, "exactly max entries");
	is_int(n, 3, "count 3 at max");

	bad = 0;
	for (len = 1; len < sizeof(p); len++) {
		if (len % TP_ACK_ENT == 0)
			continue;
		n = 99;
		if (tp_ack_decode(p, len, a, 4, &n) != FY_ERR_FORMAT || n != 0)
			bad++;
	}
	is_int(bad, 0, "every length not a multiple of 20 (1..99): FY_ERR_FORMAT, count 0");
	n = 99;
	is_int(tp_ack_decode(p, 5 * TP_ACK_ENT, a, 4, &n), FY_ERR_FORMAT, "5 entries, max 4: FY_ERR_FORMAT");
	is_int(n, 0, "count 0 on error");
	is_int(tp_ack_decode(p, TP_ACK_ENT, a, 0, &n), FY_ERR_FORMAT, "1 entry, max 0: FY_ERR_FORMAT");
	for (i = 0; i < 4; i++)
		a[i].channel = 0x5a5a5a5a;
	is_int(tp_ack_decode(p, 4 * TP_ACK_ENT, a, 3, &n), FY_ERR_FORMAT, "4 entries, max 3: FY_ERR_FORMAT");
	ok(a[3].channel == 0x5a5a5a5a, "a refused ACK writes nothing past max");
}

/* HELLO: sid[16] | idx u16 | cred length u16 | cred. */
static size_t
mkhello(uint8_t *p, uint16_t idx, uint16_t claimed, const char *cred, size_t cl)
{
	int i;

	for (i = 0; i < 16; i++)
		p[i] = (uint8_t)(0xc0 + i);
	p[16] = (uint8_t)(idx >> 8);
	p[17] = (uint8_t)idx;
	p[18] = (uint8_t)(claimed >> 8);
	p[19] = (uint8_t)claimed;
	memcpy(p + 20, cred, cl);
	return 20 + cl;
}

static void
test_hello(void)
{
	uint8_t p[20 + TP_CRED_MAX + 16], sid[16], want[16];
	char cred[TP_CRED_MAX + 8], longcred[TP_CRED_MAX + 2];
	uint16_t idx;
	size_t n;
	int i;

	for (i = 0; i < 16; i++)
		want[i] = (uint8_t)(0xc0 + i);
	n = mkhello(p, 31, 9, "token-abc", 9);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), 0, "HELLO decodes");
	ok(memcmp(sid, want, 16) == 0, "session id");
	is_int(idx, 31, "stream index 31 (TP_MAX_STREAMS - 1)");
	is_str(cred, "token-abc", "credential");
	is_int(tp_hello_decode(p, n, sid, &idx, cred, 10), 0, "credential fits a 10-byte buffer exactly");
	is_str(cred, "token-abc", "credential, exact buffer");
	is_int(tp_hello_decode(p, n, sid, &idx, cred, 9), FY_ERR_LIMIT,
	    "credential longer than the buffer (no room for NUL): FY_ERR_LIMIT");
	is_int(tp_hello_decode(p, n, sid, &idx, cred, 0), FY_ERR_LIMIT, "zero-sized buffer: FY_ERR_LIMIT");

	n = mkhello(p, 0, 0, "", 0);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), 0, "empty credential");
	ok(idx == 0 && cred[0] == '\0', "index 0, empty string");

	for (n = 0; n < 20; n++)
		if (tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)) != FY_ERR_FORMAT)
			break;
	is_int(n, 20, "every HELLO shorter than 20 bytes: FY_ERR_FORMAT");

	n = mkhello(p, 1, 5, "abcd", 4);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_FORMAT,
	    "credential length 5 with 4 bytes: FY_ERR_FORMAT");
	n = mkhello(p, 1, 3, "abcd", 4);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_FORMAT,
	    "credential length 3 with 4 bytes: FY_ERR_FORMAT");
	n = mkhello(p, 1, 0xffff, "abcd", 4);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_FORMAT,
	    "credential length 65535 with 4 bytes: FY_ERR_FORMAT");

	memset(longcred, 'k', sizeof(longcred));
	n = mkhello(p, 2, TP_CRED_MAX, longcred, TP_CRED_MAX);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), 0, "credential of TP_CRED_MAX bytes");
	is_int(strlen(cred), TP_CRED_MAX, "all of it");
	n = mkhello(p, 2, TP_CRED_MAX + 1, longcred, TP_CRED_MAX + 1);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_LIMIT,
	    "credential of TP_CRED_MAX + 1 bytes, big buffer: FY_ERR_LIMIT");

	n = mkhello(p, 3, 5, "ab\0cd", 5);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_FORMAT, "NUL inside the credential: FY_ERR_FORMAT");
	n = mkhello(p, 3, 5, "abcd\0", 5);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_FORMAT, "trailing NUL in the credential: FY_ERR_FORMAT");

	n = mkhello(p, TP_MAX_STREAMS, 3, "abc", 3);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_LIMIT, "stream index 32: FY_ERR_LIMIT");
	n = mkhello(p, 0xffff, 3, "abc", 3);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_LIMIT, "stream index 65535: FY_ERR_LIMIT");
	n = mkhello(p, 0x0100, 3, "abc", 3);
	is_int(tp_hello_decode(p, n, sid, &idx, cred, sizeof(cred)), FY_ERR_LIMIT,
	    "stream index 256 (big-endian high byte): FY_ERR_LIMIT");
}

/* An OPEN carries a channel name as is: never zero-elided or compressed. */
static void
test_open_flags(void)
{
	static const uint8_t bad[] = { TP_F_ZERO, TP_F_LZ4, TP_F_ZSTD };
	struct tp_hdr h, d;
	uint8_t w[TP_HDR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memset(&h, 0, sizeof(h));
		h.type = TP_DATA;
		h.flags = TP_F_OPEN | bad[i];
		h.channel = 1;
		h.raw_len = 6;
		h.len = bad[i] == TP_F_ZERO ? 0 : 5;
		tp_hdr_encode(&h, w);
		is_int(tp_hdr_decode(w, &d), FY_ERR_FORMAT, "OPEN with flag 0x%02x is refused", bad[i]);
	}
}

int
main(void)
{
	plan_lazy();
	test_open_flags();
	test_checksum();
	test_hdr_roundtrip();
	test_hdr_corruption();
	test_hdr_refusals();
	test_data_roundtrip();
	test_bitflips();
	test_ten_percent_edge();
	test_ack();
	test_hello();
	done_testing();
}
