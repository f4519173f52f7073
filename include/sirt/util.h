/* util.h - small helpers with no better home. */
#ifndef SIRT_UTIL_H
#define SIRT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sirt/err.h"

/* Allocation that aborts on failure. */
void *sirt_xmalloc(size_t n);
void *sirt_xcalloc(size_t n, size_t m);
void *sirt_xrealloc(void *p, size_t n);
char *sirt_xstrdup(const char *s);            /* NULL stays NULL */
char *sirt_xstrndup(const char *s, size_t n);
/* free(*p) and set *p = NULL. */
void sirt_free(void *pp);
/* Zero n bytes in a way the compiler keeps, then free. */
void sirt_wipe_free(void *p, size_t n);

/* Hex SHA-256 (64 chars + NUL) of data, via GnuTLS. */
void sirt_sha256_hex(const void *data, size_t len, char out[65]);

/* The current time: SIRT_NOW (ISO 8601) if set, else the clock. */
time_t sirt_now(void);
/* Parse an ISO 8601 UTC or offset time ("2026-11-20T17:00:00Z",
 * "2026-11-20T18:00:00+01:00", "2026-11-20"). 0 ok, -1 bad. */
int sirt_parse_iso8601(const char *s, time_t *t_r);
/* Format t as "2026-11-20T17:00:00Z" into out (at least 21 bytes). */
void sirt_fmt_iso8601(time_t t, char out[32]);

/* Read a whole file (at most max bytes; larger is an error). */
int sirt_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		   struct sirt_err *err);
/* Read all of an fd (at most max bytes: more sets *truncated_r). */
int sirt_read_fd(int fd, size_t max, char **data_r, size_t *len_r,
		 int *truncated_r, struct sirt_err *err);
/* Read a secret from a file: first line, trailing CR/LF stripped. */
int sirt_read_secret(const char *path, char **secret_r, struct sirt_err *err);

/* mkdir -p with mode; 0 ok. */
int sirt_mkdirs(const char *path, int mode, struct sirt_err *err);

/* Parse integers/sizes strictly: whole string, in range. 0 ok, -1 bad.
 * Sizes accept K, M, G suffixes. */
int sirt_parse_long(const char *s, long min, long max, long *v_r);
int sirt_parse_size(const char *s, size_t *v_r);
int sirt_parse_bool(const char *s, int *v_r);

/* Case-insensitive ASCII compare helpers. */
int sirt_strcaseprefix(const char *s, const char *prefix);

/* True if s is valid UTF-8 of length n. */
int sirt_utf8_valid(const char *s, size_t n);
/* Length of the well-formed UTF-8 sequence at s (at most n bytes: no
 * overlong form, surrogate or code point past U+10FFFF), else 0. */
size_t sirt_utf8_seq(const unsigned char *s, size_t n);
/* The same, with the code point into *cp_r (if not NULL). */
size_t sirt_utf8_decode(const unsigned char *s, size_t n, unsigned *cp_r);
/* The UTF-8 bytes of code point cp (at most U+10FFFF) into out[0..4):
 * their count. */
size_t sirt_utf8_encode(unsigned cp, char *out);
/* Copy s replacing invalid UTF-8 sequences and C0 controls other than
 * \t \n with U+FFFD; the result is the caller's. */
char *sirt_utf8_sanitize(const char *s, size_t n);

#endif
