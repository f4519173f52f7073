/* ctx.c - lazily opened resources of a command's context. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include "sirt/buf.h"
#include "sirt/crypto.h"
#include "sirt/rules.h"
#include "sirt/log.h"
#include "sirt/sirt.h"
#include "sirt/store.h"
#include "sirt/triage.h"
#include "sirt/util.h"

/* The store: created with its directory on first use, so that the MTA
 * pipe works before anyone ran 'sirt init'. */
int sirt_ctx_store(struct sirt_ctx *ctx, struct sirt_err *err)
{
	char *dir;
	int rc;

	if (ctx->store)
		return 0;
	dir = sirt_xstrdup(ctx->cfg->store_path);
	rc = sirt_mkdirs(dirname(dir), 0700, err);
	free(dir);
	if (rc < 0)
		return -1;
	return sirt_store_open(ctx->cfg->store_path, ctx->cfg->store_busy_timeout,
			       &ctx->store, err);
}

/* The rules from [rules] dir (default ./rules) and local_dir; a missing
 * rules directory means no rules (triage says "untriaged"); a broken
 * rule file is an error naming FILE:LINE:COL. */
int sirt_ctx_store_existing(struct sirt_ctx *ctx, struct sirt_err *err)
{
	struct stat st;

	if (!ctx->store && stat(ctx->cfg->store_path, &st) < 0)
		return sirt_err_set(err, SIRT_E_NOTFOUND, "no database at '%s': run "
				    "'sirt init' or ingest a message first",
				    ctx->cfg->store_path);
	return sirt_ctx_store(ctx, err);
}

const char *sirt_ctx_rules_dir(const struct sirt_ctx *ctx)
{
	const char *dir = ctx->cfg && ctx->cfg->rules_dir ? ctx->cfg->rules_dir : "./rules";
	struct stat st;

	/* Run outside a source tree, the default finds the installed rules. */
	if (!strcmp(dir, "./rules") && stat(dir, &st) < 0)
		return SIRT_DATADIR "/rules";
	return dir;
}

int sirt_ctx_rules(struct sirt_ctx *ctx, struct sirt_err *err)
{
	struct sirt_buf cache = SIRT_BUF_INIT;
	const char *dir;
	int rc;

	if (ctx->rules || ctx->rules_tried)
		return 0;  /* every message asks: no stat() for each */
	dir = sirt_ctx_rules_dir(ctx);
	/* The compiled prefilter is cached beside the database. */
	if (ctx->cfg && ctx->cfg->store_path) {
		char *sp = sirt_xstrdup(ctx->cfg->store_path);
		sirt_buf_init(&cache);
		sirt_buf_addf(&cache, "%s/rules-cache", dirname(sp));
		free(sp);
	}
	rc = sirt_rules_load_cache(dir, ctx->cfg ? ctx->cfg->rules_local_dir : NULL, 0,
				   cache.data, &ctx->rules, err);
	sirt_buf_release(&cache);
	if (rc < 0) {
		if (err && err->cls == SIRT_E_NOTFOUND) {
			sirt_warn("no rules in '%s': every report is P3 untriaged", dir);
			sirt_err_clear(err);
			ctx->rules_tried = 1;
			return 0;
		}
		return -1;   /* broken rules: said again for every message */
	}
	ctx->rules_tried = 1;
	return 0;
}

/* The gpgme context on [crypto] gnupg_home, else $GNUPGHOME, else
 * <var>/gnupg if it exists; with none of them ctx->crypto stays NULL
 * (PGP is then not opened: sirt never touches the user's ~/.gnupg). */
int sirt_ctx_crypto(struct sirt_ctx *ctx, struct sirt_err *err)
{
	struct sirt_config tmp;
	const char *env = getenv("GNUPGHOME");
	char *home = NULL;
	struct stat st;
	int rc;

	if (ctx->crypto)
		return 0;
	tmp = *ctx->cfg;
	if (!tmp.gnupg_home && !(env && *env)) {
		size_t n = strlen(tmp.var_dir ? tmp.var_dir : ".") + sizeof("/gnupg");

		home = sirt_xmalloc(n);
		snprintf(home, n, "%s/gnupg", tmp.var_dir ? tmp.var_dir : ".");
		if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(home);
			return 0;
		}
		tmp.gnupg_home = home;
	}
	rc = sirt_crypto_open(&tmp, &ctx->crypto, err);
	free(home);
	return rc;
}

void sirt_ctx_release(struct sirt_ctx *ctx)
{
	sirt_store_close(&ctx->store);
	sirt_crypto_close(&ctx->crypto);
	sirt_rules_free(&ctx->rules);
	sirt_config_free(&ctx->cfg);
}
