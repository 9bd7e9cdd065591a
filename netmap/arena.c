/*
 * arena.c - one allocation pool per facts document or report: every
 * string and array of it lives here and goes with one free, so the
 * readers' error paths have nothing to unwind.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netmap/netmap-int.h"

#define CHUNK_MIN	(64 * 1024)
#define ALIGN		16

struct chunk {
	struct chunk *next;
	size_t size, used;
	/* data follows, ALIGN-aligned */
};
#define CHUNK_HDR	((sizeof(struct chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

struct netmap_arena {
	struct chunk *head;
	size_t total;			/* bytes of all chunks */
};

struct netmap_arena *
netmap_arena_new(void)
{
	return calloc(1, sizeof(struct netmap_arena));
}

void
netmap_arena_free(struct netmap_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *
netmap_arena_alloc(struct netmap_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t want, size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > NETMAP_ARENA_MAX)
		return NULL;
	want = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (c == NULL || c->size - c->used < want) {
		size = want > CHUNK_MIN ? want : CHUNK_MIN;
		if (a->total + size + CHUNK_HDR > NETMAP_ARENA_MAX)
			return NULL;
		if ((c = malloc(CHUNK_HDR + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		/* Keep filling the fuller chunk when a big one is made for one request. */
		if (a->head != NULL && size > CHUNK_MIN) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += CHUNK_HDR + size;
	}
	p = (char *)c + CHUNK_HDR + c->used;
	c->used += want;
	memset(p, 0, n);
	return p;
}

void *
netmap_arena_array(struct netmap_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > NETMAP_ARENA_MAX / size)
		return NULL;
	return netmap_arena_alloc(a, n * size);
}

char *
netmap_arena_strdup(struct netmap_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *p;

	if ((p = netmap_arena_alloc(a, n + 1)) != NULL)
		memcpy(p, s, n + 1);
	return p;
}

char *
netmap_arena_vprintf(struct netmap_arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	char *p;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = netmap_arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
netmap_arena_printf(struct netmap_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = netmap_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}
