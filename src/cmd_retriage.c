/* cmd_retriage.c - sirt retriage (REF... | --all) [--note TEXT]: run the
 * current rules again over stored messages (after a rule change, or when
 * mail arrived while no rules were installed).  Each message is parsed,
 * opened and triaged again from its stored raw bytes; its verdict is
 * replaced, the case recomputed, and the change audited.  A human's
 * severity override stays in force. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "sirt/buf.h"
#include "sirt/intake.h"
#include "sirt/msg.h"
#include "sirt/store.h"
#include "sirt/triage.h"
#include "cmd.h"

static int retriage_case(struct sirt_ctx *ctx, int64_t case_id, const char *actor,
			 const char *note, struct sirt_err *err)
{
	struct sirt_store *s = ctx->store;
	struct sirt_message_row *rows = NULL;
	struct sirt_case before, after;
	struct sirt_buf detail;
	size_t n = 0, i;
	int rc = -1;

	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	sirt_buf_init(&detail);
	if (sirt_store_begin(s, err) < 0)
		return -1;
	if (sirt_store_case_get(s, case_id, &before, err) <= 0 ||
	    sirt_store_case_messages(s, case_id, &rows, &n, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct sirt_intake_opts o;
		struct sirt_msg *msg = NULL;
		struct sirt_verdict v;
		unsigned char *raw = NULL;
		size_t len = 0;
		char *cj = NULL;

		if (sirt_store_message_raw(s, rows[i].id, &raw, &len, err) < 0)
			goto out;
		memset(&o, 0, sizeof(o));
		o.unparsed_reason = rows[i].unparsed ? rows[i].unparsed_reason : NULL;
		if (sirt_intake_analyse(ctx, raw, len, &o, &msg, &v, &cj, err) < 0) {
			free(raw);
			goto out;
		}
		rc = sirt_store_message_set_verdict(s, rows[i].id, &v, err);
		sirt_verdict_release(&v);
		sirt_msg_free(&msg);
		free(cj);
		free(raw);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (sirt_store_case_refresh(s, case_id, err) < 0 ||
	    sirt_store_case_get(s, case_id, &after, err) <= 0)
		goto out;
	sirt_buf_addf(&detail, "%zu message%s with the current rules: %s -> %s",
		      n, n == 1 ? "" : "s", sirt_severity_name(before.severity_auto),
		      sirt_severity_name(after.severity_auto));
	if (after.severity_override)
		sirt_buf_addf(&detail, " (a human's %s stays in force)",
			      sirt_severity_name(after.severity_override));
	if (sirt_store_audit(s, case_id, actor, "retriaged", detail.data, note, err) < 0)
		goto out;
	if (sirt_store_commit(s, err) < 0)
		goto out;
	if (ctx->json)
		cmd_put_json(json_pack("{s:s, s:s, s:s, s:s}", "ref", after.ref,
				       "before", sirt_severity_name(before.severity_auto),
				       "after", sirt_severity_name(after.severity_auto),
				       "severity", sirt_severity_name(after.severity)),
			     JSON_COMPACT);
	else
		printf("%s: %s\n", after.ref, detail.data);
	rc = 0;
out:
	if (rc < 0)
		sirt_store_rollback(s);
	for (i = 0; i < n; i++)
		sirt_message_row_release(&rows[i]);
	free(rows);
	sirt_case_release(&before);
	sirt_case_release(&after);
	sirt_buf_release(&detail);
	return rc;
}

int cmd_retriage(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "note", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_err err;
	const char *note = NULL;
	int opt, all = 0, rc = EX_OK, i;

	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = 1; break;
		case 'n': note = optarg; break;
		default: return cmd_usage("retriage", "bad option");
		}
	}
	if (all == (optind < argc))
		return cmd_usage("retriage", "give case refs or --all");
	if (sirt_ctx_store_existing(ctx, &err) < 0 || sirt_ctx_rules(ctx, &err) < 0)
		return cmd_fail("retriage", &err);
	if (!ctx->rules) {
		fprintf(stderr, "sirt: retriage: no rules found (see [rules] dir): "
			"nothing to triage with\n");
		return EX_CONFIG;
	}
	if (all) {
		struct sirt_case *cs = NULL;
		size_t n = 0, k;
		if (sirt_store_case_list(ctx->store, NULL, &cs, &n, &err) < 0)
			return cmd_fail("retriage", &err);
		for (k = n; k > 0; k--) {   /* oldest first */
			if (retriage_case(ctx, cs[k - 1].id, cmd_actor(), note, &err) < 0) {
				rc = cmd_fail("retriage", &err);
				break;
			}
		}
		for (k = 0; k < n; k++)
			sirt_case_release(&cs[k]);
		free(cs);
		return rc;
	}
	for (i = optind; i < argc; i++) {
		int64_t id;
		int found = sirt_store_find_case(ctx->store, argv[i], &id, &err);
		if (found <= 0) {
			if (found == 0)
				fprintf(stderr, "sirt: retriage: no case '%s'\n", argv[i]);
			else
				cmd_fail("retriage", &err);
			rc = found == 0 ? EX_NOINPUT : sirt_err_exit_code(&err);
			continue;
		}
		if (retriage_case(ctx, id, cmd_actor(), note, &err) < 0)
			rc = cmd_fail("retriage", &err);
	}
	return rc;
}
