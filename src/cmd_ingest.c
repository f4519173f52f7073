/* cmd_ingest.c - sirt ingest [FILE...]: the MTA pipe and manual intake.
 *
 * Exit 0 only once every message is committed; 75 (EX_TEMPFAIL) when a
 * temporary failure (locked or full database, I/O) means the MTA should
 * try again; never 0 for a message that was not stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "sirt/intake.h"
#include "sirt/util.h"
#include "cmd.h"

static void report(struct sirt_ctx *ctx, const char *what,
		   const struct sirt_intake_result *r)
{
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:s}",
				      "input", what, "ref", r->ref,
				      "duplicate", r->duplicate, "new_case", r->new_case,
				      "unparsed", r->unparsed,
				      "severity", sirt_severity_name(r->severity));
		cmd_put_json(o, JSON_COMPACT);
	} else if (r->duplicate) {
		printf("%s: already stored in %s (duplicate, nothing added)\n", what, r->ref);
	} else {
		printf("%s: %s %s %s%s\n", what, r->new_case ? "new case" : "follow-up to",
		       r->ref, sirt_severity_name(r->severity),
		       r->unparsed ? " (unparsed: needs a human)" : "");
	}
}

static int ingest_one(struct sirt_ctx *ctx, const char *what, int fd,
		      struct sirt_err *err)
{
	struct sirt_intake_opts o;
	struct sirt_intake_result r;
	char *data = NULL;
	size_t len = 0;
	int trunc = 0, rc;

	/* Read up to 4x the size limit; larger input is stored truncated
	 * and flagged, never dropped. */
	if (sirt_read_fd(fd, ctx->cfg->limits.max_message_size * 4, &data, &len,
			 &trunc, err) < 0)
		return sirt_err_prefix(err, "cannot read %s", what);
	memset(&o, 0, sizeof(o));
	o.origin = fd == 0 ? "stdin" : what;
	o.truncated = trunc;
	rc = sirt_intake(ctx, data, len, &o, &r, err);
	free(data);
	if (rc < 0)
		return sirt_err_prefix(err, "%s", what);
	report(ctx, what, &r);
	return 0;
}

int cmd_ingest(int argc, char **argv, struct sirt_ctx *ctx)
{
	struct sirt_err err;
	int i, rc = EX_OK;

	sirt_err_clear(&err);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1])
		return cmd_usage("ingest", "unknown option '%s'", argv[1]);
	if (argc <= 1 || (argc == 2 && !strcmp(argv[1], "-"))) {
		if (ingest_one(ctx, "stdin", 0, &err) < 0)
			return cmd_fail("ingest", &err);
		return EX_OK;
	}
	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			fprintf(stderr, "sirt: ingest: cannot open '%s': %m\n", argv[i]);
			if (rc == EX_OK)
				rc = EX_NOINPUT;
			continue;
		}
		{
			struct stat st;
			if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
				fprintf(stderr, "sirt: ingest: '%s' is not a regular file\n",
					argv[i]);
				fclose(f);
				if (rc == EX_OK)
					rc = EX_NOINPUT;
				continue;
			}
		}
		if (ingest_one(ctx, argv[i], fileno(f), &err) < 0) {
			int ec = cmd_fail("ingest", &err);
			/* a temporary failure wins: the caller must retry */
			if (rc == EX_OK || ec == EX_TEMPFAIL)
				rc = ec;
		}
		fclose(f);
	}
	return rc;
}
