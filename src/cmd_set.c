/* cmd_set.c - sirt set REF ... [--note TEXT]: a human changes a case.
 * Every change is one audit row (who, when, what, note). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include "sirt/case.h"
#include "sirt/store.h"
#include "cmd.h"

/* A tag: 1-64 of [a-z0-9:._-], so it is safe in every output. */
static int tag_valid(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
		      strchr(":._-", t[i])))
			return 0;
	return 1;
}

int cmd_set(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "tag", required_argument, NULL, 't' },
		{ "untag", required_argument, NULL, 'u' },
		{ "severity", required_argument, NULL, 'p' },
		{ "note", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *state = NULL, *tag = NULL, *untag = NULL, *note = NULL, *sev = NULL;
	const char *actor = cmd_actor();
	enum sirt_severity severity = SIRT_SEV_NONE;
	struct sirt_err err;
	int64_t id;
	int opt, rc, nchanges = 0;

	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; nchanges++; break;
		case 't': tag = optarg; nchanges++; break;
		case 'u': untag = optarg; nchanges++; break;
		case 'p': sev = optarg; nchanges++; break;
		case 'n': note = optarg; break;
		default: return cmd_usage("set", "bad option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage("set", "needs exactly one case ref");
	if (nchanges == 0 && !note)
		return cmd_usage("set", "nothing to change: give --state, --tag, "
				 "--untag, --severity or --note");
	if (state && !sirt_case_state_valid(state)) {
		fprintf(stderr, "sirt: set: unknown state '%s'; states:", state);
		for (opt = 0; sirt_case_states[opt]; opt++)
			fprintf(stderr, " %s", sirt_case_states[opt]);
		fputc('\n', stderr);
		return EX_USAGE;
	}
	if ((tag && !tag_valid(tag)) || (untag && !tag_valid(untag)))
		return cmd_usage("set", "bad tag '%s': a tag is 1-64 characters of "
				 "a-z 0-9 : . _ -", tag && !tag_valid(tag) ? tag : untag);
	if (sev) {
		if (!strcmp(sev, "auto"))
			severity = SIRT_SEV_NONE;
		else if (!(severity = sirt_severity_parse(sev)))
			return cmd_usage("set", "severity must be P1-P4 or auto, not '%s'", sev);
		if (!note)
			return cmd_usage("set", "changing the severity needs --note TEXT "
					 "saying why");
	}
	if (sirt_ctx_store_existing(ctx, &err) < 0)
		return cmd_fail("set", &err);
	rc = sirt_store_find_case(ctx->store, argv[optind], &id, &err);
	if (rc < 0)
		return cmd_fail("set", &err);
	if (rc == 0) {
		fprintf(stderr, "sirt: set: no case '%s'\n", argv[optind]);
		return EX_NOINPUT;
	}
	/* All changes of one command in one transaction. */
	if (sirt_store_begin(ctx->store, &err) < 0)
		return cmd_fail("set", &err);
	if ((state && sirt_store_case_set_state(ctx->store, id, state, actor, note, &err) < 0) ||
	    (tag && sirt_store_case_tag(ctx->store, id, tag, 1, actor, note, &err) < 0) ||
	    (untag && sirt_store_case_tag(ctx->store, id, untag, 0, actor, note, &err) < 0) ||
	    (sev && sirt_store_case_set_severity(ctx->store, id, severity, actor, note, &err) < 0) ||
	    (!nchanges && sirt_store_audit(ctx->store, id, actor, "note", NULL, note, &err) < 0)) {
		sirt_store_rollback(ctx->store);
		return cmd_fail("set", &err);
	}
	if (sirt_store_commit(ctx->store, &err) < 0)
		return cmd_fail("set", &err);
	{
		struct sirt_case c;
		if (sirt_store_case_get(ctx->store, id, &c, &err) > 0) {
			if (ctx->json)
				cmd_put_json(json_pack("{s:s, s:s, s:s?}", "ref", c.ref,
						       "severity", sirt_severity_name(c.severity),
						       "state", c.state), JSON_COMPACT);
			else
				printf("%s updated: %s %s\n", c.ref,
				       sirt_severity_name(c.severity), c.state);
			sirt_case_release(&c);
		}
	}
	return EX_OK;
}
