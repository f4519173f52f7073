/* cmd_rules.c - sirt rules check [DIR]: compile every rule file and
 * report errors (FILE:LINE:COL) and warnings. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include "sirt/rules.h"
#include "cmd.h"

int cmd_rules(int argc, char **argv, struct sirt_ctx *ctx)
{
	struct sirt_rules *r = NULL;
	struct sirt_err err;
	const char *dir, *local = NULL;
	size_t i, n;

	sirt_err_clear(&err);
	if (argc < 2 || strcmp(argv[1], "check") != 0 || argc > 3)
		return cmd_usage("rules", "usage: sirt rules check [DIR]");
	if (argc == 3) {
		dir = argv[2];
	} else {
		dir = ctx->cfg->rules_dir ? ctx->cfg->rules_dir : "./rules";
		local = ctx->cfg->rules_local_dir;
	}
	/* compile the prefilter too: it is part of what must load */
	if (sirt_rules_load_flags(dir, local, SIRT_RULES_PREFILTER_NOW, &r, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return err.cls == SIRT_E_NOTFOUND ? EX_NOINPUT : EX_DATAERR;
	}
	n = sirt_rules_nwarnings(r);
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
