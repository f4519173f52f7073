/* cmd_init.c - sirt init: create the database and directories. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sysexits.h>
#include <jansson.h>
#include "sirt/buf.h"
#include "sirt/util.h"
#include "cmd.h"

/* A Maildir source's new/ cur/ tmp/. */
static int make_maildir(const char *path, struct sirt_err *err)
{
	static const char *const subs[] = { "new", "cur", "tmp" };
	struct sirt_buf b;
	size_t i;
	int rc = 0;

	sirt_buf_init(&b);
	for (i = 0; i < 3 && rc == 0; i++) {
		sirt_buf_reset(&b);
		sirt_buf_addf(&b, "%s/%s", path, subs[i]);
		rc = sirt_mkdirs(b.data, 0700, err);
	}
	sirt_buf_release(&b);
	return rc;
}

int cmd_init(int argc, char **argv, struct sirt_ctx *ctx)
{
	struct sirt_config *c = ctx->cfg;
	struct sirt_err err;
	size_t i;

	(void)argv;
	if (argc > 1)
		return cmd_usage("init", "takes no arguments");
	sirt_err_clear(&err);
	if (sirt_ctx_store(ctx, &err) < 0)
		return cmd_fail("init", &err);
	for (i = 0; i < c->nsources; i++)
		if (!strcmp(c->sources[i].type, "maildir") &&
		    make_maildir(c->sources[i].path, &err) < 0)
			return cmd_fail("init", &err);
	if (c->tracker_type && !strcmp(c->tracker_type, "local") && c->tracker_dir &&
	    sirt_mkdirs(c->tracker_dir, 0700, &err) < 0)
		return cmd_fail("init", &err);
	if (c->outbox_dir && sirt_mkdirs(c->outbox_dir, 0700, &err) < 0)
		return cmd_fail("init", &err);
	if (ctx->json) {
		json_t *o = json_pack("{s:s}", "database", c->store_path);
		cmd_put_json(o, JSON_COMPACT);
	} else {
		printf("initialised %s\n", c->store_path);
	}
	return EX_OK;
}
