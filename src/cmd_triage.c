/* cmd_triage.c - sirt triage [--explain] [--json] FILE...: a dry run of
 * triage over message files.  Nothing is stored and nothing is sent. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <jansson.h>
#include "sirt/crypto.h"
#include "sirt/msg.h"
#include "sirt/rules.h"
#include "sirt/triage.h"
#include "sirt/util.h"
#include "cmd.h"

static void print_json(const char *file, const struct sirt_msg *msg,
		       const struct sirt_verdict *v)
{
	char *vj = sirt_verdict_to_json(v), *cj;
	json_t *o = json_loads(vj, 0, NULL), *crypto = NULL;

	free(vj);
	if (!o)
		return;
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "subject", msg->subject ? json_string(msg->subject) : json_null());
	cj = sirt_crypto_info_to_json(&msg->crypto);
	if (cj)
		crypto = json_loads(cj, 0, NULL);
	free(cj);
	json_object_set_new(o, "crypto", crypto ? crypto : json_null());
	json_object_set_new(o, "signed", json_boolean(msg->crypto.status == SIRT_CRYPTO_SIGNED ||
						      msg->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED));
	json_object_set_new(o, "encrypted", json_boolean(msg->crypto.status == SIRT_CRYPTO_ENCRYPTED ||
							 msg->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED));
	cmd_put_json(o, JSON_COMPACT | JSON_ENSURE_ASCII);
}

static void print_text(const char *file, const struct sirt_verdict *v, int explain)
{
	size_t i;

	if (explain) {
		char *e = sirt_verdict_explain(v);
		printf("== %s\n", file);
		cmd_put_safe(e, NULL);
		putchar('\n');
		free(e);
		return;
	}
	printf("%s: %s %s", file, sirt_severity_name(v->severity), v->category ? v->category : "-");
	if (v->ntags) {
		printf(" [");
		for (i = 0; i < v->ntags; i++)
			printf("%s%s", i ? " " : "", v->tags[i]);
		printf("]");
	}
	if (v->cvss >= 0)
		printf(" CVSS %.1f", v->cvss);
	printf(" - ");
	cmd_put_safe(v->reason, NULL);
	putchar('\n');
}

/* Load the rules into ctx (as sirt_ctx_rules does, without its "no
 * rules" fallback): a dry run without rules says nothing, so a missing
 * directory is EX_NOINPUT and one without rules EX_CONFIG, with a
 * message naming the directory.  Returns EX_OK or the exit code. */
static int load_rules(struct sirt_ctx *ctx)
{
	const char *dir = sirt_ctx_rules_dir(ctx);
	struct sirt_rules *r = NULL;
	struct sirt_err err;

	if (ctx->rules)
		return EX_OK;
	sirt_err_clear(&err);
	if (sirt_rules_load(dir, ctx->cfg->rules_local_dir, &r, &err) < 0) {
		if (err.cls == SIRT_E_NOTFOUND) {
			fprintf(stderr, "sirt: triage: no rules directory '%s' (%s): set [rules] dir "
				"in the configuration\n", dir, err.msg);
			return EX_NOINPUT;
		}
		return cmd_fail("triage", &err);
	}
	if (sirt_rules_count(r) == 0) {
		fprintf(stderr, "sirt: triage: no rules in '%s' (no *.rules file defines a rule): "
			"nothing to triage with\n", dir);
		sirt_rules_free(&r);
		return EX_CONFIG;
	}
	ctx->rules = r;
	ctx->rules_tried = 1;
	return EX_OK;
}

/* Triage one file; 0 ok, -1 with err set. */
static int triage_file(struct sirt_ctx *ctx, const char *file, int explain,
		       struct sirt_err *err)
{
	struct sirt_msg *msg = NULL;
	struct sirt_verdict v;
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (sirt_read_file(file, ctx->cfg->limits.max_message_size * 4, &data, &len, err) < 0)
		goto out;
	if (sirt_msg_parse(data, len, &ctx->cfg->limits, &msg, err) < 0)
		goto out;
	{	/* without a keyring crypto still detects PGP content */
		struct sirt_err cerr;
		sirt_err_clear(&cerr);
		if (sirt_crypto_process(ctx->crypto, msg, &ctx->cfg->limits, &cerr) < 0)
			fprintf(stderr, "sirt: triage: %s: crypto: %s\n", file, cerr.msg);
	}
	if (sirt_triage(ctx->rules, msg, &v, err) < 0)
		goto out;
	sirt_crypto_adjust_verdict(msg, &v);   /* as intake does */
	if (ctx->json)
		print_json(file, msg, &v);
	else
		print_text(file, &v, explain);
	rc = 0;
out:
	sirt_verdict_release(&v);
	sirt_msg_free(&msg);
	free(data);
	return rc;
}

int cmd_triage(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "explain", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_err err;
	int opt, explain = 0, i, rc = EX_OK;

	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': explain = 1; break;
		case 'j': ctx->json = 1; break;
		default: return cmd_usage("triage", "bad option");
		}
	}
	if (optind >= argc)
		return cmd_usage("triage", "needs at least one message FILE");
	rc = load_rules(ctx);
	if (rc != EX_OK)
		return rc;
	if (sirt_ctx_crypto(ctx, &err) < 0) {
		fprintf(stderr, "sirt: triage: crypto unavailable: %s\n", err.msg);
		sirt_err_clear(&err);
	}
	for (i = optind; i < argc; i++) {
		if (triage_file(ctx, argv[i], explain, &err) < 0) {
			fprintf(stderr, "sirt: triage: %s\n", err.msg);
			rc = sirt_err_exit_code(&err);
			sirt_err_clear(&err);
		}
	}
	fflush(stdout);
	return rc;
}
