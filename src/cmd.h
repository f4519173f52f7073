/* cmd.h - the subcommands (one src/cmd_<name>.c each), registered in
 * the table in main.c.  Each parses its own arguments (after the
 * command name), calls the modules, prints, and returns a sysexits.h
 * exit code. */
#ifndef SIRT_CMD_H
#define SIRT_CMD_H

#include "sirt/sirt.h"

int cmd_init(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_ingest(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_poll(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_cases(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_show(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_set(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_triage(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_rules(int argc, char **argv, struct sirt_ctx *ctx);
int cmd_keys(int argc, char **argv, struct sirt_ctx *ctx);

/* Print err as "sirt: <cmd>: <message>" and return its exit code. */
int cmd_fail(const char *cmd, const struct sirt_err *err);

/* Print a usage error for cmd and return EX_USAGE. */
int cmd_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Who is acting: $SIRT_USER, else the login name, else the uid. */
const char *cmd_actor(void);

#endif
