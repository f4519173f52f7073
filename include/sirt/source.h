/* source.h - where messages come from: maildir, mbox, imap, stdin.
 *
 * A backend fills a const struct sirt_source_ops and is found by name in
 * the table of sirt_source_find().  An instance embeds struct sirt_source
 * first.  The caller (poll) loops:
 *
 *	open; while (next() == 1) { intake; ack(); } flush(); ... close
 *
 * ack() is only ever called after the message and its case are committed
 * to the store, so a crash at any point loses nothing; the store's
 * SHA-256 key makes a second delivery harmless.
 */
#ifndef SIRT_SOURCE_H
#define SIRT_SOURCE_H

#include <stddef.h>
#include <time.h>
#include "sirt/err.h"

struct sirt_ctx;
struct sirt_source_conf; /* config.h */

struct sirt_source_msg {
	unsigned char *data;   /* the raw message: the caller's, released with
	                          sirt_source_msg_release() after ack() */
	size_t len;
	char *id;              /* for logs: file name, "uid 42", "mbox #3" */
	int oversized;         /* data holds only the headers: the message was
	                          larger than the limit (declared_size) */
	size_t declared_size;
	int truncated;         /* data stops at an input cap (message larger) */
	time_t received;       /* delivery time (mtime, INTERNALDATE), 0 = unknown */
	unsigned long uid;     /* backend's own key (IMAP UID, mbox offset) */
	void *priv;            /* backend's own bookkeeping (not freed by release) */
};

/* Free data and id, zero the struct. */
void sirt_source_msg_release(struct sirt_source_msg *m);

struct sirt_source {
	const struct sirt_source_ops *ops;
	const struct sirt_source_conf *conf;
	struct sirt_ctx *ctx;
};

struct sirt_source_ops {
	const char *name;
	/* Connect/open.  *src_r is allocated by the backend. */
	int (*open)(const struct sirt_source_conf *conf, struct sirt_ctx *ctx,
		    struct sirt_source **src_r, struct sirt_err *err);
	/* Next unprocessed message: 1 = m filled, 0 = none left for now,
	 * -1 = error (err says whether temporary). */
	int (*next)(struct sirt_source *src, struct sirt_source_msg *m,
		    struct sirt_err *err);
	/* The message m is committed: mark it done at the source (rename,
	 * flag, move, remember offset).  May be deferred until flush(). */
	int (*ack)(struct sirt_source *src, struct sirt_source_msg *m,
		   struct sirt_err *err);
	/* Apply deferred acks (may be NULL). */
	int (*flush)(struct sirt_source *src, struct sirt_err *err);
	/* Wait up to timeout_s for new mail: 1 = maybe new mail, 0 = timed
	 * out, -1 = error.  NULL means the caller sleeps for the interval. */
	int (*idle)(struct sirt_source *src, int timeout_s, struct sirt_err *err);
	void (*close)(struct sirt_source **src);
};

/* The backend named name ("maildir", "mbox", "imap"), or NULL. */
const struct sirt_source_ops *sirt_source_find(const char *name);

extern const struct sirt_source_ops sirt_source_maildir_ops;
extern const struct sirt_source_ops sirt_source_mbox_ops;
extern const struct sirt_source_ops sirt_source_imap_ops;

#endif
