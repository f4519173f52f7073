/* msg_int.h - helpers private to the message parser (msg*.c). */
#ifndef SIRT_MSG_INT_H
#define SIRT_MSG_INT_H

#include <stddef.h>
#include "sirt/buf.h"

/* Convert len bytes in charset cs (may be NULL) to sanitized UTF-8.
 * Unknown or lying charsets never lose the text: valid UTF-8 is kept,
 * anything else is read as windows-1252 (a superset of latin-1), and
 * bytes that still do not convert become U+FFFD.  CR is dropped, other
 * C0 controls but TAB and LF become U+FFFD.  Result is the caller's. */
char *msg_to_utf8(const char *cs, const void *data, size_t len);
/* Route libetpan's charset conversion through msg_to_utf8; called once,
 * from the module's one-time init. */
void msg_charconv_install(void);

/* Decode a header value: unfold, RFC 2047 encoded words to UTF-8, raw
 * 8-bit text read as UTF-8 or windows-1252.  Result is the caller's. */
char *msg_decode_header(const char *value, size_t len);

/* Render HTML (already UTF-8) to plain text with libxml2's SAX parser
 * (memory does not grow with the document): script, style
 * and head skipped, block elements become line breaks.  Link targets
 * (a/area href) are appended to urls (a buffer of NUL-separated
 * strings).  Returns the caller's sanitized UTF-8 text. */
char *msg_html_to_text(const char *html, size_t len, struct sirt_buf *urls);

/* Append every URL found in text (http, https, ftp, hxxp, hxxps and
 * www.) to urls as NUL-terminated strings. */
void msg_find_urls(const char *text, struct sirt_buf *urls);

/* Lower-case s in place (ASCII); returns s. */
char *msg_lower(char *s);

/* Charset named in an HTML <meta> tag within the first bytes, or NULL
 * (the caller's). */
char *msg_html_meta_charset(const char *html, size_t len);

struct sirt_msg;
struct sirt_limits;

/* Mark m unparsed; the first reason is kept (later ones are
 * consequences). */
void msg_set_unparsed(struct sirt_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* msg_headers.c */

/* If the line p[0..n) is a header field -- a name of any bytes above
 * space but ':' (RFC 5322 ftext, as libetpan reads it, 8-bit too), then
 * white space and comments, then ':' -- the length of its name, else 0;
 * *colon_r (if not NULL) is the colon's offset.  The one field rule of
 * the header block, its list and its typed fields. */
size_t msg_field_name(const char *p, size_t n, size_t *colon_r);

/* Length of the header block at p: it ends at its first empty line, or
 * at the first line that is no field (a first line that starts with
 * white space included), where the body then starts; *body_r is the
 * offset of the body.  Every reader of header blocks (the parse, the
 * depth pre-scan, libetpan's view) uses this one rule. */
size_t msg_header_block_len(const char *p, size_t len, size_t *body_r);
/* Offset after an mbox "From " line at the very start, or 0. */
size_t msg_skip_from_line(const char *p, size_t len);
/* Split the header block [p, p+len) into m->headers and fill the typed
 * fields of m (from, to, subject, date, ids, ...); lines longer than the
 * limit mark m unparsed. */
void msg_parse_headers(struct sirt_msg *m, const char *p, size_t len,
		       const struct sirt_limits *lim);

#endif
