/*
 * tap.c - a tiny TAP producer (see tap.h).  Not thread-safe: call it from
 * the main thread only.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"

static int planned = -1;	/* -1: no plan yet, -2: lazy */
static int run, failed, todo_failed;
static int finished;
static const char *todo_reason;
static int hooked;

static void
check_at_exit(void)
{
	if (finished)
		return;
	if (planned == -2) {
		printf("1..%d\n", run);
		planned = run;
	}
	if (failed > 0 || (planned >= 0 && run != planned)) {
		if (planned >= 0 && run != planned)
			printf("# Looks like you planned %d tests but ran %d.\n", planned, run);
		if (failed > 0)
			printf("# Looks like you failed %d test%s of %d.\n", failed,
			    failed == 1 ? "" : "s", run);
		fflush(stdout);
		_exit(1);
	}
}

static void
hook(void)
{
	if (!hooked) {
		hooked = 1;
		/* Line-buffered: results interleave sensibly with stderr. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		atexit(check_at_exit);
	}
}

void
plan(int n)
{
	hook();
	planned = n;
	printf("1..%d\n", n);
}

void
plan_lazy(void)
{
	hook();
	planned = -2;
}

void
done_testing(void)
{
	hook();
	if (planned == -2 || planned == -1) {
		printf("1..%d\n", run);
		planned = run;
	}
	if (run != planned)
		printf("# Looks like you planned %d tests but ran %d.\n", planned, run);
	if (failed > 0)
		printf("# Looks like you failed %d test%s of %d.\n", failed, failed == 1 ? "" : "s", run);
	if (todo_failed > 0)
		printf("# %d known failure%s marked TODO.\n", todo_failed, todo_failed == 1 ? "" : "s");
	finished = 1;
	fflush(stdout);
	exit(failed > 0 || run != planned ? 1 : 0);
}

void
skip_all(const char *fmt, ...)
{
	va_list ap;

	hook();
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	finished = 1;
	fflush(stdout);
	exit(0);
}

void
skip(int n, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	hook();
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++run, why);
}

void
diag(const char *fmt, ...)
{
	char msg[2048], *p, *nl;
	va_list ap;

	hook();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Every line of a diagnostic is a TAP comment. */
	for (p = msg; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if (nl != NULL && *nl == '\0')
			nl = NULL;
		printf("# %s\n", p);
	}
}

void
bail(const char *fmt, ...)
{
	va_list ap;

	hook();
	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	finished = 1;
	fflush(stdout);
	exit(1);
}

void
todo_start(const char *reason)
{
	todo_reason = reason;
}

void
todo_end(void)
{
	todo_reason = NULL;
}

int
tap_failures(void)
{
	return failed;
}

/* Print one result line; '#' in descriptions is escaped, newlines flattened. */
static int result(const char *, int, int, const char *, va_list) TAP_PRINTF(4, 0);

static int
result(const char *file, int line, int pass, const char *fmt, va_list ap)
{
	char desc[1024];
	const char *s;

	hook();
	vsnprintf(desc, sizeof(desc), fmt, ap);
	run++;
	printf("%sok %d", pass ? "" : "not ", run);
	if (desc[0] != '\0') {
		printf(" - ");
		for (s = desc; *s; s++) {
			if (*s == '#')
				putchar('\\');
			putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
		}
	}
	if (todo_reason != NULL)
		printf(" # TODO %s", todo_reason);
	printf("\n");
	if (!pass) {
		if (todo_reason != NULL)
			todo_failed++;
		else
			failed++;
		printf("#   Failed %stest at %s line %d.\n", todo_reason ? "(TODO) " : "", file, line);
	}
	return pass;
}

int
tap_ok(const char *file, int line, int pass, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = result(file, line, pass, fmt, ap);
	va_end(ap);
	return r;
}

int
tap_is_int(const char *file, int line, long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = result(file, line, got == want, fmt, ap);
	va_end(ap);
	if (!r) {
		printf("#          got: %lld\n", got);
		printf("#     expected: %lld\n", want);
	}
	return r;
}

int
tap_is_str(const char *file, int line, const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int pass, r;

	if (got == NULL || want == NULL)
		pass = got == want;
	else
		pass = strcmp(got, want) == 0;
	va_start(ap, fmt);
	r = result(file, line, pass, fmt, ap);
	va_end(ap);
	if (!r) {
		printf("#          got: %s%s%s\n", got ? "\"" : "", got ? got : "NULL", got ? "\"" : "");
		printf("#     expected: %s%s%s\n", want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
	}
	return r;
}
