/* log.c - levelled logging to stderr or syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include "sirt/log.h"

static enum sirt_log_level log_level = SIRT_LOG_WARN;
static int log_syslog;
static const char *log_ident = "sirt";

void sirt_log_init(const char *ident, int use_syslog, enum sirt_log_level level)
{
	log_ident = ident ? ident : "sirt";
	log_syslog = use_syslog;
	log_level = level;
	if (use_syslog)
		openlog(log_ident, LOG_PID, LOG_MAIL);
}

void sirt_log_set_level(enum sirt_log_level level) { log_level = level; }
enum sirt_log_level sirt_log_get_level(void) { return log_level; }

void sirt_log(enum sirt_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		/* one line, whole, even with several threads logging */
		flockfile(stderr);
		fprintf(stderr, "%s: %s: ", log_ident, names[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	va_end(ap);
}
