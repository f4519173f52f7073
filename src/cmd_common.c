/* cmd_common.c - what every subcommand shares: errors, usage, actor. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <unistd.h>
#include "sirt/util.h"
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

/* Length of the UTF-8 sequence at p (NUL-terminated) if it is valid and
 * printable, else 0 (control, bidi override, invalid). */
static size_t safe_seq(const unsigned char *p)
{
	size_t k;

	if (*p < 0x80)
		return *p >= 0x20 && *p < 0x7f;
	k = sirt_utf8_seq(p, strnlen((const char *)p, 4));
	if (!k)
		return 0;
	/* C1 controls U+0080..U+009F */
	if (p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	/* U+061C arabic letter mark */
	if (p[0] == 0xd8 && p[1] == 0x9c)
		return 0;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x8b && p[2] <= 0x8f) || (p[2] >= 0xa8 && p[2] <= 0xae)))
		return 0; /* zero-width, LRM/RLM, line/para separators, embeddings, overrides */
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return 0; /* isolates */
	return k;
}

static void put_safe(const char *s, const char *indent, int width, int pad)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int n = 0;

	while (*p && (width <= 0 || n < width)) {
		size_t k;
		if (*p == '\n') {
			if (indent) {
				putchar('\n');
				fputs(indent, stdout);
			} else {
				putchar(' ');
			}
			p++;
			continue;
		}
		if (*p == '\t') {
			putchar(indent ? '\t' : ' ');
			p++;
			n++;
			continue;
		}
		k = safe_seq(p);
		if (k) {
			fwrite(p, 1, k, stdout);
			p += k;
		} else {
			fputs("\xef\xbf\xbd", stdout);
			/* skip the rest of a multi-byte sequence */
			p++;
			while ((*p & 0xc0) == 0x80)
				p++;
		}
		n++;
	}
	for (; pad && width > 0 && n < width; n++)
		putchar(' ');
}

void cmd_put_safe(const char *s, const char *indent)
{
	put_safe(s, indent ? indent : NULL, 0, 0);
}

void cmd_put_col(const char *s, int width)
{
	put_safe(s, NULL, width, 1);
}

int cmd_output_failed;

void cmd_put_json(json_t *o, size_t flags)
{
	char *s = o ? json_dumps(o, flags) : NULL;

	if (s) {
		printf("%s\n", s);
	} else {
		fprintf(stderr, "sirt: cannot write JSON output\n");
		cmd_output_failed = 1;
	}
	free(s);
	json_decref(o);
}
