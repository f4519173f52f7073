/* intake.h - one raw message in, one committed case out.
 *
 * sirt_intake() is the pipeline of DESIGN.md for one message:
 * sha256 -> duplicate check -> parse (limits) -> crypto -> triage ->
 * case (new or follow-up) -> one store transaction.  It returns 0 only
 * after the transaction is committed; the caller acknowledges the
 * message to its source only then.
 */
#ifndef SIRT_INTAKE_H
#define SIRT_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sirt/err.h"
#include "sirt/triage.h"

struct sirt_ctx;

struct sirt_intake_result {
	char ref[32];            /* SEC-YYYY-NNNN */
	int64_t case_id;
	int64_t message_id;
	int duplicate;           /* these bytes were already stored */
	int new_case;            /* a case was opened (else a follow-up) */
	int unparsed;            /* stored raw, flagged for a human */
	enum sirt_severity severity; /* the case's severity after this message */
};

struct sirt_intake_opts {
	const char *origin;      /* "stdin", "maildir:NAME:file", "imap:NAME:uid 7" */
	int oversized;           /* the source gave only the headers */
	size_t declared_size;
	time_t received;         /* when it reached the mailbox; 0 = now */
	int truncated;           /* the source stopped reading at a hard cap */
	const char *unparsed_reason; /* flag the message with this (retriage) */
};

int sirt_intake(struct sirt_ctx *ctx, const void *raw, size_t len,
		const struct sirt_intake_opts *opts,
		struct sirt_intake_result *res, struct sirt_err *err);

/* The pipeline without the store: parse (limits, flags from opts),
 * crypto, triage.  *msg_r, the verdict and *crypto_json_r (may be NULL)
 * are the caller's.  Used by sirt_intake() and by re-triage. */
struct sirt_msg;
int sirt_intake_analyse(struct sirt_ctx *ctx, const void *raw, size_t len,
			const struct sirt_intake_opts *opts,
			struct sirt_msg **msg_r, struct sirt_verdict *v,
			char **crypto_json_r, struct sirt_err *err);

#endif
