/* config.c - sirt.conf: INI parsed with libinih over the embedded defaults. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ini.h>
#include "sirt/config.h"
#include "sirt/util.h"

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = sirt_xstrdup(v);
}

struct sirt_config *sirt_config_default(void)
{
	struct sirt_config *c = sirt_xcalloc(1, sizeof(*c));

	c->var_dir = sirt_xstrdup("./var");
	c->store_path = sirt_xstrdup("./var/sirt.db");
	c->store_busy_timeout = 15;
	c->rules_dir = sirt_xstrdup("./rules");
	c->tracker_type = sirt_xstrdup("local");
	c->tracker_dir = sirt_xstrdup("./var/issues");
	c->outbox_dir = sirt_xstrdup("./var/outbox");
	c->store_decrypted = 1;
	c->forward_decrypted = 0;
	c->timezone = sirt_xstrdup("UTC");
	c->log_target = sirt_xstrdup("stderr");
	sirt_limits_default(&c->limits);
	/* The embedded default mailbox: a Maildir under ./var/mail. */
	c->sources = sirt_xcalloc(1, sizeof(*c->sources));
	c->nsources = 1;
	c->sources[0].name = sirt_xstrdup("default");
	c->sources[0].type = sirt_xstrdup("maildir");
	c->sources[0].path = sirt_xstrdup("./var/mail");
	c->sources[0].mailbox = sirt_xstrdup("INBOX");
	c->sources[0].interval = 60;
	c->sources[0].batch = 200;
	return c;
}

static void source_conf_release(struct sirt_source_conf *s)
{
	free(s->name); free(s->type); free(s->path); free(s->host);
	free(s->user); free(s->password_file); free(s->oauth2_token_file);
	free(s->auth); free(s->mailbox); free(s->move_to); free(s->ca_file);
	free(s->pin_sha256);
}

static void free_list(char **v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void sirt_config_free(struct sirt_config **cp)
{
	struct sirt_config *c = *cp;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nsources; i++)
		source_conf_release(&c->sources[i]);
	free(c->sources);
	free(c->file); free(c->store_path); free(c->var_dir);
	free(c->gnupg_home); free(c->passphrase_file);
	free_list(c->trusted_signers, c->ntrusted_signers);
	free(c->rules_dir); free(c->rules_local_dir);
	free(c->tracker_type); free(c->tracker_url); free(c->tracker_repo);
	free(c->tracker_token_file); free(c->tracker_ca_file); free(c->tracker_dir);
	free(c->smtp_url); free(c->smtp_user); free(c->smtp_password_file);
	free(c->notify_from); free(c->notify_ca_file); free(c->notify_sirt);
	for (i = 0; i < 5; i++)
		free(c->notify_route[i]);
	free_list(c->webhook_names, c->nwebhooks);
	free_list(c->webhook_paths, c->nwebhooks);
	free(c->escalate_after); free(c->digest_to); free(c->outbox_dir);
	free(c->deadline_regimes); free(c->timezone); free(c->calendar);
	free(c->log_target); free(c->log_level);
	free(c);
	*cp = NULL;
}

const struct sirt_source_conf *sirt_config_source(const struct sirt_config *cfg,
						  const char *name)
{
	size_t i;
	for (i = 0; i < cfg->nsources; i++)
		if (!strcmp(cfg->sources[i].name, name))
			return &cfg->sources[i];
	return NULL;
}

struct parse_state {
	struct sirt_config *cfg;
	char err[512];
	int had_sources;
};

#define BAD(...) do { if (!ps->err[0]) snprintf(ps->err, sizeof(ps->err), __VA_ARGS__); return 0; } while (0)

static int source_key(struct parse_state *ps, struct sirt_source_conf *s,
		      const char *key, const char *val)
{
	long v;

	if (!strcmp(key, "type")) {
		if (strcmp(val, "imap") && strcmp(val, "maildir") && strcmp(val, "mbox"))
			BAD("source '%s': type must be imap, maildir or mbox, not '%s'",
			    s->name, val);
		set_str(&s->type, val);
	} else if (!strcmp(key, "path")) {
		set_str(&s->path, val);
	} else if (!strcmp(key, "host")) {
		set_str(&s->host, val);
	} else if (!strcmp(key, "port")) {
		if (sirt_parse_long(val, 1, 65535, &v) < 0)
			BAD("source '%s': port must be 1-65535, not '%s'", s->name, val);
		s->port = (int)v;
	} else if (!strcmp(key, "tls")) {
		if (!strcmp(val, "implicit")) s->tls = SIRT_TLS_IMPLICIT;
		else if (!strcmp(val, "starttls")) s->tls = SIRT_TLS_STARTTLS;
		else if (!strcmp(val, "none")) s->tls = SIRT_TLS_NONE;
		else BAD("source '%s': tls must be implicit, starttls or none, not '%s'",
			 s->name, val);
	} else if (!strcmp(key, "allow_plaintext")) {
		if (sirt_parse_bool(val, &s->allow_plaintext) < 0)
			BAD("source '%s': allow_plaintext must be yes or no", s->name);
	} else if (!strcmp(key, "user")) {
		set_str(&s->user, val);
	} else if (!strcmp(key, "password")) {
		BAD("source '%s': passwords are not accepted in the configuration; "
		    "use password_file or SIRT_PASSWORD_<SOURCE>", s->name);
	} else if (!strcmp(key, "password_file")) {
		set_str(&s->password_file, val);
	} else if (!strcmp(key, "oauth2_token_file")) {
		set_str(&s->oauth2_token_file, val);
	} else if (!strcmp(key, "auth")) {
		if (strcmp(val, "login") && strcmp(val, "plain") && strcmp(val, "xoauth2"))
			BAD("source '%s': auth must be login, plain or xoauth2", s->name);
		set_str(&s->auth, val);
	} else if (!strcmp(key, "mailbox")) {
		set_str(&s->mailbox, val);
	} else if (!strcmp(key, "after")) {
		if (!strcmp(val, "flag")) s->after = SIRT_AFTER_FLAG;
		else if (!strcmp(val, "none")) s->after = SIRT_AFTER_NONE;
		else if (!strncmp(val, "move:", 5) && val[5]) {
			s->after = SIRT_AFTER_MOVE;
			set_str(&s->move_to, val + 5);
		} else
			BAD("source '%s': after must be flag, none or move:FOLDER, not '%s'",
			    s->name, val);
	} else if (!strcmp(key, "ca_file")) {
		set_str(&s->ca_file, val);
	} else if (!strcmp(key, "pin_sha256")) {
		set_str(&s->pin_sha256, val);
	} else if (!strcmp(key, "interval")) {
		if (sirt_parse_long(val, 1, 86400, &v) < 0)
			BAD("source '%s': interval must be 1-86400 seconds", s->name);
		s->interval = (int)v;
	} else if (!strcmp(key, "batch")) {
		if (sirt_parse_long(val, 1, 10000, &v) < 0)
			BAD("source '%s': batch must be 1-10000", s->name);
		s->batch = (int)v;
	} else {
		BAD("unknown key '%s' in [source %s]", key, s->name);
	}
	return 1;
}

static struct sirt_source_conf *source_section(struct parse_state *ps,
					       const char *name)
{
	struct sirt_config *c = ps->cfg;
	struct sirt_source_conf *s;
	size_t i;

	if (!ps->had_sources) {
		/* A file that names sources replaces the embedded default. */
		for (i = 0; i < c->nsources; i++)
			source_conf_release(&c->sources[i]);
		c->nsources = 0;
		ps->had_sources = 1;
	}
	for (i = 0; i < c->nsources; i++)
		if (!strcmp(c->sources[i].name, name))
			return &c->sources[i];
	c->sources = sirt_xrealloc(c->sources, (c->nsources + 1) * sizeof(*s));
	s = &c->sources[c->nsources++];
	memset(s, 0, sizeof(*s));
	s->name = sirt_xstrdup(name);
	s->mailbox = sirt_xstrdup("INBOX");
	s->interval = 60;
	s->batch = 200;
	return s;
}

/* Split "A B, C" into upper-case tokens without spaces. */
static void parse_fprs(struct sirt_config *c, const char *val)
{
	const char *p = val;

	free_list(c->trusted_signers, c->ntrusted_signers);
	c->trusted_signers = NULL;
	c->ntrusted_signers = 0;
	while (*p) {
		size_t n = strcspn(p, ",;");
		char *f = sirt_xmalloc(n + 1), *q = f;
		size_t i;
		for (i = 0; i < n; i++)
			if (!isspace((unsigned char)p[i]))
				*q++ = (char)toupper((unsigned char)p[i]);
		*q = '\0';
		if (*f) {
			c->trusted_signers = sirt_xrealloc(c->trusted_signers,
				(c->ntrusted_signers + 1) * sizeof(char *));
			c->trusted_signers[c->ntrusted_signers++] = f;
		} else {
			free(f);
		}
		p += n;
		if (*p)
			p++;
	}
}

static int handler(void *user, const char *section, const char *key,
		   const char *val)
{
	struct parse_state *ps = user;
	struct sirt_config *c = ps->cfg;
	size_t sz;
	long v;

	if (!strncmp(section, "source ", 7) || !strcmp(section, "source")) {
		const char *name = section[6] ? section + 7 : "";
		while (*name == ' ')
			name++;
		if (!*name)
			BAD("a [source] section needs a name: [source NAME]");
		return source_key(ps, source_section(ps, name), key, val);
	}
	if (!strcmp(section, "store")) {
		if (!strcmp(key, "path")) set_str(&c->store_path, val);
		else if (!strcmp(key, "busy_timeout")) {
			if (sirt_parse_long(val, 0, 3600, &v) < 0)
				BAD("busy_timeout must be 0-3600 seconds, not '%s'", val);
			c->store_busy_timeout = (int)v;
		} else BAD("unknown key '%s' in [store]", key);
	} else if (!strcmp(section, "crypto")) {
		if (!strcmp(key, "gnupg_home")) set_str(&c->gnupg_home, val);
		else if (!strcmp(key, "passphrase_file")) set_str(&c->passphrase_file, val);
		else if (!strcmp(key, "trusted_signers")) parse_fprs(c, val);
		else if (!strcmp(key, "store_decrypted")) {
			if (sirt_parse_bool(val, &c->store_decrypted) < 0)
				BAD("store_decrypted must be yes or no, not '%s'", val);
		} else if (!strcmp(key, "forward_decrypted")) {
			if (sirt_parse_bool(val, &c->forward_decrypted) < 0)
				BAD("forward_decrypted must be yes or no, not '%s'", val);
		} else BAD("unknown key '%s' in [crypto]", key);
	} else if (!strcmp(section, "rules")) {
		if (!strcmp(key, "dir")) set_str(&c->rules_dir, val);
		else if (!strcmp(key, "local_dir")) set_str(&c->rules_local_dir, val);
		else BAD("unknown key '%s' in [rules]", key);
	} else if (!strcmp(section, "tracker")) {
		if (!strcmp(key, "type")) {
			if (strcmp(val, "local") && strcmp(val, "github") &&
			    strcmp(val, "gitlab") && strcmp(val, "rt"))
				BAD("tracker type must be local, github, gitlab or rt, not '%s'", val);
			set_str(&c->tracker_type, val);
		} else if (!strcmp(key, "url")) set_str(&c->tracker_url, val);
		else if (!strcmp(key, "repo") || !strcmp(key, "project") ||
			 !strcmp(key, "queue")) set_str(&c->tracker_repo, val);
		else if (!strcmp(key, "token_file")) set_str(&c->tracker_token_file, val);
		else if (!strcmp(key, "ca_file")) set_str(&c->tracker_ca_file, val);
		else if (!strcmp(key, "dir")) set_str(&c->tracker_dir, val);
		else if (!strcmp(key, "token"))
			BAD("tokens are not accepted in the configuration; use token_file");
		else BAD("unknown key '%s' in [tracker]", key);
	} else if (!strcmp(section, "notify")) {
		if (!strcmp(key, "smtp_url")) set_str(&c->smtp_url, val);
		else if (!strcmp(key, "smtp_user")) set_str(&c->smtp_user, val);
		else if (!strcmp(key, "smtp_password_file")) set_str(&c->smtp_password_file, val);
		else if (!strcmp(key, "from")) set_str(&c->notify_from, val);
		else if (!strcmp(key, "ca_file")) set_str(&c->notify_ca_file, val);
		else if (!strcmp(key, "sirt")) set_str(&c->notify_sirt, val);
		else if ((key[0] == 'P' || key[0] == 'p') && key[1] >= '1' &&
			 key[1] <= '4' && !key[2])
			set_str(&c->notify_route[key[1] - '0'], val);
		else if (!strncmp(key, "webhook.", 8) && key[8]) {
			c->webhook_names = sirt_xrealloc(c->webhook_names,
				(c->nwebhooks + 1) * sizeof(char *));
			c->webhook_paths = sirt_xrealloc(c->webhook_paths,
				(c->nwebhooks + 1) * sizeof(char *));
			c->webhook_names[c->nwebhooks] = sirt_xstrdup(key + 8);
			c->webhook_paths[c->nwebhooks++] = sirt_xstrdup(val);
		} else if (!strcmp(key, "escalate_after")) set_str(&c->escalate_after, val);
		else if (!strcmp(key, "ack")) {
			if (sirt_parse_bool(val, &c->ack_reporter) < 0)
				BAD("ack must be yes or no, not '%s'", val);
		} else if (!strcmp(key, "digest_to")) set_str(&c->digest_to, val);
		else if (!strcmp(key, "outbox_dir")) set_str(&c->outbox_dir, val);
		else BAD("unknown key '%s' in [notify]", key);
	} else if (!strcmp(section, "deadlines")) {
		if (!strcmp(key, "regimes")) set_str(&c->deadline_regimes, val);
		else if (!strcmp(key, "timezone")) set_str(&c->timezone, val);
		else if (!strcmp(key, "calendar")) set_str(&c->calendar, val);
		else BAD("unknown key '%s' in [deadlines]", key);
	} else if (!strcmp(section, "limits")) {
		if (!strcmp(key, "max_message_size")) {
			if (sirt_parse_size(val, &sz) < 0 || sz < 1024)
				BAD("max_message_size must be a size of at least 1K, not '%s'", val);
			c->limits.max_message_size = sz;
		} else if (!strcmp(key, "max_mime_depth")) {
			if (sirt_parse_long(val, 1, 1000, &v) < 0)
				BAD("max_mime_depth must be 1-1000, not '%s'", val);
			c->limits.max_mime_depth = (int)v;
		} else if (!strcmp(key, "max_parts")) {
			if (sirt_parse_long(val, 1, 100000, &v) < 0)
				BAD("max_parts must be 1-100000, not '%s'", val);
			c->limits.max_parts = (int)v;
		} else if (!strcmp(key, "max_header_line")) {
			if (sirt_parse_size(val, &sz) < 0 || sz < 78)
				BAD("max_header_line must be at least 78, not '%s'", val);
			c->limits.max_header_line = sz;
		} else BAD("unknown key '%s' in [limits]", key);
	} else if (!strcmp(section, "log")) {
		if (!strcmp(key, "target")) {
			if (strcmp(val, "stderr") && strcmp(val, "syslog"))
				BAD("log target must be stderr or syslog, not '%s'", val);
			set_str(&c->log_target, val);
		} else if (!strcmp(key, "level")) {
			if (strcmp(val, "error") && strcmp(val, "warning") &&
			    strcmp(val, "info") && strcmp(val, "debug"))
				BAD("log level must be error, warning, info or debug");
			set_str(&c->log_level, val);
		} else BAD("unknown key '%s' in [log]", key);
	} else if (!*section) {
		BAD("key '%s' outside any section", key);
	} else {
		BAD("unknown section [%s]", section);
	}
	return 1;
}

static int check_sources(struct sirt_config *c, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < c->nsources; i++) {
		struct sirt_source_conf *s = &c->sources[i];
		if (!s->type) {
			snprintf(err, errlen, "source '%s' has no type", s->name);
			return -1;
		}
		if (strcmp(s->type, "imap") && !s->path) {
			snprintf(err, errlen, "source '%s' (%s) needs a path", s->name, s->type);
			return -1;
		}
		if (!strcmp(s->type, "imap") && (!s->host || !s->user)) {
			snprintf(err, errlen, "source '%s' (imap) needs host and user", s->name);
			return -1;
		}
		if (!strcmp(s->type, "imap") && s->tls == SIRT_TLS_NONE && !s->allow_plaintext) {
			snprintf(err, errlen, "source '%s': tls = none sends the password in "
				 "clear; set allow_plaintext = yes to allow it (loopback only)",
				 s->name);
			return -1;
		}
	}
	return 0;
}

int sirt_config_load(const char *path, struct sirt_config **cfg_r,
		     struct sirt_err *err)
{
	struct parse_state ps;
	FILE *f;
	int line;

	memset(&ps, 0, sizeof(ps));
	f = fopen(path, "r");
	if (!f)
		return sirt_err_set(err, SIRT_E_CONFIG, "cannot read configuration '%s': %m",
				    path);
	{
		struct stat st;
		if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
			fclose(f);
			return sirt_err_set(err, SIRT_E_CONFIG, "configuration '%s' is "
					    "not a regular file", path);
		}
	}
	ps.cfg = sirt_config_default();
	set_str(&ps.cfg->file, path);
	line = ini_parse_file(f, handler, &ps);
	fclose(f);
	if (line != 0) {
		if (line > 0 && ps.err[0])
			sirt_err_set(err, SIRT_E_CONFIG, "%s:%d: %s", path, line, ps.err);
		else if (line > 0)
			sirt_err_set(err, SIRT_E_CONFIG, "%s:%d: syntax error", path, line);
		else
			sirt_err_set(err, SIRT_E_CONFIG, "%s: cannot parse", path);
		sirt_config_free(&ps.cfg);
		return -1;
	}
	if (check_sources(ps.cfg, ps.err, sizeof(ps.err)) < 0) {
		sirt_err_set(err, SIRT_E_CONFIG, "%s: %s", path, ps.err);
		sirt_config_free(&ps.cfg);
		return -1;
	}
	*cfg_r = ps.cfg;
	return 0;
}
