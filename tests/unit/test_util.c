/* Unit tests for util.h and buf.h helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sirt/buf.h"
#include "sirt/util.h"

static void test_utf8_sanitize(void **state)
{
	static const struct { const char *in; size_t n; const char *out; } cases[] = {
		{ "plain ascii\n\ttab", 16, "plain ascii\n\ttab" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "bad \xff byte", 10, "bad \xef\xbf\xbd byte" },
		{ "crlf\r\nline", 10, "crlf\nline" },
		{ "esc\x1b[31m", 8, "esc\xef\xbf\xbd[31m" },
		{ "nul\0x", 5, "nul\xef\xbf\xbdx" },
		{ "cut \xe2\x82", 6, "cut \xef\xbf\xbd\xef\xbf\xbd" },
		{ "overlong \xc0\xaf", 11, "overlong \xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate \xed\xa0\x80", 13, "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "emoji \xf0\x9f\x94\x92", 10, "emoji \xf0\x9f\x94\x92" },
		{ "del\x7f", 4, "del\xef\xbf\xbd" },
		{ "", 0, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *o = sirt_utf8_sanitize(cases[i].in, cases[i].n);
		assert_string_equal(o, cases[i].out);
		assert_true(sirt_utf8_valid(o, strlen(o)));
		free(o);
	}
}

/* One well-formed UTF-8 sequence: its length, or 0. */
static void test_utf8_seq(void **state)
{
	(void)state;
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"a", 1), 1);
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xe2\x80\xae", 3), 3);
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xf0\x9f\x94\x92", 4), 4);
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xc3\xa9", 1), 0);     /* cut */
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xe0\x80\x80", 3), 0); /* overlong */
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
	assert_int_equal(sirt_utf8_seq((const unsigned char *)"\x80", 1), 0);
}

static void test_iso8601(void **state)
{
	time_t t;
	char out[32];

	(void)state;
	assert_int_equal(sirt_parse_iso8601("2026-11-20T17:00:00Z", &t), 0);
	assert_int_equal(t, 1795194000);
	assert_int_equal(sirt_parse_iso8601("2026-11-20T18:00:00+01:00", &t), 0);
	assert_int_equal(t, 1795194000);
	assert_int_equal(sirt_parse_iso8601("2026-11-20", &t), 0);
	sirt_fmt_iso8601(1795194000, out);
	assert_string_equal(out, "2026-11-20T17:00:00Z");
	assert_int_equal(sirt_parse_iso8601("2026-13-20", &t), -1);
	assert_int_equal(sirt_parse_iso8601("2026-11-20T17:00Zjunk", &t), -1);
	assert_int_equal(sirt_parse_iso8601("", &t), -1);
}

static void test_numbers(void **state)
{
	size_t sz;
	long v;
	int b;

	(void)state;
	assert_int_equal(sirt_parse_size("25M", &sz), 0);
	assert_int_equal(sz, 25u * 1024 * 1024);
	assert_int_equal(sirt_parse_size("1k", &sz), 0);
	assert_int_equal(sz, 1024);
	assert_int_equal(sirt_parse_size("-1", &sz), -1);
	assert_int_equal(sirt_parse_size("12Q", &sz), -1);
	assert_int_equal(sirt_parse_long("42", 0, 100, &v), 0);
	assert_int_equal(sirt_parse_long("101", 0, 100, &v), -1);
	assert_int_equal(sirt_parse_long("4x", 0, 100, &v), -1);
	assert_int_equal(sirt_parse_bool("yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(sirt_parse_bool("maybe", &b), -1);
}

static void test_buf(void **state)
{
	struct sirt_buf b;
	char *s;
	size_t n, i;

	(void)state;
	sirt_buf_init(&b);
	assert_string_equal(b.data, "");
	for (i = 0; i < 1000; i++)
		sirt_buf_addf(&b, "%zu,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	s = sirt_buf_detach(&b, &n);
	assert_int_equal(n, strlen(s));
	assert_string_equal(b.data, "");
	free(s);
	sirt_buf_release(&b);
}

static void test_sha256(void **state)
{
	char hex[65];

	(void)state;
	sirt_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_utf8_seq),
		cmocka_unit_test(test_iso8601),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_sha256),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
