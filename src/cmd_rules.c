/* cmd_rules.c - sirt rules check [DIR]: compile every rule file and
 * report errors (FILE:LINE:COL) and warnings; with --json one object
 * {"ok":..,"dir":..,"rules":N,"prefiltered":N,"errors":[..],"warnings":[..]}
 * where each error and warning is {"message":..}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <jansson.h>
#include "sirt/rules.h"
#include "cmd.h"

/* Print the JSON report; r may be NULL (load failed, error in emsg). */
static void print_json(const char *dir, const char *local, const struct sirt_rules *r,
		       const char *emsg)
{
	json_t *o = json_object(), *errs = json_array(), *warns = json_array();
	size_t i, n = r ? sirt_rules_nwarnings(r) : 0;

	if (emsg)
		json_array_append_new(errs, json_pack("{s:s}", "message", emsg));
	for (i = 0; i < n; i++)
		json_array_append_new(warns, json_pack("{s:s}", "message",
						       sirt_rules_warning(r, i)));
	json_object_set_new(o, "ok", json_boolean(!emsg));
	json_object_set_new(o, "dir", json_string(dir));
	json_object_set_new(o, "local_dir", local ? json_string(local) : json_null());
	json_object_set_new(o, "rules", json_integer(r ? (json_int_t)sirt_rules_count(r) : 0));
	json_object_set_new(o, "prefiltered",
			    json_integer(r ? (json_int_t)sirt_rules_prefiltered(r) : 0));
	json_object_set_new(o, "errors", errs);
	json_object_set_new(o, "warnings", warns);
	cmd_put_json(o, JSON_COMPACT | JSON_ENSURE_ASCII);
}

int cmd_rules(int argc, char **argv, struct sirt_ctx *ctx)
{
	struct sirt_rules *r = NULL;
	struct sirt_err err;
	const char *dir, *local = NULL;
	char none[512];
	size_t i, n;

	sirt_err_clear(&err);
	if (argc < 2 || strcmp(argv[1], "check") != 0 || argc > 3)
		return cmd_usage("rules", "usage: sirt rules check [DIR]");
	if (argc == 3) {
		dir = argv[2];
	} else {
		dir = sirt_ctx_rules_dir(ctx);
		local = ctx->cfg->rules_local_dir;
	}
	/* compile the prefilter too: it is part of what must load */
	if (sirt_rules_load_flags(dir, local, SIRT_RULES_PREFILTER_NOW, &r, &err) < 0) {
		if (ctx->json)
			print_json(dir, local, NULL, err.msg);
		else
			fprintf(stderr, "%s\n", err.msg);
		return err.cls == SIRT_E_NOTFOUND ? EX_NOINPUT : EX_DATAERR;
	}
	/* a directory without a single rule is not a policy */
	if (sirt_rules_count(r) == 0) {
		snprintf(none, sizeof(none), "%s%s%s: no rules (no *.rules file defines a rule)",
			 dir, local ? " + " : "", local ? local : "");
		if (ctx->json)
			print_json(dir, local, r, none);
		else
			fprintf(stderr, "sirt: rules: %s\n", none);
		sirt_rules_free(&r);
		return EX_CONFIG;
	}
	n = sirt_rules_nwarnings(r);
	if (ctx->json) {
		print_json(dir, local, r, NULL);
		sirt_rules_free(&r);
		return EX_OK;
	}
	for (i = 0; i < n; i++)
		fprintf(stderr, "warning: %s\n", sirt_rules_warning(r, i));
	printf("%s%s%s: %zu rules OK, %zu warning%s", dir, local ? " + " : "", local ? local : "",
	       sirt_rules_count(r), n, n == 1 ? "" : "s");
	if (sirt_rules_prefiltered(r))
		printf(", %zu patterns in the prefilter", sirt_rules_prefiltered(r));
	printf("\n");
	sirt_rules_free(&r);
	return EX_OK;
}
