/* Unit tests for the store and case threading (store.h, case.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "sirt/case.h"
#include "sirt/store.h"
#include "sirt/util.h"

struct fixture {
	char dir[64];
	char path[128];
	struct sirt_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sirt_err err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/sirt-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sirt.db", f->dir);
	assert_int_equal(sirt_store_open(f->path, 5, &f->s, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	sirt_store_close(&f->s);
	snprintf(cmd, sizeof(cmd), "%s-wal", f->path); unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s-shm", f->path); unlink(cmd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A hand-made parsed message: the store and threading read only these. */
static void fake_msg(struct sirt_msg *m, const char *raw, const char *msgid,
		     const char *irt, const char *subject)
{
	memset(m, 0, sizeof(*m));
	m->raw = (unsigned char *)raw;
	m->raw_len = strlen(raw);
	sirt_sha256_hex(raw, m->raw_len, m->sha256);
	m->message_id = (char *)msgid;
	m->in_reply_to = (char *)irt;
	m->subject = (char *)subject;
}

static int64_t add(struct sirt_store *s, struct sirt_msg *m, enum sirt_severity sev,
		   const char *tag, char ref[32])
{
	struct sirt_message_new mn;
	struct sirt_verdict v;
	struct sirt_err err;
	int64_t case_id = 0, mid;
	char *tags[1];
	int found;

	memset(&v, 0, sizeof(v));
	v.severity = sev;
	v.category = (char *)"test";
	v.reason = (char *)"because";
	v.cvss = -1;
	if (tag) {
		tags[0] = (char *)tag;
		v.tags = tags;
		v.ntags = 1;
	}
	assert_int_equal(sirt_store_begin(s, &err), 0);
	found = sirt_case_thread(s, m, &case_id, &err);
	assert_true(found >= 0);
	if (!found)
		assert_int_equal(sirt_store_case_create(s, 1795000000, "r", m->subject,
							&case_id, ref, &err), 0);
	memset(&mn, 0, sizeof(mn));
	sirt_msg_hash(m);
	mn.case_id = case_id;
	mn.msg = m;
	mn.received = 1795000000;
	mn.verdict = &v;
	mn.store_body = 1;
	assert_int_equal(sirt_store_message_add(s, &mn, &mid, &err), 0);
	assert_int_equal(sirt_store_case_refresh(s, case_id, &err), 0);
	assert_int_equal(sirt_store_commit(s, &err), 0);
	return case_id;
}

static void test_file_mode_and_schema(void **state)
{
	struct fixture *f = *state;
	struct sirt_store *again = NULL;
	struct sirt_err err;
	struct stat st;
	sqlite3 *db;
	sqlite3_stmt *q;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Opening again runs no migration twice. */
	assert_int_equal(sirt_store_open(f->path, 5, &again, &err), 0);
	sirt_store_close(&again);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_int(q, 0) >= 1);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct sirt_store *again = NULL;
	struct sirt_err err;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sirt_store_open(f->path, 5, &again, &err), -1);
	assert_non_null(strstr(err.msg, "newer"));
}

static void test_refs_per_year(void **state)
{
	struct fixture *f = *state;
	struct sirt_err err;
	char ref[32];
	int64_t id;

	assert_int_equal(sirt_store_begin(f->s, &err), 0);
	assert_int_equal(sirt_store_case_create(f->s, 1795000000, NULL, NULL, &id, ref, &err), 0);
	assert_string_equal(ref, "SEC-2026-0001");
	assert_int_equal(sirt_store_case_create(f->s, 1795000000, NULL, NULL, &id, ref, &err), 0);
	assert_string_equal(ref, "SEC-2026-0002");
	/* 2027-01-01T00:00:00Z starts a new sequence. */
	assert_int_equal(sirt_store_case_create(f->s, 1798761600, NULL, NULL, &id, ref, &err), 0);
	assert_string_equal(ref, "SEC-2027-0001");
	assert_int_equal(sirt_store_case_create(f->s, 1798761599, NULL, NULL, &id, ref, &err), 0);
	assert_string_equal(ref, "SEC-2026-0003");
	assert_int_equal(sirt_store_commit(f->s, &err), 0);
	assert_int_equal(sirt_store_find_case(f->s, "sec-2027-0001", &id, &err), 1);
	assert_int_equal(sirt_store_find_case(f->s, "SEC-2027-0002", &id, &err), 0);
}

static void test_threading(void **state)
{
	struct fixture *f = *state;
	struct sirt_msg a, b, c, d, e;
	char ref[32] = "", ref2[32] = "";
	int64_t ca, cb, cc, cd, ce;
	char *refs[2] = { (char *)"unknown@x", (char *)"a1@example.org" };

	fake_msg(&a, "A report", "a1@example.org", NULL, "XSS");
	ca = add(f->s, &a, SIRT_SEV_P3, NULL, ref);
	assert_string_equal(ref, "SEC-2026-0001");
	/* In-Reply-To names a stored message. */
	fake_msg(&b, "B reply", "b1@example.org", "a1@example.org", "Re: XSS");
	cb = add(f->s, &b, SIRT_SEV_P3, NULL, ref2);
	assert_int_equal(cb, ca);
	/* Only References (an unknown one first) name it. */
	fake_msg(&c, "C reply", "c1@example.org", "nope@x", "Re: Re: XSS");
	c.references = refs;
	c.nreferences = 2;
	cc = add(f->s, &c, SIRT_SEV_P3, NULL, ref2);
	assert_int_equal(cc, ca);
	/* A ref in the subject, case-insensitive, in brackets. */
	fake_msg(&d, "D", "d1@example.org", NULL, "status? [sec-2026-0001]");
	cd = add(f->s, &d, SIRT_SEV_P3, NULL, ref2);
	assert_int_equal(cd, ca);
	/* Nothing known: a new case. */
	fake_msg(&e, "E", "e1@example.org", "nope@x", "Re: something else SEC-2026-0099");
	ce = add(f->s, &e, SIRT_SEV_P3, NULL, ref2);
	assert_int_not_equal(ce, ca);
	assert_string_equal(ref2, "SEC-2026-0002");
}

static void test_dedupe_and_severity(void **state)
{
	struct fixture *f = *state;
	struct sirt_msg a, b;
	struct sirt_case c;
	struct sirt_err err;
	char ref[32], ref2[32];
	int64_t cid, mid, cid2;

	fake_msg(&a, "first", "m1@x", NULL, "lost laptop");
	cid = add(f->s, &a, SIRT_SEV_P3, "lost-device", ref);
	assert_int_equal(sirt_store_find_raw(f->s, a.sha256, &mid, &cid2, ref2, &err), 1);
	assert_int_equal(cid2, cid);
	assert_string_equal(ref2, ref);
	/* A follow-up with a higher severity raises the case. */
	fake_msg(&b, "second", "m2@x", "m1@x", "Re: lost laptop");
	add(f->s, &b, SIRT_SEV_P2, "breach", ref2);
	assert_int_equal(sirt_store_case_get(f->s, cid, &c, &err), 1);
	assert_int_equal(c.severity, SIRT_SEV_P2);
	assert_int_equal(c.nmessages, 2);
	assert_int_equal(c.ntags, 2);
	assert_string_equal(c.tags[0], "breach");
	assert_string_equal(c.tags[1], "lost-device");
	sirt_case_release(&c);
	/* A human override wins over the automatic severity... */
	assert_int_equal(sirt_store_case_set_severity(f->s, cid, SIRT_SEV_P4, "alice", "dup", &err), 0);
	assert_int_equal(sirt_store_case_refresh(f->s, cid, &err), 0);
	assert_int_equal(sirt_store_case_get(f->s, cid, &c, &err), 1);
	assert_int_equal(c.severity, SIRT_SEV_P4);
	assert_int_equal(c.severity_auto, SIRT_SEV_P2);
	sirt_case_release(&c);
	/* ...and a tag a human removed stays removed after a refresh. */
	assert_int_equal(sirt_store_case_tag(f->s, cid, "breach", 0, "alice", NULL, &err), 0);
	assert_int_equal(sirt_store_case_refresh(f->s, cid, &err), 0);
	assert_int_equal(sirt_store_case_get(f->s, cid, &c, &err), 1);
	assert_int_equal(c.ntags, 1);
	assert_string_equal(c.tags[0], "lost-device");
	sirt_case_release(&c);
}

static void test_state_and_audit(void **state)
{
	struct fixture *f = *state;
	struct sirt_audit_row *a = NULL;
	struct sirt_msg m;
	struct sirt_err err;
	char ref[32];
	size_t n, i;
	int64_t cid;

	fake_msg(&m, "x", "s1@x", NULL, "odd");
	cid = add(f->s, &m, SIRT_SEV_P3, NULL, ref);
	assert_int_equal(sirt_store_case_set_state(f->s, cid, "bogus", "a", NULL, &err), -1);
	assert_int_equal(err.cls, SIRT_E_USAGE);
	assert_int_equal(sirt_store_case_set_state(f->s, cid, "contained", "bob", "isolated", &err), 0);
	assert_int_equal(sirt_store_case_audit(f->s, cid, &a, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].actor, "bob");
	assert_string_equal(a[0].action, "state");
	assert_string_equal(a[0].detail, "new -> contained");
	assert_string_equal(a[0].note, "isolated");
	for (i = 0; i < n; i++)
		sirt_audit_row_release(&a[i]);
	free(a);
}

static void test_ref_parse(void **state)
{
	static const struct { const char *in; const char *ref; } cases[] = {
		{ "Re: [SEC-2026-0042] status", "SEC-2026-0042" },
		{ "sec-2026-7 follow up", "SEC-2026-0007" },
		{ "SEC-2026-0000", NULL },
		{ "XSEC-2026-0001", NULL },
		{ "SEC-2026-", NULL },
		{ "SEC-26-0001", NULL },
		{ "SEC-2026-0001x", NULL },
		{ "ticket SEC-2026-123456789", NULL },
		{ "two SEC-2026-0003 SEC-2026-0004", "SEC-2026-0003" },
		{ "", NULL },
	};
	char ref[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = sirt_case_ref_in(cases[i].in, ref);
		if (cases[i].ref) {
			assert_int_equal(got, 1);
			assert_string_equal(ref, cases[i].ref);
		} else {
			assert_int_equal(got, 0);
		}
	}
	assert_true(sirt_case_state_valid("closed"));
	assert_false(sirt_case_state_valid("done"));
}

static void test_source_state(void **state)
{
	struct fixture *f = *state;
	struct sirt_err err;
	char *v = NULL;

	assert_int_equal(sirt_store_state_get(f->s, "inbox", "uidvalidity", &v, &err), 0);
	assert_int_equal(sirt_store_state_set(f->s, "inbox", "uidvalidity", "42", &err), 0);
	assert_int_equal(sirt_store_state_set(f->s, "inbox", "uidvalidity", "43", &err), 0);
	assert_int_equal(sirt_store_state_get(f->s, "inbox", "uidvalidity", &v, &err), 1);
	assert_string_equal(v, "43");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_mode_and_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs_per_year, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedupe_and_severity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_and_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_state, setup, teardown),
		cmocka_unit_test(test_ref_parse),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
