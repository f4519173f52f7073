/* buf.c - growable NUL-terminated buffer (see buf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/buf.h"
#include "sirt/util.h"

static char buf_empty[1];

void sirt_buf_init(struct sirt_buf *b)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
}

void sirt_buf_release(struct sirt_buf *b)
{
	if (b->cap)
		free(b->data);
	sirt_buf_init(b);
}

void sirt_buf_wipe(struct sirt_buf *b)
{
	if (b->cap) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	sirt_buf_init(b);
}

void sirt_buf_reset(struct sirt_buf *b)
{
	if (!b->data)
		sirt_buf_init(b);
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

void sirt_buf_grow(struct sirt_buf *b, size_t extra)
{
	size_t want;

	if (!b->data)
		sirt_buf_init(b);
	if (extra > (size_t)-1 / 2 - b->len)
		abort();
	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	if (want < b->cap * 2)
		want = b->cap * 2;
	if (want < 64)
		want = 64;
	if (b->cap) {
		b->data = sirt_xrealloc(b->data, want);
	} else {
		b->data = sirt_xmalloc(want);
		b->data[0] = '\0';
	}
	b->cap = want;
}

void sirt_buf_add(struct sirt_buf *b, const void *p, size_t n)
{
	sirt_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sirt_buf_adds(struct sirt_buf *b, const char *s)
{
	sirt_buf_add(b, s, strlen(s));
}

void sirt_buf_addc(struct sirt_buf *b, char c)
{
	/* Fast path: room for the byte and the NUL (cap is 0 for the
	 * shared empty buffer, so it never takes this branch). */
	if (b->data && b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return;
	}
	sirt_buf_add(b, &c, 1);
}

void sirt_buf_vaddf(struct sirt_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	sirt_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	if ((size_t)n >= b->cap - b->len) {
		sirt_buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void sirt_buf_addf(struct sirt_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sirt_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *sirt_buf_detach(struct sirt_buf *b, size_t *len_r)
{
	char *s;

	if (len_r)
		*len_r = b->len;
	if (!b->cap)
		s = sirt_xstrdup("");
	else
		s = b->data;
	sirt_buf_init(b);
	return s;
}
