/* buf.h - the one growable string buffer.
 *
 * Invariant: after sirt_buf_init() b->data is never NULL and always
 * NUL-terminated, so b->data can be printed at any time.  Allocation
 * failure aborts (there is nothing sensible to do on a mail server that
 * cannot allocate a few bytes).
 */
#ifndef SIRT_BUF_H
#define SIRT_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct sirt_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define SIRT_BUF_INIT { NULL, 0, 0 }

void sirt_buf_init(struct sirt_buf *b);
void sirt_buf_release(struct sirt_buf *b);   /* frees, leaves b empty/valid */
void sirt_buf_wipe(struct sirt_buf *b);      /* zeroes then releases (secrets) */
void sirt_buf_reset(struct sirt_buf *b);     /* len = 0, keeps memory */
void sirt_buf_grow(struct sirt_buf *b, size_t extra);
void sirt_buf_add(struct sirt_buf *b, const void *p, size_t n);
void sirt_buf_adds(struct sirt_buf *b, const char *s);
void sirt_buf_addc(struct sirt_buf *b, char c);
void sirt_buf_addf(struct sirt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sirt_buf_vaddf(struct sirt_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Hand the string to the caller (who frees it); b becomes empty. */
char *sirt_buf_detach(struct sirt_buf *b, size_t *len_r);

#endif
