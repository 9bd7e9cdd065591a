/* enc.c - base64url, hex, base32 (RFC 4648).  GPL-2.0-or-later */
#include <string.h>
#include "common.h"

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
fy_b64url_enc(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	uint32_t v;

	if (cap < ((n + 2) / 3) * 4 + 1)
		return FY_ERR_LIMIT;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u[(v >> 18) & 63];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64u[(v >> 18) & 63];
		out[o++] = b64u[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64u[(v >> 18) & 63];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
	}
	out[o] = '\0';
	return 0;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

int
fy_b64url_dec(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	*outlen = 0;
	if (n % 4 == 1)
		return FY_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if ((v = b64val(in[i])) < 0)
			return FY_ERR_FORMAT;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return FY_ERR_LIMIT;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	/* Leftover bits must be zero (canonical encoding only). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return FY_ERR_FORMAT;
	*outlen = o;
	return 0;
}

int
fy_hex_enc(const uint8_t *in, size_t n, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	if (cap < n * 2 + 1)
		return FY_ERR_LIMIT;
	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int
fy_hex_dec(const char *in, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(in) != n * 2)
		return FY_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(in[2 * i])) < 0 || (lo = hexval(in[2 * i + 1])) < 0)
			return FY_ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
fy_b32_enc(const uint8_t *in, size_t n, char *out, size_t cap)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (cap < (n * 8 + 4) / 5 + 1)
		return FY_ERR_LIMIT;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}
