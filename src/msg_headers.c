/* msg_headers.c - RFC 5322 header fields of a message (see sirt/msg.h):
 * the header block split into msg->headers (unfolded, RFC 2047 decoded,
 * sanitized UTF-8) and the typed fields (addresses, date, ids, ...).
 * libetpan's field parsers are used where they cope, with lenient
 * fallbacks where they do not; they recurse on nested comments, so
 * values nested deeper than MAX_FIELD_PAREN never reach them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libetpan/libetpan.h>
#include "sirt/buf.h"
#include "sirt/msg.h"
#include "sirt/util.h"
#include "msg_int.h"

#define MAX_HEADERS 10000
#define MAX_REFERENCES 1000
#define MAX_ADDRS 1000

/* Past white space and (nested) comments in p[k..e). */
static size_t skip_cfws(const char *p, size_t k, size_t e)
{
	for (;;) {
		int depth = 0;

		while (k < e && (p[k] == ' ' || p[k] == '\t'))
			k++;
		if (k >= e || p[k] != '(')
			return k;
		for (; k < e; k++) {
			if (p[k] == '\\' && k + 1 < e)
				k++;
			else if (p[k] == '(')
				depth++;
			else if (p[k] == ')' && --depth == 0)
				break;
		}
		if (k >= e)
			return k;  /* unclosed: no colon found */
		k++;
	}
}

size_t msg_field_name(const char *p, size_t n, size_t *colon_r)
{
	size_t k, name;

	for (k = 0; k < n && (unsigned char)p[k] > ' ' && p[k] != ':'; k++)
		;
	name = k;
	if (name)
		k = skip_cfws(p, k, n);
	if (!name || k >= n || p[k] != ':')
		return 0;
	if (colon_r)
		*colon_r = k;
	return name;
}

size_t msg_header_block_len(const char *p, size_t len, size_t *body_r)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t le = nl ? (size_t)(nl - p) : len;
		size_t ce = le > i && p[le - 1] == '\r' ? le - 1 : le;

		if (ce == i) {                          /* the empty line */
			*body_r = nl ? le + 1 : len;
			return i;
		}
		if (p[i] == ' ' || p[i] == '\t' ? i == 0 :
		    !msg_field_name(p + i, ce - i, NULL)) {   /* no field: body */
			*body_r = i;
			return i;
		}
		if (!nl)
			break;
		i = le + 1;
	}
	*body_r = len;
	return len;
}

/* Offset after an mbox "From " envelope line at the very start, or 0. */
size_t msg_skip_from_line(const char *p, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(p, "From ", 5) != 0)
		return 0;
	nl = memchr(p, '\n', len);
	return nl ? (size_t)(nl - p) + 1 : 0;
}

/* A raw (still folded, undecoded) header value. */
struct rawval {
	const char *v;
	size_t n;
};

/* The header fields msg_parse_typed_headers reads. */
enum {
	TH_FROM, TH_REPLY_TO, TH_TO, TH_CC, TH_SUBJECT, TH_DATE, TH_MESSAGE_ID,
	TH_IN_REPLY_TO, TH_REFERENCES, TH_AUTO_SUBMITTED, TH_PRECEDENCE, TH_LIST_ID,
	TH_N
};

#define TN(s) { s, sizeof(s) - 1 }
static const struct {
	const char *name;
	size_t len;
} typed_names[TH_N] = {
	TN("From"), TN("Reply-To"), TN("To"), TN("Cc"), TN("Subject"),
	TN("Date"), TN("Message-ID"), TN("In-Reply-To"), TN("References"),
	TN("Auto-Submitted"), TN("Precedence"), TN("List-Id")
};
#undef TN

static void msg_parse_typed_headers(struct sirt_msg *m, const struct rawval *f);

/* If the field name[0..n) is one of typed_names not seen yet, its raw
 * value v[0..vn) goes to f. */
static void typed_field(struct rawval *f, const char *name, size_t n,
			const char *v, size_t vn)
{
	size_t k;

	for (k = 0; k < TH_N; k++)
		if (!f[k].v && typed_names[k].len == n &&
		    strncasecmp(name, typed_names[k].name, n) == 0) {
			f[k].v = v;
			f[k].n = vn;
			return;
		}
}

/* Split the header block [p, p+len) into msg->headers (decoded) and
 * fill the typed fields.  Lines longer than the limit mark the message
 * unparsed. */
void msg_parse_headers(struct sirt_msg *m, const char *p, size_t len,
			  const struct sirt_limits *lim)
{
	size_t i = 0, cap = 0;
	const char *name = NULL, *val = NULL;
	size_t namelen = 0, vallen = 0, k;
	int over = 0;
	/* the typed fields, read in the same pass (the first of each
	 * name, also past MAX_HEADERS) */
	struct rawval typed[TH_N] = { { NULL, 0 } };

	for (;;) {
		const char *ls = p + i, *nl;
		size_t ll;

		if (i < len) {
			nl = memchr(ls, '\n', len - i);
			ll = nl ? (size_t)(nl - ls) : len - i;
			if (ll > lim->max_header_line)
				msg_set_unparsed(m, "header line of %zu bytes exceeds limit %zu",
					     ll, lim->max_header_line);
		} else {
			ll = 0;
			nl = NULL;
		}
		if (i < len && (ls[0] == ' ' || ls[0] == '\t')) {
			/* continuation: the value runs on */
			if (name)
				vallen = (size_t)(ls + ll - val);
		} else {
			/* finish the previous header */
			if (name) {
				typed_field(typed, name, namelen, val, vallen);
				if (m->nheaders >= MAX_HEADERS) {
					over = 1;
				} else {
					struct sirt_header *h;
					char *n;

					if (m->nheaders == cap) {
						cap = cap ? cap * 2 : 32;
						m->headers = sirt_xrealloc(m->headers,
							cap * sizeof(*m->headers));
					}
					h = &m->headers[m->nheaders++];
					/* printable ASCII (the loop below) */
					n = sirt_xstrndup(name, namelen);
					h->name = n;
					h->value = msg_decode_header(val, vallen);
				}
				name = NULL;
			}
			if (i >= len)
				break;
			{
				/* the field rule of the header block; the list
				 * keeps only names of printable ASCII */
				size_t colon;

				namelen = msg_field_name(ls, ll, &colon);
				for (k = 0; k < namelen && (unsigned char)ls[k] < 0x7f; k++)
					;
				if (namelen && k == namelen) {
					name = ls;
					val = ls + colon + 1;
					vallen = (size_t)(ls + ll - val);
				}
			}
		}
		if (!nl)
			i = len;
		else
			i = (size_t)(nl - p) + 1;
	}
	if (over)
		msg_set_unparsed(m, "more than %d header fields", MAX_HEADERS);
	msg_parse_typed_headers(m, typed);
}

const char *sirt_msg_header(const struct sirt_msg *msg, const char *name)
{
	size_t i;

	if (!msg || !name)
		return NULL;
	for (i = 0; i < msg->nheaders; i++)
		if (strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	return NULL;
}

/* The raw value of the first header named name in the block [p, p+len)
 * (rv->v NULL if there is none).  A header line is a field as
 * msg_field_name reads it, the value running on over the lines that
 * start with white space (as in msg_parse_headers). */
static void raw_field(const char *p, size_t len, const char *name, struct rawval *rv)
{
	const char *end = p + len, *ls = p;
	size_t nn = strlen(name);

	rv->v = NULL;
	while (ls < end) {
		const char *nl = memchr(ls, '\n', (size_t)(end - ls));
		const char *le = nl ? nl : end;
		size_t colon = 0;

		if (*ls != ' ' && *ls != '\t' &&
		    msg_field_name(ls, (size_t)(le - ls), &colon) == nn &&
		    strncasecmp(ls, name, nn) == 0) {
			const char *v = ls + colon + 1, *e = le;

			/* the value runs to the first newline not followed
			 * by white space */
			while (e < end && e + 1 < end && (e[1] == ' ' || e[1] == '\t')) {
				const char *q = memchr(e + 1, '\n', (size_t)(end - e - 1));
				e = q ? q : end;
			}
			rv->v = v;
			rv->n = (size_t)(e - v);
			return;
		}
		if (!nl)
			break;
		ls = nl + 1;
	}
}

/* libetpan's field parsers recurse on nested comments: a value nested
 * deeper than this goes to our fallbacks instead. */
#define MAX_FIELD_PAREN 64

static int paren_too_deep(const char *v)
{
	int depth = 0;

	for (; *v; v++) {
		if (*v == '(' && ++depth > MAX_FIELD_PAREN)
			return 1;
		if (*v == ')' && depth)
			depth--;
	}
	return 0;
}

/* Unfolded copy of a raw value for the libetpan field parsers. */
static char *unfold(const char *v, size_t len)
{
	char *s = sirt_xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			s[n++] = v[i] == '\0' ? ' ' : v[i];
	s[n] = '\0';
	return s;
}

static void set_addr(struct sirt_addr *a, const char *name, const char *addr)
{
	a->name = name && *name ? msg_decode_header(name, strlen(name)) : NULL;
	if (a->name && !*a->name)
		sirt_free(&a->name);
	a->addr = addr ? sirt_utf8_sanitize(addr, strlen(addr)) : NULL;
}

/* Fallback for an address libetpan rejects: "Name <addr>" or a bare
 * token with an @. */
static void addr_fallback(struct sirt_addr *a, const char *v)
{
	const char *lt = strrchr(v, '<'), *gt;
	char *name = NULL, *addr = NULL;

	if (lt && (gt = strchr(lt, '>')) && gt > lt + 1) {
		addr = sirt_xstrndup(lt + 1, (size_t)(gt - lt - 1));
		name = sirt_xstrndup(v, (size_t)(lt - v));
	} else if (strchr(v, '@')) {
		const char *s = strchr(v, '@'), *b = s, *e = s;

		while (b > v && b[-1] != ' ' && b[-1] != ',' && b[-1] != ';')
			b--;
		while (*e && *e != ' ' && *e != ',' && *e != ';')
			e++;
		addr = sirt_xstrndup(b, (size_t)(e - b));
	} else {
		name = sirt_xstrdup(v);
	}
	if (name) {
		/* trim spaces and quotes */
		size_t n = strlen(name), s = 0;

		while (n && (name[n - 1] == ' ' || name[n - 1] == '"'))
			name[--n] = '\0';
		while (name[s] == ' ' || name[s] == '"')
			s++;
		memmove(name, name + s, n - s + 1);
	}
	set_addr(a, name, addr);
	free(name);
	free(addr);
}

/* RFC 5322 atext. */
static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* End of the dot-atom that starts at v[i] (atoms joined by single dots),
 * or i if there is none. */
static size_t dot_atom_end(const char *v, size_t i, size_t e)
{
	size_t k = i, a;

	for (;;) {
		for (a = k; k < e && is_atext((unsigned char)v[k]); k++)
			;
		if (k == a)
			return i;
		if (k + 1 < e && v[k] == '.' && is_atext((unsigned char)v[k + 1])) {
			k++;
			continue;
		}
		return k;
	}
}

/* v[i..e) is exactly "local@domain", both dot-atoms. */
static int is_addr_spec(const char *v, size_t i, size_t e)
{
	size_t k = dot_atom_end(v, i, e);

	return k > i && k < e && v[k] == '@' && k + 1 < e && dot_atom_end(v, k + 1, e) == e;
}

/* An atom of a display name libetpan returns as written: one without
 * "=?", or one that is a whole encoded word "=?charset?Q|B?text?="
 * (libetpan parses those apart, and splits "=?...?=x" in two). */
static int name_atom_ok(const char *a, size_t n)
{
	size_t i, q[4], nq = 0;

	if (!memmem(a, n, "=?", 2))
		return 1;
	for (i = 0; i < n; i++)
		if (a[i] == '?') {
			if (nq == 4)
				return 0;
			q[nq++] = i;
		}
	return nq == 4 && n >= 8 && a[0] == '=' && q[0] == 1 && q[1] > 2 &&
	       q[2] == q[1] + 2 && strchr("QqBb", a[q[1] + 1]) &&
	       q[3] == n - 2 && q[3] > q[2] + 1 && a[n - 1] == '=';
}

/* The commonest From, To and Reply-To values, one mailbox written
 * "local@domain", "<local@domain>" or "Some Words <local@domain>" with
 * atoms and dot-atoms only, read as libetpan reads them (the words of
 * the name joined by one space; test_msg compares the two) without its
 * parser, which costs a tenth of parsing a message.  0: anything else,
 * for libetpan. */
static int simple_mailbox(const char *v, size_t n, struct sirt_addr *a)
{
	struct sirt_buf name;
	size_t i = 0, e = n, k, w;
	char *addr;

	while (i < e && (v[i] == ' ' || v[i] == '\t'))
		i++;
	while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	if (i == e)
		return 0;
	if (v[e - 1] != '>') {
		if (!is_addr_spec(v, i, e))
			return 0;
		addr = sirt_xstrndup(v + i, e - i);
		set_addr(a, NULL, addr);
		free(addr);
		return 1;
	}
	sirt_buf_init(&name);
	for (k = i; k < e && v[k] != '<';) {
		for (w = k; k < e && is_atext((unsigned char)v[k]); k++)
			;
		if (k == w || !name_atom_ok(v + w, k - w)) {
			sirt_buf_release(&name);
			return 0;   /* a quote, a comment, a dot, 8-bit... */
		}
		if (name.len)
			sirt_buf_addc(&name, ' ');
		sirt_buf_add(&name, v + w, k - w);
		while (k < e && (v[k] == ' ' || v[k] == '\t'))
			k++;
	}
	if (k >= e || !is_addr_spec(v, k + 1, e - 1)) {
		sirt_buf_release(&name);
		return 0;
	}
	addr = sirt_xstrndup(v + k + 1, e - 1 - (k + 1));
	set_addr(a, name.len ? name.data : NULL, addr);
	free(addr);
	sirt_buf_release(&name);
	return 1;
}

/* Parse an address list header into an array (mailboxes of groups
 * flattened).  Returns the count; *out_r is the caller's. */
static size_t parse_addr_list(const char *raw, size_t rlen,
			      struct sirt_addr **out_r)
{
	struct mailimf_address_list *al = NULL;
	struct sirt_addr *out = NULL, one;
	size_t n = 0, idx = 0;
	char *v;
	clistiter *c, *d;

	if (simple_mailbox(raw, rlen, &one)) {
		*out_r = sirt_xmalloc(sizeof(one));
		**out_r = one;
		return 1;
	}
	v = unfold(raw, rlen);

	if (!paren_too_deep(v) &&
	    mailimf_address_list_parse(v, strlen(v), &idx, &al) ==
	    MAILIMF_NO_ERROR && al) {
		for (c = clist_begin(al->ad_list); c && n < MAX_ADDRS;
		     c = clist_next(c)) {
			struct mailimf_address *ad = clist_content(c);

			if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX &&
			    ad->ad_data.ad_mailbox) {
				out = sirt_xrealloc(out, (n + 1) * sizeof(*out));
				set_addr(&out[n++], ad->ad_data.ad_mailbox->mb_display_name,
					 ad->ad_data.ad_mailbox->mb_addr_spec);
			} else if (ad->ad_type == MAILIMF_ADDRESS_GROUP &&
				   ad->ad_data.ad_group &&
				   ad->ad_data.ad_group->grp_mb_list) {
				for (d = clist_begin(ad->ad_data.ad_group->grp_mb_list->mb_list);
				     d && n < MAX_ADDRS; d = clist_next(d)) {
					struct mailimf_mailbox *mb = clist_content(d);

					out = sirt_xrealloc(out, (n + 1) * sizeof(*out));
					set_addr(&out[n++], mb->mb_display_name,
						 mb->mb_addr_spec);
				}
			}
		}
		mailimf_address_list_free(al);
	}
	if (n == 0 || idx < strlen(v)) {
		/* libetpan rejected the list or stopped early: split the rest
		 * at commas (and semicolons) outside quotes and angle
		 * brackets, and read each piece leniently.  After addresses
		 * libetpan did read, only a piece with an '@' is one more: a
		 * trailing comment, ';' or junk is not a recipient. */
		char *t = n ? v + idx : v, *q;
		int inq = 0, ang = 0, after = n > 0;

		for (q = t;; q++) {
			if (*q == '"' && (q == t || q[-1] != '\\'))
				inq = !inq;
			else if (!inq && *q == '<')
				ang++;
			else if (!inq && *q == '>' && ang)
				ang--;
			if (*q && ((*q != ',' && *q != ';') || inq || ang))
				continue;
			{
				char ch = *q;

				*q = '\0';
				while (*t == ' ' || *t == '\t' || *t == ',')
					t++;
				if (*t && n < MAX_ADDRS && (!after || strchr(t, '@'))) {
					out = sirt_xrealloc(out, (n + 1) * sizeof(*out));
					addr_fallback(&out[n++], t);
				}
				if (!ch)
					break;
				t = q + 1;
			}
		}
	}
	free(v);
	*out_r = out;
	return n;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int mo, int d)
{
	int64_t era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 5322 date-time text to time_t (UTC); 0 ok, -1 bad. */
static int parse_date(const char *raw, size_t rlen, time_t *t_r)
{
	struct mailimf_date_time *dt = NULL;
	char *v = unfold(raw, rlen);
	size_t idx = 0;
	int rc = -1, y, zh, zm;
	int64_t t;

	if (paren_too_deep(v) ||
	    mailimf_date_time_parse(v, strlen(v), &idx, &dt) != MAILIMF_NO_ERROR ||
	    !dt)
		goto out;
	y = dt->dt_year;
	if (y >= 0 && y < 50)
		y += 2000;
	else if (y >= 50 && y < 1000)
		y += 1900;
	if (y < 1970 || y > 9999 || dt->dt_month < 1 || dt->dt_month > 12 ||
	    dt->dt_day < 1 || dt->dt_day > 31 || dt->dt_hour < 0 ||
	    dt->dt_hour > 23 || dt->dt_min < 0 || dt->dt_min > 59 ||
	    dt->dt_sec < 0 || dt->dt_sec > 60 || dt->dt_zone < -9959 ||
	    dt->dt_zone > 9959)
		goto out;
	zh = dt->dt_zone / 100;
	zm = dt->dt_zone % 100;
	t = days_from_civil(y, dt->dt_month, dt->dt_day) * 86400 +
	    dt->dt_hour * 3600 + dt->dt_min * 60 + dt->dt_sec -
	    (zh * 3600 + zm * 60);
	if (t <= 0)
		goto out;
	*t_r = (time_t)t;
	rc = 0;
out:
	if (dt)
		mailimf_date_time_free(dt);
	free(v);
	return rc;
}

/* Every <msg-id> in a raw value, without <>; if there is none, the
 * trimmed value as one id.  Returns the count; *ids_r is the caller's. */
static size_t parse_msgids(const char *raw, size_t rlen, size_t max,
			   char ***ids_r)
{
	char *v = unfold(raw, rlen);
	char **ids = NULL;
	size_t n = 0;
	char *p = v, *lt, *gt;

	while (n < max && (lt = strchr(p, '<')) && (gt = strchr(lt + 1, '>'))) {
		if (gt > lt + 1 && !memchr(lt + 1, '<', (size_t)(gt - lt - 1))) {
			char *id = msg_decode_header(lt + 1, (size_t)(gt - lt - 1));

			if (*id) {
				ids = sirt_xrealloc(ids, (n + 1) * sizeof(*ids));
				ids[n++] = id;
			} else {
				free(id);
			}
		}
		p = gt + 1;
	}
	if (n == 0) {
		char *id = msg_decode_header(v, strlen(v));

		if (*id && !strchr(id, ' ')) {
			ids = sirt_xmalloc(sizeof(*ids));
			ids[n++] = id;
		} else {
			free(id);
		}
	}
	free(v);
	*ids_r = ids;
	return n;
}

static char *decoded_value(const struct rawval *rv)
{
	return rv->v ? msg_decode_header(rv->v, rv->n) : NULL;
}

static char *decoded_header(const char *p, size_t len, const char *name)
{
	struct rawval rv;

	raw_field(p, len, name, &rv);
	return decoded_value(&rv);
}

char *sirt_entity_header(const void *entity, size_t len, const char *name)
{
	size_t body;

	return decoded_header(entity, msg_header_block_len(entity, len, &body), name);
}

/* The first address of a list, or none. */
static void first_addr(const struct rawval *rv, struct sirt_addr *out)
{
	struct sirt_addr *a;
	size_t i, n;

	if (!rv->v)
		return;
	n = parse_addr_list(rv->v, rv->n, &a);
	if (n) {
		*out = a[0];
		for (i = 1; i < n; i++) {
			free(a[i].name);
			free(a[i].addr);
		}
	}
	free(a);
}

/* Fill the typed header fields of m from their raw values f (TH_*);
 * needs m->headers. */
static void msg_parse_typed_headers(struct sirt_msg *m, const struct rawval *f)
{
	size_t i, n;
	char **ids;
	struct sirt_buf ar;
	time_t t;

	first_addr(&f[TH_FROM], &m->from);
	first_addr(&f[TH_REPLY_TO], &m->reply_to);
	if (f[TH_TO].v)
		m->nto = parse_addr_list(f[TH_TO].v, f[TH_TO].n, &m->to);
	if (f[TH_CC].v)
		m->ncc = parse_addr_list(f[TH_CC].v, f[TH_CC].n, &m->cc);
	/* msg_parse_headers decoded the same bytes already (unless the
	 * Subject lies past MAX_HEADERS fields) */
	if (f[TH_SUBJECT].v) {
		const char *hs = sirt_msg_header(m, "Subject");
		m->subject = hs ? sirt_xstrdup(hs) : decoded_value(&f[TH_SUBJECT]);
	}
	if (f[TH_DATE].v && parse_date(f[TH_DATE].v, f[TH_DATE].n, &t) == 0) {
		char iso[32];

		sirt_fmt_iso8601(t, iso);
		m->date = sirt_xstrdup(iso);
		m->date_t = t;
	}
	if (f[TH_MESSAGE_ID].v &&
	    (n = parse_msgids(f[TH_MESSAGE_ID].v, f[TH_MESSAGE_ID].n, 1, &ids))) {
		m->message_id = ids[0];
		free(ids);
	}
	if (f[TH_IN_REPLY_TO].v &&
	    (n = parse_msgids(f[TH_IN_REPLY_TO].v, f[TH_IN_REPLY_TO].n, 1, &ids))) {
		m->in_reply_to = ids[0];
		free(ids);
	}
	if (f[TH_REFERENCES].v)
		m->nreferences = parse_msgids(f[TH_REFERENCES].v, f[TH_REFERENCES].n,
					      MAX_REFERENCES, &m->references);
	m->auto_submitted = decoded_value(&f[TH_AUTO_SUBMITTED]);
	m->precedence = decoded_value(&f[TH_PRECEDENCE]);
	m->list_id = decoded_value(&f[TH_LIST_ID]);
	sirt_buf_init(&ar);
	for (i = 0; i < m->nheaders; i++) {
		if (strcasecmp(m->headers[i].name, "Authentication-Results"))
			continue;
		if (ar.len)
			sirt_buf_addc(&ar, '\n');
		sirt_buf_adds(&ar, m->headers[i].value);
	}
	if (ar.len)
		m->auth_results = sirt_buf_detach(&ar, NULL);
	sirt_buf_release(&ar);
	/* The earliest hop is the last Received: with a date. */
	for (i = m->nheaders; i-- > 0;) {
		const char *semi;

		if (strcasecmp(m->headers[i].name, "Received"))
			continue;
		semi = strrchr(m->headers[i].value, ';');
		if (semi && parse_date(semi + 1, strlen(semi + 1), &t) == 0) {
			m->received_first = t;
			break;
		}
	}
}
