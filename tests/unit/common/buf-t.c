/*
 * buf-t.c - the bounded buffer: caps, big-endian integers, str16, reads
 * past the end, reset.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "common.h"
#include "tests/tap.h"

int
main(void)
{
	struct fy_buf *b;
	uint8_t u8, raw[8];
	uint16_t u16;
	uint64_t u64;
	char s[8], big[300];

	plan_lazy();

	fy_buf_free(NULL);
	ok(1, "fy_buf_free(NULL) is harmless");

	if ((b = fy_buf_new(16)) == NULL)
		bail("fy_buf_new");
	is_int(fy_buf_len(b), 0, "new buffer is empty");
	ok(fy_buf_ptr(b) != NULL && fy_buf_ptr(b)[0] == '\0', "empty buffer has a readable NUL");
	is_int(fy_buf_put(b, "0123456789", 10), 0, "put 10 of 16");
	is_int(fy_buf_put(b, "abcdef", 6), 0, "put up to exactly the cap");
	is_int(fy_buf_len(b), 16, "length is 16");
	is_int(fy_buf_put(b, "x", 1), FY_ERR_LIMIT, "one byte past the cap: FY_ERR_LIMIT");
	is_int(fy_buf_put_u8(b, 1), FY_ERR_LIMIT, "put_u8 past the cap");
	is_int(fy_buf_len(b), 16, "a refused put leaves the length alone");
	is_str((const char *)fy_buf_ptr(b), "0123456789abcdef", "contents, NUL-terminated");
	is_int(fy_buf_put(b, NULL, 0), 0, "empty put at the cap is fine");
	is_int(fy_buf_put(b, "x", (size_t)-1), FY_ERR_LIMIT, "huge length does not wrap");

	is_int(fy_buf_get(b, raw, 4), 0, "get 4");
	ok(memcmp(raw, "0123", 4) == 0, "got the first 4 bytes");
	is_int(fy_buf_len(b), 12, "12 unread bytes");
	is_int(fy_buf_get(b, NULL, 2), 0, "skip 2 with a NULL destination");
	is_str((const char *)fy_buf_ptr(b), "6789abcdef", "ptr follows the read offset");
	is_int(fy_buf_get(b, big, 11), FY_ERR_FORMAT, "get past the end: FY_ERR_FORMAT");
	is_int(fy_buf_len(b), 10, "a refused get consumes nothing");
	is_int(fy_buf_put(b, "z", 1), FY_ERR_LIMIT, "the cap counts bytes since reset: reads make no room");
	fy_buf_reset(b);
	is_int(fy_buf_len(b), 0, "reset empties");
	is_int(fy_buf_put(b, "0123456789abcdef", 16), 0, "reset restores the whole cap");
	fy_buf_free(b);

	/* Integers are big-endian. */
	if ((b = fy_buf_new(64)) == NULL)
		bail("fy_buf_new");
	is_int(fy_buf_put_u8(b, 0xab), 0, "put_u8");
	is_int(fy_buf_put_u16(b, 0x1234), 0, "put_u16");
	is_int(fy_buf_put_u64(b, 0x0102030405060708ULL), 0, "put_u64");
	ok(fy_buf_len(b) == 11 && memcmp(fy_buf_ptr(b), "\xab\x12\x34\x01\x02\x03\x04\x05\x06\x07\x08", 11) == 0,
	    "wire bytes are big-endian");
	is_int(fy_buf_get_u8(b, &u8), 0, "get_u8");
	is_int(u8, 0xab, "u8 value");
	is_int(fy_buf_get_u16(b, &u16), 0, "get_u16");
	is_int(u16, 0x1234, "u16 value");
	is_int(fy_buf_get_u64(b, &u64), 0, "get_u64");
	ok(u64 == 0x0102030405060708ULL, "u64 value");
	is_int(fy_buf_get_u8(b, &u8), FY_ERR_FORMAT, "get_u8 on empty");
	is_int(fy_buf_get_u16(b, &u16), FY_ERR_FORMAT, "get_u16 on empty");
	is_int(fy_buf_put_u8(b, 1), 0, "one byte left");
	is_int(fy_buf_get_u16(b, &u16), FY_ERR_FORMAT, "get_u16 with one byte left");
	is_int(fy_buf_get_u64(b, &u64), FY_ERR_FORMAT, "get_u64 with one byte left");
	is_int(fy_buf_put_u64(b, UINT64_MAX), 0, "put_u64 max");
	is_int(fy_buf_get_u8(b, &u8), 0, "drain the lone byte");
	is_int(fy_buf_get_u64(b, &u64), 0, "get_u64 max");
	ok(u64 == UINT64_MAX, "u64 max round trip");
	fy_buf_free(b);

	/* Length-prefixed strings. */
	if ((b = fy_buf_new(1 << 17)) == NULL)
		bail("fy_buf_new");
	is_int(fy_buf_put_str16(b, "abc", 3), 0, "put_str16");
	ok(memcmp(fy_buf_ptr(b), "\x00\x03" "abc", 5) == 0, "str16 has a big-endian u16 length");
	is_int(fy_buf_get_str16(b, s, sizeof(s)), 0, "get_str16");
	is_str(s, "abc", "str16 value");
	is_int(fy_buf_put_str16(b, "", 0), 0, "put empty str16");
	is_int(fy_buf_get_str16(b, s, 1), 0, "empty str16 fits in 1 byte");
	is_str(s, "", "empty str16 value");
	is_int(fy_buf_put_str16(b, "abcdefgh", 8), 0, "put 8-byte str16");
	is_int(fy_buf_get_str16(b, s, sizeof(s)), FY_ERR_LIMIT, "8 bytes + NUL do not fit in 8");
	fy_buf_reset(b);
	is_int(fy_buf_put_str16(b, "ab\0cd", 5), 0, "put str16 with an embedded NUL");
	is_int(fy_buf_get_str16(b, s, sizeof(s)), FY_ERR_FORMAT, "embedded NUL refused on get");
	fy_buf_reset(b);
	is_int(fy_buf_put(b, "\x00\x05" "ab", 4), 0, "length says 5, 2 present");
	is_int(fy_buf_get_str16(b, s, sizeof(s)), FY_ERR_FORMAT, "short str16: FY_ERR_FORMAT");
	fy_buf_reset(b);
	{
		static char huge[0x10000];
		is_int(fy_buf_put_str16(b, huge, 0x10000), FY_ERR_LIMIT, "str16 longer than 65535 refused");
		is_int(fy_buf_len(b), 0, "and nothing was written");
		is_int(fy_buf_put_str16(b, huge, 0xffff), 0, "str16 of exactly 65535 accepted");
	}
	fy_buf_free(b);

	/* Cap 0 and growth across many reallocations. */
	if ((b = fy_buf_new(0)) == NULL)
		bail("fy_buf_new");
	is_int(fy_buf_put(b, "", 0), 0, "cap 0: empty put");
	is_int(fy_buf_put_u8(b, 0), FY_ERR_LIMIT, "cap 0: one byte refused");
	fy_buf_free(b);
	if ((b = fy_buf_new(10000)) == NULL)
		bail("fy_buf_new");
	{
		size_t i;
		int bad = 0;
		memset(big, 'q', sizeof(big));
		for (i = 0; i < 33; i++)
			if (fy_buf_put(b, big, sizeof(big)) != 0)
				bad++;
		is_int(bad, 0, "33 puts of 300 bytes grow the buffer");
		is_int(fy_buf_len(b), 9900, "9900 bytes held");
		is_int(fy_buf_put(b, big, 101), FY_ERR_LIMIT, "101 more would pass 10000");
		is_int(fy_buf_put(b, big, 100), 0, "100 more reach 10000 exactly");
		bad = 0;
		for (i = 0; i < fy_buf_len(b); i++)
			if (fy_buf_ptr(b)[i] != 'q')
				bad++;
		is_int(bad, 0, "contents survive reallocation");
		ok(fy_buf_ptr(b)[10000] == '\0', "still NUL-terminated at the cap");
	}
	fy_buf_free(b);
	done_testing();
}
