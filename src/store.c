/* store.c - the SQLite store (see store.h).  All SQL of sirt is here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <jansson.h>
#include "sirt/buf.h"
#include "sirt/case.h"
#include "sirt/log.h"
#include "sirt/store.h"
#include "sirt/util.h"

#define STMT_CACHE 48

struct stmt_slot {
	const char *sql;      /* identity: the static string's address */
	sqlite3_stmt *st;
};

struct sirt_store {
	sqlite3 *db;
	char *path;
	struct stmt_slot cache[STMT_CACHE];
	int in_tx;
	int batch;    /* inside sirt_store_batch_begin: begin = SAVEPOINT */
};

/* Forward migrations: migrations[i] takes user_version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1: the walking skeleton */
	"CREATE TABLE cases("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  year INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  severity_auto INTEGER NOT NULL DEFAULT 3,"
	"  severity_override INTEGER,"
	"  category TEXT,"
	"  reason TEXT,"
	"  state TEXT NOT NULL DEFAULT 'new',"
	"  received TEXT NOT NULL,"
	"  updated TEXT NOT NULL,"
	"  reporter TEXT,"
	"  subject TEXT,"
	"  unparsed INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE(year, seq));"
	"CREATE TABLE case_seq(year INTEGER PRIMARY KEY, last INTEGER NOT NULL);"
	/* origin: auto (from verdicts), human (sirt set --tag), suppressed
	 * (a human removed an automatic tag: it stays removed) */
	"CREATE TABLE case_tags("
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  tag TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  PRIMARY KEY(case_id, tag));"
	"CREATE TABLE messages("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  sha256 TEXT NOT NULL UNIQUE,"
	"  raw BLOB NOT NULL,"
	"  raw_size INTEGER NOT NULL,"
	"  received TEXT NOT NULL,"
	"  origin TEXT,"
	"  message_id TEXT,"
	"  in_reply_to TEXT,"
	"  refs TEXT,"
	"  from_addr TEXT,"
	"  from_name TEXT,"
	"  subject TEXT,"
	"  date TEXT,"
	"  unparsed INTEGER NOT NULL DEFAULT 0,"
	"  unparsed_reason TEXT,"
	"  severity INTEGER NOT NULL,"
	"  category TEXT,"
	"  verdict_json TEXT,"
	"  crypto_json TEXT,"
	"  body TEXT,"
	"  urls_json TEXT);"
	"CREATE INDEX messages_message_id ON messages(message_id);"
	"CREATE INDEX messages_case ON messages(case_id);"
	"CREATE TABLE parts("
	"  message_id INTEGER NOT NULL REFERENCES messages(id),"
	"  idx INTEGER NOT NULL,"
	"  parent INTEGER NOT NULL,"
	"  depth INTEGER NOT NULL,"
	"  content_type TEXT,"
	"  charset TEXT,"
	"  filename TEXT,"
	"  disposition TEXT,"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT,"
	"  attachment INTEGER NOT NULL,"
	"  body INTEGER NOT NULL,"
	"  from_crypto INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(message_id, idx));"
	"CREATE TABLE audit("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  at TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT,"
	"  note TEXT);"
	"CREATE INDEX audit_case ON audit(case_id);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;"
	"CREATE TABLE source_state("
	"  source TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT,"
	"  PRIMARY KEY(source, key));",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Translate an SQLite failure into err; the class says whether to retry. */
static int db_fail(struct sirt_store *s, int rc, const char *what,
		   struct sirt_err *err)
{
	int prim = rc & 0xff;
	enum sirt_err_class cls = SIRT_E_FATAL;

	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED || prim == SQLITE_FULL ||
	    prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN || prim == SQLITE_NOMEM ||
	    prim == SQLITE_PROTOCOL)
		cls = SIRT_E_TEMP;
	return sirt_err_set(err, cls, "database %s: %s (%s)", s->path, what,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/* The prepared statement for sql (a string literal), reset and with its
 * bindings cleared.  Cached for the life of the store. */
static sqlite3_stmt *stmt(struct sirt_store *s, const char *sql,
			  struct sirt_err *err)
{
	int i, rc;

	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	}
	if (i == STMT_CACHE) {
		sirt_err_set(err, SIRT_E_FATAL, "statement cache full");
		return NULL;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				&s->cache[i].st, NULL);
	if (rc != SQLITE_OK) {
		db_fail(s, rc, "cannot prepare statement", err);
		return NULL;
	}
	s->cache[i].sql = sql;
	return s->cache[i].st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? sirt_xstrdup((const char *)t) : NULL;
}

static int exec(struct sirt_store *s, const char *sql, struct sirt_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		sirt_err_set(err, SIRT_E_FATAL, "database %s: %s", s->path,
			     msg ? msg : sqlite3_errstr(rc));
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
		    (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR)
			err->cls = SIRT_E_TEMP;
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int migrate(struct sirt_store *s, struct sirt_err *err)
{
	sqlite3_stmt *st;
	int v, rc;

	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_fail(s, rc, "cannot read schema version", err);
		goto fail;
	}
	v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (v > SCHEMA_VERSION) {
		sirt_err_set(err, SIRT_E_FATAL, "database %s has schema version %d, "
			     "newer than this sirt (%d): upgrade sirt", s->path, v,
			     SCHEMA_VERSION);
		goto fail;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char pragma[64];
		if (exec(s, migrations[v], err) < 0) {
			sirt_err_prefix(err, "migration to schema %d failed", v + 1);
			goto fail;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(s, pragma, err) < 0)
			goto fail;
		sirt_info("database %s: migrated to schema %d", s->path, v + 1);
	}
	return exec(s, "COMMIT", err);
fail:
	exec(s, "ROLLBACK", NULL);
	return -1;
}

int sirt_store_open(const char *path, int busy_timeout_s,
		    struct sirt_store **store_r, struct sirt_err *err)
{
	struct sirt_store *s;
	int fd, rc;

	/* Create the file 0600 ourselves: SQLite would use the umask. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* Temporary whatever the reason (permissions, read-only or full
	 * file system): the MTA keeps the message while an admin fixes it. */
	if (fd < 0)
		return sirt_err_set(err, SIRT_E_TEMP, "cannot open database '%s': %s",
				    path, strerror(errno));
	close(fd);
	s = sirt_xcalloc(1, sizeof(*s));
	s->path = sirt_xstrdup(path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		db_fail(s, rc, "cannot open", err);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, busy_timeout_s * 1000);
	if (exec(s, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec(s, "PRAGMA synchronous = FULL", err) < 0 ||
	    exec(s, "PRAGMA foreign_keys = ON", err) < 0 ||
	    exec(s, "PRAGMA secure_delete = ON", err) < 0)
		goto fail;
	if (migrate(s, err) < 0)
		goto fail;
	*store_r = s;
	return 0;
fail:
	sirt_store_close(&s);
	return -1;
}

void sirt_store_close(struct sirt_store **sp)
{
	struct sirt_store *s = *sp;
	int i;

	if (!s)
		return;
	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		sqlite3_finalize(s->cache[i].st);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
	*sp = NULL;
}

int sirt_store_begin(struct sirt_store *s, struct sirt_err *err)
{
	if (s->batch) {
		if (exec(s, "SAVEPOINT sirt_tx", err) < 0)
			return -1;
		s->in_tx = 1;
		return 0;
	}
	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	s->in_tx = 1;
	return 0;
}

int sirt_store_commit(struct sirt_store *s, struct sirt_err *err)
{
	if (s->batch) {
		if (exec(s, "RELEASE sirt_tx", err) < 0) {
			sirt_store_rollback(s);
			return -1;
		}
		s->in_tx = 0;
		return 0;
	}
	if (exec(s, "COMMIT", err) < 0) {
		sirt_store_rollback(s);
		return -1;
	}
	s->in_tx = 0;
	return 0;
}

void sirt_store_rollback(struct sirt_store *s)
{
	if (s->batch) {
		/* Undo this message only; the batch goes on. */
		if (s->in_tx) {
			sqlite3_exec(s->db, "ROLLBACK TO sirt_tx", NULL, NULL, NULL);
			sqlite3_exec(s->db, "RELEASE sirt_tx", NULL, NULL, NULL);
		}
		s->in_tx = 0;
		return;
	}
	if (s->in_tx || !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

/* Batch commit (store.h): one BEGIN IMMEDIATE ... COMMIT around many
 * intakes, each of which becomes a savepoint. */
int sirt_store_batch_begin(struct sirt_store *s, struct sirt_err *err)
{
	if (s->batch || s->in_tx)
		return sirt_err_set(err, SIRT_E_FATAL, "store: batch inside a transaction");
	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	s->batch = 1;
	return 0;
}

int sirt_store_batch_commit(struct sirt_store *s, struct sirt_err *err)
{
	if (!s->batch)
		return 0;
	s->batch = 0;
	s->in_tx = 0;
	if (exec(s, "COMMIT", err) < 0) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void sirt_store_batch_rollback(struct sirt_store *s)
{
	if (!s->batch)
		return;
	s->batch = 0;
	s->in_tx = 0;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Step a statement expecting no row (INSERT/UPDATE/DELETE). */
static int step_done(struct sirt_store *s, sqlite3_stmt *st, const char *what,
		     struct sirt_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, what, err);
	return 0;
}

static void now_iso(char out[32])
{
	sirt_fmt_iso8601(sirt_now(), out);
}

/* ---- cases ---- */

void sirt_case_release(struct sirt_case *c)
{
	size_t i;

	free(c->category); free(c->state); free(c->received); free(c->updated);
	free(c->reporter); free(c->subject); free(c->reason);
	for (i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	memset(c, 0, sizeof(*c));
}

static const char SQL_FIND_RAW[] =
	"SELECT m.id, m.case_id, c.ref FROM messages m JOIN cases c ON c.id = m.case_id"
	" WHERE m.sha256 = ?1";

int sirt_store_find_raw(struct sirt_store *s, const char *sha256,
			int64_t *message_id_r, int64_t *case_id_r,
			char ref_r[32], struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_FIND_RAW, err);
	int rc;

	if (!st)
		return -1;
	bind_text(st, 1, sha256);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (message_id_r)
			*message_id_r = sqlite3_column_int64(st, 0);
		if (case_id_r)
			*case_id_r = sqlite3_column_int64(st, 1);
		if (ref_r)
			snprintf(ref_r, 32, "%s", (const char *)sqlite3_column_text(st, 2));
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, "cannot look up message", err);
	return 0;
}

/* Run sql (one text parameter) and read one integer: 1 found (*id_r),
 * 0 no row, -1 error naming what. */
static int lookup_id(struct sirt_store *s, const char *sql, const char *key,
		     int64_t *id_r, const char *what, struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, sql, err);
	int rc;

	if (!st)
		return -1;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, what, err);
	return 0;
}

static const char SQL_FIND_MSGID[] =
	"SELECT case_id FROM messages WHERE message_id = ?1 ORDER BY id LIMIT 1";

int sirt_store_find_by_message_id(struct sirt_store *s, const char *msgid,
				  int64_t *case_id_r, struct sirt_err *err)
{
	return lookup_id(s, SQL_FIND_MSGID, msgid, case_id_r,
			 "cannot look up Message-ID", err);
}

static const char SQL_FIND_REF[] = "SELECT id FROM cases WHERE ref = upper(?1)";

int sirt_store_find_case(struct sirt_store *s, const char *ref,
			 int64_t *case_id_r, struct sirt_err *err)
{
	return lookup_id(s, SQL_FIND_REF, ref, case_id_r, "cannot look up case", err);
}

static const char SQL_SEQ_NEXT[] =
	"INSERT INTO case_seq(year, last) VALUES (?1, 1)"
	" ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last";
static const char SQL_CASE_INSERT[] =
	"INSERT INTO cases(ref, year, seq, state, received, updated, reporter, subject)"
	" VALUES (?1, ?2, ?3, 'new', ?4, ?4, ?5, ?6)";

int sirt_store_case_create(struct sirt_store *s, time_t received,
			   const char *reporter, const char *subject,
			   int64_t *case_id_r, char ref_r[32],
			   struct sirt_err *err)
{
	sqlite3_stmt *st;
	struct tm tm;
	char when[32];
	int year, seq, rc;

	gmtime_r(&received, &tm);
	year = tm.tm_year + 1900;
	if (!(st = stmt(s, SQL_SEQ_NEXT, err)))
		return -1;
	sqlite3_bind_int(st, 1, year);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(s, rc, "cannot allocate case number", err);
	}
	seq = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	sirt_case_ref_format(year, seq, ref_r);
	sirt_fmt_iso8601(received, when);
	if (!(st = stmt(s, SQL_CASE_INSERT, err)))
		return -1;
	bind_text(st, 1, ref_r);
	sqlite3_bind_int(st, 2, year);
	sqlite3_bind_int(st, 3, seq);
	bind_text(st, 4, when);
	bind_text(st, 5, reporter);
	bind_text(st, 6, subject);
	if (step_done(s, st, "cannot create case", err) < 0)
		return -1;
	*case_id_r = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* The columns case_from_row() reads, in its order. */
#define CASE_SELECT \
	"SELECT c.id, c.ref, coalesce(c.severity_override, c.severity_auto)," \
	" c.severity_auto, c.severity_override, c.category, c.state, c.received," \
	" c.updated, c.reporter, c.subject, c.reason, c.unparsed," \
	" (SELECT count(*) FROM messages m WHERE m.case_id = c.id)," \
	" (SELECT group_concat(tag, char(10)) FROM (SELECT tag FROM case_tags t" \
	"   WHERE t.case_id = c.id AND t.origin != 'suppressed' ORDER BY tag))" \
	" FROM cases c"

static void case_from_row(sqlite3_stmt *st, struct sirt_case *c)
{
	const char *tags;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	snprintf(c->ref, sizeof(c->ref), "%s", (const char *)sqlite3_column_text(st, 1));
	c->severity = (enum sirt_severity)sqlite3_column_int(st, 2);
	c->severity_auto = (enum sirt_severity)sqlite3_column_int(st, 3);
	c->severity_override = sqlite3_column_type(st, 4) == SQLITE_NULL ? SIRT_SEV_NONE :
		(enum sirt_severity)sqlite3_column_int(st, 4);
	c->category = col_text(st, 5);
	c->state = col_text(st, 6);
	c->received = col_text(st, 7);
	c->updated = col_text(st, 8);
	c->reporter = col_text(st, 9);
	c->subject = col_text(st, 10);
	c->reason = col_text(st, 11);
	c->unparsed = sqlite3_column_int(st, 12);
	c->nmessages = sqlite3_column_int(st, 13);
	tags = (const char *)sqlite3_column_text(st, 14);
	while (tags && *tags) {
		size_t n = strcspn(tags, "\n");
		c->tags = sirt_xrealloc(c->tags, (c->ntags + 1) * sizeof(char *));
		c->tags[c->ntags++] = sirt_xstrndup(tags, n);
		tags += n;
		if (*tags)
			tags++;
	}
}

static const char SQL_CASE_GET[] = CASE_SELECT " WHERE c.id = ?1";

int sirt_store_case_get(struct sirt_store *s, int64_t case_id,
			struct sirt_case *c, struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_CASE_GET, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		case_from_row(st, c);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, "cannot read case", err);
	return 0;
}

static const char SQL_CASE_LIST[] = CASE_SELECT
	" WHERE (?1 IS NULL OR coalesce(c.severity_override, c.severity_auto) = ?1)"
	"   AND (?2 IS NULL OR c.state = ?2)"
	" ORDER BY c.received DESC, c.id DESC";

int sirt_store_case_list(struct sirt_store *s, const struct sirt_case_filter *f,
			 struct sirt_case **cases_r, size_t *n_r,
			 struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_CASE_LIST, err);
	struct sirt_case *v = NULL;
	size_t n = 0;
	int rc;

	if (!st)
		return -1;
	if (f && f->severity)
		sqlite3_bind_int(st, 1, f->severity);
	if (f && f->state)
		bind_text(st, 2, f->state);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sirt_xrealloc(v, (n + 1) * sizeof(*v));
		case_from_row(st, &v[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		while (n)
			sirt_case_release(&v[--n]);
		free(v);
		return db_fail(s, rc, "cannot list cases", err);
	}
	*cases_r = v;
	*n_r = n;
	return 0;
}

/* The case's automatic verdict: the highest severity of its messages
 * (P1 = 1 is highest), and the category/reason of the first message
 * with that severity; tags: the union of the messages' verdict tags. */
static const char SQL_REFRESH[] =
	"UPDATE cases SET"
	" severity_auto = (SELECT min(severity) FROM messages WHERE case_id = ?1),"
	" category = (SELECT category FROM messages WHERE case_id = ?1"
	"   ORDER BY severity, id LIMIT 1),"
	" reason = (SELECT json_extract(verdict_json, '$.reason') FROM messages"
	"   WHERE case_id = ?1 ORDER BY severity, id LIMIT 1),"
	" unparsed = (SELECT max(unparsed) FROM messages WHERE case_id = ?1),"
	" updated = ?2"
	" WHERE id = ?1";
static const char SQL_TAGS_DROP_AUTO[] =
	"DELETE FROM case_tags WHERE case_id = ?1 AND origin = 'auto'";
static const char SQL_TAGS_AUTO[] =
	"INSERT OR IGNORE INTO case_tags(case_id, tag, origin)"
	" SELECT DISTINCT ?1, j.value, 'auto' FROM messages m,"
	"   json_each(m.verdict_json, '$.tags') j"
	" WHERE m.case_id = ?1 AND m.verdict_json IS NOT NULL AND json_valid(m.verdict_json)"
	"   AND j.type = 'text'";
static const char SQL_TAG_UNPARSED[] =
	"INSERT OR IGNORE INTO case_tags(case_id, tag, origin)"
	" SELECT ?1, 'unparsed', 'auto' WHERE EXISTS"
	" (SELECT 1 FROM messages WHERE case_id = ?1 AND unparsed)";

int sirt_store_case_refresh(struct sirt_store *s, int64_t case_id,
			    struct sirt_err *err)
{
	sqlite3_stmt *st;
	char now[32];

	now_iso(now);
	if (!(st = stmt(s, SQL_REFRESH, err)))
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	bind_text(st, 2, now);
	if (step_done(s, st, "cannot update case", err) < 0)
		return -1;
	if (!(st = stmt(s, SQL_TAGS_DROP_AUTO, err)))
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	if (step_done(s, st, "cannot update tags", err) < 0)
		return -1;
	if (!(st = stmt(s, SQL_TAGS_AUTO, err)))
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	if (step_done(s, st, "cannot update tags", err) < 0)
		return -1;
	if (!(st = stmt(s, SQL_TAG_UNPARSED, err)))
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	return step_done(s, st, "cannot update tags", err);
}

static const char SQL_CASE_STATE[] = "SELECT state FROM cases WHERE id = ?1";
static const char SQL_SET_STATE[] =
	"UPDATE cases SET state = ?2, updated = ?3 WHERE id = ?1";

/* Run fn inside a transaction unless one is open. */
static int tx_begin(struct sirt_store *s, int *own, struct sirt_err *err)
{
	*own = sqlite3_get_autocommit(s->db);
	return *own ? sirt_store_begin(s, err) : 0;
}

static int tx_end(struct sirt_store *s, int own, int rc, struct sirt_err *err)
{
	if (!own)
		return rc;
	if (rc < 0) {
		sirt_store_rollback(s);
		return -1;
	}
	return sirt_store_commit(s, err);
}

int sirt_store_case_set_state(struct sirt_store *s, int64_t case_id,
			      const char *state, const char *actor,
			      const char *note, struct sirt_err *err)
{
	sqlite3_stmt *st;
	char now[32], *old = NULL;
	struct sirt_buf detail;
	int own, rc = -1;

	if (!sirt_case_state_valid(state))
		return sirt_err_set(err, SIRT_E_USAGE, "unknown state '%s'", state);
	if (tx_begin(s, &own, err) < 0)
		return -1;
	sirt_buf_init(&detail);
	if (!(st = stmt(s, SQL_CASE_STATE, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		sirt_err_set(err, SIRT_E_NOTFOUND, "no such case");
		goto out;
	}
	old = col_text(st, 0);
	sqlite3_reset(st);
	if (old && !strcmp(old, state)) {
		rc = 0;   /* no change, nothing to audit */
		goto out;
	}
	now_iso(now);
	if (!(st = stmt(s, SQL_SET_STATE, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	bind_text(st, 2, state);
	bind_text(st, 3, now);
	if (step_done(s, st, "cannot set state", err) < 0)
		goto out;
	sirt_buf_addf(&detail, "%s -> %s", old ? old : "?", state);
	rc = sirt_store_audit(s, case_id, actor, "state", detail.data, note, err);
out:
	free(old);
	sirt_buf_release(&detail);
	return tx_end(s, own, rc, err);
}

static const char SQL_TAG_HUMAN[] =
	"INSERT INTO case_tags(case_id, tag, origin) VALUES (?1, ?2, 'human')"
	" ON CONFLICT(case_id, tag) DO UPDATE SET origin = 'human'";
/* A removed tag stays as 'suppressed' so that triage does not add it
 * back; removing a tag the case does not show changes no row. */
static const char SQL_TAG_SUPPRESS[] =
	"UPDATE case_tags SET origin = 'suppressed'"
	" WHERE case_id = ?1 AND tag = ?2 AND origin != 'suppressed'";
static const char SQL_TOUCH[] = "UPDATE cases SET updated = ?2 WHERE id = ?1";

int sirt_store_case_tag(struct sirt_store *s, int64_t case_id, const char *tag,
			int add, const char *actor, const char *note,
			struct sirt_err *err)
{
	sqlite3_stmt *st;
	char now[32];
	struct sirt_buf detail;
	int own, rc = -1;

	if (tx_begin(s, &own, err) < 0)
		return -1;
	sirt_buf_init(&detail);
	if (!(st = stmt(s, add ? SQL_TAG_HUMAN : SQL_TAG_SUPPRESS, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	bind_text(st, 2, tag);
	if (step_done(s, st, "cannot tag case", err) < 0)
		goto out;
	if (!add && sqlite3_changes(s->db) == 0) {
		sirt_err_set(err, SIRT_E_USAGE, "the case has no tag '%s'", tag);
		goto out;
	}
	now_iso(now);
	if (!(st = stmt(s, SQL_TOUCH, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	bind_text(st, 2, now);
	if (step_done(s, st, "cannot update case", err) < 0)
		goto out;
	sirt_buf_addf(&detail, "%c%s", add ? '+' : '-', tag);
	rc = sirt_store_audit(s, case_id, actor, "tag", detail.data, note, err);
out:
	sirt_buf_release(&detail);
	return tx_end(s, own, rc, err);
}

static const char SQL_SEV_GET[] =
	"SELECT coalesce(severity_override, severity_auto) FROM cases WHERE id = ?1";
static const char SQL_SEV_SET[] =
	"UPDATE cases SET severity_override = ?2, updated = ?3 WHERE id = ?1";

int sirt_store_case_set_severity(struct sirt_store *s, int64_t case_id,
				 enum sirt_severity sev, const char *actor,
				 const char *note, struct sirt_err *err)
{
	sqlite3_stmt *st;
	char now[32];
	struct sirt_buf detail;
	enum sirt_severity old;
	int own, rc = -1;

	if (tx_begin(s, &own, err) < 0)
		return -1;
	sirt_buf_init(&detail);
	if (!(st = stmt(s, SQL_SEV_GET, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		sirt_err_set(err, SIRT_E_NOTFOUND, "no such case");
		goto out;
	}
	old = (enum sirt_severity)sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	now_iso(now);
	if (!(st = stmt(s, SQL_SEV_SET, err)))
		goto out;
	sqlite3_bind_int64(st, 1, case_id);
	if (sev)
		sqlite3_bind_int(st, 2, sev);
	bind_text(st, 3, now);
	if (step_done(s, st, "cannot set severity", err) < 0)
		goto out;
	sirt_buf_addf(&detail, "%s -> %s", sirt_severity_name(old),
		      sev ? sirt_severity_name(sev) : "automatic");
	rc = sirt_store_audit(s, case_id, actor, "severity", detail.data, note, err);
out:
	sirt_buf_release(&detail);
	return tx_end(s, own, rc, err);
}

/* ---- messages ---- */

void sirt_message_row_release(struct sirt_message_row *m)
{
	free(m->received); free(m->origin); free(m->message_id); free(m->from);
	free(m->subject); free(m->date); free(m->unparsed_reason);
	free(m->verdict_json); free(m->crypto_json); free(m->body);
	free(m->parts_json); free(m->urls_json);
	memset(m, 0, sizeof(*m));
}

static char *refs_join(const struct sirt_msg *msg)
{
	struct sirt_buf b;
	size_t i;

	if (!msg->nreferences)
		return NULL;
	sirt_buf_init(&b);
	for (i = 0; i < msg->nreferences; i++) {
		if (i)
			sirt_buf_addc(&b, ' ');
		sirt_buf_adds(&b, msg->references[i]);
	}
	return sirt_buf_detach(&b, NULL);
}

static char *urls_json(const struct sirt_msg *msg)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	for (i = 0; i < msg->nurls; i++)
		json_array_append_new(a, json_string(msg->urls[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static const char SQL_MSG_INSERT[] =
	"INSERT INTO messages(case_id, sha256, raw, raw_size, received, origin,"
	" message_id, in_reply_to, refs, from_addr, from_name, subject, date,"
	" unparsed, unparsed_reason, severity, category, verdict_json, crypto_json,"
	" body, urls_json)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	" ?16, ?17, ?18, ?19, ?20, ?21)";
static const char SQL_PART_INSERT[] =
	"INSERT INTO parts(message_id, idx, parent, depth, content_type, charset,"
	" filename, disposition, size, sha256, attachment, body, from_crypto)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

int sirt_store_message_add(struct sirt_store *s, const struct sirt_message_new *m,
			   int64_t *message_id_r, struct sirt_err *err)
{
	const struct sirt_msg *msg = m->msg;
	sqlite3_stmt *st;
	char when[32], *refs = NULL, *urls = NULL, *verdict = NULL;
	int64_t id;
	size_t i;
	int rc = -1;

	sirt_fmt_iso8601(m->received, when);
	refs = refs_join(msg);
	urls = urls_json(msg);
	verdict = m->verdict ? sirt_verdict_to_json(m->verdict) : NULL;
	for (i = 0; i < msg->nparts; i++)
		if (msg->parts[i].kind == SIRT_PART_SINGLE && msg->parts[i].data &&
		    !msg->parts[i].sha256[0])
			break;
	if (!msg->sha256[0] || i < msg->nparts) {
		sirt_err_set(err, SIRT_E_FATAL, "message to store was not hashed");
		goto out;
	}
	if (!(st = stmt(s, SQL_MSG_INSERT, err)))
		goto out;
	sqlite3_bind_int64(st, 1, m->case_id);
	bind_text(st, 2, msg->sha256);
	sqlite3_bind_blob64(st, 3, msg->raw, msg->raw_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)msg->raw_len);
	bind_text(st, 5, when);
	bind_text(st, 6, m->origin);
	bind_text(st, 7, msg->message_id);
	bind_text(st, 8, msg->in_reply_to);
	bind_text(st, 9, refs);
	bind_text(st, 10, msg->from.addr);
	bind_text(st, 11, msg->from.name);
	bind_text(st, 12, msg->subject);
	bind_text(st, 13, msg->date);
	sqlite3_bind_int(st, 14, msg->unparsed);
	bind_text(st, 15, msg->unparsed_reason);
	sqlite3_bind_int(st, 16, m->verdict ? (int)m->verdict->severity : SIRT_SEV_P3);
	bind_text(st, 17, m->verdict ? m->verdict->category : NULL);
	bind_text(st, 18, verdict);
	bind_text(st, 19, m->crypto_json);
	bind_text(st, 20, m->store_body ? msg->body : NULL);
	bind_text(st, 21, m->store_body ? urls : NULL); /* URLs are text too */
	if (step_done(s, st, "cannot store message", err) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(s->db);
	for (i = 0; i < msg->nparts; i++) {
		const struct sirt_part *p = &msg->parts[i];
		if (!(st = stmt(s, SQL_PART_INSERT, err)))
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, p->index);
		sqlite3_bind_int(st, 3, p->parent);
		sqlite3_bind_int(st, 4, p->depth);
		bind_text(st, 5, p->content_type);
		bind_text(st, 6, p->charset);
		/* store_decrypted = no: a decrypted part's name is text
		 * that arrived encrypted too */
		bind_text(st, 7, p->from_crypto && !m->store_body ? NULL : p->filename);
		bind_text(st, 8, p->disposition);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)p->size);
		bind_text(st, 10, p->kind == SIRT_PART_SINGLE ? p->sha256 : NULL);
		sqlite3_bind_int(st, 11, p->is_attachment);
		sqlite3_bind_int(st, 12, p->is_body);
		sqlite3_bind_int(st, 13, p->from_crypto);
		if (step_done(s, st, "cannot store message part", err) < 0)
			goto out;
	}
	if (message_id_r)
		*message_id_r = id;
	rc = 0;
out:
	free(refs);
	free(urls);
	free(verdict);
	return rc;
}

static const char SQL_MSG_VERDICT[] =
	"UPDATE messages SET severity = ?2, category = ?3, verdict_json = ?4 WHERE id = ?1";

int sirt_store_message_set_verdict(struct sirt_store *s, int64_t message_id,
				   const struct sirt_verdict *v, struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_MSG_VERDICT, err);
	char *js;
	int rc;

	if (!st)
		return -1;
	js = sirt_verdict_to_json(v);
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int(st, 2, v->severity);
	bind_text(st, 3, v->category);
	bind_text(st, 4, js);
	rc = step_done(s, st, "cannot update verdict", err);
	free(js);
	return rc;
}

static const char SQL_CASE_MSGS[] =
	"SELECT m.id, m.case_id, m.sha256, m.received, m.origin, m.message_id,"
	" CASE WHEN m.from_name IS NOT NULL AND m.from_name != ''"
	"   THEN m.from_name || ' <' || coalesce(m.from_addr, '') || '>'"
	"   ELSE m.from_addr END,"
	" m.subject, m.date, m.raw_size, m.unparsed, m.unparsed_reason, m.severity,"
	" m.verdict_json, m.crypto_json, m.body,"
	" (SELECT json_group_array(json_object('index', idx, 'parent', parent,"
	"   'depth', depth, 'type', content_type, 'charset', charset,"
	"   'filename', filename, 'disposition', disposition, 'size', size,"
	"   'sha256', sha256, 'attachment', json(CASE WHEN attachment THEN 'true' ELSE 'false' END),"
	"   'body', json(CASE WHEN body THEN 'true' ELSE 'false' END),"
	"   'decrypted', json(CASE WHEN from_crypto THEN 'true' ELSE 'false' END)))"
	"   FROM (SELECT * FROM parts p WHERE p.message_id = m.id ORDER BY idx)),"
	" m.urls_json"
	" FROM messages m WHERE m.case_id = ?1 ORDER BY m.id";

int sirt_store_case_messages(struct sirt_store *s, int64_t case_id,
			     struct sirt_message_row **rows_r, size_t *n_r,
			     struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_CASE_MSGS, err);
	struct sirt_message_row *v = NULL, *r;
	size_t n = 0;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sirt_xrealloc(v, (n + 1) * sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->case_id = sqlite3_column_int64(st, 1);
		snprintf(r->sha256, sizeof(r->sha256), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		r->received = col_text(st, 3);
		r->origin = col_text(st, 4);
		r->message_id = col_text(st, 5);
		r->from = col_text(st, 6);
		r->subject = col_text(st, 7);
		r->date = col_text(st, 8);
		r->raw_size = (size_t)sqlite3_column_int64(st, 9);
		r->unparsed = sqlite3_column_int(st, 10);
		r->unparsed_reason = col_text(st, 11);
		r->severity = (enum sirt_severity)sqlite3_column_int(st, 12);
		r->verdict_json = col_text(st, 13);
		r->crypto_json = col_text(st, 14);
		r->body = col_text(st, 15);
		r->parts_json = col_text(st, 16);
		r->urls_json = col_text(st, 17);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		while (n)
			sirt_message_row_release(&v[--n]);
		free(v);
		return db_fail(s, rc, "cannot read messages", err);
	}
	*rows_r = v;
	*n_r = n;
	return 0;
}

static const char SQL_RAW[] = "SELECT raw FROM messages WHERE id = ?1";

int sirt_store_message_raw(struct sirt_store *s, int64_t message_id,
			   unsigned char **raw_r, size_t *len_r,
			   struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_RAW, err);
	size_t n;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return sirt_err_set(err, SIRT_E_NOTFOUND, "no message %lld",
					    (long long)message_id);
		return db_fail(s, rc, "cannot read message", err);
	}
	n = (size_t)sqlite3_column_bytes(st, 0);
	*raw_r = sirt_xmalloc(n + 1);
	if (n)
		memcpy(*raw_r, sqlite3_column_blob(st, 0), n);
	(*raw_r)[n] = '\0';
	*len_r = n;
	sqlite3_reset(st);
	return 0;
}

/* ---- audit ---- */

static const char SQL_AUDIT_ADD[] =
	"INSERT INTO audit(case_id, at, actor, action, detail, note)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int sirt_store_audit(struct sirt_store *s, int64_t case_id, const char *actor,
		     const char *action, const char *detail, const char *note,
		     struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_AUDIT_ADD, err);
	char now[32];

	if (!st)
		return -1;
	now_iso(now);
	sqlite3_bind_int64(st, 1, case_id);
	bind_text(st, 2, now);
	bind_text(st, 3, actor ? actor : "sirt");
	bind_text(st, 4, action);
	bind_text(st, 5, detail);
	bind_text(st, 6, note);
	return step_done(s, st, "cannot write audit", err);
}

static const char SQL_AUDIT_LIST[] =
	"SELECT at, actor, action, detail, note FROM audit WHERE case_id = ?1 ORDER BY id";

int sirt_store_case_audit(struct sirt_store *s, int64_t case_id,
			  struct sirt_audit_row **rows_r, size_t *n_r,
			  struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_AUDIT_LIST, err);
	struct sirt_audit_row *v = NULL;
	size_t n = 0;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sirt_xrealloc(v, (n + 1) * sizeof(*v));
		v[n].at = col_text(st, 0);
		v[n].actor = col_text(st, 1);
		v[n].action = col_text(st, 2);
		v[n].detail = col_text(st, 3);
		v[n].note = col_text(st, 4);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		while (n)
			sirt_audit_row_release(&v[--n]);
		free(v);
		return db_fail(s, rc, "cannot read audit", err);
	}
	*rows_r = v;
	*n_r = n;
	return 0;
}

void sirt_audit_row_release(struct sirt_audit_row *a)
{
	free(a->at); free(a->actor); free(a->action); free(a->detail); free(a->note);
	memset(a, 0, sizeof(*a));
}

/* ---- source state ---- */

static const char SQL_STATE_GET[] =
	"SELECT value FROM source_state WHERE source = ?1 AND key = ?2";
static const char SQL_STATE_SET[] =
	"INSERT INTO source_state(source, key, value) VALUES (?1, ?2, ?3)"
	" ON CONFLICT(source, key) DO UPDATE SET value = excluded.value";

int sirt_store_state_get(struct sirt_store *s, const char *source,
			 const char *key, char **value_r, struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_STATE_GET, err);
	int rc;

	if (!st)
		return -1;
	bind_text(st, 1, source);
	bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value_r = col_text(st, 0);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, "cannot read source state", err);
	return 0;
}

int sirt_store_state_set(struct sirt_store *s, const char *source,
			 const char *key, const char *value,
			 struct sirt_err *err)
{
	sqlite3_stmt *st = stmt(s, SQL_STATE_SET, err);

	if (!st)
		return -1;
	bind_text(st, 1, source);
	bind_text(st, 2, key);
	bind_text(st, 3, value);
	return step_done(s, st, "cannot write source state", err);
}
