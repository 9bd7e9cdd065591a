/*
 * helpers.h - small helpers shared by the unit tests (tests/unit/libunit.a):
 * private temporary directories and files.  Failures bail out.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_TEST_HELPERS_H
#define FY_TEST_HELPERS_H

#include <stddef.h>

/* mkdtemp() under $TMPDIR or /tmp; malloc'd path, bails out on failure. */
char *t_tmpdir(const char *tag);
/* rm -rf path (does not follow symlinks); NULL ok. */
void t_rmtree(const char *path);
/* out = dir "/" name; bails out when it does not fit. */
void t_path(char *out, size_t cap, const char *dir, const char *name);
/* Write (create/truncate) a file; bails out on failure. */
void t_write_file(const char *path, const void *p, size_t n);

#endif
