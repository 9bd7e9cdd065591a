/*
 * buf.c - the bounded buffer.  Every use names its cap; a put past the cap
 * fails with FY_ERR_LIMIT, a get past the end with FY_ERR_FORMAT.
 * GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include "common.h"

struct fy_buf {
	uint8_t *d;
	size_t off, len, alloc, max;
};

struct fy_buf *
fy_buf_new(size_t max)
{
	struct fy_buf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max;
	return b;
}

void
fy_buf_free(struct fy_buf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL) {
		fy_wipe(b->d, b->alloc);
		free(b->d);
	}
	free(b);
}

void
fy_buf_reset(struct fy_buf *b)
{
	if (b->d != NULL)
		fy_wipe(b->d, b->alloc);
	b->off = b->len = 0;
}

size_t
fy_buf_len(const struct fy_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
fy_buf_ptr(const struct fy_buf *b)
{
	static const uint8_t empty[1];

	return b->d != NULL ? b->d + b->off : empty;
}

int
fy_buf_put(struct fy_buf *b, const void *p, size_t n)
{
	size_t need, na;
	uint8_t *nd;

	if (n > b->max || b->len > b->max - n)
		return FY_ERR_LIMIT;
	need = b->len + n + 1;	/* keep room for a terminating NUL */
	if (need > b->alloc) {
		na = b->alloc ? b->alloc : 256;
		while (na < need)
			na *= 2;
		if (na > b->max + 1)
			na = b->max + 1;
		if ((nd = malloc(na)) == NULL)
			return FY_ERR_NOMEM;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->len);
			fy_wipe(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = na;
	}
	if (n > 0)
		memcpy(b->d + b->len, p, n);
	b->len += n;
	b->d[b->len] = '\0';
	return 0;
}

int
fy_buf_put_u8(struct fy_buf *b, uint8_t v)
{
	return fy_buf_put(b, &v, 1);
}

int
fy_buf_put_u16(struct fy_buf *b, uint16_t v)
{
	uint8_t x[2] = { v >> 8, v & 0xff };

	return fy_buf_put(b, x, 2);
}

int
fy_buf_put_u64(struct fy_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		x[i] = v & 0xff;
	return fy_buf_put(b, x, 8);
}

int
fy_buf_put_str16(struct fy_buf *b, const void *s, size_t n)
{
	int r;

	if (n > 0xffff)
		return FY_ERR_LIMIT;
	if ((r = fy_buf_put_u16(b, (uint16_t)n)) != 0)
		return r;
	return fy_buf_put(b, s, n);
}

int
fy_buf_get(struct fy_buf *b, void *p, size_t n)
{
	if (fy_buf_len(b) < n)
		return FY_ERR_FORMAT;
	if (p != NULL && n > 0)
		memcpy(p, b->d + b->off, n);
	b->off += n;
	return 0;
}

int
fy_buf_get_u8(struct fy_buf *b, uint8_t *v)
{
	return fy_buf_get(b, v, 1);
}

int
fy_buf_get_u16(struct fy_buf *b, uint16_t *v)
{
	uint8_t x[2];
	int r;

	if ((r = fy_buf_get(b, x, 2)) != 0)
		return r;
	*v = (uint16_t)((x[0] << 8) | x[1]);
	return 0;
}

int
fy_buf_get_u64(struct fy_buf *b, uint64_t *v)
{
	uint8_t x[8];
	int r, i;

	if ((r = fy_buf_get(b, x, 8)) != 0)
		return r;
	for (*v = 0, i = 0; i < 8; i++)
		*v = (*v << 8) | x[i];
	return 0;
}

int
fy_buf_get_str16(struct fy_buf *b, char *out, size_t cap)
{
	uint16_t n;
	int r;

	if ((r = fy_buf_get_u16(b, &n)) != 0)
		return r;
	if ((size_t)n + 1 > cap)
		return FY_ERR_LIMIT;
	if ((r = fy_buf_get(b, out, n)) != 0)
		return r;
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		return FY_ERR_FORMAT;
	return 0;
}
