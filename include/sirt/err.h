/* err.h - error reporting shared by every module.
 *
 * Functions return int (0 ok, -1 error) and fill a caller-supplied
 * struct sirt_err.  The class decides what the caller does next: a
 * temporary error is retried (the MTA pipe exits EX_TEMPFAIL), a bad
 * message is stored raw and flagged, the rest are reported and fatal.
 */
#ifndef SIRT_ERR_H
#define SIRT_ERR_H

#include <stdarg.h>

enum sirt_err_class {
	SIRT_E_NONE = 0,
	SIRT_E_TEMP,     /* retry later: server down, disk full, locked db */
	SIRT_E_AUTH,     /* credentials refused */
	SIRT_E_PROTO,    /* peer spoke nonsense */
	SIRT_E_BADMSG,   /* a message (or rule) is malformed */
	SIRT_E_CONFIG,   /* configuration is wrong */
	SIRT_E_USAGE,    /* command line is wrong */
	SIRT_E_NOTFOUND, /* no such case, file, key */
	SIRT_E_TLS,      /* certificate not trusted, handshake failed */
	SIRT_E_FATAL     /* anything else: a bug, out of memory */
};

struct sirt_err {
	enum sirt_err_class cls;
	char msg[1024];
};

/* Set err (may be NULL) to cls and a printf-style message.  Always
 * returns -1 so callers can write `return sirt_err_set(...)`. */
int sirt_err_set(struct sirt_err *err, enum sirt_err_class cls,
		 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with "what: " (keeps the class). */
int sirt_err_prefix(struct sirt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void sirt_err_clear(struct sirt_err *err);

/* The sysexits.h code matching err's class. */
int sirt_err_exit_code(const struct sirt_err *err);

/* A short word for the class ("temporary", "auth", ...). */
const char *sirt_err_class_name(enum sirt_err_class cls);

#endif
