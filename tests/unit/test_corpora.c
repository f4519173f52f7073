/* test_corpora.c - the message parser over third-party test mail.
 *
 * Every file under tests/data/corpora (CPython, enmime, notmuch,
 * Mail::Mbox::MessageParser; see PROVENANCE.md) is parsed, and every
 * message of the mbox files too: each must parse or be unparsed with a
 * reason, keep the invariants consumers rely on (UTF-8 everywhere,
 * parents before children, entity offsets inside the input), and finish
 * (ASan/UBSan in `make asan` catch the rest).  enmime's encode/NAME.golden
 * files are the output of enmime's encoder for the parts built in its
 * encode_test.go; our parse of each is compared with those parts. */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sirt/buf.h"
#include "sirt/msg.h"
#include "sirt/util.h"

static char top[1024];
static size_t nfiles, nmsgs, nunparsed;

static void check_str(const char *what, const char *s)
{
	if (s && !sirt_utf8_valid(s, strlen(s)))
		fail_msg("%s is not valid UTF-8", what);
}

/* Parse one message and check the invariants. */
static void check_one(const char *name, const char *data, size_t len)
{
	struct sirt_msg *m = NULL;
	struct sirt_err err;
	size_t i, elen;

	assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
	assert_non_null(m);
	nmsgs++;
	assert_int_equal(m->raw_len, len);
	assert_memory_equal(m->raw, data, len);
	sirt_msg_hash(m);
	if (m->unparsed) {
		nunparsed++;
		if (!m->unparsed_reason || !*m->unparsed_reason)
			fail_msg("%s: unparsed without a reason", name);
		if (getenv("TEST_VERBOSE"))
			printf("unparsed %s: %s\n", name, m->unparsed_reason);
	} else if (m->nparts == 0) {
		fail_msg("%s: parsed but no parts", name);
	}
	check_str("subject", m->subject);
	check_str("body", m->body);
	check_str("from", m->from.name);
	for (i = 0; i < m->nheaders; i++) {
		check_str("header name", m->headers[i].name);
		check_str("header value", m->headers[i].value);
	}
	for (i = 0; i < m->nurls; i++)
		check_str("url", m->urls[i]);
	for (i = 0; i < m->nparts; i++) {
		const struct sirt_part *p = &m->parts[i];

		assert_int_equal(p->index, (int)i);
		if (i == 0) {
			assert_int_equal(p->parent, -1);
		} else {
			assert_true(p->parent >= 0 && p->parent < (int)i);
			assert_int_equal(p->depth, m->parts[p->parent].depth + 1);
		}
		assert_non_null(sirt_part_entity(m, p, &elen));
		assert_true(p->entity_off + p->entity_len <= len);
		if (p->parent >= 0) {
			const struct sirt_part *q = &m->parts[p->parent];

			/* a child's entity lies inside its parent's */
			assert_true(p->entity_off >= q->entity_off);
			assert_true(p->entity_off + p->entity_len <=
				    q->entity_off + q->entity_len);
		}
		if (p->kind == SIRT_PART_SINGLE) {
			assert_non_null(p->data);
			assert_int_equal(strlen(p->sha256), 64);
		}
		check_str("text", p->text);
		check_str("filename", p->filename);
		check_str("content type", p->content_type);
		assert_non_null(p->content_type);
		assert_non_null(strchr(p->content_type, '/'));
	}
	sirt_msg_free(&m);
}

/* Split an mbox on "From " lines at the start or after an empty line. */
static void check_mbox(const char *name, const char *d, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i + 5 <= len; i++) {
		if (memcmp(d + i, "From ", 5) != 0)
			continue;
		if (!(i == 0 || (i >= 2 && d[i - 1] == '\n' && d[i - 2] == '\n') ||
		      (i >= 3 && d[i - 1] == '\n' && d[i - 2] == '\r' && d[i - 3] == '\n')))
			continue;
		if (i > start)
			check_one(name, d + start, i - start);
		start = i;
	}
	if (len > start)
		check_one(name, d + start, len - start);
}

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	char *data;
	size_t len;
	struct sirt_err err;

	(void)st;
	(void)ftw;
	if (type != FTW_F || strstr(path, "PROVENANCE.md"))
		return 0;
	if (sirt_read_file(path, 64 * 1024 * 1024, &data, &len, &err) != 0)
		fail_msg("cannot read %s: %s", path, err.msg);
	nfiles++;
	check_one(path, data, len);
	if (strstr(path, "/mbox/"))
		check_mbox(path, data, len);
	free(data);
	return 0;
}

static void test_every_file(void **state)
{
	char dir[1200];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/corpora", top);
	nfiles = nmsgs = nunparsed = 0;
	assert_int_equal(nftw(dir, visit, 16, FTW_PHYS), 0);
	printf("corpora: %zu files, %zu messages parsed, %zu unparsed with a reason\n",
	       nfiles, nmsgs, nunparsed);
	assert_true(nfiles >= 200);
	assert_true(nmsgs > nfiles);
}

/* ---- enmime goldens against the parts encode_test.go built ---- */

struct want_part {
	const char *ct;
	const char *filename;   /* NULL: none */
	const char *content;    /* decoded data (text parts: text), or NULL */
	size_t content_len;     /* 0: strlen(content) */
};

static const struct {
	const char *file;
	int unparsed;
	size_t nparts;
	struct want_part parts[3];
	const char *subject;
} goldens[] = {
	{ "part-empty.golden", 1, 0, { { 0 } }, NULL },
	{ "part-header-only.golden", 0, 1, { { "text/plain", NULL, "", 0 } }, NULL },
	{ "part-content-only.golden", 0, 1,
	  { { "text/plain", NULL, "No header, only content.", 0 } }, NULL },
	{ "part-plain.golden", 0, 1,
	  { { "text/plain", NULL,
	      "This is a test of a plain text part.\n\nAnother line.\n", 0 } }, NULL },
	{ "part-default-headers.golden", 0, 1,
	  { { "application/zip", "stuff.zip", "ZIPZIPZIP", 0 } }, NULL },
	{ "part-quoted-headers.golden", 0, 1,
	  { { "application/zip",
	      "\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91 \"x\" t\xc3\xbck\xc3\xb6rf\xc3\xbar\xc3\xb3g\xc3\xa9p.zip",
	      "ZIPZIPZIP", 0 } }, NULL },
	{ "part-quoted-printable-headers.golden", 0, 1,
	  { { "application/zip",
	      "\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91 \"x\" t\xc3\xbck\xc3\xb6rf\xc3\xbar\xc3\xb3g\xc3\xa9p.zip",
	      "ZIPZIPZIP", 0 } }, NULL },
	{ "part-bin-header.golden", 0, 1,
	  { { "text/plain", NULL,
	      "This is a test of a plain text part.\n\nAnother line.\n", 0 } },
	  "\xc2\xa1Hola, se\xc3\xb1or!" },
	{ "part-quoted-content.golden", 0, 1,
	  { { "text/plain", NULL, "\xc2\xa1Hola, se\xc3\xb1or! Welcome to MIME", 0 } }, NULL },
	{ "part-file-mod-date.golden", 0, 1,
	  { { "text/plain", NULL, "\xc2\xa1Hola, se\xc3\xb1or! Welcome to MIME", 0 } }, NULL },
	{ "part-quotable-content.golden", 0, 1,
	  { { "text/plain", NULL, "Hello=", 0 } }, NULL },
	{ "part-bin-content.golden", 0, 1, { { "image/jpeg", NULL, NULL, 2000 } }, NULL },
	{ "part-with-children.golden", 0, 3,
	  { { "multipart/alternative", NULL, NULL, 0 },
	    { "text/html", NULL, "HTML part", 0 },
	    { "text/plain", NULL, "Plain text part", 0 } }, NULL },
	{ "nocontent-with-children.golden", 0, 3,
	  { { "multipart/alternative", NULL, NULL, 0 },
	    { "text/html", NULL, "HTML part", 0 },
	    { "text/plain", NULL, "Plain text part", 0 } }, NULL },
	{ "part-content-only-qp.golden", 0, 1,
	  { { "text/plain", NULL, "\xe2\x98\x86 No header, only content.", 0 } }, NULL },
};

/* Compare text ignoring trailing newlines (the encoder adds one). */
static int same_text(const char *got, const char *want)
{
	size_t g = strlen(got), w = strlen(want);

	while (g && got[g - 1] == '\n')
		g--;
	while (w && want[w - 1] == '\n')
		w--;
	return g == w && memcmp(got, want, g) == 0;
}

static void test_enmime_goldens(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		char path[1400];
		char *data;
		size_t len;
		struct sirt_err err;
		struct sirt_msg *m;

		snprintf(path, sizeof(path), "%s/tests/data/corpora/mime/enmime-testdata/encode/%s",
			 top, goldens[i].file);
		assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
		assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
		if (m->unparsed != goldens[i].unparsed)
			fail_msg("%s: unparsed %d (%s)", goldens[i].file, m->unparsed,
				 m->unparsed_reason ? m->unparsed_reason : "");
		if (m->nparts != goldens[i].nparts)
			fail_msg("%s: %zu parts, enmime built %zu", goldens[i].file,
				 m->nparts, goldens[i].nparts);
		for (k = 0; k < m->nparts; k++) {
			const struct want_part *w = &goldens[i].parts[k];
			const struct sirt_part *p = &m->parts[k];

			if (strcmp(p->content_type, w->ct) != 0)
				fail_msg("%s part %zu: %s, want %s", goldens[i].file, k,
					 p->content_type, w->ct);
			if (w->filename) {
				if (!p->filename || strcmp(p->filename, w->filename) != 0)
					fail_msg("%s part %zu: filename %s", goldens[i].file, k,
						 p->filename ? p->filename : "(none)");
				assert_true(p->is_attachment);
			} else {
				assert_null(p->filename);
			}
			if (w->content && p->text) {
				if (!same_text(p->text, w->content))
					fail_msg("%s part %zu: text '%s'", goldens[i].file, k,
						 p->text);
			} else if (w->content) {
				assert_int_equal(p->size, strlen(w->content));
				assert_memory_equal(p->data, w->content, p->size);
			} else if (w->content_len) {
				size_t j;

				/* bytes i % 256, as encode_test.go made them */
				assert_int_equal(p->size, w->content_len);
				for (j = 0; j < p->size; j++)
					assert_int_equal(p->data[j], j % 256);
			}
		}
		if (goldens[i].subject)
			assert_string_equal(m->subject, goldens[i].subject);
		sirt_msg_free(&m);
		free(data);
	}
}

/* RFC 2047's own examples (section 8), as enmime's builder wrote them. */
static void test_enmime_qp_addresses(void **state)
{
	char path[1400];
	char *data;
	size_t len;
	struct sirt_err err;
	struct sirt_msg *m;

	(void)state;
	snprintf(path, sizeof(path),
		 "%s/tests/data/corpora/mime/enmime-testdata/encode/build-qp-addr-headers.golden",
		 top);
	assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
	assert_string_equal(m->from.name, "Olle J\xc3\xa4rnefors");
	assert_string_equal(m->from.addr, "ojarnef@admin.kth.se");
	assert_int_equal(m->nto, 2);
	assert_string_equal(m->to[0].name, "Patrik F\xc3\xa4ltstr\xc3\xb6m");
	assert_string_equal(m->to[0].addr, "paf@nada.kth.se");
	assert_string_equal(m->to[1].name, "Keld J\xc3\xb8rn Simonsen");
	assert_string_equal(m->subject, "RFC 2047");
	assert_string_equal(m->date, "2017-01-01T13:14:15Z");
	sirt_msg_free(&m);
	free(data);
}

/* ---- enmime envelope_test.go expectations, in sirt's terms ----
 * enmime's Text is our body, its attachments, inlines and "other parts"
 * are our attachments (a file: a filename or a non-text type). */

static const unsigned char octet_exe[] = {
	0x3, 0x17, 0xe1, 0x7e, 0xe8, 0xeb, 0xa2, 0x96, 0x9d, 0x95, 0xa7, 0x67, 0x82, 0x9,
	0xdf, 0x8e, 0xc, 0x2c, 0x6a, 0x2b, 0x9b, 0xbe, 0x79, 0xa4, 0x69, 0xd8, 0xae, 0x86,
	0xd7, 0xab, 0xa8, 0x72, 0x52, 0x15, 0xfb, 0x80, 0x8e, 0x47, 0xe1, 0xae, 0xaa, 0x5e,
	0xa2, 0xb2, 0xc0, 0x90, 0x59, 0xe3, 0x35, 0xf8, 0x60, 0xb7, 0xb1, 0x63, 0x77, 0xd7,
	0x5f, 0x92, 0x58, 0xa8, 0x75,
};
static const unsigned char b05_gif[] = {
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xf, 0x0, 0xf, 0x0, 0xa2, 0x5, 0x0, 0xde, 0xeb,
	0xf3, 0x5b, 0xb0, 0xec, 0x0, 0x89, 0xe3, 0xa3, 0xd0, 0xed, 0x0, 0x46, 0x74, 0xdd,
	0xed, 0xfa, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x21, 0xf9, 0x4, 0x1, 0x0, 0x0, 0x5, 0x0,
	0x2c, 0x0, 0x0, 0x0, 0x0, 0xf, 0x0, 0xf, 0x0, 0x0, 0x3, 0x40, 0x58, 0x25, 0xa4, 0x4b,
	0xb0, 0x39, 0x1, 0x46, 0xa3, 0x23, 0x5b, 0x47, 0x46, 0x68, 0x9d, 0x20, 0x6, 0x9f,
	0xd2, 0x95, 0x45, 0x44, 0x8, 0xe8, 0x29, 0x39, 0x69, 0xeb, 0xbd, 0xc, 0x41, 0x4a,
	0xae, 0x82, 0xcd, 0x1c, 0x9f, 0xce, 0xaf, 0x1f, 0xc3, 0x34, 0x18, 0xc2, 0x42, 0xb8,
	0x80, 0xf1, 0x18, 0x84, 0xc0, 0x9e, 0xd0, 0xe8, 0xf2, 0x1, 0xb5, 0x19, 0xad, 0x41,
	0x53, 0x33, 0x9b, 0x0, 0x0, 0x3b,
};

static const struct {
	const char *file;
	const char *body_is;        /* body equals (trailing newlines aside) */
	const char *body_has[2];    /* body contains, in this order */
	const char *subject;
	int natt;                   /* -1: not checked */
	const char *att_name;       /* an attachment with this filename ... */
	const unsigned char *att_data; /* ... whose data starts with this */
	size_t att_len;
	int att_exact;              /* ... and is exactly this */
	const char *att_cid;        /* ... and this Content-ID */
} envelopes[] = {
	{ "html-mime-inline.raw", "Test of text section", { NULL, NULL }, NULL, 1,
	  "favicon.png", (const unsigned char *)"\x89PNG", 4, 0,
	  "8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet" },
	{ "html-mime-bad-charset-inline.raw", "Test of text section", { NULL, NULL },
	  NULL, -1, NULL, NULL, 0, 0, NULL },
	{ "html-mime-bad-unknown-charset-inline.raw", "Test of text section",
	  { NULL, NULL }, NULL, -1, NULL, NULL, 0, 0, NULL },
	{ "mime-alternative.raw", "Section one", { NULL, NULL }, NULL, 0, NULL, NULL, 0, 0, NULL },
	{ "mime-mixed.raw", NULL, { "Section one", "Section two" }, NULL, 0,
	  NULL, NULL, 0, 0, NULL },
	{ "mime-signed.raw", NULL, { "Section one", "Section two" }, NULL, -1,
	  NULL, NULL, 0, 0, NULL },
	{ "quoted-printable.raw", NULL, { "Phasellus sit amet arcu", NULL }, NULL, -1,
	  NULL, NULL, 0, 0, NULL },
	{ "quoted-printable-mime.raw", NULL, { "Nullam venenatis ante", NULL }, NULL, -1,
	  NULL, NULL, 0, 0, NULL },
	{ "attachment.raw", NULL, { "A text section", NULL }, NULL, 1, "test.html",
	  (const unsigned char *)"<html>", 6, 0, NULL },
	{ "attachment-octet.raw", NULL, { "A text section", NULL }, NULL, 1,
	  "ATTACHMENT.EXE", octet_exe, sizeof(octet_exe), 1, NULL },
	{ "attachment-application.raw", NULL, { NULL, NULL }, NULL, 1, "some.doc",
	  NULL, 0, 0, NULL },
	{ "other-parts.raw", NULL, { "A text section", NULL }, NULL, 1, "B05.gif",
	  b05_gif, sizeof(b05_gif), 1, NULL },
	{ "other-multi-related.raw", NULL, { "Plain text.", NULL }, NULL, 2,
	  "image001.png", (const unsigned char *)"\x89PNG", 4, 0,
	  "image001.png@01D3BA12.F6C6AEB0" },
	{ "html-only-inline.raw", NULL, { "Test of HTML section", NULL }, NULL, 1,
	  "favicon.png", (const unsigned char *)"\x89PNG", 4, 0, NULL },
	{ "inlinemultipart.raw", NULL, { "Simple text.", NULL }, NULL, -1, "test.txt",
	  (const unsigned char *)"Text", 4, 0, NULL },
	{ "non-mime-html-charset-header-only.raw", NULL, { "M\xc3\xbcller", NULL }, NULL,
	  0, NULL, NULL, 0, 0, NULL },
	{ "non-mime-missing-charset.raw", NULL, { "\xe2\x82\xac", NULL }, NULL, 0,
	  NULL, NULL, 0, 0, NULL },
	{ "qp-ascii-header.raw", NULL, { NULL, NULL }, "Test QP Subject!", -1,
	  NULL, NULL, 0, 0, NULL },
	{ "qp-utf8-header.raw", NULL, { NULL, NULL }, "MIME UTF8 Test \xc2\xa2 More Text",
	  -1, NULL, NULL, 0, 0, NULL },
	{ "attachment-only.raw", NULL, { NULL, NULL }, NULL, 1, NULL,
	  (const unsigned char *)"\x89PNG", 4, 0, NULL },
	{ "attachment-only-inline.raw", NULL, { NULL, NULL }, NULL, 1, NULL,
	  (const unsigned char *)"\x89PNG", 4, 0, NULL },
	{ "mime-duplicate-param.raw", NULL, { NULL, NULL }, NULL, -1,
	  "Invoice_302232133150612.pdf", NULL, 0, 0, NULL },
	{ "mime-unquoted-tspecials-param.raw", NULL, { NULL, NULL }, NULL, -1,
	  "Invoice_(302232133150612).pdf", NULL, 0, 0, NULL },
	{ "mime-bad-content-type.raw", NULL, { NULL, NULL }, NULL, -1,
	  "Invoice_302232133150612.pdf", NULL, 0, 0, NULL },
	{ "mime-blank-media-name.raw", NULL, { NULL, NULL }, NULL, -1,
	  "Invoice_302232133150612.pdf", NULL, 0, 0, NULL },
	{ "mime-bad-8bit-filename.raw", "Text part", { NULL, NULL }, NULL, 1,
	  "\xe7\xae\xa1\xe7\x90\x86.doc", NULL, 0, 0, NULL },
	{ "attachment-only-inline-quoted-printable.raw", "Just some html content",
	  { NULL, NULL }, NULL, 0, NULL, NULL, 0, 0, NULL },
};

static void test_enmime_envelopes(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++) {
		char path[1400];
		char *data;
		size_t len;
		struct sirt_err err;
		struct sirt_msg *m;
		const char *f = envelopes[i].file, *at = NULL;

		snprintf(path, sizeof(path), "%s/tests/data/corpora/mime/enmime-testdata/mail/%s",
			 top, f);
		assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
		assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
		if (m->unparsed)
			fail_msg("%s: unparsed: %s", f, m->unparsed_reason);
		if (envelopes[i].body_is && !same_text(m->body, envelopes[i].body_is))
			fail_msg("%s: body '%s'", f, m->body);
		for (k = 0; k < 2 && envelopes[i].body_has[k]; k++) {
			const char *h = strstr(at ? at : m->body, envelopes[i].body_has[k]);

			if (!h)
				fail_msg("%s: body '%s' lacks '%s'", f, m->body,
					 envelopes[i].body_has[k]);
			at = h;
		}
		if (envelopes[i].subject &&
		    (!m->subject || strcmp(m->subject, envelopes[i].subject) != 0))
			fail_msg("%s: subject '%s'", f, m->subject ? m->subject : "(none)");
		if (envelopes[i].natt >= 0 && m->nattachments != (size_t)envelopes[i].natt)
			fail_msg("%s: %zu attachments, want %d", f, m->nattachments,
				 envelopes[i].natt);
		if (envelopes[i].att_name || envelopes[i].att_data) {
			const struct sirt_part *p = NULL;

			for (k = 0; k < m->nparts && !p; k++)
				if (m->parts[k].is_attachment &&
				    (!envelopes[i].att_name ||
				     (m->parts[k].filename &&
				      strcmp(m->parts[k].filename, envelopes[i].att_name) == 0)))
					p = &m->parts[k];
			if (!p)
				fail_msg("%s: no attachment %s", f,
					 envelopes[i].att_name ? envelopes[i].att_name : "");
			if (envelopes[i].att_data) {
				if (p->size < envelopes[i].att_len ||
				    (envelopes[i].att_exact && p->size != envelopes[i].att_len) ||
				    memcmp(p->data, envelopes[i].att_data, envelopes[i].att_len) != 0)
					fail_msg("%s: attachment data differs (%zu bytes)", f, p->size);
			}
			if (envelopes[i].att_cid &&
			    (!p->content_id || strcmp(p->content_id, envelopes[i].att_cid) != 0))
				fail_msg("%s: content id %s", f,
					 p->content_id ? p->content_id : "(none)");
		}
		sirt_msg_free(&m);
		free(data);
	}
}

/* enmime's TestEnvelopeGetHeaderValues / TestEnvelopeAddressList: repeated
 * Received headers in order, and decoded names. */
static void test_enmime_headers(void **state)
{
	static const char *const received[] = {
		"by 10.76.55.35 with SMTP id o3csp106612oap; Fri, 10 Jul 2015 13:12:34 -0700 (PDT)",
		"from mail135-10.atl141.mandrillapp.com (mail135-10.atl141.mandrillapp.com. "
		"[198.2.135.10]) by mx.google.com with ESMTPS id "
		"k184si6630505ywf.180.2015.07.10.13.12.34 for <deepak@redsift.io> "
		"(version=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128/128); "
		"Fri, 10 Jul 2015 13:12:34 -0700 (PDT)",
		"from pmta03.mandrill.prod.atl01.rsglab.com (127.0.0.1) by "
		"mail135-10.atl141.mandrillapp.com id hk0jj41sau80 for <deepak@redsift.io>; "
		"Fri, 10 Jul 2015 20:12:33 +0000 (envelope-from "
		"<bounce-md_30112948.55a02731.v1-163e4a0faf244a2da6b0121cc7af1fe9@mandrill.papertrailapp.com>)",
		"from [67.214.212.122] by mandrillapp.com id 163e4a0faf244a2da6b0121cc7af1fe9; "
		"Fri, 10 Jul 2015 20:12:33 +0000",
	};
	char path[1400];
	char *data;
	size_t len, i, n = 0;
	struct sirt_err err;
	struct sirt_msg *m;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/corpora/mime/enmime-testdata/mail/ctype-bug.raw",
		 top);
	assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
	for (i = 0; i < m->nheaders; i++) {
		if (strcasecmp(m->headers[i].name, "Received"))
			continue;
		assert_true(n < 4);
		if (strcmp(m->headers[i].value, received[n]) != 0)
			fail_msg("Received %zu: '%s'", n, m->headers[i].value);
		n++;
	}
	assert_int_equal(n, 4);
	/* the earliest hop: Fri, 10 Jul 2015 20:12:33 +0000 */
	assert_int_equal(m->received_first, 1436559153);
	assert_string_equal(m->subject, "Welcome to Papertrail");
	assert_string_equal(m->from.name, "Papertrail");
	assert_string_equal(m->message_id, "55a02731af510_7b0b33f2c7821d@pt02w01.papertrailapp.com.tmail");
	assert_non_null(strstr(m->auth_results, "dkim=pass header.i=@mandrillapp.com"));
	sirt_msg_free(&m);
	free(data);

	snprintf(path, sizeof(path), "%s/tests/data/corpora/mime/enmime-testdata/mail/qp-utf8-header.raw",
		 top);
	assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
	assert_int_equal(m->nto, 1);
	assert_string_equal(m->to[0].name, "Miros\xc5\x82" "aw Marczak");
	assert_non_null(strstr(sirt_msg_header(m, "Sender"), "Andr\xc3\xa9 Pirard"));
	sirt_msg_free(&m);
	free(data);
}

/* ---- CPython test_email.py expectations on its own data files ---- */

static struct sirt_msg *open_cpython(const char *name)
{
	char path[1400];
	char *data;
	size_t len;
	struct sirt_err err;
	struct sirt_msg *m;

	snprintf(path, sizeof(path), "%s/tests/data/corpora/mime/cpython-3.11.7-test_email/%s",
		 top, name);
	assert_int_equal(sirt_read_file(path, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &m, &err), 0);
	free(data);
	assert_false(m->unparsed);
	return m;
}

/* Message.get_charsets(): every part's charset in document order. */
static void check_charsets(const char *name, const char *const *want, size_t n)
{
	struct sirt_msg *m = open_cpython(name);
	size_t i;

	if (m->nparts != n)
		fail_msg("%s: %zu parts, want %zu", name, m->nparts, n);
	for (i = 0; i < n; i++) {
		const char *c = m->parts[i].charset;

		if ((c == NULL) != (want[i] == NULL) || (c && strcmp(c, want[i])))
			fail_msg("%s part %zu: charset %s", name, i, c ? c : "None");
	}
	sirt_msg_free(&m);
}

static void test_cpython(void **state)
{
	static const char *const cs08[] = { NULL, "us-ascii", "iso-8859-1",
		"iso-8859-2", "koi8-r" };
	static const char *const cs09[] = { NULL, "us-ascii", "iso-8859-1", NULL,
		"koi8-r" };
	static const char *const cs12[] = { NULL, "us-ascii", "iso-8859-1", NULL,
		"iso-8859-2", "iso-8859-3", "us-ascii", "koi8-r" };
	struct sirt_msg *m;
	size_t i, n;

	(void)state;
	/* test_get_charsets */
	check_charsets("msg_08.txt", cs08, 5);
	check_charsets("msg_09.txt", cs09, 5);
	check_charsets("msg_12.txt", cs12, 8);

	/* test_get_filename, test_get_filename_with_name_parameter */
	m = open_cpython("msg_04.txt");
	assert_int_equal(m->nparts, 3);
	assert_string_equal(m->parts[1].filename, "msg.txt");
	assert_string_equal(m->parts[2].filename, "msg.txt");
	sirt_msg_free(&m);
	m = open_cpython("msg_44.txt");
	assert_int_equal(m->nparts, 3);
	assert_string_equal(m->parts[1].filename, "msg.txt");
	assert_string_equal(m->parts[2].filename, "msg.txt");
	sirt_msg_free(&m);
	m = open_cpython("msg_07.txt");
	assert_string_equal(m->parts[2].filename, "dingusfish.gif");
	assert_string_equal(m->parts[2].content_type, "image/gif");
	sirt_msg_free(&m);
	/* test_get_param_funky_continuation_lines */
	m = open_cpython("msg_22.txt");
	assert_string_equal(m->parts[2].filename, "wibble.JPG");
	sirt_msg_free(&m);

	/* test_get_decoded_payload */
	m = open_cpython("msg_10.txt");
	assert_string_equal(m->parts[1].text, "This is a 7bit encoded message.\n");
	/* (part 2 is text/html: its data is the decoded bytes, QP line
	 * breaks as CRLF, and its text the rendered HTML) */
	assert_int_equal(m->parts[2].size, 46);
	assert_memory_equal(m->parts[2].data, "\xa1This is a Quoted Printable encoded message!\r\n",
			    m->parts[2].size);
	assert_string_equal(m->parts[2].text, "\xc2\xa1This is a Quoted Printable encoded message!");
	assert_int_equal(m->parts[3].size, strlen("This is a Base64 encoded message."));
	assert_memory_equal(m->parts[3].data, "This is a Base64 encoded message.", m->parts[3].size);
	sirt_msg_free(&m);

	/* test_get_content_type_from_message_implicit / _explicit */
	m = open_cpython("msg_30.txt");
	assert_string_equal(m->parts[1].content_type, "message/rfc822");
	assert_int_equal(m->parts[1].kind, SIRT_PART_MESSAGE);
	sirt_msg_free(&m);
	m = open_cpython("msg_28.txt");
	assert_string_equal(m->parts[1].content_type, "message/rfc822");
	sirt_msg_free(&m);
	m = open_cpython("msg_03.txt");
	assert_string_equal(m->parts[0].content_type, "text/plain");
	sirt_msg_free(&m);

	/* test_parse_message_rfc822 */
	m = open_cpython("msg_11.txt");
	assert_string_equal(m->parts[0].content_type, "message/rfc822");
	assert_int_equal(m->nparts, 2);
	assert_string_equal(m->parts[1].text, "Here is the body of the message.\n");
	{
		size_t elen;
		const unsigned char *e = sirt_part_entity(m, &m->parts[1], &elen);

		assert_non_null(memmem(e, elen, "Subject: An enclosed message", 28));
	}
	sirt_msg_free(&m);

	/* test_dsn */
	m = open_cpython("msg_16.txt");
	assert_string_equal(m->parts[0].content_type, "multipart/report");
	for (i = 1, n = 0; i < m->nparts; i++)
		n += m->parts[i].parent == 0;
	assert_int_equal(n, 3);
	assert_string_equal(m->parts[1].content_type, "text/plain");
	assert_true(sirt_strcaseprefix(m->parts[1].text,
		"This report relates to a message you sent with the following header fields:"));
	sirt_msg_free(&m);

	/* test_get_all: three Cc headers */
	m = open_cpython("msg_20.txt");
	for (i = 0, n = 0; i < m->nheaders; i++) {
		static const char *const cc[] = { "ccc@zzz.org", "ddd@zzz.org", "eee@zzz.org" };

		if (strcasecmp(m->headers[i].name, "cc"))
			continue;
		assert_true(n < 3);
		assert_string_equal(m->headers[i].value, cc[n]);
		n++;
	}
	assert_int_equal(n, 3);
	sirt_msg_free(&m);

	/* a digest's parts are messages (msg_02, test_parser's digest) */
	m = open_cpython("msg_02.txt");
	for (i = 0, n = 0; i < m->nparts; i++)
		if (m->parts[i].parent >= 0 &&
		    strcmp(m->parts[m->parts[i].parent].content_type, "multipart/digest") == 0) {
			assert_string_equal(m->parts[i].content_type, "message/rfc822");
			n++;
		}
	assert_int_equal(n, 5);
	sirt_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file),
		cmocka_unit_test(test_enmime_goldens),
		cmocka_unit_test(test_enmime_qp_addresses),
		cmocka_unit_test(test_enmime_envelopes),
		cmocka_unit_test(test_enmime_headers),
		cmocka_unit_test(test_cpython),
	};
	const char *t = getenv("SIRT_TOP");

	snprintf(top, sizeof(top), "%s", t && *t ? t : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
