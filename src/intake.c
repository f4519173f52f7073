/* intake.c - one raw message in, one committed case out (see intake.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/buf.h"
#include "sirt/case.h"
#include "sirt/crypto.h"
#include "sirt/intake.h"
#include "sirt/log.h"
#include "sirt/msg.h"
#include "sirt/sirt.h"
#include "sirt/store.h"
#include "sirt/triage.h"
#include "sirt/util.h"

/* Store msg with its verdict in one transaction: thread it onto a case
 * (or open one), add the message, audit, refresh the case. */
static int store_message(struct sirt_ctx *ctx, struct sirt_msg *msg,
			 const struct sirt_verdict *v, const char *crypto_json,
			 const struct sirt_intake_opts *opts,
			 struct sirt_intake_result *res, struct sirt_err *err)
{
	struct sirt_store *s = ctx->store;
	struct sirt_message_new mn;
	struct sirt_case c;
	struct sirt_buf detail;
	time_t received = opts && opts->received ? opts->received : sirt_now();
	char *reporter = NULL;
	enum sirt_severity before_sev = SIRT_SEV_NONE;
	int rc, found, reopen = 0;

	memset(&c, 0, sizeof(c));
	sirt_buf_init(&detail);
	if (sirt_store_begin(s, err) < 0)
		return -1;
	/* Another process may have stored the same bytes meanwhile. */
	found = sirt_store_find_raw(s, msg->sha256, &res->message_id, &res->case_id,
				    res->ref, err);
	if (found < 0)
		goto fail;
	if (found) {
		sirt_store_rollback(s);
		res->duplicate = 1;
		return 0;
	}
	found = sirt_case_thread(s, msg, &res->case_id, err);
	if (found < 0)
		goto fail;
	if (!found) {
		reporter = sirt_addr_format(&msg->from);
		if (sirt_store_case_create(s, received, reporter, msg->subject,
					   &res->case_id, res->ref, err) < 0)
			goto fail;
		res->new_case = 1;
	}
	if (!res->new_case) {
		/* What the follow-up changes is part of the case's story. */
		rc = sirt_store_case_get(s, res->case_id, &c, err);
		if (rc <= 0) {
			if (rc == 0)
				sirt_err_set(err, SIRT_E_FATAL, "case vanished during intake");
			goto fail;
		}
		before_sev = c.severity;
		reopen = c.state && !strcmp(c.state, "closed");
		sirt_case_release(&c);
	}
	memset(&mn, 0, sizeof(mn));
	mn.case_id = res->case_id;
	mn.msg = msg;
	mn.received = received;
	mn.origin = opts ? opts->origin : NULL;
	mn.verdict = v;
	mn.crypto_json = crypto_json;
	mn.store_body = !(msg->crypto.decrypted && !ctx->cfg->store_decrypted);
	if (sirt_store_message_add(s, &mn, &res->message_id, err) < 0)
		goto fail;
	sirt_buf_addf(&detail, "%s message %.12s from %s: %s%s%s",
		      res->new_case ? "first" : "follow-up", msg->sha256,
		      mn.origin ? mn.origin : "unknown source",
		      sirt_severity_name(v->severity),
		      v->reason ? ", " : "", v->reason ? v->reason : "");
	if (sirt_store_audit(s, res->case_id, "sirt",
			     res->new_case ? "created" : "message", detail.data,
			     msg->unparsed ? msg->unparsed_reason : NULL, err) < 0)
		goto fail;
	if (sirt_store_case_refresh(s, res->case_id, err) < 0)
		goto fail;
	rc = sirt_store_case_get(s, res->case_id, &c, err);
	if (rc <= 0) {
		if (rc == 0)
			sirt_err_set(err, SIRT_E_FATAL, "case vanished during intake");
		goto fail;
	}
	if (!res->ref[0] || !res->new_case)
		snprintf(res->ref, sizeof(res->ref), "%s", c.ref);
	res->severity = c.severity;
	if (!res->new_case && before_sev && c.severity != before_sev) {
		sirt_buf_reset(&detail);
		sirt_buf_addf(&detail, "%s -> %s by follow-up message %.12s",
			      sirt_severity_name(before_sev),
			      sirt_severity_name(c.severity), msg->sha256);
		if (sirt_store_audit(s, res->case_id, "sirt", "severity", detail.data,
				     NULL, err) < 0)
			goto fail;
	}
	sirt_case_release(&c);
	/* A closed case that hears more is open again, for a human. */
	if (reopen && sirt_store_case_set_state(s, res->case_id, "new", "sirt",
			"reopened: a new message arrived on a closed case", err) < 0)
		goto fail;
	if (sirt_store_commit(s, err) < 0)
		goto fail_nobegin;
	free(reporter);
	sirt_buf_release(&detail);
	return 0;
fail:
	sirt_store_rollback(s);
fail_nobegin:
	sirt_case_release(&c);
	free(reporter);
	sirt_buf_release(&detail);
	res->new_case = 0;
	return -1;
}

/* sirt_intake_analyse, with the raw message's digest when the caller
 * has it already (NULL: computed here). */
static int analyse(struct sirt_ctx *ctx, const void *raw, size_t len,
		   const struct sirt_intake_opts *opts, const char *raw_sha,
		   struct sirt_msg **msg_r, struct sirt_verdict *v,
		   char **crypto_json_r, struct sirt_err *err)
{
	struct sirt_msg *msg = NULL;
	struct sirt_err terr;
	const char *sha;

	memset(v, 0, sizeof(*v));
	v->cvss = -1;
	*msg_r = NULL;
	*crypto_json_r = NULL;
	if (sirt_msg_parse(raw, len, &ctx->cfg->limits, &msg, err) < 0)
		return -1;
	if (raw_sha)
		memcpy(msg->sha256, raw_sha, sizeof(msg->sha256));
	sirt_msg_hash(msg);
	sha = msg->sha256;
	if (opts && opts->oversized) {
		char why[160];
		snprintf(why, sizeof(why), "message of %zu bytes exceeds the size "
			 "limit of %zu: only its headers were fetched",
			 opts->declared_size, ctx->cfg->limits.max_message_size);
		sirt_msg_flag_unparsed(msg, why);
	}
	if (!msg->unparsed && msg->nheaders == 0)
		sirt_msg_flag_unparsed(msg, "no header fields: not an RFC 5322 message");
	if (opts && opts->truncated)
		sirt_msg_flag_unparsed(msg, "message was truncated at the input size cap");
	if (opts && opts->unparsed_reason && !msg->unparsed)
		sirt_msg_flag_unparsed(msg, opts->unparsed_reason);
	/* Verify signatures, open encrypted parts (crypto.h).  A failure
	 * here is not a reason to lose the message: it is stored, and the
	 * crypto facts say what could not be done. */
	sirt_err_clear(&terr);
	if (sirt_ctx_crypto(ctx, &terr) < 0) {
		sirt_warn("crypto unavailable for message %.12s: %s", sha, terr.msg);
		sirt_err_clear(&terr);
	}
	/* Without a keyring (ctx->crypto NULL) PGP content is still
	 * detected: an encrypted report is flagged undecryptable. */
	if (sirt_crypto_process(ctx->crypto, msg, &ctx->cfg->limits, &terr) < 0)
		sirt_warn("crypto on message %.12s failed: %s", sha, terr.msg);
	sirt_msg_hash(msg);  /* the parts decryption added */
	*crypto_json_r = sirt_crypto_info_to_json(&msg->crypto);
	sirt_err_clear(&terr);
	if (sirt_ctx_rules(ctx, &terr) < 0 ||
	    sirt_triage(ctx->rules, msg, v, &terr) < 0) {
		sirt_warn("triage of message %.12s failed: %s", sha, terr.msg);
		if (!v->severity) {
			sirt_verdict_release(v);
			v->severity = SIRT_SEV_P3;
			v->category = sirt_xstrdup("untriaged");
			v->reason = sirt_xstrdup("triage failed: needs a human");
		}
	}
	sirt_crypto_adjust_verdict(msg, v);
	/* [crypto] store_decrypted = no: rule excerpts, the CVSS vector
	 * and notes may quote decrypted text; keep them out of the store. */
	if (msg->crypto.decrypted && !ctx->cfg->store_decrypted)
		sirt_verdict_redact(v);
	*msg_r = msg;
	return 0;
}

int sirt_intake_analyse(struct sirt_ctx *ctx, const void *raw, size_t len,
			const struct sirt_intake_opts *opts,
			struct sirt_msg **msg_r, struct sirt_verdict *v,
			char **crypto_json_r, struct sirt_err *err)
{
	return analyse(ctx, raw, len, opts, NULL, msg_r, v, crypto_json_r, err);
}

int sirt_intake(struct sirt_ctx *ctx, const void *raw, size_t len,
		const struct sirt_intake_opts *opts,
		struct sirt_intake_result *res, struct sirt_err *err)
{
	struct sirt_msg *msg = NULL;
	struct sirt_verdict v;
	char sha[65], *crypto_json = NULL;
	int rc = -1, found;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.cvss = -1;
	if (sirt_ctx_store(ctx, err) < 0)
		return -1;
	/* Idempotency: the same bytes are one message, whatever the source. */
	sirt_sha256_hex(raw, len, sha);
	found = sirt_store_find_raw(ctx->store, sha, &res->message_id,
				    &res->case_id, res->ref, err);
	if (found < 0)
		return -1;
	if (found) {
		struct sirt_case c;
		res->duplicate = 1;
		if (sirt_store_case_get(ctx->store, res->case_id, &c, err) > 0) {
			res->severity = c.severity;
			sirt_case_release(&c);
		}
		return 0;
	}
	if (analyse(ctx, raw, len, opts, sha, &msg, &v, &crypto_json, err) < 0)
		return -1;
	if (store_message(ctx, msg, &v, crypto_json, opts, res, err) < 0)
		goto out;
	res->unparsed = msg->unparsed;
	rc = 0;
out:
	free(crypto_json);
	sirt_verdict_release(&v);
	sirt_msg_free(&msg);
	return rc;
}
