/* msg_text.c - text helpers of the message parser: charsets to UTF-8,
 * RFC 2047 header words, URL extraction, HTML to text (libxml2).
 * Every input byte is hostile: sizes are bounded, nothing recurses over
 * input structure, and every output is sanitized UTF-8. */
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libetpan/libetpan.h>
#include <libxml/HTMLparser.h>
#include "sirt/buf.h"
#include "sirt/util.h"
#include "msg_int.h"

#define MAX_URL_LEN 4096
/* Header values longer than this are not RFC 2047 decoded (libetpan's
 * phrase parser is not built for megabytes); they are kept sanitized. */
#define MAX_DECODE_HEADER (256 * 1024)

char *msg_lower(char *s)
{
	char *p;

	for (p = s; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* windows-1252 bytes 0x80-0x9f; the rest of the upper half is latin-1. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178
};

static void add_codepoint(struct sirt_buf *b, unsigned cp)
{
	char u[4];

	sirt_buf_add(b, u, sirt_utf8_encode(cp, u));
}

/* Read data as windows-1252 into b (raw, not yet sanitized). */
static void cp1252_to_utf8(const unsigned char *p, size_t len,
			   struct sirt_buf *b)
{
	size_t i;

	sirt_buf_grow(b, len + len / 2);
	for (i = 0; i < len; i++) {
		if (p[i] < 0x80)
			sirt_buf_addc(b, (char)p[i]);
		else if (p[i] < 0xa0)
			add_codepoint(b, cp1252_hi[p[i] - 0x80]);
		else
			add_codepoint(b, p[i]);
	}
}

/* True if the (possibly invalid) UTF-8 in p holds at least one valid
 * multi-byte sequence: a sign that it is UTF-8 with a few bad bytes
 * rather than a single-byte charset. */
static int has_utf8_multibyte(const unsigned char *p, size_t len)
{
	size_t i, k;

	for (i = 0; i < len; i++) {
		if (p[i] < 0xc2 || p[i] > 0xf4)
			continue;
		k = p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		if (k <= len - i && sirt_utf8_valid((const char *)p + i, k))
			return 1;
	}
	return 0;
}

/* Text in an unknown or untrustworthy charset: UTF-8 if it is (or mostly
 * is), windows-1252 otherwise.  Result is the caller's. */
static char *guess_to_utf8(const unsigned char *p, size_t len)
{
	struct sirt_buf b;
	char *s;

	if (sirt_utf8_valid((const char *)p, len) || has_utf8_multibyte(p, len))
		return sirt_utf8_sanitize((const char *)p, len);
	sirt_buf_init(&b);
	cp1252_to_utf8(p, len, &b);
	s = sirt_utf8_sanitize(b.data, b.len);
	sirt_buf_release(&b);
	return s;
}

/* Map a declared charset to a name iconv knows, or NULL if it should be
 * guessed (absent, ASCII, UTF-8, malformed). */
static const char *charset_for_iconv(const char *cs, char *tmp, size_t tmpsz)
{
	static const struct { const char *from, *to; } alias[] = {
		{ "ks_c_5601-1987", "CP949" },
		{ "ks_c_5601", "CP949" },
		{ "gb2312", "GB18030" },
		{ "gbk", "GB18030" },
		{ "x-gbk", "GB18030" },
		{ "iso-8859-8-i", "ISO-8859-8" },
		{ "unicode-1-1-utf-7", "UTF-7" },
		{ "x-sjis", "SHIFT_JIS" },
		{ "x-euc-jp", "EUC-JP" },
		{ "latin1", "ISO-8859-1" },
		{ "iso-8859-1", "WINDOWS-1252" }, /* what senders mean */
		{ "us-ascii", NULL }, { "ascii", NULL }, { "utf-8", NULL },
		{ "utf8", NULL }, { "x-unknown", NULL }, { "unknown", NULL },
		{ "default", NULL }, { "unknown-8bit", NULL },
	};
	size_t i, n;

	if (!cs)
		return NULL;
	while (*cs == ' ' || *cs == '\t' || *cs == '"' || *cs == '\'')
		cs++;
	for (n = 0; cs[n] && cs[n] != '"' && cs[n] != '\'' && cs[n] != ' ' &&
	     cs[n] != ';'; n++) {
		char c = cs[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':' || c == '+' || c == '(' || c == ')'))
			return NULL;
	}
	if (n == 0 || n >= tmpsz)
		return NULL;
	memcpy(tmp, cs, n);
	tmp[n] = '\0';
	msg_lower(tmp);
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(tmp, alias[i].from) == 0)
			return alias[i].to;
	return tmp;
}

/* Convert with iconv into b.  strict: fail (-1) on the first byte that
 * does not convert; otherwise such bytes become U+FFFD. */
static int iconv_to(iconv_t cd, const char *in, size_t len, struct sirt_buf *b,
		    int strict)
{
	char *ip = (char *)in, *op;
	size_t il = len, ol, r;
	char out[4096];

	iconv(cd, NULL, NULL, NULL, NULL);
	for (;;) {
		op = out;
		ol = sizeof(out);
		r = iconv(cd, il ? &ip : NULL, &il, &op, &ol);
		sirt_buf_add(b, out, (size_t)(op - out));
		if (r != (size_t)-1) {
			if (!il) {
				/* flush the shift state */
				op = out;
				ol = sizeof(out);
				iconv(cd, NULL, NULL, &op, &ol);
				sirt_buf_add(b, out, (size_t)(op - out));
				return 0;
			}
			continue;
		}
		if (errno == E2BIG)
			continue;
		if (strict)
			return -1;
		/* EILSEQ or EINVAL (truncated sequence at the end) */
		sirt_buf_adds(b, "\xef\xbf\xbd");
		ip++;
		il--;
		if (!il)
			return 0;
	}
}

/* Per-thread cache of iconv descriptors (to UTF-8), a few charsets:
 * iconv_open is far dearer than a conversion of a typical part.  The
 * cache belongs to the thread and is closed by the key's destructor when
 * the thread exits.  iconv_to resets the shift state before each use. */
#define ICONV_CACHE 4
struct iconv_cache {
	struct {
		char name[48];
		iconv_t cd;
	} e[ICONV_CACHE];
	unsigned next;
};

static pthread_key_t iconv_key;
static pthread_once_t iconv_once = PTHREAD_ONCE_INIT;
static int iconv_key_ok;

static void iconv_cache_free(void *arg)
{
	struct iconv_cache *c = arg;
	unsigned i;

	for (i = 0; i < ICONV_CACHE; i++)
		if (c->e[i].name[0])
			iconv_close(c->e[i].cd);
	free(c);
}

static void iconv_key_init(void)
{
	iconv_key_ok = pthread_key_create(&iconv_key, iconv_cache_free) == 0;
}

/* A descriptor converting name to UTF-8, or (iconv_t)-1.  *owned_r is set
 * when the caller must iconv_close it (not cached); otherwise the cache
 * keeps it. */
static iconv_t iconv_get(const char *name, int *owned_r)
{
	struct iconv_cache *c = NULL;
	size_t nl = strlen(name);
	unsigned i;
	iconv_t cd;

	*owned_r = 1;
	pthread_once(&iconv_once, iconv_key_init);
	if (iconv_key_ok && nl < sizeof(c->e[0].name)) {
		c = pthread_getspecific(iconv_key);
		if (!c) {
			c = sirt_xcalloc(1, sizeof(*c));
			if (pthread_setspecific(iconv_key, c) != 0) {
				free(c);
				c = NULL;
			}
		}
	}
	if (c)
		for (i = 0; i < ICONV_CACHE; i++)
			if (c->e[i].name[0] && strcmp(c->e[i].name, name) == 0) {
				*owned_r = 0;
				return c->e[i].cd;
			}
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1 || !c)
		return cd;
	i = c->next++ % ICONV_CACHE;
	if (c->e[i].name[0])
		iconv_close(c->e[i].cd);
	memcpy(c->e[i].name, name, nl + 1);
	c->e[i].cd = cd;
	*owned_r = 0;
	return cd;
}

/* No byte of [p, p+len) has bit 7 set. */
static int is_ascii(const unsigned char *p, size_t len)
{
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			return 0;
	}
	for (; i < len; i++)
		if (p[i] & 0x80)
			return 0;
	return 1;
}

/* An iconv name (lower case, as charset_for_iconv gives it) of a
 * single-byte charset whose bytes below 0x80 are ASCII.  Not UTF-7,
 * the ISO-2022 family, HZ or UTF-16/32: their 7-bit bytes are not
 * ASCII text. */
static int ascii_superset(const char *name)
{
	static const char *const pre[] = { "iso-8859-", "iso8859-",
		"iso_8859-", "windows-125", "cp125", "koi8-" };
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncasecmp(name, pre[i], strlen(pre[i])) == 0)
			return 1;
	return 0;
}

char *msg_to_utf8(const char *cs, const void *data, size_t len)
{
	const unsigned char *p = data;
	const char *name;
	char tmp[48];
	iconv_t cd;
	int owned;
	struct sirt_buf b;
	char *s;

	name = charset_for_iconv(cs, tmp, sizeof(tmp));
	if (!name)
		return guess_to_utf8(p, len);
	/* 7-bit text in a charset whose 7-bit half is ASCII is already
	 * UTF-8: most "iso-8859-1" and "windows-1252" parts are plain
	 * English, and iconv costs more than the rest of their parse */
	if (ascii_superset(name) && is_ascii(p, len))
		return sirt_utf8_sanitize(data, len);
	cd = iconv_get(name, &owned);
	if (cd == (iconv_t)-1)
		return guess_to_utf8(p, len);
	sirt_buf_init(&b);
	if (iconv_to(cd, data, len, &b, 1) < 0) {
		/* The declared charset does not fit.  UTF-8 in disguise is
		 * common; otherwise keep what converts. */
		sirt_buf_reset(&b);
		if (sirt_utf8_valid(data, len) && has_utf8_multibyte(p, len)) {
			if (owned)
				iconv_close(cd);
			sirt_buf_release(&b);
			return sirt_utf8_sanitize(data, len);
		}
		iconv_to(cd, data, len, &b, 0);
	}
	if (owned)
		iconv_close(cd);
	s = sirt_utf8_sanitize(b.data, b.len);
	sirt_buf_release(&b);
	return s;
}

/* Bytes 0x20-0x7e, tab and newline only: text that msg_to_utf8 gives
 * back unchanged from UTF-8 or US-ASCII. */
static int is_printable_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t' && c != '\n') || c >= 0x7f)
			return 0;
	}
	return 1;
}

/* libetpan's own charset conversion (the encoded words of headers) goes
 * through the same aliases, guessing and descriptor cache: left to
 * itself it calls iconv_open and iconv_close for every encoded word,
 * which loads and unloads the gconv module each time. */
static int etpan_charconv(const char *tocode, const char *fromcode, const char *str,
			  size_t length, char *result, size_t *result_len)
{
	char *u;
	size_t n;

	if (strcasecmp(tocode, "utf-8") != 0 && strcasecmp(tocode, "utf8") != 0)
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;  /* libetpan's iconv, then */
	/* libetpan converts every word of a header, encoded or not, from
	 * UTF-8: printable ASCII is its own answer */
	if ((strcasecmp(fromcode, "utf-8") == 0 || strcasecmp(fromcode, "us-ascii") == 0) &&
	    length <= *result_len && is_printable_ascii(str, length)) {
		memcpy(result, str, length);
		*result_len = length;
		return MAIL_CHARCONV_NO_ERROR;
	}
	u = msg_to_utf8(fromcode, str, length);
	n = strlen(u);
	if (n > *result_len) {
		free(u);
		return MAIL_CHARCONV_ERROR_MEMORY;
	}
	memcpy(result, u, n);
	*result_len = n;
	free(u);
	return MAIL_CHARCONV_NO_ERROR;
}

void msg_charconv_install(void)
{
	extended_charconv = etpan_charconv;
}

/* Bytes msg_decode_header must look at: C0 controls (CR, LF, tab),
 * DEL and 8-bit bytes, and '=' (an encoded word starts "=?").  The
 * position of the first in [p+i, p+len), eight bytes at a time. */
static size_t hdr_next_special(const unsigned char *p, size_t i, size_t len)
{
	while (len - i >= 8) {
		uint64_t w, lo, hi, eq;

		memcpy(&w, p + i, 8);
		lo = (w - UINT64_C(0x2020202020202020)) & ~w;
		hi = w | (w + UINT64_C(0x0101010101010101));
		eq = w ^ UINT64_C(0x3d3d3d3d3d3d3d3d);
		eq = (eq - UINT64_C(0x0101010101010101)) & ~eq;
		if ((lo | hi | eq) & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
	while (i < len && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '=')
		i++;
	return i;
}

/* "=?" in p[0..n)?  (memmem is slow for two bytes, and long values
 * such as DKIM signatures have many '='.) */
static int has_ew_start(const char *p, size_t n)
{
	const char *e = p + n, *q = p;

	while ((q = memchr(q, '=', (size_t)(e - q))) != NULL && ++q < e)
		if (*q == '?')
			return 1;
	return 0;
}

char *msg_decode_header(const char *value, size_t len)
{
	const unsigned char *v = (const unsigned char *)value;
	struct sirt_buf u;
	char *dec = NULL, *res;
	size_t i = 0, j, start, idx = 0;
	int plain = 1, eq = 0;   /* printable ASCII, no encoded word */

	/* unfold: drop CR LF before whitespace, other bare CR/LF too;
	 * every input byte gives at most one output byte: write in place */
	sirt_buf_init(&u);
	sirt_buf_grow(&u, len);
	while (i < len) {
		j = hdr_next_special(v, i, len);
		memcpy(u.data + u.len, v + i, j - i);
		u.len += j - i;
		if (j >= len)
			break;
		i = j;
		if (v[i] == '\r' || v[i] == '\n') {
			/* a fold and the whitespace after it become one space */
			size_t k = i;

			while (k < len && (v[k] == '\r' || v[k] == '\n'))
				k++;
			if (k < len && (v[k] == ' ' || v[k] == '\t')) {
				while (k < len && (v[k] == ' ' || v[k] == '\t'))
					k++;
				if (!u.len || u.data[u.len - 1] != ' ')
					u.data[u.len++] = ' ';
			}
			i = k;
			continue;
		}
		if (v[i] == '\t')
			u.data[u.len++] = ' ';
		else {
			if (v[i] == '=')
				eq = 1;
			else
				plain = 0;
			u.data[u.len++] = (char)v[i];
		}
		i++;
	}
	u.data[u.len] = '\0';
	/* trim */
	start = 0;
	while (start < u.len && u.data[start] == ' ')
		start++;
	while (u.len > start && u.data[u.len - 1] == ' ')
		u.data[--u.len] = '\0';
	/* Most values are printable ASCII without encoded words: the
	 * unfolded text is the answer (sanitizing would copy it unchanged).
	 * ("=" then a fold then "?" is no encoded word: libetpan reads
	 * the unfolded text, so look at that.) */
	if (plain && eq && has_ew_start(u.data + start, u.len - start))
		plain = 0;
	if (plain) {
		if (start)
			memmove(u.data, u.data + start, u.len - start + 1);
		return sirt_buf_detach(&u, NULL);
	}
	if (!sirt_utf8_valid(u.data + start, u.len - start)) {
		/* 8-bit junk: read it as UTF-8 or windows-1252 (encoded
		 * words are ASCII and survive either way) */
		char *g = guess_to_utf8((unsigned char *)u.data + start,
					u.len - start);

		sirt_buf_reset(&u);
		sirt_buf_adds(&u, g);
		free(g);
		start = 0;
	}
	if (u.len - start <= MAX_DECODE_HEADER && strstr(u.data + start, "=?") &&
	    mailmime_encoded_phrase_parse("utf-8", u.data + start, u.len - start,
					  &idx, "utf-8", &dec) ==
	    MAILIMF_NO_ERROR && dec) {
		res = sirt_utf8_sanitize(dec, strlen(dec));
		free(dec);
	} else {
		if (dec)
			free(dec);
		res = sirt_utf8_sanitize(u.data + start, u.len - start);
	}
	sirt_buf_release(&u);
	return res;
}

/* ---- URLs ---- */

static int is_url_char(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return 0;
	return !strchr("<>\"'`{}|\\^", c);
}

static int is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	       c == '/' || c == '@';
}

/* Length of the URL prefix at s, or 0. */
static size_t url_prefix(const char *s)
{
#define P(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *s;
		size_t n;
	} pre[] = { P("https://"), P("http://"), P("ftp://"), P("hxxps://"),
		    P("hxxp://"), P("www.") };
#undef P
	size_t i;

	/* most words that start with h, f or w are none: the second
	 * letter decides */
	if (!s[0])
		return 0;
	switch (s[1] | 0x20) {
	case 't': case 'x': case 'w':
		break;
	default:
		return 0;
	}
	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		if ((*s | 0x20) == pre[i].s[0] && strncasecmp(s, pre[i].s, pre[i].n) == 0)
			return pre[i].n;
	}
	return 0;
}

/* Every url_prefix ends in "://" (mark ':') or is "www." (mark '.'):
 * the first position at or after i where a prefix that ends at such a
 * mark starts a word, found from the marks (rarer in text than the
 * letters a prefix starts with); len if none. */
static size_t next_url_start(const char *t, size_t i, size_t len, char mark)
{
	const char *q = t + i, *e = t + len;

	while ((q = memchr(q, mark, (size_t)(e - q))) != NULL) {
		size_t j = (size_t)(q - t), back;

		q++;
		if (mark == ':' && (e - q < 2 || q[0] != '/' || q[1] != '/'))
			continue;
		/* the prefixes that end here: https/hxxps, http/hxxp, ftp;
		 * or www */
		for (back = mark == ':' ? 5 : 3; back >= 3; back--) {
			size_t s = j - back;

			if (j < back || s < i)
				continue;
			if ((s == 0 || !is_word_char((unsigned char)t[s - 1])) &&
			    url_prefix(t + s) == back + (mark == ':' ? 3 : 1))
				return s;
		}
	}
	return len;
}

void msg_find_urls(const char *text, struct sirt_buf *urls)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, n, pl, end, len = strlen(text), cs, ds;
	int paren;

	cs = next_url_start(text, 0, len, ':');
	ds = next_url_start(text, 0, len, '.');

	while (p[i]) {
		/* the next prefix at a word's start: the one after either
		 * the next "://" or the next "." */
		if (cs < i)
			cs = next_url_start(text, i, len, ':');
		if (ds < i)
			ds = next_url_start(text, i, len, '.');
		i = cs < ds ? cs : ds;
		if (i >= len)
			break;
		pl = url_prefix(text + i);
		n = pl;
		paren = 0;
		while (p[i + n] && is_url_char(p[i + n]) && n < MAX_URL_LEN) {
			/* U+FFFD ends a URL */
			if (p[i + n] == 0xef && p[i + n + 1] == 0xbf &&
			    p[i + n + 2] == 0xbd)
				break;
			if (p[i + n] == '(')
				paren++;
			else if (p[i + n] == ')')
				paren--;
			n++;
		}
		end = n;
		/* trim trailing punctuation, but keep a ')' that closes a
		 * '(' of the URL; paren is the balance of [pl, end) */
		while (end > pl && strchr(".,;:!?)]}*", p[i + end - 1])) {
			if (p[i + end - 1] == ')') {
				if (paren >= 0)
					break;
				paren++;
			}
			end--;
		}
		if (end > pl + 1 && n < MAX_URL_LEN) {
			sirt_buf_add(urls, text + i, end);
			sirt_buf_addc(urls, '\0');
		}
		i += n ? n : 1;
		while (p[i] && is_url_char(p[i]))
			i++;
	}
}

/* ---- HTML ---- */

char *msg_html_meta_charset(const char *html, size_t len)
{
	size_t lim = len < 4096 ? len : 4096, i, n;
	const char *v;

	for (i = 0; i + 8 < lim; i++) {
		if (strncasecmp(html + i, "charset=", 8) != 0)
			continue;
		v = html + i + 8;
		while (v < html + lim && (*v == '"' || *v == '\'' || *v == ' '))
			v++;
		for (n = 0; v + n < html + lim && n < 40 &&
		     (((v[n] | 0x20) >= 'a' && (v[n] | 0x20) <= 'z') ||
		      (v[n] >= '0' && v[n] <= '9') || v[n] == '-' ||
		      v[n] == '_' || v[n] == '.' || v[n] == ':'); n++)
			;
		if (n)
			return msg_lower(sirt_xstrndup(v, n));
	}
	return NULL;
}

/* What an element means to the text: skipped with all it holds
 * (script, style, head...), or a block (a line of its own). */
enum { HTML_SKIP = 1, HTML_BLOCK = 2 };

struct html_el {
	const char *name;
	int what;
};

/* sorted by name (strcmp), for bsearch */
static const struct html_el html_els[] = {
	{ "address", HTML_BLOCK }, { "applet", HTML_SKIP },
	{ "article", HTML_BLOCK }, { "aside", HTML_BLOCK },
	{ "blockquote", HTML_BLOCK }, { "body", HTML_BLOCK },
	{ "caption", HTML_BLOCK }, { "center", HTML_BLOCK },
	{ "dd", HTML_BLOCK }, { "details", HTML_BLOCK }, { "div", HTML_BLOCK },
	{ "dl", HTML_BLOCK }, { "dt", HTML_BLOCK },
	{ "fieldset", HTML_BLOCK }, { "figcaption", HTML_BLOCK },
	{ "figure", HTML_BLOCK }, { "footer", HTML_BLOCK },
	{ "form", HTML_BLOCK }, { "h1", HTML_BLOCK }, { "h2", HTML_BLOCK },
	{ "h3", HTML_BLOCK }, { "h4", HTML_BLOCK }, { "h5", HTML_BLOCK },
	{ "h6", HTML_BLOCK }, { "head", HTML_SKIP }, { "header", HTML_BLOCK },
	{ "hr", HTML_BLOCK }, { "html", HTML_BLOCK }, { "legend", HTML_BLOCK },
	{ "li", HTML_BLOCK }, { "main", HTML_BLOCK }, { "math", HTML_SKIP },
	{ "nav", HTML_BLOCK }, { "object", HTML_SKIP }, { "ol", HTML_BLOCK },
	{ "option", HTML_BLOCK }, { "p", HTML_BLOCK }, { "pre", HTML_BLOCK },
	{ "script", HTML_SKIP }, { "section", HTML_BLOCK },
	{ "style", HTML_SKIP }, { "summary", HTML_BLOCK }, { "svg", HTML_SKIP },
	{ "table", HTML_BLOCK }, { "tbody", HTML_BLOCK },
	{ "template", HTML_SKIP }, { "tfoot", HTML_BLOCK },
	{ "thead", HTML_BLOCK }, { "title", HTML_SKIP }, { "tr", HTML_BLOCK },
	{ "ul", HTML_BLOCK },
};

static int html_el_cmp(const void *key, const void *el)
{
	return strcmp(key, ((const struct html_el *)el)->name);
}

/* The element's HTML_* class, 0 for the rest.  libxml2 gives names in
 * lower case; others are lowered here so that nothing depends on it. */
static int html_what(const char *name)
{
	char low[16];
	const struct html_el *e;
	size_t i;

	for (i = 0; name[i]; i++) {
		if (i + 1 >= sizeof(low))
			return 0;   /* longer than any name above */
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] | 0x20) : name[i];
	}
	low[i] = '\0';
	e = bsearch(low, html_els, sizeof(html_els) / sizeof(html_els[0]),
		    sizeof(html_els[0]), html_el_cmp);
	return e ? e->what : 0;
}

struct html_out {
	struct sirt_buf *b;
	struct sirt_buf *urls;
	int pre;       /* inside <pre> */
	int skip;      /* inside script, style, head, ... */
};

static void html_newline(struct html_out *o)
{
	size_t nl = 0;

	/* drop trailing spaces, allow at most one blank line */
	while (o->b->len && o->b->data[o->b->len - 1] == ' ')
		o->b->data[--o->b->len] = '\0';
	while (nl < o->b->len && o->b->data[o->b->len - 1 - nl] == '\n')
		nl++;
	if (o->b->len == 0 || nl >= 2)
		return;
	sirt_buf_addc(o->b, '\n');
}

static int html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Append s[0..n): outside <pre>, each run of white space becomes one
 * space, and none at the start of a line. */
static void html_text(struct html_out *o, const char *s, size_t n)
{
	size_t i = 0, j;

	if (o->pre) {
		sirt_buf_add(o->b, s, n);
		return;
	}
	while (i < n) {
		if (html_space(s[i])) {
			char last = o->b->len ? o->b->data[o->b->len - 1] : '\n';

			if (last != ' ' && last != '\n')
				sirt_buf_addc(o->b, ' ');
			for (i++; i < n && html_space(s[i]); i++)
				;
			continue;
		}
		for (j = i + 1; j < n && !html_space(s[j]); j++)
			;
		sirt_buf_add(o->b, s + i, j - i);
		i = j;
	}
}

static void html_href(struct html_out *o, const char *href)
{
	size_t n;

	while (*href == ' ' || *href == '\t' || *href == '\n' || *href == '\r')
		href++;
	if (!url_prefix(href))
		return;
	n = strlen(href);
	while (n && (href[n - 1] == ' ' || href[n - 1] == '\n' ||
		     href[n - 1] == '\r' || href[n - 1] == '\t'))
		n--;
	if (n > MAX_URL_LEN || memchr(href, '\n', n))
		return;
	{
		/* character references may have made anything of it */
		char *u = sirt_utf8_sanitize(href, n);

		sirt_buf_adds(o->urls, u);
		sirt_buf_addc(o->urls, '\0');
		free(u);
	}
}

/* SAX: an element opens. */
static void html_start(void *ctx, const xmlChar *xname, const xmlChar **attrs)
{
	struct html_out *o = ctx;
	const char *name = (const char *)xname;
	size_t i;
	int what;

	if (!name)
		return;
	what = html_what(name);
	if (what == HTML_SKIP) {
		o->skip++;
		return;
	}
	if (o->skip)
		return;
	if ((strcasecmp(name, "a") == 0 || strcasecmp(name, "area") == 0) && attrs) {
		for (i = 0; attrs[i] && i < 2 * 256; i += 2)
			if (strcasecmp((const char *)attrs[i], "href") == 0 && attrs[i + 1]) {
				html_href(o, (const char *)attrs[i + 1]);
				break;
			}
	}
	if (strcasecmp(name, "br") == 0) {
		while (o->b->len && o->b->data[o->b->len - 1] == ' ')
			o->b->data[--o->b->len] = '\0';
		sirt_buf_addc(o->b, '\n');
		return;
	}
	if (strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0)
		html_text(o, " ", 1);
	if (what == HTML_BLOCK)
		html_newline(o);
	if (strcasecmp(name, "pre") == 0)
		o->pre++;
}

/* SAX: an element closes (also when the parser closes it implicitly). */
static void html_end(void *ctx, const xmlChar *xname)
{
	struct html_out *o = ctx;
	const char *name = (const char *)xname;
	int what;

	if (!name)
		return;
	what = html_what(name);
	if (what == HTML_SKIP) {
		if (o->skip)
			o->skip--;
		return;
	}
	if (o->skip)
		return;
	if (strcasecmp(name, "pre") == 0 && o->pre > 0)
		o->pre--;
	if (what == HTML_BLOCK)
		html_newline(o);
}

/* SAX: text (entities already decoded). */
static void html_chars(void *ctx, const xmlChar *ch, int len)
{
	struct html_out *o = ctx;

	if (o->skip || len <= 0)
		return;
	html_text(o, (const char *)ch, (size_t)len);
}

char *msg_html_to_text(const char *html, size_t len, struct sirt_buf *urls)
{
	struct sirt_buf b;
	struct html_out o;
	htmlSAXHandler sax;
	htmlParserCtxtPtr ctxt;
	size_t off = 0;
	char *s;

	sirt_buf_init(&b);
	o.b = &b;
	o.urls = urls;
	o.pre = 0;
	o.skip = 0;
	/* SAX, not a tree: memory stays small whatever the size or nesting
	 * of the HTML */
	memset(&sax, 0, sizeof(sax));
	sax.startElement = html_start;
	sax.endElement = html_end;
	sax.characters = html_chars;
	sax.cdataBlock = html_chars;
	sax.ignorableWhitespace = html_chars;
	ctxt = htmlCreatePushParserCtxt(&sax, &o, NULL, 0, NULL,
					XML_CHAR_ENCODING_UTF8);
	if (!ctxt) {
		/* libxml2 gave up: keep the text rather than nothing */
		return sirt_utf8_sanitize(html, len);
	}
	htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
			   HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
			   HTML_PARSE_IGNORE_ENC);
	while (off < len) {
		size_t n = len - off > 65536 ? 65536 : len - off;

		htmlParseChunk(ctxt, html + off, (int)n, 0);
		off += n;
	}
	htmlParseChunk(ctxt, NULL, 0, 1);
	htmlFreeParserCtxt(ctxt);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	s = sirt_utf8_sanitize(b.data, b.len);
	sirt_buf_release(&b);
	return s;
}
