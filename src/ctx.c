/* ctx.c - lazily opened resources of a command's context. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

int sirt_ctx_rules(struct sirt_ctx *ctx, struct sirt_err *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

int sirt_ctx_crypto(struct sirt_ctx *ctx, struct sirt_err *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

void sirt_ctx_release(struct sirt_ctx *ctx)
{
	sirt_store_close(&ctx->store);
	sirt_config_free(&ctx->cfg);
}
