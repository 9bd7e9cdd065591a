/*
 * fmt.c - the few formats findings use: sizes, durations, error text.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include "netmap/netmap-int.h"

void
netmap_fmt_bytes(char *out, size_t cap, int64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(out, cap, "%lld bytes", (long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, "%.1f %s", v, unit[u]);
}

void
netmap_fmt_duration(char *out, size_t cap, double secs)
{
	long long s;

	if (!(secs >= 0))	/* NaN too */
		secs = 0;
	if (secs > 1e9) {
		snprintf(out, cap, "more than 30 years");
		return;
	}
	s = (long long)(secs + 0.5);
	if (s < 60)
		snprintf(out, cap, "%lld s", s < 1 ? 1 : s);
	else if (s < 3600)
		snprintf(out, cap, "%lld min %02lld s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, cap, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, cap, "%lld d %02lld h", s / 86400, (s % 86400) / 3600);
}

int
netmap_fail(char *err, size_t errcap, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
		fy_sanitize(err);
	}
	return code;
}
