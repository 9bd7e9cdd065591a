/*
 * tap.h - a tiny Test Anything Protocol library for Ferry's unit tests and
 * corpus replays.  Output goes to stdout; automake's tap-driver.sh reads it.
 *
 *   plan(n) or plan_lazy() ... done_testing();
 *   ok(cond, "what"), is_int(got, want, "what"), is_str(got, want, "what")
 *   todo_start("reason") ... todo_end()   known bugs: "not ok ... # TODO"
 *   skip(n, "reason"), skip_all("reason"), diag("fmt", ...), bail("why")
 *
 * The exit status is non-zero when any test outside a TODO block failed or
 * when the number of tests run differs from the plan.  done_testing()
 * exits; a test that returns from main() without it still gets the right
 * status from an atexit() check.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_TAP_H
#define FY_TAP_H

#include <stddef.h>

#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

void plan(int n);
void plan_lazy(void);
/* Print the lazy plan (if any) and exit with the status described above. */
void done_testing(void) __attribute__((noreturn));
/* "1..0 # SKIP reason", exit 0. */
void skip_all(const char *fmt, ...) TAP_PRINTF(1, 2) __attribute__((noreturn));
/* Records n skipped tests. */
void skip(int n, const char *fmt, ...) TAP_PRINTF(2, 3);
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/* "Bail out! reason", exit 1: the test cannot go on (setup failed). */
void bail(const char *fmt, ...) TAP_PRINTF(1, 2) __attribute__((noreturn));
/* Tests between these are expected to fail (known bugs); NULL reason ends. */
void todo_start(const char *reason);
void todo_end(void);
/* Number of failed tests so far (TODO failures excluded). */
int tap_failures(void);

/* The functions behind the macros; they return 1 on pass, 0 on failure. */
int tap_ok(const char *file, int line, int pass, const char *fmt, ...) TAP_PRINTF(4, 5);
int tap_is_int(const char *file, int line, long long got, long long want,
    const char *fmt, ...) TAP_PRINTF(5, 6);
int tap_is_str(const char *file, int line, const char *got, const char *want,
    const char *fmt, ...) TAP_PRINTF(5, 6);

#define ok(cond, ...)		tap_ok(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)
#define is_int(got, want, ...)	tap_is_int(__FILE__, __LINE__, (long long)(got), \
				    (long long)(want), __VA_ARGS__)
#define is_str(got, want, ...)	tap_is_str(__FILE__, __LINE__, (got), (want), __VA_ARGS__)

#endif
