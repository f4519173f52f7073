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
#include "cmd.h"

/* What one run did, for the summary (and --json). */
struct poll_tally {
	int stored;
	int duplicates;
	json_t *messages;        /* --json: one object per message, or NULL */
};

/* Drain one source: every message is committed before it is acked.
 * Returns 0, or -1 with err (the source's or the store's). */
static int poll_source(struct sirt_ctx *ctx, const struct sirt_source_conf *sc,
		       struct poll_tally *t, struct sirt_err *err)
{
	const struct sirt_source_ops *ops = sirt_source_find(sc->type);
	struct sirt_source *src = NULL;
	struct sirt_source_msg sm;
	struct sirt_intake_opts o;
	struct sirt_intake_result r;
	char origin[512];
	int rc = -1, n;

	memset(&sm, 0, sizeof(sm));
	if (!ops)
		return sirt_err_set(err, SIRT_E_CONFIG, "source '%s': type '%s' is not "
				    "available in this build", sc->name, sc->type);
	if (ops->open(sc, ctx, &src, err) < 0)
		return -1;
	while ((n = ops->next(src, &sm, err)) == 1) {
		memset(&o, 0, sizeof(o));
		snprintf(origin, sizeof(origin), "%s:%s:%s", sc->type, sc->name, sm.id);
		o.origin = origin;
		o.oversized = sm.oversized;
		o.declared_size = sm.declared_size;
		o.truncated = sm.truncated;
		o.received = sm.received;
		if (sirt_intake(ctx, sm.data, sm.len, &o, &r, err) < 0) {
			sirt_err_prefix(err, "%s", origin);
			goto out;
		}
		if (ops->ack(src, &sm, err) < 0)
			goto out;
		if (t->messages)
			json_array_append_new(t->messages, json_pack(
				"{s:s, s:s, s:s, s:b, s:b, s:b, s:s}",
				"source", sc->name, "id", sm.id, "ref", r.ref,
				"duplicate", r.duplicate, "new_case", r.new_case,
				"unparsed", r.unparsed,
				"severity", sirt_severity_name(r.severity)));
		if (r.duplicate)
			t->duplicates++;
		if (!r.duplicate) {
			t->stored++;
			sirt_info("%s: %s %s %s", origin, r.new_case ? "new case" :
				  "follow-up to", r.ref, sirt_severity_name(r.severity));
			if (!ctx->json)
				printf("%s: %s %s %s%s\n", sm.id, r.new_case ? "new case" :
				       "follow-up to", r.ref, sirt_severity_name(r.severity),
				       r.unparsed ? " (unparsed: needs a human)" : "");
		}
		sirt_source_msg_release(&sm);
	}
	if (n < 0)
		goto out;
	if (ops->flush && ops->flush(src, err) < 0)
		goto out;
	rc = 0;
out:
	/* Deferred acks of what was committed still go out on error. */
	if (rc < 0 && ops->flush) {
		struct sirt_err ferr;
		ops->flush(src, &ferr);
	}
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
	sirt_daemon_tune_memory();
	if (!once) {
		/* The daemon: every source watched until SIGTERM (daemon.h). */
		sirt_err_clear(&err);
		if (sirt_daemon_run(ctx, only, &err) < 0)
			return cmd_fail("poll", &err);
		return EX_OK;
	}
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
		char *js = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", js);
		free(js);
		json_decref(o);
	} else {
		printf("%d new message%s stored", t.stored, t.stored == 1 ? "" : "s");
		if (t.duplicates)
			printf(", %d already stored (acknowledged again)", t.duplicates);
		putchar('\n');
	}
	return rc;
}
