/* main.c - sirt's entry point: global options, then one subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include "sirt/config.h"
#include "sirt/log.h"
#include "sirt/sirt.h"
#include "sirt/util.h"
#include "cmd.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct sirt_ctx *ctx);
	const char *args;
	const char *help;
};

static const struct command commands[] = {
	{ "init",   cmd_init,   "", "create the database and directories (idempotent)" },
	{ "ingest", cmd_ingest, "[FILE...]", "store one message per FILE, or one from stdin (MTA pipe)" },
	{ "poll",   cmd_poll,   "[--once] [--source NAME]", "read the configured sources (daemon without --once)" },
	{ "cases",  cmd_cases,  "[--severity Pn] [--state S]", "list cases" },
	{ "show",   cmd_show,   "REF [--raw [--message N]]", "show a case, its messages and timeline" },
	{ "set",    cmd_set,    "REF (--state S | --tag T | --untag T | --severity Pn|auto) [--note TEXT]", "change a case (audited)" },
	{ "keys",   cmd_keys,   "import REF", "import the public keys attached to a case (never trusted)" },
	{ "triage", cmd_triage, "[--explain] [--json] FILE...", "dry run: the verdict on message files, nothing stored" },
	{ "rules",  cmd_rules,  "check [DIR]", "compile the rule files and report errors and warnings" },
	{ "retriage", cmd_retriage, "(REF... | --all) [--note TEXT]", "triage stored messages again with the current rules" },
	{ NULL, NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const struct command *c;

	fprintf(f,
		"usage: sirt [-c FILE] [--json] [-v] COMMAND [ARGS]\n"
		"\n"
		"Security incident intake: reads the security@ mailbox, triages each\n"
		"report P1-P4, and keeps one case per incident.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE  configuration (default: $SIRT_CONFIG, else ./sirt.conf\n"
		"                     if present, else the embedded default under ./var/)\n"
		"      --json         machine-readable output\n"
		"  -v, --verbose      more logging (repeat for debug)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"\n"
		"commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-7s %s\n          %s\n", c->name, c->args, c->help);
	fprintf(f,
		"\n"
		"environment: SIRT_CONFIG, SIRT_USER (who is acting), SIRT_NOW (fix the clock,\n"
		"ISO 8601).  Exit codes follow sysexits.h; 75 means try again later.\n"
		"See sirt(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_ctx ctx;
	struct sirt_err err;
	const struct command *c;
	const char *cfgpath = NULL;
	int opt, rc, level;

	memset(&ctx, 0, sizeof(ctx));
	sirt_err_clear(&err);
	ctx.argv0 = argv[0];
	while ((opt = getopt_long(argc, argv, "+c:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'j': ctx.json = 1; break;
		case 'v': ctx.verbose++; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("sirt %s\n", SIRT_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	for (c = commands; c->name; c++)
		if (!strcmp(c->name, argv[optind]))
			break;
	if (!c->name) {
		fprintf(stderr, "sirt: unknown command '%s' (see sirt --help)\n",
			argv[optind]);
		return EX_USAGE;
	}
	{
		/* A clock that cannot be read must not silently be "now". */
		const char *now = getenv("SIRT_NOW");
		time_t t;
		if (now && *now && sirt_parse_iso8601(now, &t) < 0) {
			fprintf(stderr, "sirt: SIRT_NOW='%s' is not an ISO 8601 time "
				"(e.g. 2026-11-20T17:00:00Z)\n", now);
			return EX_USAGE;
		}
	}
	level = SIRT_LOG_WARN + ctx.verbose;
	sirt_log_init("sirt", 0, level > SIRT_LOG_DEBUG ? SIRT_LOG_DEBUG :
		      (enum sirt_log_level)level);

	if (!cfgpath)
		cfgpath = getenv("SIRT_CONFIG");
	if (!cfgpath && access("sirt.conf", F_OK) == 0)
		cfgpath = "sirt.conf";
	if (cfgpath) {
		if (sirt_config_load(cfgpath, &ctx.cfg, &err) < 0)
			return cmd_fail("config", &err);
	} else {
		ctx.cfg = sirt_config_default();
	}
	/* [log] applies unless -v asked for more. */
	if (ctx.cfg->log_level && !ctx.verbose) {
		static const char *const names[] = { "error", "warning", "info", "debug" };
		for (level = 0; level < 4; level++)
			if (!strcmp(ctx.cfg->log_level, names[level]))
				sirt_log_set_level((enum sirt_log_level)level);
	}
	if (ctx.cfg->log_target && !strcmp(ctx.cfg->log_target, "syslog"))
		sirt_log_init("sirt", 1, sirt_log_get_level());
	rc = c->fn(argc - optind, argv + optind, &ctx);
	sirt_ctx_release(&ctx);
	if (cmd_output_failed && rc == EX_OK)
		rc = EX_SOFTWARE;
	/* Output that did not reach its destination is a failure. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sirt: %s: cannot write output: %m\n", c->name);
		if (rc == EX_OK)
			rc = EX_IOERR;
	}
	return rc;
}
