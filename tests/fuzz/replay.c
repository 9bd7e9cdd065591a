/*
 * replay.c - feeds every file of a fuzz corpus to the harness's
 * LLVMFuzzerTestOneInput(), one TAP test per file, so `make check` replays
 * the committed corpus (with the sanitizers of the build, if any).
 *
 *   tests/fuzz/invite-replay [DIR-OR-FILE...]
 *
 * Without arguments it reads $top_srcdir/tests/fuzz/corpus/FUZZ_NAME
 * (top_srcdir is exported by `make check`; "." otherwise).  A crash or
 * abort in the harness kills the run, which the TAP driver reports.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/tap.h"
#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the corpus"
#endif

#define INPUT_MAX	(1 << 20)	/* libFuzzer's default -max_len is far below */

/* Read a whole file into an exactly sized buffer (so ASan sees overreads). */
static int
slurp(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *p;
	size_t n = 0;
	ssize_t k;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_size < 0 || st.st_size > INPUT_MAX) {
		close(fd);
		return -1;
	}
	if ((p = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		if ((k = read(fd, p + n, (size_t)st.st_size - n)) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n != (size_t)st.st_size) {
		free(p);
		return -1;
	}
	*out = p;
	*outlen = n;
	return 0;
}

static void
run_file(const char *path, const char *label)
{
	uint8_t *p;
	size_t n;

	if (slurp(path, &p, &n) != 0) {
		ok(0, "%s: cannot read", label);
		return;
	}
	(void)LLVMFuzzerTestOneInput(p, n);
	free(p);
	ok(1, "%s (%zu bytes)", label, n);
}

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
run_dir(const char *dir)
{
	struct dirent **ents;
	char path[4096];
	int i, n;

	if ((n = scandir(dir, &ents, visible, alphasort)) < 0)
		bail("cannot read the corpus %s", dir);
	if (n == 0)
		bail("the corpus %s is empty", dir);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) >= sizeof(path))
			bail("path too long");
		run_file(path, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char def[4096];
	struct stat st;
	int i;

	plan_lazy();
	if (argc < 2) {
		if (top == NULL || *top == '\0')
			top = ".";
		if ((size_t)snprintf(def, sizeof(def), "%s/tests/fuzz/corpus/%s", top, FUZZ_NAME) >= sizeof(def))
			bail("path too long");
		diag("replaying %s", def);
		run_dir(def);
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0)
			bail("%s: no such file or directory", argv[i]);
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i], argv[i]);
	}
	done_testing();
}
