/* cmd_poll.c - sirt poll [--once] [--source NAME]: read the sources. */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <jansson.h>
#include "sirt/daemon.h"
#include "sirt/intake.h"
#include "sirt/log.h"
#include "sirt/source.h"
#include "sirt/store.h"
#include "sirt/util.h"
#include "cmd.h"

/* What one run did, for the summary (and --json). */
struct poll_tally {
	int stored;
	int duplicates;
	json_t *messages;        /* --json: one object per message, or NULL */
};

/* Messages committed in the open batch, waiting for their ack. */
struct pending {
	struct sirt_source_msg sm;     /* data freed; id, uid kept for ack() */
	struct sirt_intake_result r;
};

/* Report one committed message (after its batch is durable). */
static void report(struct sirt_ctx *ctx, const struct sirt_source_conf *sc,
		   const struct sirt_source_msg *sm,
		   const struct sirt_intake_result *r, struct poll_tally *t)
{
	if (t->messages)
		json_array_append_new(t->messages, json_pack(
			"{s:s, s:s, s:s, s:b, s:b, s:b, s:s}",
			"source", sc->name, "id", sm->id, "ref", r->ref,
			"duplicate", r->duplicate, "new_case", r->new_case,
			"unparsed", r->unparsed,
			"severity", sirt_severity_name(r->severity)));
	if (r->duplicate) {
		t->duplicates++;
		return;
	}
	t->stored++;
	sirt_info("%s:%s: %s %s %s", sc->name, sm->id, r->new_case ? "new case" :
		  "follow-up to", r->ref, sirt_severity_name(r->severity));
	if (!ctx->json)
		printf("%s: %s %s %s%s\n", sm->id, r->new_case ? "new case" :
		       "follow-up to", r->ref, sirt_severity_name(r->severity),
		       r->unparsed ? " (unparsed: needs a human)" : "");
}

/* Make the open batch durable, then acknowledge its messages to the
 * source and report them.  Nothing is acknowledged if the commit fails. */
static int settle(struct sirt_ctx *ctx, struct sirt_source *src,
		  struct pending *p, size_t *np, int batching,
		  struct poll_tally *t, struct sirt_err *err)
{
	size_t i;
	int rc = 0, acks_tx = 0;

	if (batching && sirt_store_batch_commit(ctx->store, err) < 0)
		rc = -1;
	/* The acks of a group in one transaction: a source that keeps its
	 * position in the store (mbox) writes it once per group, not once
	 * (and one fsync) per message.  Lost, it only makes the next run
	 * read those messages again, as duplicates. */
	if (rc == 0 && batching && *np > 1) {
		if (sirt_store_begin(ctx->store, err) < 0)
			rc = -1;
		else
			acks_tx = 1;
	}
	for (i = 0; i < *np; i++) {
		if (rc == 0 && src->ops->ack(src, &p[i].sm, err) < 0)
			rc = -1;
		if (rc == 0)
			report(ctx, src->conf, &p[i].sm, &p[i].r, t);
		sirt_source_msg_release(&p[i].sm);
	}
	if (acks_tx) {
		if (rc == 0 && sirt_store_commit(ctx->store, err) < 0)
			rc = -1;
		else if (rc < 0)
			sirt_store_rollback(ctx->store);
	}
	*np = 0;
	return rc;
}

/* Drain one source: every message is committed before it is acked.
 * Sources without their own batching (maildir, mbox) commit groups of
 * POLL_BATCH messages in one transaction (each message a savepoint of
 * it, see store.h) and acknowledge a group only after it is durable: one
 * fsync per group instead of per message.  IMAP batches by itself.
 * Returns 0, or -1 with err (the source's or the store's). */
#define POLL_BATCH 100
static int poll_source(struct sirt_ctx *ctx, const struct sirt_source_conf *sc,
		       struct poll_tally *t, struct sirt_err *err)
{
	const struct sirt_source_ops *ops = sirt_source_find(sc->type);
	struct sirt_source *src = NULL;
	struct sirt_source_msg sm;
	struct sirt_intake_opts o;
	struct pending *p = NULL;
	size_t np = 0;
	char origin[512];
	int rc = -1, n, batching = 0;

	memset(&sm, 0, sizeof(sm));
	if (!ops)
		return sirt_err_set(err, SIRT_E_CONFIG, "source '%s': type '%s' is not "
				    "available in this build", sc->name, sc->type);
	if (sirt_ctx_store(ctx, err) < 0)
		return -1;
	if (ops->open(sc, ctx, &src, err) < 0)
		return -1;
	p = sirt_xcalloc(POLL_BATCH, sizeof(*p));
	while ((n = ops->next(src, &sm, err)) == 1) {
		struct pending *cur = &p[np];

		if (!ops->flush && !batching) {
			if (sirt_store_batch_begin(ctx->store, err) < 0)
				goto out;
			batching = 1;
		}
		memset(&o, 0, sizeof(o));
		snprintf(origin, sizeof(origin), "%s:%s:%s", sc->type, sc->name, sm.id);
		o.origin = origin;
		o.oversized = sm.oversized;
		o.declared_size = sm.declared_size;
		o.truncated = sm.truncated;
		o.received = sm.received;
		if (sirt_intake(ctx, sm.data, sm.len, &o, &cur->r, err) < 0) {
			sirt_err_prefix(err, "%s", origin);
			goto out;
		}
		/* keep what ack() needs, not the message */
		free(sm.data);
		sm.data = NULL;
		cur->sm = sm;
		memset(&sm, 0, sizeof(sm));
		np++;
		if (np == POLL_BATCH || !batching) {
			if (settle(ctx, src, p, &np, batching, t, err) < 0) {
				batching = 0;
				goto out;
			}
			batching = 0;
		}
	}
	if (n < 0)
		goto out;
	if (settle(ctx, src, p, &np, batching, t, err) < 0) {
		batching = 0;
		goto out;
	}
	batching = 0;
	if (ops->flush && ops->flush(src, err) < 0)
		goto out;
	rc = 0;
out:
	/* What was committed before an error is still acknowledged. */
	if (rc < 0) {
		struct sirt_err ferr;
		if (settle(ctx, src, p, &np, batching, t, &ferr) < 0)
			sirt_warn("source '%s': %s", sc->name, ferr.msg);
		if (ops->flush)
			ops->flush(src, &ferr);
	}
	free(p);
	sirt_source_msg_release(&sm);
	ops->close(&src);
	return rc;
}

int cmd_poll(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "source", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_err err;
	struct poll_tally t;
	const char *only = NULL;
	int once = 0, opt, rc = EX_OK, matched = 0;
	size_t i;

	memset(&t, 0, sizeof(t));
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': once = 1; break;
		case 's': only = optarg; break;
		default: return cmd_usage("poll", "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage("poll", "unexpected argument '%s'", argv[optind]);
	if (!once) {
		/* The daemon: every source watched until SIGTERM (daemon.h). */
		sirt_err_clear(&err);
		if (sirt_daemon_run(ctx, only, &err) < 0)
			return cmd_fail("poll", &err);
		return EX_OK;
	}
	sirt_daemon_tune_memory();  /* the daemon does its own */
	if (ctx->json)
		t.messages = json_array();
	for (i = 0; i < ctx->cfg->nsources; i++) {
		const struct sirt_source_conf *sc = &ctx->cfg->sources[i];
		if (only && strcmp(only, sc->name))
			continue;
		matched++;
		sirt_err_clear(&err);
		if (poll_source(ctx, sc, &t, &err) < 0) {
			int ec = cmd_fail("poll", &err);
			if (rc == EX_OK || ec == EX_TEMPFAIL)
				rc = ec;
		}
	}
	if (only && !matched) {
		fprintf(stderr, "sirt: poll: no source named '%s'\n", only);
		json_decref(t.messages);
		return EX_CONFIG;
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:i, s:i, s:o}", "stored", t.stored,
				      "duplicates", t.duplicates, "messages", t.messages);
		cmd_put_json(o, JSON_INDENT(2));
	} else {
		printf("%d new message%s stored", t.stored, t.stored == 1 ? "" : "s");
		if (t.duplicates)
			printf(", %d already stored (acknowledged again)", t.duplicates);
		putchar('\n');
	}
	return rc;
}
