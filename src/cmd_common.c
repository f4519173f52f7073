/* cmd_common.c - what every subcommand shares: errors, usage, actor. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>
#include "cmd.h"

int cmd_fail(const char *cmd, const struct sirt_err *err)
{
	fprintf(stderr, "sirt: %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
	return sirt_err_exit_code(err);
}

int cmd_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sirt: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see sirt --help)\n");
	return EX_USAGE;
}

const char *cmd_actor(void)
{
	static char uid[32];
	const char *u = getenv("SIRT_USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	u = getlogin();
	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return pw->pw_name;
	snprintf(uid, sizeof(uid), "uid %u", (unsigned)getuid());
	return uid;
}
