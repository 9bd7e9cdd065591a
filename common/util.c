/* util.c - time, parsing, files, randomness.  GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "config.h"
#include "common.h"

int64_t
fy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fy_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fy_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
fy_fmt_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

int
fy_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return FY_ERR_FORMAT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return FY_ERR_FORMAT;
	if (v < min || v > max)
		return FY_ERR_LIMIT;
	*out = v;
	return 0;
}

struct unit {
	char c;
	long long mul;
};

/*
 * An integer with an optional one-letter unit from units: the value times
 * its multiplier.  The number is at most num_max and the result at most
 * total_max.
 */
static int
parse_with_unit(const char *s, const struct unit *units, long long min, long long num_max,
    long long total_max, long long *out)
{
	char num[32];
	size_t n = strlen(s);
	long long v, mul = 1;
	int r;

	if (n == 0 || n >= sizeof(num))
		return FY_ERR_FORMAT;
	memcpy(num, s, n + 1);
	for (; units->c != '\0'; units++)
		if (num[n - 1] == units->c) {
			mul = units->mul;
			num[--n] = '\0';
			break;
		}
	if ((r = fy_parse_int(num, min, num_max < total_max / mul ? num_max : total_max / mul, &v)) != 0)
		return r;
	*out = v * mul;
	return 0;
}

int
fy_parse_size(const char *s, long long *out)
{
	static const struct unit u[] = {
		{ 'k', 1LL << 10 }, { 'K', 1LL << 10 }, { 'm', 1LL << 20 }, { 'M', 1LL << 20 },
		{ 'g', 1LL << 30 }, { 'G', 1LL << 30 }, { 't', 1LL << 40 }, { 'T', 1LL << 40 }, { 0, 0 },
	};

	return parse_with_unit(s, u, 1, LLONG_MAX, 1LL << 40, out);
}

int
fy_parse_duration(const char *s, int64_t *secs)
{
	static const struct unit u[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 0, 0 },
	};
	long long v;
	int r;

	if ((r = parse_with_unit(s, u, 0, LLONG_MAX / 86400, LLONG_MAX, &v)) != 0)
		return r;
	*secs = v;
	return 0;
}

int
fy_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
	struct tm tm;
	int64_t d;
	const char *e;

	if (fy_parse_duration(s, &d) == 0) {
		*out = now_ms - d * 1000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL || *e != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((e = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL || *e != '\0') {
			memset(&tm, 0, sizeof(tm));
			if ((e = strptime(s, "%Y-%m-%d", &tm)) == NULL || *e != '\0')
				return FY_ERR_FORMAT;
		}
	}
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

void
fy_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

int
fy_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : FY_ERR_CRYPTO;
}

int
fy_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
fy_write_file_atomic(const char *path, const void *p, size_t n, int mode)
{
	char tmp[PATH_MAX];
	int fd, r = FY_ERR_IO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return FY_ERR_LIMIT;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		return FY_ERR_IO;
	if (fchmod(fd, mode) != 0 || write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		(void)unlink(tmp);
	return r;
}

int
fy_read_file(const char *path, size_t max, struct fy_buf **out)
{
	struct fy_buf *b = NULL;
	char chunk[4096];
	ssize_t n;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? FY_ERR_NOTFOUND : FY_ERR_IO;
	if ((b = fy_buf_new(max)) == NULL) {
		r = FY_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			r = FY_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = fy_buf_put(b, chunk, (size_t)n)) != 0)
			goto out;
	}
	*out = b;
	b = NULL;
	r = 0;
out:
	close(fd);
	fy_buf_free(b);
	return r;
}

int
fy_mkdir_p(const char *path, int mode)
{
	char p[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(p))
		return FY_ERR_INVAL;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		int m = i == n ? mode : 0755;
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, (mode_t)m) == 0) {
			/* What we create gets exactly its mode, whatever the umask. */
			if (chmod(p, (mode_t)m) != 0)
				return FY_ERR_IO;
		} else if (errno != EEXIST)
			return FY_ERR_IO;
		p[i] = path[i];
	}
	return 0;
}

int
fy_valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int
fy_split_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *c, *h = s;
	size_t hl;
	long long pv;

	if (*s == '[') {
		if ((c = strchr(s, ']')) == NULL || c[1] != ':')
			return FY_ERR_FORMAT;
		h = s + 1;
		hl = (size_t)(c - h);
		c++;
	} else {
		if ((c = strrchr(s, ':')) == NULL || memchr(s, ':', (size_t)(c - s)) != NULL)
			return FY_ERR_FORMAT;
		hl = (size_t)(c - s);
	}
	if (hl == 0 || hl >= hcap || strlen(c + 1) >= pcap)
		return FY_ERR_FORMAT;
	if (fy_parse_int(c + 1, 0, 65535, &pv) != 0)
		return FY_ERR_FORMAT;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", c + 1);
	return 0;
}

void
fy_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
fy_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
