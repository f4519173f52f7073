/* test_rules.c - the rule language (src/rules.c) and verdicts
 * (src/triage.c): parser errors with FILE:LINE:COL, fields, metas,
 * counts, numeric facts, floors, caps and their precedence, tags and
 * categories, sub-rules, warnings of `sirt rules check`, PCRE2 limits
 * on hostile input, the reporter's own words, and the prefilter giving
 * the same answers as plain PCRE2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include "sirt/buf.h"
#include "sirt/log.h"
#include "sirt/msg.h"
#include "sirt/rules.h"
#include "sirt/triage.h"
#include "sirt/util.h"

static struct sirt_rules *load(const char *text, unsigned flags)
{
	struct sirt_rules *r = NULL;
	struct sirt_err err;

	sirt_err_clear(&err);
	if (sirt_rules_load_string("t.rules", text, flags, &r, &err) != 0)
		fail_msg("load failed: %s", err.msg);
	return r;
}

/* The error message for text, which must fail to load. */
static void load_fails(const char *text, const char *want)
{
	struct sirt_rules *r = NULL;
	struct sirt_err err;

	sirt_err_clear(&err);
	if (sirt_rules_load_string("t.rules", text, 0, &r, &err) == 0)
		fail_msg("loaded: %s", text);
	assert_null(r);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static struct sirt_msg *msg(const char *s)
{
	struct sirt_msg *m = NULL;
	struct sirt_err err;

	assert_int_equal(sirt_msg_parse(s, strlen(s), NULL, &m, &err), 0);
	return m;
}

static int has_hit(const struct sirt_verdict *v, const char *rule)
{
	size_t i;

	for (i = 0; i < v->nhits; i++)
		if (strcmp(v->hits[i].rule, rule) == 0)
			return 1;
	return 0;
}

static int has_tag(const struct sirt_verdict *v, const char *tag)
{
	size_t i;

	for (i = 0; i < v->ntags; i++)
		if (strcmp(v->tags[i], tag) == 0)
			return 1;
	return 0;
}

static void triage(const struct sirt_rules *r, const char *text, struct sirt_verdict *v)
{
	struct sirt_msg *m = msg(text);
	struct sirt_err err;

	assert_int_equal(sirt_triage(r, m, v, &err), 0);
	sirt_msg_free(&m);
}

static void test_errors(void **state)
{
	(void)state;
	/* PCRE2's own message and the column of the fault in the pattern */
	load_fails("# comment\n\nrule BAD body /foo(bar/i\n", "t.rules:3:");
	load_fails("rule BAD body /foo(bar/i\n", "missing closing parenthesis");
	load_fails("rule X bodyy /a/\n", "t.rules:1:8: unknown field 'bodyy'");
	load_fails("rule X body /a/q\n", "t.rules:1:16: unknown pattern flag 'q'");
	load_fails("rule X body /abc\n", "t.rules:1:13: pattern has no closing '/'");
	load_fails("rule 9X body /a/\n", "t.rules:1:6:");
	load_fails("rule A body /a/\nmeta M A && (B ||\n", "t.rules:2:");
	load_fails("rule A body /a/\nmeta M A &&& B\n", "t.rules:2:");
	load_fails("score A lots\n", "t.rules:1:9: bad score");
	load_fails("severity A P5\n", "t.rules:1:12: bad severity");
	load_fails("frobnicate A\n", "t.rules:1:1: unknown statement 'frobnicate'");
	load_fails("meta A B\nmeta B A\n", "depends on itself");
	load_fails("rule A body /a/ extra\n", "t.rules:1:17: unexpected text");
	{
		/* a meta of 5000 operands, a 70 KB line: errors, not a deep recursion */
		struct sirt_buf b = SIRT_BUF_INIT;
		int i;
		sirt_buf_init(&b);
		sirt_buf_adds(&b, "rule A body /a/\nmeta M A");
		for (i = 0; i < 5000; i++)
			sirt_buf_adds(&b, " && A");
		sirt_buf_addc(&b, '\n');
		load_fails(b.data, "expression too long");
		sirt_buf_reset(&b);
		sirt_buf_adds(&b, "describe A ");
		for (i = 0; i < 70000; i++)
			sirt_buf_addc(&b, 'x');
		load_fails(b.data, "t.rules:1:1: line longer than");
		sirt_buf_release(&b);
	}
}

static void test_fields_and_effects(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;

	(void)state;
	r = load("category ransomware phishing\n"
		 "rule RANSOM body /files (?:have been|are) encrypted/i\n"
		 "severity RANSOM P1\n"
		 "tag RANSOM ransomware extortion\n"
		 "describe RANSOM A ransom note\n"
		 "score RANSOM 5\n"
		 "rule SUBJ subject /^urgent/i\n"
		 "score SUBJ 1.5\n"
		 "rule HDR header:X-Mailer /PhishKit/\n"
		 "tag HDR phishing\n"
		 "rule FROMX from /@evil\\.example\\b/\n"
		 "score FROMX 1\n", 0);
	triage(r, "From: Mallory <m@evil.example>\nTo: security@example.org\n"
		  "Subject: URGENT\nX-Mailer: PhishKit 2\n\n"
		  "All your files have been encrypted.\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P1);
	assert_string_equal(v.category, "ransomware");
	assert_true(has_hit(&v, "RANSOM") && has_hit(&v, "SUBJ") && has_hit(&v, "HDR") &&
		    has_hit(&v, "FROMX"));
	assert_true(has_tag(&v, "ransomware") && has_tag(&v, "extortion") && has_tag(&v, "phishing"));
	assert_true(v.score > 7.49 && v.score < 7.51);
	assert_string_equal(v.hits[0].match, "files have been encrypted");
	assert_string_equal(v.hits[0].field, "body");
	assert_string_equal(v.hits[0].describe, "A ransom note");
	assert_string_equal(v.hits[2].field, "header:X-Mailer");
	assert_non_null(strstr(v.reason, "RANSOM"));
	/* tags are sorted and distinct */
	assert_string_equal(v.tags[0], "extortion");
	sirt_verdict_release(&v);
	sirt_rules_free(&r);
	assert_null(r);
}

static void test_metas_counts_facts(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;
	const char *rules =
		"rule URI_A uri /a\\.example/\n"
		"rule URI_B uri /b\\.example/\n"
		"rule URI_C uri /c\\.example/\n"
		"rule __WORD body /\\bexploit\\b/i\n"
		"rule __NOT body /\\bnot\\b/i\n"
		"meta MANY_URIS hits(URI_*) >= 3\n"
		"tag MANY_URIS many\n"
		"meta EXPLOIT_NOT_NEGATED __WORD && !__NOT\n"
		"tag EXPLOIT_NOT_NEGATED exploit\n"
		"meta HIGH_CVSS cvss >= 9.0\n"
		"tag HIGH_CVSS critical-cvss\n"
		"meta SUM (URI_A + URI_B + __WORD) == 3 && urls > 2\n"
		"tag SUM sum\n";

	(void)state;
	r = load(rules, 0);
	triage(r, "Subject: x\n\nSee http://a.example/ http://b.example/ http://c.example/\n"
		  "A working exploit. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", &v);
	assert_true(has_tag(&v, "many"));
	assert_true(has_tag(&v, "exploit"));
	assert_true(has_tag(&v, "critical-cvss"));
	assert_true(has_tag(&v, "sum"));
	assert_true(v.cvss > 9.79 && v.cvss < 9.81);
	assert_string_equal(v.cvss_vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	/* sub-rules never appear as hits */
	assert_false(has_hit(&v, "__WORD"));
	sirt_verdict_release(&v);

	triage(r, "Subject: x\n\nSee http://a.example/ and http://b.example/\n"
		  "This is not an exploit. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N\n", &v);
	assert_false(has_tag(&v, "many"));
	assert_false(has_tag(&v, "exploit"));
	assert_false(has_tag(&v, "critical-cvss"));
	assert_false(has_tag(&v, "sum"));
	assert_true(has_hit(&v, "URI_A"));
	sirt_verdict_release(&v);

	/* no vector: cvss comparisons are all false, even "<" */
	sirt_rules_free(&r);
	r = load("meta LOW cvss < 4\ntag LOW low\n", 0);
	triage(r, "Subject: x\n\nnothing\n", &v);
	assert_false(has_tag(&v, "low"));
	assert_true(v.cvss < 0);
	sirt_verdict_release(&v);
	sirt_rules_free(&r);
}

static void test_floors_caps_thresholds(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;
	const char *rules =
		"category beg-bounty vulnerability exploitation\n"
		"threshold P2 8\n"
		"threshold P3 3\n"
		"default P4\n"
		"rule BEG body /bounty/i\n"
		"cap BEG P4\n"
		"tag BEG beg-bounty\n"
		"rule VULN body /vulnerability/i\n"
		"severity VULN P3\n"
		"tag VULN vulnerability\n"
		"rule ACTIVE body /actively exploited/i\n"
		"severity ACTIVE P1\n"
		"tag ACTIVE exploitation\n"
		"rule SCORE1 body /alpha/\n"
		"score SCORE1 3\n"
		"rule SCORE2 body /beta/\n"
		"score SCORE2 5\n";

	(void)state;
	r = load(rules, 0);
	/* a cap beats a P3 floor: beg bounty with scary words stays P4 */
	triage(r, "Subject: x\n\nI found a vulnerability, pay my bounty\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P4);
	assert_string_equal(v.category, "beg-bounty");
	assert_non_null(strstr(v.reason, "capped by BEG"));
	sirt_verdict_release(&v);
	/* a P1 floor beats the cap */
	triage(r, "Subject: x\n\nThe vulnerability is actively exploited; bounty please\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P1);
	assert_string_equal(v.category, "exploitation");
	assert_non_null(strstr(v.reason, "not applied"));
	sirt_verdict_release(&v);
	/* score thresholds */
	triage(r, "Subject: x\n\nalpha\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P3);
	sirt_verdict_release(&v);
	triage(r, "Subject: x\n\nalpha beta\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P2);
	sirt_verdict_release(&v);
	/* the floor is a minimum: a high score still wins over a P3 floor */
	triage(r, "Subject: x\n\nalpha beta vulnerability\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P2);
	sirt_verdict_release(&v);
	/* nothing fired: the default */
	triage(r, "Subject: x\n\nhello\n", &v);
	assert_int_equal(v.severity, SIRT_SEV_P4);
	assert_int_equal(v.nhits, 0);
	sirt_verdict_release(&v);
	sirt_rules_free(&r);
}

static void test_unparsed_and_no_rules(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;
	struct sirt_msg *m;
	struct sirt_err err;

	(void)state;
	r = load("rule SPAM body /viagra/i\ncap SPAM P4\ntag SPAM spam\ndefault P4\n", 0);
	m = msg("Subject: x\n\nviagra\n");
	m->unparsed = 1;
	assert_int_equal(sirt_triage(r, m, &v, &err), 0);
	/* an unparsed message is at least P3, even when a cap fired */
	assert_int_equal(v.severity, SIRT_SEV_P3);
	assert_true(has_tag(&v, "unparsed"));
	sirt_verdict_release(&v);
	m->unparsed = 1;
	sirt_rules_free(&r);
	r = load("rule HELLO body /hello/\nscore HELLO 0.5\ndefault P4\n", 0);
	assert_int_equal(sirt_triage(r, m, &v, &err), 0);
	assert_int_equal(v.severity, SIRT_SEV_P3);
	assert_true(has_tag(&v, "unparsed"));
	sirt_verdict_release(&v);
	assert_int_equal(sirt_triage(NULL, m, &v, &err), 0);
	assert_int_equal(v.severity, SIRT_SEV_P3);
	assert_string_equal(v.category, "unparsed");
	sirt_verdict_release(&v);
	sirt_msg_free(&m);
	sirt_rules_free(&r);
}

static void test_warnings(void **state)
{
	struct sirt_rules *r;
	size_t i, n;
	int unknown = 0, never = 0, dup = 0, unused = 0;

	(void)state;
	r = load("rule A body /a/\nscore A 1\n"
		 "rule A body /aa/\n"
		 "rule __S body /s/\n"
		 "meta M A && NOSUCH\nscore M 1\n"
		 "meta N A && !A\nscore N 1\n"
		 "score GHOST 2\n", 0);
	n = sirt_rules_nwarnings(r);
	for (i = 0; i < n; i++) {
		const char *w = sirt_rules_warning(r, i);
		unknown += strstr(w, "unknown rule NOSUCH") != NULL;
		never += strstr(w, "meta N can never fire") != NULL;
		dup += strstr(w, "t.rules:3: duplicate rule name A") != NULL;
		unused += strstr(w, "__S is a sub-rule") != NULL;
	}
	assert_int_equal(unknown, 1);
	assert_int_equal(never, 1);
	assert_int_equal(dup, 1);
	assert_int_equal(unused, 1);
	sirt_rules_free(&r);
}

static void test_limits(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;
	struct sirt_buf b = SIRT_BUF_INIT;
	struct timespec t0, t1;
	double secs;
	int i;

	(void)state;
	/* classic catastrophic backtracking, on 30000 'a's and no match */
	r = load("rule EVIL body /^(a+)+$/\nscore EVIL 5\n"
		 "rule EVIL2 body /(a|aa)+b/\nscore EVIL2 5\n"
		 "rule OK body /aaaa/\ntag OK fine\n", SIRT_RULES_NO_PREFILTER);
	sirt_buf_init(&b);
	sirt_buf_adds(&b, "Subject: x\n\n");
	for (i = 0; i < 30000; i++)
		sirt_buf_addc(&b, 'a');
	sirt_buf_adds(&b, "!\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	triage(r, b.data, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 2.0);
	assert_false(has_hit(&v, "EVIL"));
	assert_false(has_hit(&v, "EVIL2"));
	assert_true(has_hit(&v, "OK"));
	assert_true(v.nnotes >= 1);
	sirt_verdict_release(&v);
	sirt_buf_release(&b);
	sirt_rules_free(&r);
}

static void test_unquoted(void **state)
{
	char *u;
	struct sirt_rules *r;
	struct sirt_verdict v;

	(void)state;
	u = sirt_body_unquoted("I got this phishing mail, please check.\n\n"
			       "---------- Forwarded message ---------\n"
			       "From: bank\nYour account is compromised!\n");
	assert_null(strstr(u, "compromised"));
	assert_non_null(strstr(u, "phishing"));
	free(u);
	u = sirt_body_unquoted("New info below.\nOn Mon, 2 Nov 2026, SIRT wrote:\n> we were hacked\n");
	assert_null(strstr(u, "hacked"));
	free(u);
	u = sirt_body_unquoted("Is this real?\n________________________________\n"
			       "From: IT <it@evil.example>\nSent: today\nYour account is hacked\n");
	assert_null(strstr(u, "hacked"));
	assert_non_null(strstr(u, "real?"));
	free(u);
	u = sirt_body_unquoted("FYI\nVon: Bank <b@evil.example>\nGesendet: heute\nKonto gehackt\n");
	assert_null(strstr(u, "gehackt"));
	free(u);
	/* a "From:" line alone (a log excerpt) does not cut the text */
	u = sirt_body_unquoted("Log:\nFrom: 10.0.0.1 port 22\nroot login hacked\n");
	assert_non_null(strstr(u, "hacked"));
	free(u);
	u = sirt_body_unquoted("Top\n> quoted hacked\nbottom\n");
	assert_null(strstr(u, "hacked"));
	assert_non_null(strstr(u, "bottom"));
	free(u);
	u = sirt_body_unquoted("Anfang\nAm 2. Nov. 2026 um 10:00 schrieb Bank:\nkompromittiert\n");
	assert_null(strstr(u, "kompromittiert"));
	free(u);

	r = load("rule COMP body-unquoted /compromised/i\nseverity COMP P2\n", 0);
	triage(r, "Subject: Fwd: alert\n\nFYI phishing.\n\n"
		  "-------- Forwarded Message --------\nYour account is compromised\n", &v);
	assert_false(has_hit(&v, "COMP"));
	sirt_verdict_release(&v);
	triage(r, "Subject: alert\n\nOur account is compromised\n", &v);
	assert_true(has_hit(&v, "COMP"));
	assert_int_equal(v.severity, SIRT_SEV_P2);
	sirt_verdict_release(&v);
	sirt_rules_free(&r);
}

/* a and b triage text alike: the same hits with the same matched text
 * (at least one hit if need_hits). */
static void same_hits(const struct sirt_rules *a, const struct sirt_rules *b, const char *text,
		      int need_hits)
{
	struct sirt_verdict va, vb;
	size_t j;

	triage(a, text, &va);
	triage(b, text, &vb);
	if (need_hits)
		assert_true(va.nhits > 0);
	assert_int_equal(va.nhits, vb.nhits);
	for (j = 0; j < va.nhits; j++) {
		assert_string_equal(va.hits[j].rule, vb.hits[j].rule);
		assert_string_equal(va.hits[j].match ? va.hits[j].match : "",
				    vb.hits[j].match ? vb.hits[j].match : "");
	}
	sirt_verdict_release(&va);
	sirt_verdict_release(&vb);
}
/* Triage msgs with the prefilter and without: the same hits, with the
 * same matched text.  At least min_pre rules must be prefiltered. */
static void same_verdicts(const char *rules, const char *const *msgs, size_t n, size_t min_pre)
{
	struct sirt_rules *on, *off;
	size_t i;

	on = load(rules, SIRT_RULES_PREFILTER_NOW);
	off = load(rules, SIRT_RULES_NO_PREFILTER);
	assert_int_equal(sirt_rules_prefiltered(off), 0);
#ifdef SIRT_HAVE_HYPERSCAN
	assert_true(sirt_rules_prefiltered(on) >= min_pre);
#else
	(void)min_pre;
#endif
	for (i = 0; i < n; i++)
		same_hits(on, off, msgs[i], 0);
	sirt_rules_free(&on);
	sirt_rules_free(&off);
}

/* The same verdicts with and without the prefilter, over patterns that
 * exercise what Hyperscan approximates (lookarounds, backreferences,
 * Unicode case folding, x flag, anchors with m). */
static void test_prefilter_same(void **state)
{
	static const char *rules =
		"rule L1 body /(?<!not )encrypted/i\n"
		"rule L2 body /\\b(\\w+) \\1\\b/\n"
		"rule L3 body /verschlüsselt/i\n"
		"rule L4 body /^ \\s* ransom \\s+ note/mix\n"
		"rule L5 subject /^re:/im\n"
		"rule L6 body /.{0,3}x{2}/s\n"
		"rule L7 uri /https?:\\/\\/[^\\/]+\\.zip\\b/i\n"
		"rule L8 header:Received /from\\s+\\[?\\d+\\.\\d+/\n"
		"rule L9 body /\\bété\\b/i\n"
		"rule L10 body /a[^x]b/\n"
		"rule L11 body /z.{0,2}z/\n"
		"rule L12 body /(?<w>\\w+)-(?>\\d++)/\n"
		"rule L13 body /(?i)straße\\s\\w\\b/\n"
		"rule L14 body /[éè]t[^\\s]{2}\\b/i\n"
		"rule L15 body /\\p{Lu}{3}\\d/\n"
		/* cut into branches and pieces by the prefilter: the match
		 * reported must still be the whole pattern's (leftmost, then
		 * the first branch there) */
		"rule B1 body /\\bdisk\\b.{0,40}\\bencrypted|the disk|\\bwas (?:not )?encrypted/i\n"
		"rule B2 body /(?:zz|axb||cet)/\n"
		"rule B3 body /plain|text|(?i)PLAIN/\n"
		"rule B4 body /(\\w+)x|(?:ransom\\s+note|été)\\W+\\w{2}/i\n"
		"rule B5 body /(?:daten|data)\\s+(?:\\w+\\s+){0,3}(?:sind|are)\\s+verschl\\w+|(?:a|b)(?:c.*d|e)f/i\n"
		"rule B6 body /here.*?xx|re:|note.+x{2}/s\n"
		"rule B7 body /(?:disk.*was|n.t)\\s(?:en|ver).{0,20}\\b/\n"
		/* \\b kept by the prefilter only beside ASCII word characters */
		"rule W1 body /\\bkeylogger\\b/i\n"
		"rule W2 body /\\b(?:rat|été|_x)\\b/i\n"
		"rule W3 body /\\bpass(?:word|wort)s?\\b/\n"
		"rule W4 body /\\b(?:over|spy)\\b|\\bsecret/\n"
		/* \\K moves the reported start; (?^) reaches into later branches */
		"rule K1 body /disk \\Kwas|sk w/\n"
		"rule K2 body /DISK|(?^)disk|(?i)xDISK/\n";
	/* pieces of one byte: Vectorscan misses them past byte 64 when they
	 * share a database like this */
	static const char *rules2 = "rule B8 body /.*f/\nrule B9 body /zz/\n";
	static const char *const msgs[] = {
		"Subject: Re: hi\n\nThe disk was not encrypted.\n",
		"Subject: x\n\nthe the disk was encrypted\n",
		"Subject: x\n\nDIE DATEN SIND VERSCHLÜSSELT\n",
		"Subject: x\n\n  RANSOM \n NOTE here\nxx\n",
		"Subject: x\nReceived: from [10.0.0.1] by mx\n\nsee https://evil.zip/a\n",
		"Subject: nothing\n\nplain text\n",
		"Subject: x\n\nCET ÉTÉ aéb zééz wörd-٣٤ STRASSE straße ü ÈTÉS ÄÖÜ٣\n",
		"Subject: x\n\ncet été axb zéééz straße x\n",
		"Subject: x\n\nThe disk, as far as I know, was not encrypted. Data are verschlüsselt\n",
		"Subject: x\n\nthe disk was encrypted; die Daten auf dem Server sind verschlüsselt; acdf\n",
		"Subject: x\n\nransom\n  note: xx -- zz axb cet\n",
		"Subject: x\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA acdf zz\n",
		"Subject: x\n\nthe \xe2\x84\xaa" "eylogger, éRAT été, l'été, passwords_ éspy ésecret\n",
		"Subject: x\n\nRAT\xc3\xa9 \xc2\xa0" "rat\xc2\xa0 passwortä ü_x overé\n",
	};
	(void)state;
#ifndef SIRT_HAVE_HYPERSCAN
	(void)rules; (void)rules2; (void)msgs;
	skip();  /* no prefilter built in: nothing to compare */
#endif
	same_verdicts(rules, msgs, sizeof(msgs) / sizeof(msgs[0]), 4);
	same_verdicts(rules2, msgs, sizeof(msgs) / sizeof(msgs[0]), 1);
}

/* ---- random patterns, prefilter on and off -------------------------- */

struct gen {
	unsigned long seed;
	struct sirt_buf pat;    /* the pattern */
	struct sirt_buf smp;    /* a text it (most often) matches */
};

static unsigned gen_rand(struct gen *g, unsigned n)
{
	g->seed = g->seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(g->seed >> 33) % n;
}

static void gen_seq(struct gen *g, int depth, int rep);

/* One of n (pattern, sample) pairs. */
static void gen_pick(struct gen *g, const char *const (*t)[2], unsigned n)
{
	unsigned i = gen_rand(g, n);

	sirt_buf_adds(&g->pat, t[i][0]);
	sirt_buf_adds(&g->smp, t[i][1]);
}

/* One item; rep: inside a repeated group, where a repeat of its own
 * could reach PCRE2's match limit (which the prefilter's branches can
 * avoid: a hit with it and none without, not what is tested here). */
static void gen_item(struct gen *g, int depth, int rep)
{
	static const char *const words[] = {
		"encrypted", "data", "key", "ransom", "lost", "is", "re", "a", "sk", "ks",
		"passwort", "stolen", "laptop", "k", "s", "on", "the disk", "\xc3\xa9t\xc3\xa9",
		"stra\xc3\x9f" "e", "\xc3\x89T\xc3\x89", "Kelvin", "SSH", "\xe2\x84\xaa" "ey",
		"ca\xc5\xbf" "e",
	};
	static const char *const small[][2] = {
		{ "[aeiou]", "o" }, { "[sk]", "k" }, { "[a-c]", "b" }, { "[-_ ]", "_" },
		{ "[Ss]", "S" }, { "[0-3]", "2" }, { "[.]", "." }, { "[\\x41b]", "A" },
	};
	static const char *const wide[][2] = {
		{ "\\w", "q" }, { "\\d", "7" }, { "\\s", " " }, { ".", "z" }, { "[^x]", "y" },
		{ "[a-z]", "m" }, { "\\W", "!" }, { "[^\\x00-\\x7f]", "\xc3\xbc" }, { "\\S", "k" },
	};
	static const char *const esc[][2] = {
		{ "\\.", "." }, { "\\x41", "A" }, { "\\x{e9}", "\xc3\xa9" }, { "\\-", "-" },
		{ "\\x6b", "k" }, { "\\t", "\t" }, { "\\x{212a}", "\xe2\x84\xaa" },
		{ "\\xe9", "\xc3\xa9" }, { "\\x{17f}", "s" }, { "\\N{U+212A}", "K" },
	};
	unsigned k = gen_rand(g, 15), i, n;

	if (rep && (k == 12 || k == 14 || k == 9))
		k = 0;
	const char *w;

	switch (k) {
	case 0: case 1: case 2: case 3:
		w = words[gen_rand(g, sizeof(words) / sizeof(words[0]))];
		sirt_buf_adds(&g->pat, w);
		sirt_buf_adds(&g->smp, w);
		break;
	case 4:
		sirt_buf_adds(&g->pat, gen_rand(g, 2) ? "\\b" : "^");
		break;
	case 5:
		gen_pick(g, small, sizeof(small) / sizeof(small[0]));
		break;
	case 6:
		gen_pick(g, wide, sizeof(wide) / sizeof(wide[0]));
		break;
	case 7: case 8:
		if (depth > 2)
			break;
		sirt_buf_adds(&g->pat, gen_rand(g, 4) ? "(?:" : "(");
		n = 1 + gen_rand(g, 4);
		k = gen_rand(g, n);
		for (i = 0; i < n; i++) {
			size_t at = g->smp.len;
			if (i)
				sirt_buf_addc(&g->pat, '|');
			gen_seq(g, depth + 1, rep);
			if (i != k) {
				g->smp.len = at;        /* the sample takes one */
				g->smp.data[at] = 0;
			}
		}
		sirt_buf_addc(&g->pat, ')');
		break;
	case 9: {
		/* bounded: nested unbounded repeats can reach PCRE2's match
		 * limit, and a limit hit differs with the branches run */
		static const char *const q[] = { "?", "{2}", "{0,2}", "{1,3}", "??", "{2,4}" };
		size_t at = g->smp.len;
		char *copy;
		if (depth > 2)
			break;
		i = gen_rand(g, sizeof(q) / sizeof(q[0]));
		sirt_buf_adds(&g->pat, "(?:");
		gen_seq(g, depth + 1, 1);
		sirt_buf_addc(&g->pat, ')');
		sirt_buf_adds(&g->pat, q[i]);
		copy = sirt_xstrdup(g->smp.data + at);
		if (q[i][0] == '?' || (q[i][0] == '{' && q[i][1] == '0')) {
			if (gen_rand(g, 2)) {
				g->smp.len = at;
				g->smp.data[at] = 0;
			}
		} else if (q[i][1] == '2') {
			sirt_buf_adds(&g->smp, copy);
		}
		free(copy);
		break;
	}
	case 10:
		gen_pick(g, esc, sizeof(esc) / sizeof(esc[0]));
		break;
	case 11:
		sirt_buf_addc(&g->pat, ' ');
		sirt_buf_addc(&g->smp, ' ');
		break;
	case 12:
		sirt_buf_adds(&g->pat, ".{0,5}");
		sirt_buf_adds(&g->smp, gen_rand(g, 2) ? "abc" : "");
		break;
	case 13: {
		/* assertions, repeated too (a repeat PCRE2 allows) */
		static const char *const as[] = { "(?<!not )", "(?<!not ){2}", "(?!xq){1,3}", "(?=\\w)?" };
		sirt_buf_adds(&g->pat, as[gen_rand(g, 4)]);
		break;
	}
	default:
		sirt_buf_adds(&g->pat, "\\w+ ");
		sirt_buf_adds(&g->smp, "word ");
		break;
	}
}

static void gen_seq(struct gen *g, int depth, int rep)
{
	unsigned n = 1 + gen_rand(g, 4), i;

	for (i = 0; i < n; i++)
		gen_item(g, depth, rep);
}

/* The sample as a reporter might write it: letters in the other case,
 * k and s as the Kelvin sign and the long s, a byte left out. */
static void gen_mutate(struct gen *g, const char *in, struct sirt_buf *out)
{
	unsigned how = gen_rand(g, 6);
	size_t i, drop = strlen(in) ? gen_rand(g, (unsigned)strlen(in)) : 0;

	for (i = 0; in[i]; i++) {
		char c = in[i];
		if (how == 1 && i == drop)
			continue;
		if (how == 2 && isalpha((unsigned char)c) && gen_rand(g, 2))
			c = (char)(isupper((unsigned char)c) ? tolower(c) : toupper(c));
		if (how == 3 && (c == 'k' || c == 'K') && gen_rand(g, 2)) {
			sirt_buf_adds(out, "\xe2\x84\xaa");
			continue;
		}
		if (how == 4 && (c == 's' || c == 'S') && gen_rand(g, 2)) {
			sirt_buf_adds(out, "\xc5\xbf");
			continue;
		}
		sirt_buf_addc(out, how == 5 ? (char)toupper((unsigned char)c) : c);
	}
}

/* Random patterns (literals, small and wide classes, groups, repeats,
 * escapes, \b, lookbehinds, non-ASCII, caseless or not) over texts built
 * to match them, mutated: the prefilter never changes a hit. */
static void test_prefilter_random(void **state)
{
	struct gen g;
	int set;

	(void)state;
#ifndef SIRT_HAVE_HYPERSCAN
	skip();
#endif
	memset(&g, 0, sizeof(g));
	g.seed = 20261123;
	sirt_buf_init(&g.pat);
	sirt_buf_init(&g.smp);
	for (set = 0; set < 30; set++) {
		struct sirt_buf rules, msg;
		struct sirt_rules *on, *off;
		char *smp[60];
		unsigned k;
		int i;

		sirt_buf_init(&rules);
		sirt_buf_init(&msg);
		for (i = 0; i < 60; i++) {
			sirt_buf_reset(&g.pat);
			sirt_buf_reset(&g.smp);
			gen_seq(&g, 0, 0);
			/* a quarter on the subject, a slot with few patterns;
			 * caseless by flag, or inside the pattern */
			k = gen_rand(&g, 4);
			sirt_buf_addf(&rules, "rule R%d %s /%s%s/%s\n", i,
				      gen_rand(&g, 4) ? "body" : "subject", k == 0 ? "(?i)" : "",
				      g.pat.data, k == 1 ? "i" : k == 2 ? "is" : "");
			smp[i] = sirt_xstrdup(g.smp.data);
		}
		on = load(rules.data, SIRT_RULES_PREFILTER_NOW);
		off = load(rules.data, SIRT_RULES_NO_PREFILTER);
#ifdef SIRT_HAVE_HYPERSCAN
		assert_true(sirt_rules_prefiltered(on) >= 20);
#endif
		for (i = 0; i < 120; i++) {
			int j, n = 1 + (int)gen_rand(&g, 3);
			sirt_buf_reset(&msg);
			sirt_buf_adds(&msg, "Subject: t ");
			gen_mutate(&g, smp[gen_rand(&g, 60)], &msg);
			sirt_buf_adds(&msg, "\n\nsome words ");
			for (j = 0; j < n; j++) {
				gen_mutate(&g, smp[gen_rand(&g, 60)], &msg);
				sirt_buf_adds(&msg, gen_rand(&g, 2) ? " and\n" : ", ");
			}
			sirt_buf_adds(&msg, "end\n");
			same_hits(on, off, msg.data, 0);
		}
		for (i = 0; i < 60; i++)
			free(smp[i]);
		sirt_rules_free(&on);
		sirt_rules_free(&off);
		sirt_buf_release(&rules);
		sirt_buf_release(&msg);
	}
	sirt_buf_release(&g.pat);
	sirt_buf_release(&g.smp);
}

#ifdef SIRT_HAVE_HYPERSCAN
/* Number of prefilter-*.hsdb files in dir; every one must be 0600. */
static int cache_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char p[600];
		struct stat st;
		if (strncmp(de->d_name, "prefilter-", 10) || !strstr(de->d_name, ".hsdb"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		n++;
	}
	closedir(d);
	return n;
}

static void rewrite_cache(const char *dir, const char *with)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char p[600];
		FILE *f;
		if (strncmp(de->d_name, "prefilter-", 10) || !strstr(de->d_name, ".hsdb"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		f = fopen(p, "w");
		assert_non_null(f);
		fputs(with, f);
		fclose(f);
	}
	closedir(d);
}

static struct sirt_rules *load_cached(const char *dir, const char *cache)
{
	struct sirt_rules *r = NULL;
	struct sirt_err err;

	if (sirt_rules_load_cache(dir, NULL, SIRT_RULES_PREFILTER_NOW, cache, &r, &err) != 0)
		fail_msg("load failed: %s", err.msg);
	return r;
}

static void write_rules(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	closedir(d);
}

/* Remove a cache test's directory: its cache, its one rules file. */
static void remove_test_dir(const char *dir, const char *cache, const char *path)
{
	empty_dir(cache);
	assert_int_equal(rmdir(cache), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}
#endif

/* A cached database is found by its pieces and their numbers: two rules
 * whose second stages hold the same pieces, and a rule edited so that
 * the pieces after it are numbered anew, never get another's. */
static void test_prefilter_cache_ids(void **state)
{
#ifdef SIRT_HAVE_HYPERSCAN
	static const char text[] = "Subject: t\n\nijklmnop xy\n";
	char dir[] = "/tmp/sirt-cids-XXXXXX", path[400], cache[300];
	struct sirt_rules *plain, *r;
	struct sirt_err err;
	int round;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/10.rules", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	assert_int_equal(mkdir(cache, 0700), 0);
	/* the same stage-2 piece "xy" for A and B, in one load and the next */
	write_rules(path, "rule A body /abcdefgh.*xy/i\nrule B body /ijklmnop.*xy/i\n");
	assert_int_equal(sirt_rules_load_flags(dir, NULL, SIRT_RULES_NO_PREFILTER, &plain, &err), 0);
	for (round = 0; round < 2; round++) {
		r = load_cached(dir, cache);
		same_hits(r, plain, text, 1);
		sirt_rules_free(&r);
	}
	sirt_rules_free(&plain);
	/* A gains a piece: B's are numbered one further on */
	empty_dir(cache);
	write_rules(path, "rule A body /abcdefgh.*xy/i\nrule B body /ijklmnop/i\n");
	r = load_cached(dir, cache);
	sirt_rules_free(&r);
	write_rules(path, "rule A body /abcdefgh.*xy.*zw/i\nrule B body /ijklmnop/i\n");
	assert_int_equal(sirt_rules_load_flags(dir, NULL, SIRT_RULES_NO_PREFILTER, &plain, &err), 0);
	r = load_cached(dir, cache);
	same_hits(r, plain, text, 1);
	sirt_rules_free(&r);
	sirt_rules_free(&plain);
	remove_test_dir(dir, cache, path);
#else
	(void)state;
	skip();
#endif
}

/* The compiled prefilter cached on disk: written 0600 in a 0700
 * directory, loaded by the next set, a damaged file recompiled and
 * rewritten, files unused for a week removed; verdicts never change. */
static void test_prefilter_cache(void **state)
{
#ifdef SIRT_HAVE_HYPERSCAN
	static const char text[] =
		"Subject: disk lost\n\nMy laptop was stolen yesterday, the disk was not encrypted.\n";
	char dir[] = "/tmp/sirt-cache-XXXXXX", path[400], cache[300], stale[400], fresh[400];
	struct sirt_rules *plain, *r;
	struct sirt_err err;
	struct utimbuf old;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/10.rules", dir);
	write_rules(path, "rule GONE body /\\b(?:laptop|phone)\\b.{0,80}\\b(?:stolen|lost)\\b|missing device/i\n"
		    "rule NOTENC body /not (?:\\w+ )?encrypted|unencrypted/i\n"
		    "rule SUBJ subject /lost|stolen/i\n");
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	assert_int_equal(mkdir(cache, 0700), 0);
	snprintf(stale, sizeof(stale), "%s/prefilter-stale.hsdb", cache);
	snprintf(fresh, sizeof(fresh), "%s/prefilter-fresh.hsdb", cache);
	write_rules(stale, "");
	write_rules(fresh, "");
	chmod(stale, 0600);
	chmod(fresh, 0600);
	old.actime = old.modtime = time(NULL) - 8 * 24 * 3600;
	assert_int_equal(utime(stale, &old), 0);

	assert_int_equal(sirt_rules_load_flags(dir, NULL, SIRT_RULES_NO_PREFILTER, &plain, &err), 0);
	r = load_cached(dir, cache);
	assert_int_equal(sirt_rules_prefilter_cached(r), 0);
	assert_true(sirt_rules_prefiltered(r) >= 2);
	same_hits(r, plain, text, 1);
	sirt_rules_free(&r);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_not_equal(access(stale, F_OK), 0);   /* a week unused: gone */
	assert_int_equal(access(fresh, F_OK), 0);
	assert_int_equal(unlink(fresh), 0);
	assert_true(cache_files(cache) >= 2);           /* body and subject */

	r = load_cached(dir, cache);
	assert_int_equal(sirt_rules_prefilter_cached(r), (size_t)cache_files(cache));
	same_hits(r, plain, text, 1);
	sirt_rules_free(&r);

	rewrite_cache(cache, "not a Hyperscan database");
	r = load_cached(dir, cache);
	assert_int_equal(sirt_rules_prefilter_cached(r), 0);
	same_hits(r, plain, text, 1);
	sirt_rules_free(&r);
	r = load_cached(dir, cache);                    /* rewritten */
	assert_int_equal(sirt_rules_prefilter_cached(r), (size_t)cache_files(cache));
	sirt_rules_free(&r);

	sirt_rules_free(&plain);
	remove_test_dir(dir, cache, path);
#else
	(void)state;
	skip();
#endif
}

static void test_overrides_and_dirs(void **state)
{
	char dir[] = "/tmp/sirt-rules-XXXXXX", path[256];
	char local[300];
	struct sirt_rules *r = NULL;
	struct sirt_err err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/20-b.rules", dir);
	f = fopen(path, "w");
	fputs("score A 2\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/10-a.rules", dir);
	f = fopen(path, "w");
	fputs("rule A body /a/\nscore A 1\n", f);
	fclose(f);
	snprintf(local, sizeof(local), "%s/local", dir);
	assert_int_equal(sirt_mkdirs(local, 0700, &err), 0);
	snprintf(path, sizeof(path), "%s/local/x.rules", dir);
	f = fopen(path, "w");
	fputs("disable A\nrule B body /b(/\n", f);
	fclose(f);
	/* the broken local file: error names it, nothing is returned */
	assert_int_equal(sirt_rules_load(dir, local, &r, &err), -1);
	assert_null(r);
	assert_non_null(strstr(err.msg, "local/x.rules:2:"));
	f = fopen(path, "w");
	fputs("disable A\nrule B body /b/\ntag B bee\n", f);
	fclose(f);
	assert_int_equal(sirt_rules_load(dir, local, &r, &err), 0);
	assert_int_equal(sirt_rules_count(r), 2);
	sirt_rules_free(&r);
	/* a missing directory is "not found" (callers treat it as no rules) */
	assert_int_equal(sirt_rules_load("/nonexistent/rules", NULL, &r, &err), -1);
	assert_int_equal(err.cls, SIRT_E_NOTFOUND);
	unlink(path);
	rmdir(local);
	snprintf(path, sizeof(path), "%s/20-b.rules", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/10-a.rules", dir);
	unlink(path);
	rmdir(dir);
}

/* The crypto facts the crypto module fills: fields and numeric facts. */
static void test_crypto_fields(void **state)
{
	struct sirt_rules *r;
	struct sirt_verdict v;
	struct sirt_msg *m;
	struct sirt_err err;
	struct sirt_signature sigs[2];

	(void)state;
	r = load("rule SIGNED signed /^yes$/\ntag SIGNED signed\n"
		 "rule ENC encrypted /^yes$/\ntag ENC enc\n"
		 "rule BADSIG signature /^bad$/\ntag BADSIG badsig\n"
		 "rule GOODSIG signature /^good$/\ntag GOODSIG goodsig\n"
		 "rule KNOWN signer /^A1B2/\ntag KNOWN known\n"
		 "rule TRUSTED signer-trusted /^yes$/\ntag TRUSTED trusted-field\n"
		 "meta TRUSTED_FACT trusted && signed == 1 && encrypted == 0\ntag TRUSTED_FACT trusted-fact\n", 0);
	m = msg("Subject: x\n\nhello\n");
	memset(sigs, 0, sizeof(sigs));
	sigs[0].status = SIRT_SIG_GOOD;
	sigs[0].fingerprint = "A1B2C3D4";
	sigs[0].trusted = 1;
	sigs[1].status = SIRT_SIG_BAD;
	sigs[1].fingerprint = "FFFF";
	m->crypto.status = SIRT_CRYPTO_SIGNED;
	m->crypto.sigs = sigs;
	m->crypto.nsigs = 2;
	assert_int_equal(sirt_triage(r, m, &v, &err), 0);
	assert_true(has_tag(&v, "signed") && has_tag(&v, "badsig") && has_tag(&v, "goodsig"));
	assert_true(has_tag(&v, "known") && has_tag(&v, "trusted-field") && has_tag(&v, "trusted-fact"));
	assert_false(has_tag(&v, "enc"));
	sirt_verdict_release(&v);
	/* an untrusted good signature is not "trusted" */
	sigs[0].trusted = 0;
	m->crypto.nsigs = 1;
	assert_int_equal(sirt_triage(r, m, &v, &err), 0);
	assert_false(has_tag(&v, "trusted-field") || has_tag(&v, "trusted-fact"));
	assert_true(has_tag(&v, "goodsig") && !has_tag(&v, "badsig"));
	sirt_verdict_release(&v);
	/* the message does not own the test's signatures */
	m->crypto.sigs = NULL;
	m->crypto.nsigs = 0;
	m->crypto.status = SIRT_CRYPTO_NONE;
	sirt_msg_free(&m);
	sirt_rules_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fields_and_effects),
		cmocka_unit_test(test_metas_counts_facts),
		cmocka_unit_test(test_floors_caps_thresholds),
		cmocka_unit_test(test_unparsed_and_no_rules),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unquoted),
		cmocka_unit_test(test_prefilter_same),
		cmocka_unit_test(test_prefilter_random),
		cmocka_unit_test(test_prefilter_cache),
		cmocka_unit_test(test_prefilter_cache_ids),
		cmocka_unit_test(test_overrides_and_dirs),
		cmocka_unit_test(test_crypto_fields),
	};
	sirt_log_init("test_rules", 0, SIRT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
