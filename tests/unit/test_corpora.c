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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file),
		cmocka_unit_test(test_enmime_goldens),
		cmocka_unit_test(test_enmime_qp_addresses),
	};
	const char *t = getenv("SIRT_TOP");

	snprintf(top, sizeof(top), "%s", t && *t ? t : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
