/* err.c - error classes and their exit codes. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include "sirt/err.h"

int sirt_err_set(struct sirt_err *err, enum sirt_err_class cls,
		 const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int sirt_err_prefix(struct sirt_err *err, const char *fmt, ...)
{
	char pre[512], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	size_t n;

	memcpy(old, err->msg, sizeof(old));
	n = strlen(pre);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, pre, n);
	memcpy(err->msg + n, ": ", 2);
	memcpy(err->msg + n + 2, old, sizeof(err->msg) - n - 3);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return -1;
}

void sirt_err_clear(struct sirt_err *err)
{
	if (err) {
		err->cls = SIRT_E_NONE;
		err->msg[0] = '\0';
	}
}

int sirt_err_exit_code(const struct sirt_err *err)
{
	switch (err ? err->cls : SIRT_E_FATAL) {
	case SIRT_E_NONE:     return EX_OK;
	case SIRT_E_TEMP:     return EX_TEMPFAIL;
	case SIRT_E_AUTH:     return EX_NOPERM;
	case SIRT_E_PROTO:    return EX_PROTOCOL;
	case SIRT_E_BADMSG:   return EX_DATAERR;
	case SIRT_E_CONFIG:   return EX_CONFIG;
	case SIRT_E_USAGE:    return EX_USAGE;
	case SIRT_E_NOTFOUND: return EX_NOINPUT;
	case SIRT_E_TLS:      return EX_UNAVAILABLE;
	case SIRT_E_FATAL:    return EX_SOFTWARE;
	}
	return EX_SOFTWARE;
}

const char *sirt_err_class_name(enum sirt_err_class cls)
{
	static const char *const names[] = {
		"none", "temporary", "auth", "protocol", "bad message",
		"config", "usage", "not found", "tls", "fatal"
	};
	if ((unsigned)cls < sizeof(names) / sizeof(names[0]))
		return names[cls];
	return "fatal";
}
