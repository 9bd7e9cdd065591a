/*
 * enc-t.c - base64url (no padding, canonical only), hex, base32 against the
 * RFC 4648 test vectors, round trips and malformed input.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "common.h"
#include "tests/tap.h"

static const struct { const char *in, *b64u, *b32, *hex; } vec[] = {
	{ "", "", "", "" },
	{ "f", "Zg", "MY", "66" },
	{ "fo", "Zm8", "MZXQ", "666f" },
	{ "foo", "Zm9v", "MZXW6", "666f6f" },
	{ "foob", "Zm9vYg", "MZXW6YQ", "666f6f62" },
	{ "fooba", "Zm9vYmE", "MZXW6YTB", "666f6f6261" },
	{ "foobar", "Zm9vYmFy", "MZXW6YTBOI", "666f6f626172" },
};

int
main(void)
{
	char out[512];
	uint8_t bin[256], back[256];
	size_t i, n, ol;
	int bad;

	plan_lazy();

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i].in);
		is_int(fy_b64url_enc((const uint8_t *)vec[i].in, n, out, sizeof(out)), 0,
		    "b64url enc \"%s\"", vec[i].in);
		is_str(out, vec[i].b64u, "b64url of \"%s\"", vec[i].in);
		is_int(fy_b64url_dec(vec[i].b64u, strlen(vec[i].b64u), back, sizeof(back), &ol), 0,
		    "b64url dec \"%s\"", vec[i].b64u);
		ok(ol == n && memcmp(back, vec[i].in, n) == 0, "b64url dec value \"%s\"", vec[i].in);
		is_int(fy_b32_enc((const uint8_t *)vec[i].in, n, out, sizeof(out)), 0,
		    "b32 enc \"%s\"", vec[i].in);
		is_str(out, vec[i].b32, "b32 of \"%s\"", vec[i].in);
		is_int(fy_hex_enc((const uint8_t *)vec[i].in, n, out, sizeof(out)), 0,
		    "hex enc \"%s\"", vec[i].in);
		is_str(out, vec[i].hex, "hex of \"%s\"", vec[i].in);
		is_int(fy_hex_dec(vec[i].hex, back, n), 0, "hex dec \"%s\"", vec[i].hex);
		ok(memcmp(back, vec[i].in, n) == 0, "hex dec value \"%s\"", vec[i].hex);
	}

	/* The url-safe alphabet, and round trips of every length up to 200. */
	{
		static const uint8_t fb[3] = { 0xfb, 0xff, 0xbf };
		is_int(fy_b64url_enc(fb, 3, out, sizeof(out)), 0, "b64url enc 0xfbffbf");
		is_str(out, "-_-_", "uses - and _ rather than + and /");
	}
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 37 + 11);
	bad = 0;
	for (n = 0; n <= 200; n++) {
		if (fy_b64url_enc(bin, n, out, sizeof(out)) != 0 ||
		    strlen(out) != (n * 4 + 2) / 3 ||
		    fy_b64url_dec(out, strlen(out), back, sizeof(back), &ol) != 0 ||
		    ol != n || memcmp(back, bin, n) != 0)
			bad++;
	}
	is_int(bad, 0, "b64url round trip for lengths 0..200");
	bad = 0;
	for (n = 0; n <= 100; n++) {
		if (fy_hex_enc(bin, n, out, sizeof(out)) != 0 || fy_hex_dec(out, back, n) != 0 ||
		    memcmp(back, bin, n) != 0)
			bad++;
	}
	is_int(bad, 0, "hex round trip for lengths 0..100");

	/* Malformed base64url. */
	is_int(fy_b64url_dec("Zg==", 4, back, sizeof(back), &ol), FY_ERR_FORMAT, "padding refused");
	is_int(fy_b64url_dec("+/+/", 4, back, sizeof(back), &ol), FY_ERR_FORMAT, "standard alphabet refused");
	is_int(fy_b64url_dec("Zm9 v", 5, back, sizeof(back), &ol), FY_ERR_FORMAT, "space refused");
	is_int(fy_b64url_dec("Zm9vY", 5, back, sizeof(back), &ol), FY_ERR_FORMAT, "length 4k+1 refused");
	is_int(fy_b64url_dec("Zh", 2, back, sizeof(back), &ol), FY_ERR_FORMAT, "non-zero leftover bits refused");
	is_int(fy_b64url_dec("Zm9", 3, back, sizeof(back), &ol), FY_ERR_FORMAT, "non-canonical 2-byte tail refused");
	is_int(fy_b64url_dec("Zm8\0", 4, back, sizeof(back), &ol), FY_ERR_FORMAT, "NUL inside the length refused");
	is_int(fy_b64url_dec("Zm9vYmFy", 8, back, 5, &ol), FY_ERR_LIMIT, "output cap enforced");
	is_int(fy_b64url_dec("Zm9vYmFy", 8, back, 6, &ol), 0, "output cap of exactly 6 is enough");
	is_int(fy_b64url_dec("\xc3\xa9", 2, back, sizeof(back), &ol), FY_ERR_FORMAT, "8-bit bytes refused");
	is_int(fy_b64url_enc((const uint8_t *)"foo", 3, out, 4), FY_ERR_LIMIT, "enc: no room for the NUL");
	is_int(fy_b64url_enc((const uint8_t *)"foo", 3, out, 5), 0, "enc: exact room");

	/* Malformed hex. */
	is_int(fy_hex_dec("ABCDEF", back, 3), 0, "hex dec accepts upper case");
	ok(memcmp(back, "\xab\xcd\xef", 3) == 0, "upper case value");
	is_int(fy_hex_dec("abc", back, 2), FY_ERR_FORMAT, "hex: odd length refused");
	is_int(fy_hex_dec("abcdef", back, 2), FY_ERR_FORMAT, "hex: too long refused");
	is_int(fy_hex_dec("ab", back, 2), FY_ERR_FORMAT, "hex: too short refused");
	is_int(fy_hex_dec("abcg", back, 2), FY_ERR_FORMAT, "hex: 'g' refused");
	is_int(fy_hex_dec("ab c", back, 2), FY_ERR_FORMAT, "hex: space refused");
	is_int(fy_hex_dec("0x12", back, 2), FY_ERR_FORMAT, "hex: 0x prefix refused");
	is_int(fy_hex_enc((const uint8_t *)"ab", 2, out, 4), FY_ERR_LIMIT, "hex enc: no room for the NUL");
	is_int(fy_b32_enc((const uint8_t *)"foobar", 6, out, 10), FY_ERR_LIMIT, "b32 enc: no room for the NUL");
	is_int(fy_b32_enc((const uint8_t *)"foobar", 6, out, 11), 0, "b32 enc: exact room");
	{
		uint8_t h[32];
		memset(h, 0xff, sizeof(h));
		is_int(fy_b32_enc(h, 32, out, sizeof(out)), 0, "b32 of 32 bytes");
		is_int(strlen(out), 52, "32 bytes are 52 base32 characters");
		is_str(out + 48, "777Q", "last character carries one bit, then zeros");
	}
	done_testing();
}
