/* cmd_cases.c - sirt cases [--severity Pn] [--state S]: list cases. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <jansson.h>
#include "sirt/case.h"
#include "sirt/store.h"
#include "sirt/util.h"
#include "cmd.h"

json_t *cmd_case_json(const struct sirt_case *c);
json_t *cmd_case_json(const struct sirt_case *c)
{
	json_t *o = json_object(), *tags = json_array();
	size_t i;

	json_object_set_new(o, "ref", json_string(c->ref));
	json_object_set_new(o, "severity", json_string(sirt_severity_name(c->severity)));
	json_object_set_new(o, "severity_auto",
			    json_string(sirt_severity_name(c->severity_auto)));
	json_object_set_new(o, "severity_override", c->severity_override ?
			    json_string(sirt_severity_name(c->severity_override)) :
			    json_null());
	json_object_set_new(o, "state", json_string(c->state));
	json_object_set_new(o, "received", json_string(c->received));
	json_object_set_new(o, "updated", json_string(c->updated));
	json_object_set_new(o, "reporter", c->reporter ? json_string(c->reporter) : json_null());
	json_object_set_new(o, "subject", c->subject ? json_string(c->subject) : json_null());
	json_object_set_new(o, "category", c->category ? json_string(c->category) : json_null());
	json_object_set_new(o, "reason", c->reason ? json_string(c->reason) : json_null());
	json_object_set_new(o, "unparsed", json_boolean(c->unparsed));
	json_object_set_new(o, "messages", json_integer(c->nmessages));
	for (i = 0; i < c->ntags; i++)
		json_array_append_new(tags, json_string(c->tags[i]));
	json_object_set_new(o, "tags", tags);
	return o;
}

int cmd_cases(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "severity", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_case_filter f;
	struct sirt_case *cs = NULL;
	struct sirt_err err;
	size_t n = 0, i;
	int opt;

	memset(&f, 0, sizeof(f));
	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			f.severity = sirt_severity_parse(optarg);
			if (!f.severity)
				return cmd_usage("cases", "severity must be P1-P4, not '%s'", optarg);
			break;
		case 't':
			if (!sirt_case_state_valid(optarg))
				return cmd_usage("cases", "unknown state '%s'", optarg);
			f.state = optarg;
			break;
		case 'j': ctx->json = 1; break;
		default: return cmd_usage("cases", "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage("cases", "unexpected argument '%s'", argv[optind]);
	if (sirt_ctx_store_existing(ctx, &err) < 0 ||
	    sirt_store_case_list(ctx->store, &f, &cs, &n, &err) < 0)
		return cmd_fail("cases", &err);
	if (ctx->json) {
		json_t *a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(a, cmd_case_json(&cs[i]));
		cmd_put_json(a, JSON_INDENT(2));
	} else if (n == 0) {
		printf("no cases\n");
	} else {
		printf("%-14s %-3s %-13s %-20s %-30s %s\n", "REF", "SEV", "STATE",
		       "RECEIVED", "REPORTER", "SUBJECT");
		for (i = 0; i < n; i++) {
			printf("%-14s %-3s %-13s %-20s ", cs[i].ref,
			       sirt_severity_name(cs[i].severity), cs[i].state,
			       cs[i].received);
			cmd_put_col(cs[i].reporter ? cs[i].reporter : "-", 30);
			putchar(' ');
			cmd_put_col(cs[i].subject ? cs[i].subject : "(no subject)", 0);
			if (cs[i].unparsed)
				printf("  [unparsed]");
			putchar('\n');
		}
	}
	for (i = 0; i < n; i++)
		sirt_case_release(&cs[i]);
	free(cs);
	return EX_OK;
}
