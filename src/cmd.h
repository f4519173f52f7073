/* cmd.h - the subcommands (one src/cmd_<name>.c each), registered in
 * the table in main.c.  Each parses its own arguments (after the
 * command name), calls the modules, prints, and returns a sysexits.h
 * exit code. */
#ifndef SIRT_CMD_H
#define SIRT_CMD_H

#include <jansson.h>
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
int cmd_retriage(int argc, char **argv, struct sirt_ctx *ctx);

/* Print err as "sirt: <cmd>: <message>" and return its exit code. */
int cmd_fail(const char *cmd, const struct sirt_err *err);

/* Print a usage error for cmd and return EX_USAGE. */
int cmd_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Terminal-safe output of untrusted text (subjects, names, bodies):
 * C0 and C1 control characters, DEL, bidirectional overrides and
 * invalid UTF-8 are replaced, so a message cannot move the cursor,
 * recolour the terminal or reverse what it shows.  cmd_put_safe() keeps
 * newlines, each followed by indent (NULL: none); cmd_put_col() prints
 * at most width characters and pads to width (0: no limit, no pad). */
void cmd_put_safe(const char *s, const char *indent);

/* Print a JSON value (jansson dump flags) and a newline; takes o.  A
 * value that cannot be built or dumped is said on stderr and sets
 * cmd_output_failed: the command then exits EX_SOFTWARE (main.c). */
void cmd_put_json(json_t *o, size_t flags);
extern int cmd_output_failed;
void cmd_put_col(const char *s, int width);

/* Who is acting: $SIRT_USER, else the login name, else the uid. */
const char *cmd_actor(void);

#endif
