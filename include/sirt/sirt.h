/* sirt.h - the context every command and pipeline step receives. */
#ifndef SIRT_SIRT_H
#define SIRT_SIRT_H

#include "sirt/err.h"
#include "sirt/config.h"

struct sirt_store;
struct sirt_rules;
struct sirt_crypto;

struct sirt_ctx {
	struct sirt_config *cfg;     /* never NULL once main has run */
	struct sirt_store *store;    /* opened on demand by sirt_ctx_store() */
	struct sirt_rules *rules;    /* loaded on demand by sirt_ctx_rules() */
	struct sirt_crypto *crypto;  /* opened on demand by sirt_ctx_crypto() */
	int json;                    /* --json */
	int verbose;                 /* -v count */
	const char *argv0;
	int rules_tried;             /* sirt_ctx_rules() looked (found or not) */
};

/* Open (and migrate) the store named by the configuration if not yet
 * open.  0 ok, -1 with err set. */
int sirt_ctx_store(struct sirt_ctx *ctx, struct sirt_err *err);

/* Like sirt_ctx_store() but for commands that only look: a database
 * that does not exist is an error (SIRT_E_NOTFOUND), not created. */
int sirt_ctx_store_existing(struct sirt_ctx *ctx, struct sirt_err *err);

/* Load the rules if not yet loaded; a missing rules directory is not an
 * error (triage then says "untriaged"). */
int sirt_ctx_rules(struct sirt_ctx *ctx, struct sirt_err *err);

/* The rules directory every command uses: [rules] dir (default
 * ./rules); the default, when absent (run outside a source tree), is
 * the installed DATADIR/rules. */
const char *sirt_ctx_rules_dir(const struct sirt_ctx *ctx);

/* Open the crypto engine if configured/available. ctx->crypto may stay
 * NULL when no GnuPG home is usable; that is not an error. */
int sirt_ctx_crypto(struct sirt_ctx *ctx, struct sirt_err *err);

void sirt_ctx_release(struct sirt_ctx *ctx);

#endif
