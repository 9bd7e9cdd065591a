/*
 * frame.c - the wire format, pure code (fuzzed).  Every frame is a 36-byte
 * header then `len` payload bytes:
 *   magic u16 "FY" | version u8 | type u8 | flags u8 | reserved u8[3] |
 *   channel u32 | len u32 | raw_len u32 | seq u64 | sum u64      (big endian)
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <zstd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "transport-int.h"

void
tp_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v;
}

void
tp_put64(uint8_t *p, uint64_t v)
{
	tp_put32(p, (uint32_t)(v >> 32));
	tp_put32(p + 4, (uint32_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void
tp_hdr_encode(const struct tp_hdr *h, uint8_t out[TP_HDR_LEN])
{
	out[0] = TP_MAGIC >> 8;
	out[1] = TP_MAGIC & 0xff;
	out[2] = TP_VERSION;
	out[3] = h->type;
	out[4] = h->flags;
	out[5] = out[6] = out[7] = 0;
	tp_put32(out + 8, h->channel);
	tp_put32(out + 12, h->len);
	tp_put32(out + 16, h->raw_len);
	tp_put64(out + 20, h->seq);
	tp_put64(out + 28, h->sum);
}

int
tp_hdr_decode(const uint8_t in[TP_HDR_LEN], struct tp_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (in[0] != (TP_MAGIC >> 8) || in[1] != (TP_MAGIC & 0xff))
		return FY_ERR_FORMAT;
	if (in[2] != TP_VERSION)
		return FY_ERR_VERSION;
	if (in[5] | in[6] | in[7])
		return FY_ERR_FORMAT;
	h->type = in[3];
	h->flags = in[4];
	h->channel = get32(in + 8);
	h->len = get32(in + 12);
	h->raw_len = get32(in + 16);
	h->seq = get64(in + 20);
	h->sum = get64(in + 28);
	if (h->type < TP_HELLO || h->type > TP_RESET)
		return FY_ERR_FORMAT;
	if (h->type == TP_DATA) {
		if (h->raw_len > TP_CHUNK_MAX || h->len > TP_CHUNK_MAX + 65536)
			return FY_ERR_LIMIT;
		if (h->flags & ~(TP_F_OPEN | TP_F_FIN | TP_F_ZERO | TP_F_LZ4 | TP_F_ZSTD))
			return FY_ERR_FORMAT;
		if ((h->flags & TP_F_LZ4) && (h->flags & (TP_F_ZSTD | TP_F_ZERO)))
			return FY_ERR_FORMAT;
		if ((h->flags & TP_F_ZSTD) && (h->flags & TP_F_ZERO))
			return FY_ERR_FORMAT;
		if ((h->flags & TP_F_ZERO) && h->len != 0)
			return FY_ERR_FORMAT;
		if (!(h->flags & (TP_F_ZERO | TP_F_LZ4 | TP_F_ZSTD)) && h->len != h->raw_len)
			return FY_ERR_FORMAT;
		if ((h->flags & TP_F_OPEN) && (h->raw_len == 0 || h->raw_len > TP_NAME_MAX ||
		    (h->flags & (TP_F_ZERO | TP_F_LZ4 | TP_F_ZSTD))))
			return FY_ERR_FORMAT;
	} else {
		/* Control frames are small and never compressed. */
		if (h->flags != 0 || h->raw_len != h->len || h->len > 64 * 1024)
			return FY_ERR_FORMAT;
	}
	return 0;
}

uint64_t
tp_checksum(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t z[4096];

	while (n >= sizeof(z)) {
		if (memcmp(p, z, sizeof(z)) != 0)
			return 0;
		p += sizeof(z);
		n -= sizeof(z);
	}
	return memcmp(p, z, n) == 0;
}

int
tp_data_encode(struct tp_hdr *h, const uint8_t *raw, size_t n, enum tp_compress c, uint8_t **out)
{
	uint8_t *buf = NULL;
	size_t cap, got = 0;

	*out = NULL;
	if (n > TP_CHUNK_MAX)
		return FY_ERR_LIMIT;
	h->type = TP_DATA;
	h->raw_len = (uint32_t)n;
	h->sum = tp_checksum(n > 0 ? raw : (const uint8_t *)"", n);
	h->flags &= TP_F_OPEN | TP_F_FIN;
	if (n > 0 && !(h->flags & TP_F_OPEN) && all_zero(raw, n)) {
		h->flags |= TP_F_ZERO;
		h->len = 0;
		return 0;
	}
	if (c != TP_COMPRESS_NONE && n >= 4096 && !(h->flags & TP_F_OPEN)) {
		cap = c == TP_COMPRESS_LZ4 ? (size_t)LZ4_compressBound((int)n) : ZSTD_compressBound(n);
		if ((buf = malloc(cap)) == NULL)
			return FY_ERR_NOMEM;
		if (c == TP_COMPRESS_LZ4) {
			int r = LZ4_compress_default((const char *)raw, (char *)buf, (int)n, (int)cap);
			got = r > 0 ? (size_t)r : 0;
		} else {
			size_t r = ZSTD_compress(buf, cap, raw, n, 1);
			got = ZSTD_isError(r) ? 0 : r;
		}
		/* Kept only when it pays: at least 10% smaller. */
		if (got > 0 && got * 10 <= n * 9) {
			h->flags |= c == TP_COMPRESS_LZ4 ? TP_F_LZ4 : TP_F_ZSTD;
			h->len = (uint32_t)got;
			*out = buf;
			return 0;
		}
		free(buf);
	}
	if ((buf = malloc(n ? n : 1)) == NULL)
		return FY_ERR_NOMEM;
	if (n > 0)
		memcpy(buf, raw, n);
	h->len = (uint32_t)n;
	*out = buf;
	return 0;
}

int
tp_data_decode(const struct tp_hdr *h, const uint8_t *payload, uint8_t *raw)
{
	if (h->flags & TP_F_ZERO)
		memset(raw, 0, h->raw_len);
	else if (h->flags & TP_F_LZ4) {
		int r = LZ4_decompress_safe((const char *)payload, (char *)raw, (int)h->len, (int)h->raw_len);
		if (r < 0 || (uint32_t)r != h->raw_len)
			return FY_ERR_FORMAT;
	} else if (h->flags & TP_F_ZSTD) {
		size_t r = ZSTD_decompress(raw, h->raw_len, payload, h->len);
		if (ZSTD_isError(r) || r != h->raw_len)
			return FY_ERR_FORMAT;
	} else if (h->raw_len > 0)
		memcpy(raw, payload, h->raw_len);
	return tp_checksum(raw, h->raw_len) == h->sum ? 0 : FY_ERR_CHECKSUM;
}

int
tp_ack_decode(const uint8_t *p, size_t n, struct tp_ack *a, size_t max, size_t *cnt)
{
	size_t i;

	*cnt = 0;
	if (n % TP_ACK_ENT != 0 || n / TP_ACK_ENT > max)
		return FY_ERR_FORMAT;
	for (i = 0; i < n / TP_ACK_ENT; i++) {
		a[i].channel = get32(p + i * TP_ACK_ENT);
		a[i].next_seq = get64(p + i * TP_ACK_ENT + 4);
		a[i].consumed = get64(p + i * TP_ACK_ENT + 12);
	}
	*cnt = i;
	return 0;
}

int
tp_hello_decode(const uint8_t *p, size_t n, uint8_t sid[16], uint16_t *idx, char *cred, size_t credcap)
{
	size_t cl;

	if (n < 20)
		return FY_ERR_FORMAT;
	memcpy(sid, p, 16);
	*idx = (uint16_t)(p[16] << 8 | p[17]);
	cl = (size_t)(p[18] << 8 | p[19]);
	if (cl != n - 20)
		return FY_ERR_FORMAT;
	if (cl + 1 > credcap || cl > TP_CRED_MAX)
		return FY_ERR_LIMIT;
	memcpy(cred, p + 20, cl);
	cred[cl] = '\0';
	if (memchr(cred, '\0', cl) != NULL)
		return FY_ERR_FORMAT;
	if (*idx >= TP_MAX_STREAMS)
		return FY_ERR_LIMIT;
	return 0;
}
