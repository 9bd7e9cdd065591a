/* helpers.c - temp dirs and files for the unit tests.  GPL-2.0-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/tap.h"
#include "tests/unit/helpers.h"

char *
t_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;
	size_t n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = strlen(base) + strlen(tag) + 32;
	if ((p = malloc(n)) == NULL)
		bail("out of memory");
	snprintf(p, n, "%s/ferry-%s-XXXXXX", base, tag);
	if (mkdtemp(p) == NULL)
		bail("mkdtemp %s failed", p);
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 ? 0 : -1;
	return unlink(path) == 0 ? 0 : -1;
}

void
t_rmtree(const char *path)
{
	if (path == NULL)
		return;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		diag("could not remove %s completely", path);
}

void
t_path(char *out, size_t cap, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
		bail("path too long: %s/%s", dir, name);
}

void
t_write_file(const char *path, const void *p, size_t n)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		bail("cannot create %s", path);
	if (write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		bail("cannot write %s", path);
}
