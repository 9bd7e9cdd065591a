/*
 * frame-fuzz.c - libFuzzer harness for the transport's frame decoder
 * (transport/frame.c): the bytes a peer sends on a data stream.
 *
 * The input is a stream of frames.  Each 36-byte header goes through
 * tp_hdr_decode(); the payload that follows is copied into an exactly
 * sized buffer (so ASan sees overreads) and handed to tp_data_decode()
 * (into a buffer of exactly raw_len bytes), tp_ack_decode() or
 * tp_hello_decode() by type.  The walk stops at the first error or when
 * the input runs out.  Oracles: an accepted header re-encodes to the same
 * 36 bytes and respects the protocol's limits; an accepted DATA payload
 * has the header's checksum and survives tp_data_encode/tp_data_decode;
 * accepted ACK and HELLO payloads have the sizes they claimed.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "transport/transport.h"
#include "tests/fuzz/fuzz.h"

#define ACK_MAX		64		/* entries per ACK, as a receiver allows */
#define REENCODE_MAX	(256 * 1024)	/* re-encode oracle only below this */

static enum tp_compress
compressor(uint8_t flags)
{
	if (flags & TP_F_LZ4)
		return TP_COMPRESS_LZ4;
	if (flags & TP_F_ZSTD)
		return TP_COMPRESS_ZSTD;
	return TP_COMPRESS_NONE;
}

/* Encode raw again the way a sender would; it must decode to the same bytes. */
static void
reencode(const struct tp_hdr *h, const uint8_t *raw)
{
	struct tp_hdr e, d;
	uint8_t w[TP_HDR_LEN], *payload = NULL, *back;

	memset(&e, 0, sizeof(e));
	e.channel = h->channel;
	e.seq = h->seq;
	e.flags = h->flags & (TP_F_OPEN | TP_F_FIN);
	if (tp_data_encode(&e, raw, h->raw_len, compressor(h->flags), &payload) != 0)
		abort();
	if (e.sum != h->sum || e.raw_len != h->raw_len)
		abort();
	tp_hdr_encode(&e, w);
	if (tp_hdr_decode(w, &d) != 0)
		abort();
	if ((back = malloc(h->raw_len ? h->raw_len : 1)) == NULL)
		abort();
	if (tp_data_decode(&e, payload, back) != 0 || memcmp(back, raw, h->raw_len) != 0)
		abort();
	free(back);
	free(payload);
}

static int
data(const struct tp_hdr *h, const uint8_t *payload)
{
	uint8_t *raw;
	int r;

	if ((raw = malloc(h->raw_len ? h->raw_len : 1)) == NULL)
		return FY_ERR_NOMEM;
	if ((r = tp_data_decode(h, payload, raw)) == 0) {
		if (tp_checksum(raw, h->raw_len) != h->sum)
			abort();
		if (h->raw_len <= REENCODE_MAX)
			reencode(h, raw);
	} else if (r != FY_ERR_FORMAT && r != FY_ERR_CHECKSUM)
		abort();
	free(raw);
	return r;
}

static int
ack(const struct tp_hdr *h, const uint8_t *payload)
{
	struct tp_ack a[ACK_MAX];
	size_t n = ACK_MAX + 1;
	int r;

	r = tp_ack_decode(payload, h->len, a, ACK_MAX, &n);
	if (r == 0 && n * TP_ACK_ENT != h->len)
		abort();
	if (r != 0 && n != 0)
		abort();
	return r;
}

static int
hello(const struct tp_hdr *h, const uint8_t *payload)
{
	uint8_t sid[16];
	char cred[TP_CRED_MAX + 1];
	uint16_t idx;
	int r;

	r = tp_hello_decode(payload, h->len, sid, &idx, cred, sizeof(cred));
	if (r == 0 && (idx >= TP_MAX_STREAMS || strlen(cred) + 20 != h->len ||
	    memcmp(sid, payload, sizeof(sid)) != 0))
		abort();
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct tp_hdr h;
	uint8_t w[TP_HDR_LEN], *payload;
	int r;

	while (size >= TP_HDR_LEN) {
		if (tp_hdr_decode(in, &h) != 0)
			break;
		tp_hdr_encode(&h, w);
		if (memcmp(w, in, TP_HDR_LEN) != 0)
			abort();
		if (h.type == TP_DATA ? h.raw_len > TP_CHUNK_MAX : h.len > 64 * 1024)
			abort();
		in += TP_HDR_LEN;
		size -= TP_HDR_LEN;
		if (h.len > size)
			break;
		if ((payload = malloc(h.len ? h.len : 1)) == NULL)
			break;
		memcpy(payload, in, h.len);
		in += h.len;
		size -= h.len;
		switch (h.type) {
		case TP_DATA:
			r = data(&h, payload);
			break;
		case TP_ACK:
			r = ack(&h, payload);
			break;
		case TP_HELLO:
			r = hello(&h, payload);
			break;
		default:
			r = 0;		/* PING, PONG, WELCOME, BYE, RESET: opaque */
			break;
		}
		free(payload);
		if (r != 0)
			break;
	}
	return 0;
}
