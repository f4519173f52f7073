/* store.h - the SQLite store: cases, messages, audit, source state.
 *
 * All SQL lives in store.c; every statement is prepared with bound
 * parameters.  The database is created 0600, runs in WAL mode, and its
 * schema is versioned with PRAGMA user_version and forward migrations.
 * One intake = one transaction (sirt_store_begin/commit/rollback).
 * Errors: SQLITE_BUSY/LOCKED/FULL/IOERR are SIRT_E_TEMP (retry), the
 * rest SIRT_E_FATAL.
 */
#ifndef SIRT_STORE_H
#define SIRT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sirt/err.h"
#include "sirt/msg.h"
#include "sirt/triage.h"

struct sirt_store;

/* Open (create 0600, migrate) the database at path.  A writer waits up
 * to busy_timeout_s seconds for a lock before failing temporarily. */
int sirt_store_open(const char *path, int busy_timeout_s,
		    struct sirt_store **store_r, struct sirt_err *err);
void sirt_store_close(struct sirt_store **store);

int sirt_store_begin(struct sirt_store *s, struct sirt_err *err);
int sirt_store_commit(struct sirt_store *s, struct sirt_err *err);
void sirt_store_rollback(struct sirt_store *s);

/* Batch commit: between sirt_store_batch_begin() and
 * sirt_store_batch_commit() (or _rollback), sirt_store_begin/commit/
 * rollback become SAVEPOINT / RELEASE / ROLLBACK TO, so each intake is
 * still all or nothing, but nothing is durable until the batch commits
 * (one fsync for many messages).  A caller acknowledges the messages of
 * a batch to their source only after sirt_store_batch_commit()
 * returned 0.  The connection is the caller's for the whole batch
 * (the daemon holds its lock). */
int sirt_store_batch_begin(struct sirt_store *s, struct sirt_err *err);
int sirt_store_batch_commit(struct sirt_store *s, struct sirt_err *err);
void sirt_store_batch_rollback(struct sirt_store *s);

/* ---- cases ---- */

struct sirt_case {
	int64_t id;
	char ref[32];
	enum sirt_severity severity;      /* effective */
	enum sirt_severity severity_auto; /* highest of its messages */
	enum sirt_severity severity_override; /* NONE if not overridden */
	char *category;
	char *state;
	char *received;          /* ISO 8601: first message reached us (awareness) */
	char *updated;
	char *reporter;          /* "Name <addr>" of the first message */
	char *subject;
	char *reason;            /* why this severity */
	char **tags;
	size_t ntags;
	int unparsed;            /* some message needs a human */
	int nmessages;
};

void sirt_case_release(struct sirt_case *c);

/* Find a message by the SHA-256 of its raw bytes: 1 found (ids and ref
 * filled), 0 not found, -1 error. */
int sirt_store_find_raw(struct sirt_store *s, const char *sha256,
			int64_t *message_id_r, int64_t *case_id_r,
			char ref_r[32], struct sirt_err *err);

/* The case of a stored message with this Message-ID: 1/0/-1. */
int sirt_store_find_by_message_id(struct sirt_store *s, const char *msgid,
				  int64_t *case_id_r, struct sirt_err *err);

/* Case id by ref ("SEC-2026-0042", case-insensitive): 1/0/-1. */
int sirt_store_find_case(struct sirt_store *s, const char *ref,
			 int64_t *case_id_r, struct sirt_err *err);

/* Open a new case received at `received`; allocates the next ref of
 * that year.  Call inside a transaction. */
int sirt_store_case_create(struct sirt_store *s, time_t received,
			   const char *reporter, const char *subject,
			   int64_t *case_id_r, char ref_r[32],
			   struct sirt_err *err);

/* Load a case (with tags and message count). 1 found, 0 not, -1 err. */
int sirt_store_case_get(struct sirt_store *s, int64_t case_id,
			struct sirt_case *c, struct sirt_err *err);

/* Filters for sirt_store_case_list; NULL/NONE = any. */
struct sirt_case_filter {
	enum sirt_severity severity;
	const char *state;
};

/* All cases matching filter, newest first. *cases_r is the caller's:
 * release each and free the array. */
int sirt_store_case_list(struct sirt_store *s, const struct sirt_case_filter *f,
			 struct sirt_case **cases_r, size_t *n_r,
			 struct sirt_err *err);

/* Recompute the case's automatic severity/category/reason/tags from its
 * messages' verdicts (highest severity wins; the human override, if any,
 * stays the effective severity). */
int sirt_store_case_refresh(struct sirt_store *s, int64_t case_id,
			    struct sirt_err *err);

/* Human changes, each audited (actor, note).  state must be valid
 * (case.h).  Tags are added/removed. severity NONE clears override. */
int sirt_store_case_set_state(struct sirt_store *s, int64_t case_id,
			      const char *state, const char *actor,
			      const char *note, struct sirt_err *err);
int sirt_store_case_tag(struct sirt_store *s, int64_t case_id, const char *tag,
			int add, const char *actor, const char *note,
			struct sirt_err *err);
int sirt_store_case_set_severity(struct sirt_store *s, int64_t case_id,
				 enum sirt_severity sev, const char *actor,
				 const char *note, struct sirt_err *err);

/* ---- messages ---- */

struct sirt_message_row {
	int64_t id;
	int64_t case_id;
	char sha256[65];
	char *received;          /* when it reached us (ISO 8601) */
	char *origin;            /* where from (source) */
	char *message_id;
	char *from;              /* "Name <addr>" */
	char *subject;
	char *date;
	size_t raw_size;
	int unparsed;
	char *unparsed_reason;
	enum sirt_severity severity;
	char *verdict_json;      /* triage.h sirt_verdict_to_json, or NULL */
	char *crypto_json;       /* crypto facts as JSON, or NULL */
	char *body;              /* decoded text, or NULL (not stored) */
	char *parts_json;        /* [{"index","parent","depth","type","charset",
	                            "filename","disposition","size","sha256",
	                            "attachment","body"}] */
	char *urls_json;         /* ["url", ...] */
};

void sirt_message_row_release(struct sirt_message_row *m);

/* What intake hands the store for one message. */
struct sirt_message_new {
	int64_t case_id;
	const struct sirt_msg *msg;      /* parsed message (raw bytes from here),
	                                    hashed (sirt_msg_hash) */
	time_t received;
	const char *origin;
	const struct sirt_verdict *verdict;
	const char *crypto_json;         /* NULL if none */
	int store_body;                  /* store decoded text (else NULL) */
};

int sirt_store_message_add(struct sirt_store *s, const struct sirt_message_new *m,
			   int64_t *message_id_r, struct sirt_err *err);

/* Replace a stored message's verdict (re-triage with new rules). */
int sirt_store_message_set_verdict(struct sirt_store *s, int64_t message_id,
				   const struct sirt_verdict *v, struct sirt_err *err);

/* Messages of a case, oldest first (rows are the caller's). */
int sirt_store_case_messages(struct sirt_store *s, int64_t case_id,
			     struct sirt_message_row **rows_r, size_t *n_r,
			     struct sirt_err *err);

/* The stored raw bytes of a message (caller frees). */
int sirt_store_message_raw(struct sirt_store *s, int64_t message_id,
			   unsigned char **raw_r, size_t *len_r,
			   struct sirt_err *err);

/* ---- audit (append-only) ---- */

struct sirt_audit_row {
	char *at;
	char *actor;
	char *action;            /* "created", "message", "state", "tag", ... */
	char *detail;            /* "new -> triaged", "+breach" */
	char *note;
};

int sirt_store_audit(struct sirt_store *s, int64_t case_id, const char *actor,
		     const char *action, const char *detail, const char *note,
		     struct sirt_err *err);
int sirt_store_case_audit(struct sirt_store *s, int64_t case_id,
			  struct sirt_audit_row **rows_r, size_t *n_r,
			  struct sirt_err *err);
void sirt_audit_row_release(struct sirt_audit_row *a);

/* ---- source state (e.g. IMAP UIDVALIDITY / last UID per mailbox) ---- */

/* Get value for (source, key); 1 found (*value_r is the caller's), 0 not
 * found, -1 error. */
int sirt_store_state_get(struct sirt_store *s, const char *source,
			 const char *key, char **value_r, struct sirt_err *err);
/* Insert or replace (source, key) = value. */
int sirt_store_state_set(struct sirt_store *s, const char *source,
			 const char *key, const char *value,
			 struct sirt_err *err);

#endif
