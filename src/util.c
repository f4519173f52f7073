/* util.c - allocation, hashing, time, files, strict number parsing. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/crypto.h>
#include "sirt/buf.h"
#include "sirt/util.h"

void *sirt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *sirt_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *sirt_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *sirt_xstrdup(const char *s)
{
	return s ? sirt_xstrndup(s, strlen(s)) : NULL;
}

char *sirt_xstrndup(const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = sirt_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void sirt_free(void *pp)
{
	void **p = pp;
	free(*p);
	*p = NULL;
}

void sirt_wipe_free(void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	free(p);
}

void sirt_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char dig[32];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, dig) != 0)
		abort();
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[dig[i] >> 4];
		out[2 * i + 1] = hex[dig[i] & 15];
	}
	out[64] = '\0';
}

static int parse_digits(const char **p, int n, int *v)
{
	int i, x = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

int sirt_parse_iso8601(const char *s, time_t *t_r)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	const char *p = s;
	time_t t;

	if (!s)
		return -1;
	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om = 0;
			p++;
			if (parse_digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (*p && parse_digits(&p, 2, &om))
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*t_r = t - off;
	return 0;
}

void sirt_fmt_iso8601(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 32, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t sirt_now(void)
{
	const char *s = getenv("SIRT_NOW");
	time_t t;

	if (s && *s && sirt_parse_iso8601(s, &t) == 0)
		return t;
	return time(NULL);
}

int sirt_read_fd(int fd, size_t max, char **data_r, size_t *len_r,
		 int *truncated_r, struct sirt_err *err)
{
	struct sirt_buf b;
	char chunk[65536];
	ssize_t n;

	sirt_buf_init(&b);
	if (truncated_r)
		*truncated_r = 0;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sirt_buf_release(&b);
			return sirt_err_set(err, SIRT_E_TEMP, "read failed: %s",
					    strerror(errno));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			sirt_buf_add(&b, chunk, max - b.len);
			if (truncated_r)
				*truncated_r = 1;
			/* drain the rest so the writer does not block */
			while ((n = read(fd, chunk, sizeof(chunk))) > 0 ||
			       (n < 0 && errno == EINTR))
				;
			break;
		}
		sirt_buf_add(&b, chunk, (size_t)n);
	}
	*data_r = sirt_buf_detach(&b, len_r);
	return 0;
}

int sirt_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		   struct sirt_err *err)
{
	int fd, trunc = 0, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sirt_err_set(err, errno == ENOENT ? SIRT_E_NOTFOUND :
				    SIRT_E_TEMP, "cannot open '%s': %s", path,
				    strerror(errno));
	rc = sirt_read_fd(fd, max, data_r, len_r, &trunc, err);
	close(fd);
	if (rc < 0)
		return sirt_err_prefix(err, "'%s'", path);
	if (trunc) {
		free(*data_r);
		*data_r = NULL;
		return sirt_err_set(err, SIRT_E_BADMSG,
				    "'%s' is larger than %zu bytes", path, max);
	}
	return 0;
}

int sirt_read_secret(const char *path, char **secret_r, struct sirt_err *err)
{
	char *data = NULL;
	size_t len = 0, i;

	if (sirt_read_file(path, 64 * 1024, &data, &len, err) < 0)
		return sirt_err_prefix(err, "cannot read secret file");
	for (i = 0; i < len; i++)
		if (data[i] == '\n' || data[i] == '\r')
			break;
	if (i < len)
		explicit_bzero(data + i, len - i);
	data[i] = '\0';
	*secret_r = data;
	return 0;
}

int sirt_mkdirs(const char *path, int mode, struct sirt_err *err)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path), i;

	if (n == 0 || n >= sizeof(tmp))
		return sirt_err_set(err, SIRT_E_CONFIG, "bad directory path '%s'", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return sirt_err_set(err, errno == ENOSPC ? SIRT_E_TEMP :
					    SIRT_E_FATAL, "cannot create directory '%s': %s",
					    tmp, strerror(errno));
		if (i < n)
			tmp[i] = '/';
	}
	return 0;
}

int sirt_parse_long(const char *s, long min, long max, long *v_r)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int sirt_parse_size(const char *s, size_t *v_r)
{
	char *end;
	unsigned long long v;
	unsigned long long mul = 1;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mul = 1024ULL; break;
		case 'M': mul = 1024ULL * 1024; break;
		case 'G': mul = 1024ULL * 1024 * 1024; break;
		default: return -1;
		}
		end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*v_r = (size_t)(v * mul);
	return 0;
}

int sirt_parse_bool(const char *s, int *v_r)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") ||
	    !strcasecmp(s, "on")) {
		*v_r = 1;
		return 0;
	}
	if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") ||
	    !strcasecmp(s, "off")) {
		*v_r = 0;
		return 0;
	}
	return -1;
}

int sirt_strcaseprefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

size_t sirt_utf8_decode(const unsigned char *s, size_t n, unsigned *cp_r)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80) {
		if (cp_r)
			*cp_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp_r)
		*cp_r = cp;
	return len;
}

size_t sirt_utf8_seq(const unsigned char *s, size_t n)
{
	return sirt_utf8_decode(s, n, NULL);
}

size_t sirt_utf8_encode(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int sirt_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		/* Fast path: skip ASCII eight bytes at a time. */
		while (n - i >= 8) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		while (i < n && p[i] < 0x80)
			i++;
		if (i >= n)
			break;
		k = sirt_utf8_seq(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* Length of the prefix of p[0, n) that sirt_utf8_sanitize keeps as it
 * is: printable ASCII, tab, newline and well-formed UTF-8 sequences. */
static size_t utf8_clean_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		/* eight bytes at a time while all are 0x20-0x7e */
		while (n - i >= 8) {
			uint64_t w, lo, hi;

			memcpy(&w, p + i, 8);
			/* a byte < 0x20, or >= 0x7f (0x7f + 1 sets bit 7) */
			lo = (w - UINT64_C(0x2020202020202020)) & ~w;
			hi = w | (w + UINT64_C(0x0101010101010101));
			if ((lo | hi) & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if ((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\t') {
			i++;
			continue;
		}
		k = sirt_utf8_seq(p + i, n - i);
		if (k < 2)
			break;   /* malformed, or a control byte */
		i += k;
	}
	return i;
}

char *sirt_utf8_sanitize(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i, k, run;

	/* Most text is clean: one allocation of the exact size. */
	i = utf8_clean_prefix(p, n);
	if (i == n) {
		out = sirt_xmalloc(n + 1);
		memcpy(out, p, n);
		out[n] = '\0';
		return out;
	}
	/* Worst case: every byte becomes U+FFFD (3 bytes). */
	if (n > ((size_t)-1 - 1) / 3)
		abort();
	out = sirt_xmalloc(n * 3 + 1);
	memcpy(out, p, i);
	o = out + i;
	while (i < n) {
		run = i + utf8_clean_prefix(p + i, n - i);
		if (run > i) {
			memcpy(o, p + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		k = sirt_utf8_seq(p + i, n - i);
		if (!k) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		} else if (p[i] != '\r') {
			/* C0 controls and DEL; CR is dropped (CRLF -> LF) */
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		}
		i++;
	}
	*o = '\0';
	/* Give back the slack when it is large. */
	if ((size_t)(o - out) + 1 < (n * 3 + 1) / 2)
		out = sirt_xrealloc(out, (size_t)(o - out) + 1);
	return out;
}
