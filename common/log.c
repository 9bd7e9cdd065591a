/* log.c - stderr under -d, syslog otherwise.  GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <pthread.h>
#include "common.h"

static int log_stderr = 1;
static int log_level = FY_LOG_INFO;
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

void
fy_log_init(const char *ident, int to_stderr, int level)
{
	log_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
fy_log_set_level(int level)
{
	log_level = level;
}

int
fy_log_level_parse(const char *s)
{
	if (strcasecmp(s, "error") == 0) return FY_LOG_ERR;
	if (strcasecmp(s, "warning") == 0) return FY_LOG_WARN;
	if (strcasecmp(s, "info") == 0) return FY_LOG_INFO;
	if (strcasecmp(s, "debug") == 0) return FY_LOG_DEBUG;
	return -1;
}

void
fy_log(int prio, const char *func, int with_errno, const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;
	size_t n;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	/* Messages quote what peers and files said: one line, no terminal controls. */
	fy_sanitize(msg);
	if (log_stderr) {
		char ts[32];
		fy_fmt_time(fy_now_ms(), ts, sizeof(ts));
		pthread_mutex_lock(&log_mtx);
		fprintf(stderr, "%s %s: %s%s\n", ts, func,
		    prio <= FY_LOG_ERR ? "error: " : prio == FY_LOG_WARN ? "warning: " : "", msg);
		pthread_mutex_unlock(&log_mtx);
	} else
		syslog(prio, "%s: %s", func, msg);
	errno = saved;
}
