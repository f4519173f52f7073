/* msg.c - parse one message: the MIME tree (libetpan mailmime), decoded
 * leaves, body text and URLs, limits (see sirt/msg.h).  Header fields are
 * in msg_headers.c, charsets/HTML/URL scanning in msg_text.c.
 *
 * Every byte is hostile.  Before libetpan (which recurses over MIME
 * nesting and nested header comments) sees the input, a lexical pre-scan
 * bounds that recursion; deep inputs are parsed on a thread with a stack
 * sized for them, or refused as unparsed.  Our own walks are depth
 * checked or iterative. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libetpan/libetpan.h>
#include <libxml/parser.h>
#include "sirt/buf.h"
#include "sirt/msg.h"
#include "sirt/util.h"
#include "msg_int.h"

#define MAX_URLS 50000
/* Stack cost estimates for libetpan's recursion (bytes per level),
 * generous enough for ASan builds; see parse_on_stack(). */
#define STACK_PER_MIME_LEVEL (24 * 1024)
#define STACK_PER_COMMENT_LEVEL (2 * 1024)
#define STACK_INLINE_BUDGET (512 * 1024)
#define STACK_THREAD_MAX ((size_t)1024 * 1024 * 1024)

void sirt_limits_default(struct sirt_limits *lim)
{
	lim->max_message_size = 25 * 1024 * 1024;
	lim->max_mime_depth = 32;
	lim->max_parts = 1000;
	lim->max_header_line = 998 * 10;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* One-time init of the libraries the parser drives. */
static void msg_module_init(void)
{
	xmlInitParser();
	msg_charconv_install();
}

void msg_set_unparsed(struct sirt_msg *m, const char *fmt, ...)
{
	struct sirt_buf b;
	va_list ap;

	m->unparsed = 1;
	if (m->unparsed_reason)
		return;
	sirt_buf_init(&b);
	va_start(ap, fmt);
	sirt_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	m->unparsed_reason = sirt_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ */
/* Pre-scan: bound libetpan's recursion before it runs. */

struct prescan {
	size_t containers;  /* Content-Type: multipart|message/rfc822 lines */
	size_t max_paren;   /* deepest ( nesting within one logical line */
};

static void prescan(const char *p, size_t len, struct prescan *ps)
{
	size_t i, depth = 0;

	static const unsigned char special[256] = {
		['\n'] = 1, ['('] = 1, [')'] = 1
	};

	ps->containers = 0;
	ps->max_paren = 0;
	for (i = 0; i < len; i++) {
		char c;

		/* skip the bytes that change nothing */
		while (i < len && !special[(unsigned char)p[i]])
			i++;
		if (i >= len)
			break;
		c = p[i];

		if (c == '\n') {
			if (!(i + 1 < len && (p[i + 1] == ' ' || p[i + 1] == '\t')))
				depth = 0;
			if (i + 13 < len && strncasecmp(p + i + 1, "content-type:", 13) == 0) {
				size_t j = i + 14;

				while (j < len && (p[j] == ' ' || p[j] == '\t' ||
						   p[j] == '\r' || p[j] == '\n' || p[j] == '"'))
					j++;
				if ((j + 9 <= len && strncasecmp(p + j, "multipart", 9) == 0) ||
				    (j + 7 <= len && strncasecmp(p + j, "message", 7) == 0))
					ps->containers++;
			}
		} else if (c == '(') {
			if (++depth > ps->max_paren)
				ps->max_paren = depth;
		} else if (c == ')') {
			if (depth)
				depth--;
		}
	}
	/* the very first line */
	if (len >= 13 && strncasecmp(p, "content-type:", 13) == 0)
		ps->containers++;
}

/* Skeleton scan: each level of nesting splits its body again, so a deep
 * nest costs its depth times its size.  This iterative scan follows the
 * walk's rules (header block, first Content-Type, boundary= of multipart,
 * the parts RFC 2046 delimits, message/rfc822 unless base64/QP, digest
 * parts without Content-Type are messages) and stops at the depth limit,
 * so a message nested past it is refused before any part is built.
 * Work is O(size x limit). */

struct skel_item {
	size_t s, e;
	int depth;
	int digest_child;
};

/* Is the line p[i..le) a delimiter of boundary bnd (RFC 2046: "--"
 * bnd, then "--" for the close delimiter, else only white space)?
 * Sets *close_r for the close delimiter. */
static int boundary_line(const char *p, size_t i, size_t le, const char *bnd,
			 size_t bl, int *close_r)
{
	size_t k;

	*close_r = 0;
	if (le - i < bl + 2 || p[i] != '-' || p[i + 1] != '-' ||
	    memcmp(p + i + 2, bnd, bl) != 0)
		return 0;
	k = i + 2 + bl;
	if (le - k >= 2 && p[k] == '-' && p[k + 1] == '-') {
		*close_r = 1;
		return 1;
	}
	while (k < le && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
		k++;
	return k == le;
}

/* Unfolded value (at most cap-1 bytes) of the first header named name
 * in the header block [s, e) of p; returns 1 if found. */
static int skel_header(const char *p, size_t s, size_t e, const char *name,
		       char *out, size_t cap)
{
	size_t nl = strlen(name), i = s, n = 0;

	out[0] = '\0';   /* not found: empty, never last item's value */
	while (i < e) {
		const char *q = memchr(p + i, '\n', e - i);
		size_t le = q ? (size_t)(q - p) : e;

		if (le - i > nl && strncasecmp(p + i, name, nl) == 0 &&
		    p[i + nl] == ':') {
			size_t j = i + nl + 1;

			for (;;) {
				for (; j < le && n + 1 < cap; j++)
					if (p[j] != '\r')
						out[n++] = p[j];
				if (le + 1 < e && (p[le + 1] == ' ' || p[le + 1] == '\t')) {
					j = le + 1;
					q = memchr(p + j, '\n', e - j);
					le = q ? (size_t)(q - p) : e;
					continue;
				}
				break;
			}
			out[n] = '\0';
			return 1;
		}
		i = le + 1;
	}
	return 0;
}

/* The boundary= parameter of a Content-Type value, unquoted. */
static int skel_boundary(const char *v, char *out, size_t cap)
{
	const char *b = v;
	size_t n = 0;

	while ((b = strcasestr(b, "boundary"))) {
		const char *q = b + 8;

		b = q;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"') {
			q++;
			while (*q && *q != '"' && n + 1 < cap)
				out[n++] = *q++;
		} else {
			while (*q && *q != ';' && *q != ' ' && *q != '\t' && n + 1 < cap)
				out[n++] = *q++;
		}
		out[n] = '\0';
		return n > 0;
	}
	return 0;
}

/* Deepest nesting found (capped at max_depth + 1); *many_r is set if
 * there are more than max_items entities.  [0, top_hend) is the header
 * block of p and its body starts at top_body (msg_header_block_len). */
static int skel_depth(const char *p, size_t len, size_t top_hend,
		      size_t top_body, int max_depth, size_t max_items,
		      int *many_r)
{
	struct skel_item *st;
	size_t sp = 0, cap = 64, items = 0;
	int deepest = 0;
	char ct[1024] = "", cte[64] = "", bnd[256] = "";

	st = sirt_xmalloc(cap * sizeof(*st));
	st[sp++] = (struct skel_item){ 0, len, 0, 0 };
	*many_r = 0;
	while (sp) {
		struct skel_item it = st[--sp];
		size_t body, hend, i, bl, part_s = 0;
		int have_ct, in_part = 0;
		const char *v;

		if (it.depth > deepest)
			deepest = it.depth;
		if (deepest > max_depth)
			break;
		if (++items > max_items) {
			*many_r = 1;
			break;
		}
		if (items == 1) {
			/* the caller read the first one's block already */
			hend = top_hend;
			body = top_body;
		} else {
			hend = it.s + msg_header_block_len(p + it.s, it.e - it.s, &body);
			body += it.s;
		}
		have_ct = skel_header(p, it.s, hend, "Content-Type", ct, sizeof(ct));
		v = ct;
		while (*v == ' ' || *v == '\t' || *v == '"')
			v++;
		if ((!have_ct && it.digest_child) ||
		    (have_ct && strncasecmp(v, "message/rfc822", 14) == 0)) {
			if (skel_header(p, it.s, hend, "Content-Transfer-Encoding",
					cte, sizeof(cte)) &&
			    (strcasestr(cte, "base64") || strcasestr(cte, "quoted")))
				continue;
			if (sp == cap)
				st = sirt_xrealloc(st, (cap *= 2) * sizeof(*st));
			st[sp++] = (struct skel_item){ body, it.e, it.depth + 1, 0 };
			continue;
		}
		if (!have_ct || strncasecmp(v, "multipart", 9) != 0 ||
		    !skel_boundary(v, bnd, sizeof(bnd)))
			continue;
		bl = strlen(bnd);
		/* delimiter lines: "--" boundary, then "--" or blanks */
		for (i = body; i < it.e;) {
			const char *q = memchr(p + i, '\n', it.e - i);
			size_t le = q ? (size_t)(q - p) : it.e;
			int delim = 0, close = 0;

			delim = boundary_line(p, i, le, bnd, bl, &close);
			if (delim) {
				if (in_part && i > part_s) {
					if (sp == cap)
						st = sirt_xrealloc(st, (cap *= 2) * sizeof(*st));
					st[sp++] = (struct skel_item){ part_s, i, it.depth + 1,
						strncasecmp(v, "multipart/digest", 16) == 0 };
				}
				in_part = !close;
				part_s = le + 1;
				if (close)
					break;
			}
			i = le + 1;
		}
		if (in_part && part_s < it.e) {
			if (sp == cap)
				st = sirt_xrealloc(st, (cap *= 2) * sizeof(*st));
			st[sp++] = (struct skel_item){ part_s, it.e, it.depth + 1,
				strncasecmp(v, "multipart/digest", 16) == 0 };
		}
	}
	free(st);
	return deepest;
}

/* Bounds on skel_depth's answers from one cheap pass over the lines:
 * *ct_r counts the lines that start "Content-Type:", *dash_r those that
 * start "--".  Each entity that nests others declares itself on a
 * Content-Type line, or is a digest part (whose parent did), so the
 * depth is at most 2 * ct; each part starts after a delimiter line of
 * its own, and each message/rfc822 or digest part adds one entity, so
 * there are at most 1 + ct + 2 * dash. */
static void skel_bounds(const char *p, size_t len, size_t *ct_r, size_t *dash_r)
{
	size_t i = 0;
	const char *nl;

	*ct_r = *dash_r = 0;
	while (i < len) {
		if (p[i] == '-' && len - i >= 2 && p[i + 1] == '-')
			++*dash_r;
		else if ((p[i] == 'c' || p[i] == 'C') && len - i >= 13 &&
			 strncasecmp(p + i, "content-type:", 13) == 0)
			++*ct_r;
		if (!(nl = memchr(p + i, '\n', len - i)))
			break;
		i = (size_t)(nl - p) + 1;
	}
}

struct etpan_job {
	const char *data;
	size_t len;
	struct mailmime *mime;
	int rc;
};

static void *etpan_run(void *arg)
{
	struct etpan_job *j = arg;
	size_t idx = 0;

	j->rc = mailmime_parse(j->data, j->len, &idx, &j->mime);
	return NULL;
}

/* Run mailmime_parse with enough stack for its recursion.  Returns the
 * libetpan code, or -1 (with *why_r) if the input is too deep to risk. */
static int parse_on_stack(const char *data, size_t len, struct mailmime **mime_r,
			  const char **why_r)
{
	struct etpan_job j = { data, len, NULL, MAILIMF_ERROR_PARSE };
	struct prescan ps;
	size_t need;
	pthread_attr_t attr;
	pthread_t th;

	prescan(data, len, &ps);
	need = 256 * 1024;
	if (ps.containers > STACK_THREAD_MAX / STACK_PER_MIME_LEVEL / 2 ||
	    ps.max_paren > STACK_THREAD_MAX / STACK_PER_COMMENT_LEVEL / 2) {
		*why_r = ps.containers > ps.max_paren ?
			"too many nested MIME containers to parse safely" :
			"header comments nested too deeply to parse safely";
		return -1;
	}
	need += (2 * ps.containers + 4) * STACK_PER_MIME_LEVEL +
		ps.max_paren * STACK_PER_COMMENT_LEVEL;
	if (need <= STACK_INLINE_BUDGET) {
		etpan_run(&j);
	} else {
		if (pthread_attr_init(&attr) != 0)
			goto fail;
		if (pthread_attr_setstacksize(&attr, need + 1024 * 1024) != 0 ||
		    pthread_create(&th, &attr, etpan_run, &j) != 0) {
			pthread_attr_destroy(&attr);
			goto fail;
		}
		pthread_attr_destroy(&attr);
		pthread_join(th, NULL);
	}
	*mime_r = j.mime;
	return j.rc;
fail:
	*why_r = "cannot create a parser thread";
	return -1;
}

/* ------------------------------------------------------------------ */
/* MIME tree */

struct walk {
	struct sirt_msg *msg;
	const struct sirt_limits *lim;
	const char *base;    /* buffer the entity offsets refer to */
	size_t base_len;
	int src_buf;
	int from_crypto;
	int stop;
	int scanned;         /* the depth pre-scan ran */
	size_t top_body;     /* where the body of the first entity starts */
};

static char *content_type_str(const struct mailmime_content *ct)
{
	const char *t = "text";
	struct sirt_buf b;

	if (!ct || !ct->ct_type)
		return sirt_xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	    ct->ct_type->tp_data.tp_discrete_type) {
		switch (ct->ct_type->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: t = "text"; break;
		case MAILMIME_DISCRETE_TYPE_IMAGE: t = "image"; break;
		case MAILMIME_DISCRETE_TYPE_AUDIO: t = "audio"; break;
		case MAILMIME_DISCRETE_TYPE_VIDEO: t = "video"; break;
		case MAILMIME_DISCRETE_TYPE_APPLICATION: t = "application"; break;
		default:
			t = ct->ct_type->tp_data.tp_discrete_type->dt_extension;
		}
	} else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
		   ct->ct_type->tp_data.tp_composite_type) {
		switch (ct->ct_type->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE: t = "message"; break;
		case MAILMIME_COMPOSITE_TYPE_MULTIPART: t = "multipart"; break;
		default:
			t = ct->ct_type->tp_data.tp_composite_type->ct_token;
		}
	}
	sirt_buf_init(&b);
	sirt_buf_adds(&b, t ? t : "application");
	sirt_buf_addc(&b, '/');
	sirt_buf_adds(&b, ct->ct_subtype ? ct->ct_subtype : "octet-stream");
	{
		char *s = sirt_utf8_sanitize(b.data, b.len);

		sirt_buf_release(&b);
		return msg_lower(s);
	}
}

/* A parameter value as a lower-case sanitized string without quotes. */
static char *param_lower(const char *v)
{
	size_t n;
	char *s;

	if (!v)
		return NULL;
	while (*v == '"' || *v == ' ')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == '"' || v[n - 1] == ' '))
		n--;
	if (!n)
		return NULL;
	s = sirt_utf8_sanitize(v, n);
	return msg_lower(s);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void pct_decode(struct sirt_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			sirt_buf_addc(b, (char)(hexval(s[1]) * 16 + hexval(s[2])));
			s += 2;
		} else {
			sirt_buf_addc(b, *s);
		}
	}
}

struct param {
	const char *name;
	const char *value;
};

/* RFC 2231 value of parameter base ("filename", "name") among params:
 * base*=cs'lang'pct, or the base*N / base*N* continuations; NULL if
 * there is none.  Result is the caller's UTF-8. */
static char *rfc2231_value(const struct param *ps, size_t n, const char *base)
{
	size_t bl = strlen(base), i;
	struct sirt_buf raw;
	char cs[48] = "";
	int seg, found = 0, any = 1;
	char *res;

	sirt_buf_init(&raw);
	for (seg = 0; seg < 100 && any; seg++) {
		any = 0;
		for (i = 0; i < n; i++) {
			const char *nm = ps[i].name, *v = ps[i].value;
			char num[16];
			int enc;
			size_t k;

			if (!nm || !v || strncasecmp(nm, base, bl) != 0 ||
			    nm[bl] != '*')
				continue;
			nm += bl + 1;
			if (*nm == '\0') {
				/* base*= : a single encoded value */
				if (seg != 0)
					continue;
				enc = 1;
			} else {
				snprintf(num, sizeof(num), "%d", seg);
				k = strlen(num);
				if (strncmp(nm, num, k) != 0 ||
				    (nm[k] != '\0' && strcmp(nm + k, "*") != 0))
					continue;
				enc = nm[k] == '*';
			}
			if (seg == 0 && enc) {
				const char *q1 = strchr(v, '\''), *q2;

				if (q1 && (q2 = strchr(q1 + 1, '\''))) {
					size_t cl = (size_t)(q1 - v);

					if (cl < sizeof(cs)) {
						memcpy(cs, v, cl);
						cs[cl] = '\0';
					}
					v = q2 + 1;
				}
			}
			if (enc)
				pct_decode(&raw, v);
			else
				sirt_buf_adds(&raw, v);
			found = any = 1;
			if (*nm == '\0')
				any = 0;  /* nothing continues base*= */
			break;
		}
	}
	if (!found) {
		sirt_buf_release(&raw);
		return NULL;
	}
	res = msg_to_utf8(cs[0] ? cs : NULL, raw.data, raw.len);
	sirt_buf_release(&raw);
	return res;
}

/* The part's filename: Content-Disposition filename (RFC 2231, then
 * plain, RFC 2047 decoded), else Content-Type name. */
static char *part_filename(const struct mailmime_single_fields *sf,
			   const struct mailmime_content *ct)
{
	struct param ps[64];
	size_t n = 0;
	clistiter *c;
	char *s = NULL;
	const char *plain = NULL;

	memset(ps, 0, sizeof(ps));
	if (sf->fld_disposition && sf->fld_disposition->dsp_parms) {
		for (c = clist_begin(sf->fld_disposition->dsp_parms); c && n < 64;
		     c = clist_next(c)) {
			struct mailmime_disposition_parm *dp = clist_content(c);

			if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
				plain = plain ? plain : dp->pa_data.pa_filename;
			else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER &&
				 dp->pa_data.pa_parameter) {
				ps[n].name = dp->pa_data.pa_parameter->pa_name;
				ps[n].value = dp->pa_data.pa_parameter->pa_value;
				n++;
			}
		}
		s = rfc2231_value(ps, n, "filename");
		if (!s && plain)
			s = msg_decode_header(plain, strlen(plain));
	}
	if (!s && ct && ct->ct_parameters) {
		n = 0;
		plain = NULL;
		for (c = clist_begin(ct->ct_parameters); c && n < 64;
		     c = clist_next(c)) {
			struct mailmime_parameter *pa = clist_content(c);

			if (!pa->pa_name)
				continue;
			if (strcasecmp(pa->pa_name, "name") == 0)
				plain = plain ? plain : pa->pa_value;
			ps[n].name = pa->pa_name;
			ps[n].value = pa->pa_value;
			n++;
		}
		s = rfc2231_value(ps, n, "name");
		if (!s && plain)
			s = msg_decode_header(plain, strlen(plain));
		/* some old clients wrote file= */
		if (!s && (plain = mailmime_content_param_get(
				   (struct mailmime_content *)ct, "file")))
			s = msg_decode_header(plain, strlen(plain));
	}
	if (s && !*s)
		sirt_free(&s);
	return s;
}

static const char *mechanism_name(const struct mailmime_mechanism *m)
{
	switch (m->enc_type) {
	case MAILMIME_MECHANISM_7BIT: return "7bit";
	case MAILMIME_MECHANISM_8BIT: return "8bit";
	case MAILMIME_MECHANISM_BINARY: return "binary";
	case MAILMIME_MECHANISM_QUOTED_PRINTABLE: return "quoted-printable";
	case MAILMIME_MECHANISM_BASE64: return "base64";
	default: return m->enc_token ? m->enc_token : "unknown";
	}
}

static int add_part(struct walk *w, int parent, int depth,
		    enum sirt_part_kind kind)
{
	struct sirt_msg *m = w->msg;
	struct sirt_part *p;

	m->parts = sirt_xrealloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	p = &m->parts[m->nparts];
	memset(p, 0, sizeof(*p));
	p->index = (int)m->nparts;
	p->parent = parent;
	p->depth = depth;
	p->kind = kind;
	p->src_buf = w->src_buf;
	p->from_crypto = w->from_crypto;
	m->nparts++;
	return p->index;
}

/* Distinct NUL-separated strings of buf as an array (first seen order);
 * returns the count, *arr_r the caller's. */
static size_t distinct_strings(const struct sirt_buf *buf, size_t max,
			       char ***arr_r);

/* Decode a leaf whose body is [body, body+blen): data, text (and links
 * for HTML).  The transfer encoding is the one libetpan read from its
 * fields. */
static void decode_leaf(struct sirt_part *p, const struct mailmime *mm,
			const char *body, size_t blen)
{
	const struct mailmime_data *d = mm->mm_body;
	int enc = d ? d->dt_encoding : MAILMIME_MECHANISM_7BIT;
	char *res = NULL;
	size_t rlen = 0, idx = 0;

	if (mailmime_part_parse(body, blen, &idx, enc, &res, &rlen) == MAILIMF_NO_ERROR &&
	    res) {
		p->data = sirt_xmalloc(rlen + 1);
		memcpy(p->data, res, rlen);
		p->data[rlen] = '\0';
		p->size = rlen;
		mmap_string_unref(res);
	} else {
		p->data = sirt_xcalloc(1, 1);
		p->size = 0;
	}
	if (strcmp(p->content_type, "text/plain") == 0) {
		p->text = msg_to_utf8(p->charset, p->data, p->size);
	} else if (strcmp(p->content_type, "text/html") == 0) {
		char *cs = p->charset ? NULL :
			msg_html_meta_charset((char *)p->data, p->size);
		char *u = msg_to_utf8(p->charset ? p->charset : cs, p->data, p->size);
		struct sirt_buf links;

		sirt_buf_init(&links);
		p->text = msg_html_to_text(u, strlen(u), &links);
		p->nlinks = distinct_strings(&links, MAX_URLS, &p->links);
		sirt_buf_release(&links);
		free(u);
		free(cs);
	}
}

/* Fill part fields from libetpan's node. */
static void fill_part(struct sirt_part *p, const struct mailmime *mm)
{
	struct mailmime_single_fields sf;
	struct mailmime_content *ct = mm->mm_content_type;

	memset(&sf, 0, sizeof(sf));
	if (mm->mm_mime_fields)
		mailmime_single_fields_init(&sf, mm->mm_mime_fields, ct);
	p->content_type = content_type_str(ct);
	if (ct) {
		p->charset = param_lower(mailmime_content_param_get(ct, "charset"));
		p->protocol = param_lower(mailmime_content_param_get(ct, "protocol"));
	}
	if (sf.fld_disposition && sf.fld_disposition->dsp_type) {
		switch (sf.fld_disposition->dsp_type->dsp_type) {
		case MAILMIME_DISPOSITION_TYPE_INLINE:
			p->disposition = sirt_xstrdup("inline");
			break;
		default: /* RFC 2183: unknown types are attachments */
			p->disposition = sirt_xstrdup("attachment");
		}
	}
	if (sf.fld_id)
		p->content_id = sirt_utf8_sanitize(sf.fld_id, strlen(sf.fld_id));
	if (sf.fld_encoding) {
		const char *e = mechanism_name(sf.fld_encoding);

		p->transfer_encoding = msg_lower(sirt_utf8_sanitize(e, strlen(e)));
	}
	p->filename = part_filename(&sf, ct);
}

static void parse_mime(struct walk *w, const char *data, size_t len, int parent,
		       int depth);

struct range {
	size_t s, e;
};

/* The parts of a multipart body [p, p+len) with boundary bnd, as RFC 2046
 * delimits them: after a delimiter line up to the CRLF before the next.
 * An unclosed multipart ends at the end of the input (blank lines after
 * its last delimiter are no part).  Returns the count (at most max);
 * *r_r is the caller's. */
static size_t split_ranges(const char *p, size_t len, const char *bnd,
			   size_t max, struct range **r_r)
{
	size_t bl = strlen(bnd), i, part_s = 0, n = 0, cap = 0;
	struct range *r = NULL;
	int in_part = 0;

	for (i = 0; i <= len;) {
		const char *q = i < len ? memchr(p + i, '\n', len - i) : NULL;
		size_t le = q ? (size_t)(q - p) : len;
		int delim = 0, close = 0;

		delim = i < len && boundary_line(p, i, le, bnd, bl, &close);
		if (delim || i >= len) {
			if (in_part) {
				size_t e = delim ? i : len;

				if (delim && e > part_s && p[e - 1] == '\n')
					e--;
				if (delim && e > part_s && p[e - 1] == '\r')
					e--;
				if (!delim) {
					size_t k2 = part_s;

					while (k2 < e && (p[k2] == '\n' || p[k2] == '\r' ||
							  p[k2] == ' ' || p[k2] == '\t'))
						k2++;
					if (k2 == e)
						e = part_s;
				}
				/* an empty part is none: it must not use up the
				 * room of the parts after it */
				if (e > part_s) {
					if (n == max)
						break;
					if (n == cap) {
						cap = cap ? cap * 2 : 8;
						r = sirt_xrealloc(r, cap * sizeof(*r));
					}
					r[n].s = part_s;
					r[n].e = e < part_s ? part_s : e;
					n++;
				}
			}
			if (i >= len || close)
				break;
			in_part = 1;
			part_s = le < len ? le + 1 : len;
		}
		/* after the last line comes one round at i == len */
		i = le < len ? le + 1 : len + (i >= len);
	}
	*r_r = r;
	return n;
}

/* Room for one more part at depth?  If not, the message is flagged
 * unparsed with the limit it broke and the walk stops: a part is never
 * dropped silently. */
static int walk_room(struct walk *w, int depth)
{
	if (depth > w->lim->max_mime_depth) {
		msg_set_unparsed(w->msg, "MIME depth %d exceeds limit %d", depth,
			     w->lim->max_mime_depth);
		w->stop = 1;
		return 0;
	}
	if ((long)w->msg->nparts >= (long)w->lim->max_parts) {
		msg_set_unparsed(w->msg, "more than %d MIME parts (limit %d)",
			     w->lim->max_parts, w->lim->max_parts);
		w->stop = 1;
		return 0;
	}
	return 1;
}

/* A message/rfc822 container under parent for the entity [p, p+len) of
 * the input (a digest part without headers); returns its index or -1. */
static int add_message_part(struct walk *w, int parent, int depth,
			    const char *p, size_t len)
{
	struct sirt_part *q;
	int idx;

	if (!walk_room(w, depth))
		return -1;
	idx = add_part(w, parent, depth, SIRT_PART_MESSAGE);
	q = &w->msg->parts[idx];
	q->entity_off = (size_t)(p - w->base);
	q->entity_len = len;
	q->content_type = sirt_xstrdup("message/rfc822");
	return idx;
}

/* A text/plain leaf under parent made of the bytes [p, p+len) of the
 * input (a multipart without any delimiter keeps its text this way). */
static void add_text_leaf(struct walk *w, int parent, int depth,
			  const char *p, size_t len)
{
	struct sirt_part *q;
	int idx;

	if (!walk_room(w, depth))
		return;
	idx = add_part(w, parent, depth, SIRT_PART_SINGLE);
	q = &w->msg->parts[idx];
	q->entity_off = (size_t)(p - w->base);
	q->entity_len = len;
	q->content_type = sirt_xstrdup("text/plain");
	q->data = sirt_xmalloc(len + 1);
	memcpy(q->data, p, len);
	q->data[len] = '\0';
	q->size = len;
	q->text = msg_to_utf8(NULL, q->data, q->size);
}

/* Children of multipart part idx, whose body is [p, p+len): the parts
 * RFC 2046 delimits (split_ranges), each parsed as an entity in place,
 * so that offsets refer to the input.  A part of a digest without a
 * Content-Type, or that starts with an empty line (no headers), is a
 * message/rfc822 and its bytes are the message. */
static void walk_multipart(struct walk *w, const struct mailmime *mm, int idx,
			   int depth, const char *p, size_t len)
{
	const char *bv;
	char bnd[256];
	size_t bl = 0, n, i, k = 0;
	struct range *r = NULL;
	int digest;

	bv = mm->mm_content_type ?
	     mailmime_content_param_get(mm->mm_content_type, "boundary") : NULL;
	while (bv && *bv == '"')
		bv++;
	while (bv && bv[bl] && bv[bl] != '"' && bl + 1 < sizeof(bnd)) {
		bnd[bl] = bv[bl];
		bl++;
	}
	bnd[bl] = '\0';
	n = bl ? split_ranges(p, len, bnd, (size_t)w->lim->max_parts + 1, &r) : 0;
	if (n == 0) {
		/* no part delimited (no delimiter, or a close one alone):
		 * the body is text; do not lose it */
		free(r);
		while (k < len && (p[k] == '\n' || p[k] == '\r' || p[k] == ' ' ||
				   p[k] == '\t'))
			k++;
		if (k < len)
			add_text_leaf(w, idx, depth, p, len);
		return;
	}
	digest = strcmp(w->msg->parts[idx].content_type, "multipart/digest") == 0;
	for (i = 0; i < n && !w->stop; i++) {
		const char *q = p + r[i].s;
		size_t ql = r[i].e - r[i].s, hl, hbody;
		char ct[16];

		if (!ql)
			continue;
		hl = q[0] == '\n' ? 1 : (ql > 1 && q[0] == '\r' && q[1] == '\n') ? 2 : 0;
		if (digest && ql > hl &&
		    (hl || !skel_header(q, 0, msg_header_block_len(q, ql, &hbody),
					"Content-Type", ct, sizeof(ct)))) {
			int mi = add_message_part(w, idx, depth, q, ql);

			if (mi >= 0)
				parse_mime(w, q + hl, ql - hl, mi, depth + 1);
		} else {
			parse_mime(w, q, ql, idx, depth);
		}
	}
	free(r);
}

/* The entity [s, s+len) whose MIME fields libetpan read into mm and
 * whose body starts at s+body, as a part under parent (and its parts).
 * Recursion is bounded by the depth limit. */
static void walk_entity(struct walk *w, const struct mailmime *mm, int parent,
			int depth, const char *s, size_t len, size_t body)
{
	struct sirt_msg *m = w->msg;
	struct sirt_part *p;
	int idx;
	enum sirt_part_kind kind;

	if (w->stop || !mm || !walk_room(w, depth))
		return;
	kind = mm->mm_type == MAILMIME_MULTIPLE ? SIRT_PART_MULTIPART :
	       mm->mm_type == MAILMIME_MESSAGE ? SIRT_PART_MESSAGE :
	       SIRT_PART_SINGLE;
	idx = add_part(w, parent, depth, kind);
	p = &m->parts[idx];
	p->entity_off = (size_t)(s - w->base);
	p->entity_len = len;
	fill_part(p, mm);
	switch (kind) {
	case SIRT_PART_MULTIPART:
		walk_multipart(w, mm, idx, depth + 1, s + body, len - body);
		break;
	case SIRT_PART_MESSAGE:
		/* the inner message's header block is read as the top one
		 * is (msg_header_block_len, MIME fields only) */
		parse_mime(w, s + body, len - body, idx, depth + 1);
		break;
	case SIRT_PART_SINGLE:
		decode_leaf(p, mm, s + body, len - body);
		if (strncmp(p->content_type, "text/", 5) != 0 ||
		    (p->disposition && strcmp(p->disposition, "attachment") == 0) ||
		    p->filename)
			p->is_attachment = 1;
		break;
	}
}

/* An entity is read in three steps.  Its header block ends at its first
 * empty line, or at a line that is no "name:" field (the body then starts
 * with that line, as libetpan and Python's email read it):
 * msg_header_block_len.  libetpan reads the MIME fields of that block
 * only -- the type, its parameters, the transfer encoding, the
 * disposition -- never the body: a multipart's parts are the ones RFC
 * 2046 delimits (split_ranges), each read the same way in place, a
 * message/rfc822's body is read as a message, a leaf's body is decoded.
 * So each byte is scanned once per level, and libetpan's own reading of
 * bodies (which drops empty parts, skips empty lines after a delimiter,
 * and rescans a nested entity's whole range at every level) never
 * matters.
 *
 * msg_headers.c reads the other fields itself, so the MIME fields
 * (Content-*, MIME-Version) are moved, in order, to the end of the block
 * and libetpan starts at them.  An encoded word or a quote left open in
 * another field cannot make it take the following lines as part of that
 * field, and it does not parse address lists and dates for nothing.
 *
 * mime_fields_last: the block is [p, p+hend).  Returns where libetpan
 * should start (0: at the start); the bytes overwritten are in mv->saved
 * (restore with mime_fields_restore). */
struct moved {
	char *at;               /* where the MIME fields were written */
	char *saved;            /* the bytes that were there */
	size_t n;
};

static int is_mime_field(const char *name, size_t n)
{
	return (n >= 8 && strncasecmp(name, "Content-", 8) == 0) ||
	       (n == 12 && strncasecmp(name, "MIME-Version", 12) == 0);
}

static size_t mime_fields_last(char *p, size_t hend, struct moved *mv)
{
	struct sirt_buf mime;
	size_t i = 0;
	int in_mime = 0;

	mv->at = mv->saved = NULL;
	mv->n = 0;
	if (hend == 0)
		return 0;
	sirt_buf_init(&mime);
	while (i < hend) {
		const char *nl = memchr(p + i, '\n', hend - i);
		size_t le = nl ? (size_t)(nl - p) : hend;

		if (p[i] != ' ' && p[i] != '\t')
			in_mime = is_mime_field(p + i, msg_field_name(p + i, le - i, NULL));
		if (in_mime)
			sirt_buf_add(&mime, p + i, (le < hend ? le + 1 : hend) - i);
		i = le + 1;
	}
	if (mime.len == hend) {
		sirt_buf_wipe(&mime);  /* nothing but MIME fields: nothing to skip */
		return 0;
	}
	mv->n = mime.len;
	mv->at = p + hend - mime.len;
	mv->saved = sirt_xmalloc(mime.len + 1);
	memcpy(mv->saved, mv->at, mime.len);
	memcpy(mv->at, mime.data, mime.len);
	sirt_buf_wipe(&mime);  /* may be decrypted text */
	return hend - mv->n;
}

static void mime_fields_restore(struct moved *mv)
{
	if (mv->saved) {
		memcpy(mv->at, mv->saved, mv->n);
		explicit_bzero(mv->saved, mv->n);
		free(mv->saved);
		mv->saved = NULL;
	}
}

/* A CR not followed by LF in p[0..n). */
static int has_bare_cr(const char *p, size_t n)
{
	const char *q = p, *e = p + n;

	while ((q = memchr(q, '\r', (size_t)(e - q))) != NULL) {
		if (q + 1 >= e || q[1] != '\n')
			return 1;
		q += 2;
	}
	return 0;
}

/* Parse the entity data[0..len) (a message, a part, a decrypted entity)
 * into parts under parent.  data must be the message's own copy (msg->raw or a
 * decrypted buffer): the header lines are moved in place, and put back
 * before returning.  The depth pre-scan runs once, where a walk starts:
 * the entities inside are within its reach. */
static void parse_mime(struct walk *w, const char *data, size_t len, int parent,
		       int depth)
{
	struct mailmime *root = NULL, *top;
	const char *why = NULL;
	size_t hend, body;
	int r, many, whole;

	hend = msg_header_block_len(data, len, &body);
	if (!w->scanned) {
		/* a walk starts here (the message, or a decrypted entity) */
		size_t ct, dash, max_items = (size_t)w->lim->max_parts * 4 + 16;
		int room = w->lim->max_mime_depth - depth;

		w->scanned = 1;
		w->top_body = body;
		/* the full scan only when the bounds leave a doubt */
		skel_bounds(data, len, &ct, &dash);
		many = 0;
		if ((room < 0 || 2 * ct > (size_t)room ||
		     1 + ct + 2 * dash > max_items) &&
		    skel_depth(data, len, hend, body, room, max_items, &many) > room) {
			msg_set_unparsed(w->msg, "MIME depth %d exceeds limit %d",
				     w->lim->max_mime_depth + 1, w->lim->max_mime_depth);
			return;
		}
		if (many) {
			msg_set_unparsed(w->msg, "more than %d MIME parts (limit %d)",
				     w->lim->max_parts, w->lim->max_parts);
			return;
		}
	}
	whole = hend == len && len > 0;
	if (has_bare_cr(data, whole ? len : hend))
		/* a line end neither CRLF nor LF: what is header and what
		 * is text is a guess (a mail client may break the line
		 * there); the text is still triaged, a human looks */
		msg_set_unparsed(w->msg, "a header block has a line end that is a bare CR");
	if (whole) {
		/* The block has no end: no empty line (lines ended by a lone
		 * CR), or a part made of header lines, its last one without
		 * a line end.  libetpan reads the entity whole and says where
		 * the body starts, so that no text is taken for a header
		 * nobody reads. */
		r = parse_on_stack(data, len, &root, &why);
	} else {
		/* libetpan sees [skip, body): the MIME fields and the empty
		 * line */
		struct moved mv;
		size_t skip = mime_fields_last((char *)data, hend, &mv);

		r = parse_on_stack(data + skip, body - skip, &root, &why);
		mime_fields_restore(&mv);
	}
	if (r < 0) {
		msg_set_unparsed(w->msg, "MIME structure not parsed: %s", why);
		return;
	}
	if (r != MAILIMF_NO_ERROR || !root) {
		msg_set_unparsed(w->msg, "MIME structure not parsed: libetpan error %d", r);
		if (root)
			mailmime_free(root);
		return;
	}
	top = root->mm_type == MAILMIME_MESSAGE ?
	      root->mm_data.mm_message.mm_msg_mime : root;
	if (whole && top && top->mm_body && top->mm_body->dt_type == MAILMIME_DATA_TEXT &&
	    top->mm_body->dt_data.dt_text.dt_data >= data &&
	    top->mm_body->dt_data.dt_text.dt_data <= data + len)
		body = (size_t)(top->mm_body->dt_data.dt_text.dt_data - data);
	if (!top)
		msg_set_unparsed(w->msg, "MIME structure not parsed: no body entity");
	else
		walk_entity(w, top, parent, depth, data, len, body);
	mailmime_free(root);
}

/* ------------------------------------------------------------------ */
/* Derived text: body, urls, attachment count. */

struct sref {
	const char *s;
	size_t i;
};

static int sref_cmp(const void *a, const void *b)
{
	const struct sref *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int sref_idx_cmp(const void *a, const void *b)
{
	const struct sref *x = a, *y = b;

	return x->i < y->i ? -1 : x->i > y->i;
}

static size_t distinct_strings(const struct sirt_buf *buf, size_t max,
			       char ***arr_r)
{
	struct sref *v = NULL;
	size_t n = 0, cap = 0, off = 0, i, k;
	char **arr;

	while (off < buf->len) {
		const char *s = buf->data + off;

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = sirt_xrealloc(v, cap * sizeof(*v));
		}
		v[n].s = s;
		v[n].i = n;
		n++;
		off += strlen(s) + 1;
	}
	if (!n) {
		*arr_r = NULL;
		return 0;
	}
	qsort(v, n, sizeof(*v), sref_cmp);
	for (i = 0, k = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1].s, v[i].s) != 0)
			v[k++] = v[i];
	qsort(v, k, sizeof(*v), sref_idx_cmp);
	if (k > max)
		k = max;
	arr = sirt_xcalloc(k ? k : 1, sizeof(*arr));
	for (i = 0; i < k; i++)
		arr[i] = sirt_xstrdup(v[i].s);
	free(v);
	*arr_r = arr;
	return k;
}

static void free_strv(char ***v, size_t *n)
{
	size_t i;

	for (i = 0; *v && i < *n; i++)
		free((*v)[i]);
	sirt_free(v);
	*n = 0;
}

/* Does the subtree of part i hold a non-attachment leaf of type ct? */
static int subtree_has(const struct sirt_msg *m, const int *first,
		       const int *next, int i, const char *ct)
{
	int stack[256], sp = 0, c;

	stack[sp++] = i;
	while (sp) {
		int k = stack[--sp];
		const struct sirt_part *p = &m->parts[k];

		if (p->kind == SIRT_PART_SINGLE && !p->is_attachment &&
		    strcmp(p->content_type, ct) == 0)
			return 1;
		for (c = first[k]; c >= 0 && sp < 256; c = next[c])
			stack[sp++] = c;
	}
	return 0;
}

/* The child of multipart/alternative part i whose text is preferred:
 * the first holding text/plain, else the last holding text/html, else
 * the first. */
static int pick_alternative(const struct sirt_msg *m, const int *first,
			    const int *next, int i)
{
	int c, html = -1;

	for (c = first[i]; c >= 0; c = next[c])
		if (subtree_has(m, first, next, c, "text/plain"))
			return c;
	for (c = first[i]; c >= 0; c = next[c])
		if (subtree_has(m, first, next, c, "text/html"))
			html = c;
	return html >= 0 ? html : first[i];
}

/* Recompute msg->body, urls and nattachments from the parts. */
static void derive(struct sirt_msg *m)
{
	int *first, *next, *last, *stack, *excl;
	struct sirt_buf body, urls;
	size_t i, k;
	int sp = 0;

	if (m->body && m->nextra)
		explicit_bzero(m->body, strlen(m->body));
	sirt_free(&m->body);
	free_strv(&m->urls, &m->nurls);
	m->nattachments = 0;
	sirt_buf_init(&body);
	sirt_buf_init(&urls);
	if (!m->nparts)
		goto out;
	first = sirt_xmalloc(m->nparts * sizeof(int));
	next = sirt_xmalloc(m->nparts * sizeof(int));
	last = sirt_xmalloc(m->nparts * sizeof(int));
	stack = sirt_xmalloc(m->nparts * sizeof(int));
	excl = sirt_xcalloc(m->nparts, sizeof(int));
	for (i = 0; i < m->nparts; i++)
		first[i] = next[i] = last[i] = -1;
	for (i = 1; i < m->nparts; i++) {
		int par = m->parts[i].parent;

		if (par < 0 || (size_t)par >= i)
			continue;
		if (last[par] < 0)
			first[par] = (int)i;
		else
			next[last[par]] = (int)i;
		last[par] = (int)i;
	}
	/* depth-first, document order; each part visited once */
	stack[sp++] = 0;
	while (sp) {
		int pi = stack[--sp], c, chosen = -1, nch = 0;
		struct sirt_part *p = &m->parts[pi];

		p->is_body = 0;
		if (p->kind == SIRT_PART_MULTIPART &&
		    strcmp(p->content_type, "multipart/alternative") == 0 &&
		    first[pi] >= 0)
			chosen = pick_alternative(m, first, next, pi);
		for (c = first[pi]; c >= 0; c = next[c]) {
			excl[c] = excl[pi] || (chosen >= 0 && c != chosen);
			nch++;
		}
		/* push children in reverse so the first is visited first */
		for (k = 0; k < (size_t)nch; k++) {
			int j = 0;

			for (c = first[pi]; c >= 0; c = next[c], j++)
				if (j == nch - 1 - (int)k)
					stack[sp++] = c;
		}
		if (p->is_attachment && p->kind == SIRT_PART_SINGLE)
			m->nattachments++;
		if (p->text) {
			msg_find_urls(p->text, &urls);
			for (k = 0; k < p->nlinks; k++) {
				sirt_buf_adds(&urls, p->links[k]);
				sirt_buf_addc(&urls, '\0');
			}
		}
		if (p->kind == SIRT_PART_SINGLE && !p->is_attachment && p->text &&
		    !excl[pi]) {
			p->is_body = 1;
			if (body.len && body.data[body.len - 1] != '\n')
				sirt_buf_addc(&body, '\n');
			if (body.len)
				sirt_buf_addc(&body, '\n');
			sirt_buf_adds(&body, p->text);
		}
	}
	free(first);
	free(next);
	free(last);
	free(stack);
	free(excl);
out:
	m->body = sirt_buf_detach(&body, NULL);
	m->nurls = distinct_strings(&urls, MAX_URLS, &m->urls);
	sirt_buf_release(&urls);
}

/* ------------------------------------------------------------------ */

int sirt_msg_parse(const void *raw, size_t len, const struct sirt_limits *lim,
		   struct sirt_msg **msg_r, struct sirt_err *err)
{
	struct sirt_limits def;
	struct sirt_msg *m;
	const char *p;
	size_t hs, hlen;
	struct walk w;

	*msg_r = NULL;
	if (!lim) {
		sirt_limits_default(&def);
		lim = &def;
	}
	pthread_once(&init_once, msg_module_init);
	m = sirt_xcalloc(1, sizeof(*m));
	m->raw = sirt_xmalloc(len + 1);
	if (len)
		memcpy(m->raw, raw, len);
	m->raw[len] = '\0';
	m->raw_len = len;
	p = (const char *)m->raw;

	if (len == 0)
		msg_set_unparsed(m, "empty message");
	else if (len > lim->max_message_size)
		msg_set_unparsed(m, "message size %zu exceeds limit %zu", len,
			     lim->max_message_size);

	hs = msg_skip_from_line(p, len);
	if (len > hs && (p[hs] == ' ' || p[hs] == '\t'))
		msg_set_unparsed(m, "message starts with a folded line, not a header");
	memset(&w, 0, sizeof(w));
	w.msg = m;
	w.lim = lim;
	w.base = p;
	w.base_len = len;
	if (len && len <= lim->max_message_size)
		parse_mime(&w, p + hs, len - hs, -1, 0);
	/* The header list is the header block by the same rule, also when
	 * the block has no end and libetpan read the body from elsewhere
	 * (a message of lone CRs: libetpan finds no field, From and
	 * Subject are still wanted). */
	if (w.scanned)
		hlen = w.top_body;   /* parse_mime read the same block */
	else
		msg_header_block_len(p + hs, len - hs, &hlen);
	msg_parse_headers(m, p + hs, hlen, lim);
	derive(m);
	*msg_r = m;
	(void)err;
	return 0;
}

int sirt_msg_add_entity(struct sirt_msg *msg, int parent, const void *bytes,
			size_t len, const struct sirt_limits *lim,
			struct sirt_err *err)
{
	struct sirt_limits def;
	struct sirt_msg tmp;
	struct walk w;
	unsigned char *copy;
	size_t total = msg->raw_len, i;

	if (!lim) {
		sirt_limits_default(&def);
		lim = &def;
	}
	if (parent < 0 || (size_t)parent >= msg->nparts)
		return sirt_err_set(err, SIRT_E_FATAL,
				    "cannot add MIME entity: no part %d", parent);
	for (i = 0; i < msg->nextra; i++)
		total += msg->extra_lens[i];
	if (len > lim->max_message_size || total + len > lim->max_message_size)
		return sirt_err_set(err, SIRT_E_BADMSG,
				    "cannot add MIME entity: message size %zu exceeds limit %zu",
				    total + len, lim->max_message_size);
	pthread_once(&init_once, msg_module_init);
	copy = sirt_xmalloc(len + 1);
	if (len)
		memcpy(copy, bytes, len);
	copy[len] = '\0';

	/* Parse into a scratch message so a broken limit leaves msg as it
	 * was, then move the parts over. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.parts = msg->parts;
	tmp.nparts = msg->nparts;
	memset(&w, 0, sizeof(w));
	w.msg = &tmp;
	w.lim = lim;
	w.base = (const char *)copy;
	w.base_len = len;
	w.src_buf = (int)msg->nextra + 1;
	w.from_crypto = 1;
	if (len == 0)
		msg_set_unparsed(&tmp, "empty entity");
	else
		parse_mime(&w, (const char *)copy, len, parent,
			   msg->parts[parent].depth + 1);
	msg->parts = tmp.parts;
	if (tmp.unparsed) {
		/* drop what was grafted */
		for (i = msg->nparts; i < tmp.nparts; i++) {
			struct sirt_part *p = &tmp.parts[i];
			size_t k;

			free(p->content_type); free(p->charset); free(p->filename);
			free(p->disposition); free(p->content_id);
			free(p->transfer_encoding); free(p->protocol);
			/* decrypted plaintext is wiped before it is freed */
			if (p->data)
				explicit_bzero(p->data, p->size);
			if (p->text)
				explicit_bzero(p->text, strlen(p->text));
			free(p->data); free(p->text);
			for (k = 0; k < p->nlinks; k++)
				free(p->links[k]);
			free(p->links);
		}
		sirt_err_set(err, SIRT_E_BADMSG, "cannot add MIME entity: %s",
			     tmp.unparsed_reason ? tmp.unparsed_reason : "parse error");
		free(tmp.unparsed_reason);
		explicit_bzero(copy, len);
		free(copy);
		return -1;
	}
	msg->nparts = tmp.nparts;
	msg->extra_bufs = sirt_xrealloc(msg->extra_bufs,
					(msg->nextra + 1) * sizeof(*msg->extra_bufs));
	msg->extra_lens = sirt_xrealloc(msg->extra_lens,
					(msg->nextra + 1) * sizeof(*msg->extra_lens));
	msg->extra_bufs[msg->nextra] = copy;
	msg->extra_lens[msg->nextra] = len;
	msg->nextra++;
	derive(msg);
	return 0;
}

void sirt_msg_flag_unparsed(struct sirt_msg *msg, const char *reason)
{
	struct sirt_buf b;

	sirt_buf_init(&b);
	if (msg->unparsed && msg->unparsed_reason) {
		sirt_buf_adds(&b, msg->unparsed_reason);
		sirt_buf_adds(&b, "; ");
	}
	sirt_buf_adds(&b, reason);
	free(msg->unparsed_reason);
	msg->unparsed_reason = sirt_buf_detach(&b, NULL);
	msg->unparsed = 1;
}

void sirt_msg_hash(struct sirt_msg *msg)
{
	size_t i;

	if (!msg->sha256[0])
		sirt_sha256_hex(msg->raw, msg->raw_len, msg->sha256);
	for (i = 0; i < msg->nparts; i++) {
		struct sirt_part *p = &msg->parts[i];

		if (p->kind == SIRT_PART_SINGLE && p->data && !p->sha256[0])
			sirt_sha256_hex(p->data, p->size, p->sha256);
	}
}

const unsigned char *sirt_part_entity(const struct sirt_msg *msg,
				      const struct sirt_part *p, size_t *len_r)
{
	const unsigned char *b;
	size_t blen;

	*len_r = 0;
	if (!msg || !p)
		return NULL;
	if (p->src_buf == 0) {
		b = msg->raw;
		blen = msg->raw_len;
	} else if (p->src_buf > 0 && (size_t)p->src_buf <= msg->nextra) {
		b = msg->extra_bufs[p->src_buf - 1];
		blen = msg->extra_lens[p->src_buf - 1];
	} else {
		return NULL;
	}
	if (p->entity_off > blen || p->entity_len > blen - p->entity_off)
		return NULL;
	*len_r = p->entity_len;
	return b + p->entity_off;
}

static void free_addr(struct sirt_addr *a)
{
	sirt_free(&a->name);
	sirt_free(&a->addr);
}

void sirt_msg_free(struct sirt_msg **msgp)
{
	struct sirt_msg *m;
	size_t i, k;

	if (!msgp || !*msgp)
		return;
	m = *msgp;
	for (i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free_addr(&m->from);
	free_addr(&m->reply_to);
	for (i = 0; i < m->nto; i++)
		free_addr(&m->to[i]);
	free(m->to);
	for (i = 0; i < m->ncc; i++)
		free_addr(&m->cc[i]);
	free(m->cc);
	free(m->subject);
	free(m->date);
	free(m->message_id);
	free(m->in_reply_to);
	free_strv(&m->references, &m->nreferences);
	free(m->auth_results);
	free(m->auto_submitted);
	free(m->precedence);
	free(m->list_id);
	for (i = 0; i < m->nparts; i++) {
		struct sirt_part *p = &m->parts[i];

		free(p->content_type);
		free(p->charset);
		free(p->filename);
		free(p->disposition);
		free(p->content_id);
		free(p->transfer_encoding);
		free(p->protocol);
		/* decrypted plaintext is wiped before it is freed */
		if (p->from_crypto && p->data)
			explicit_bzero(p->data, p->size);
		if (p->from_crypto && p->text)
			explicit_bzero(p->text, strlen(p->text));
		free(p->data);
		free(p->text);
		for (k = 0; k < p->nlinks; k++)
			free(p->links[k]);
		free(p->links);
	}
	free(m->parts);
	if (m->body && m->nextra)
		explicit_bzero(m->body, strlen(m->body));
	free(m->body);
	free_strv(&m->urls, &m->nurls);
	free(m->unparsed_reason);
	/* crypto facts (filled by the crypto module, freed here) */
	free(m->crypto.decrypt_error);
	for (i = 0; i < m->crypto.nsigs; i++) {
		free(m->crypto.sigs[i].fingerprint);
		free(m->crypto.sigs[i].uid);
		free(m->crypto.sigs[i].validity);
		free(m->crypto.sigs[i].detail);
	}
	free(m->crypto.sigs);
	for (i = 0; i < m->crypto.nkeys; i++) {
		free(m->crypto.keys[i].fingerprint);
		free(m->crypto.keys[i].uids);
	}
	free(m->crypto.keys);
	for (i = 0; i < m->nextra; i++) {
		explicit_bzero(m->extra_bufs[i], m->extra_lens[i]);
		free(m->extra_bufs[i]);
	}
	free(m->extra_bufs);
	free(m->extra_lens);
	free(m->raw);
	free(m);
	*msgp = NULL;
}

char *sirt_addr_format(const struct sirt_addr *a)
{
	struct sirt_buf b;

	sirt_buf_init(&b);
	if (a->name && a->addr)
		sirt_buf_addf(&b, "%s <%s>", a->name, a->addr);
	else if (a->addr)
		sirt_buf_adds(&b, a->addr);
	else if (a->name)
		sirt_buf_adds(&b, a->name);
	return sirt_buf_detach(&b, NULL);
}
