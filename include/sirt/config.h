/* config.h - sirt.conf (INI, parsed with libinih) and its defaults.
 *
 * Secrets are never held in the configuration: only the paths of the
 * files that hold them (password_file, token_file, ...).  With no file,
 * sirt_config_default() gives the embedded default of DESIGN.md: every
 * path under ./var/.
 */
#ifndef SIRT_CONFIG_H
#define SIRT_CONFIG_H

#include <stddef.h>
#include "sirt/err.h"
#include "sirt/msg.h"

enum sirt_tls_mode { SIRT_TLS_IMPLICIT = 0, SIRT_TLS_STARTTLS, SIRT_TLS_NONE };

enum sirt_after { SIRT_AFTER_FLAG = 0, SIRT_AFTER_MOVE, SIRT_AFTER_NONE };

struct sirt_source_conf {
	char *name;               /* [source NAME] */
	char *type;               /* imap | maildir | mbox */
	/* maildir, mbox */
	char *path;
	/* imap */
	char *host;
	int port;                 /* 0 = default for tls mode */
	enum sirt_tls_mode tls;
	int allow_plaintext;      /* tls = none allowed (loopback tests) */
	char *user;
	char *password_file;      /* or env SIRT_PASSWORD_<NAME> */
	char *oauth2_token_file;
	char *auth;               /* "login" | "plain" | "xoauth2" | NULL = auto */
	char *mailbox;            /* default INBOX */
	enum sirt_after after;
	char *move_to;            /* after = move:FOLDER */
	char *ca_file;
	char *pin_sha256;
	int interval;             /* seconds between polls; default 60 */
	int batch;                /* UIDs fetched per batch; default 200 */
};

struct sirt_config {
	char *file;               /* where it was read from, or NULL */
	char *store_path;         /* [store] path */
	int store_busy_timeout;   /* [store] busy_timeout, seconds (default 15) */
	char *var_dir;            /* directory holding the defaults (./var) */

	struct sirt_source_conf *sources;
	size_t nsources;

	/* [crypto] */
	char *gnupg_home;
	char *passphrase_file;
	char **trusted_signers;   /* fingerprints, upper case, no spaces */
	size_t ntrusted_signers;
	int store_decrypted;      /* default 1 */
	int forward_decrypted;    /* default 0 */

	/* [rules] */
	char *rules_dir;          /* default ./rules */
	char *rules_local_dir;

	/* [tracker] */
	char *tracker_type;       /* local | github | gitlab | rt */
	char *tracker_url;
	char *tracker_repo;       /* repo | project | queue */
	char *tracker_token_file;
	char *tracker_ca_file;
	char *tracker_dir;        /* local: default ./var/issues */

	/* [notify] */
	char *smtp_url;
	char *smtp_user;
	char *smtp_password_file;
	char *notify_from;
	char *notify_ca_file;
	char *notify_sirt;        /* addr, addr ... */
	char *notify_route[5];    /* [1..4] = P1..P4 routes, e.g. "mail:sirt, webhook:security" */
	char **webhook_names;     /* webhook.NAME = PATH */
	char **webhook_paths;
	size_t nwebhooks;
	char *escalate_after;
	int ack_reporter;
	char *digest_to;
	char *outbox_dir;         /* local outbox: default ./var/outbox */

	/* [deadlines] */
	char *deadline_regimes;
	char *timezone;
	char *calendar;

	/* [limits] */
	struct sirt_limits limits;

	/* [log] */
	char *log_target;         /* stderr | syslog */
	char *log_level;
};

/* The embedded default (no file). */
struct sirt_config *sirt_config_default(void);

/* Read path over the defaults.  Unknown sections/keys and bad values
 * are errors naming file:line. */
int sirt_config_load(const char *path, struct sirt_config **cfg_r,
		     struct sirt_err *err);

void sirt_config_free(struct sirt_config **cfg);

/* The source named name, or NULL. */
const struct sirt_source_conf *sirt_config_source(const struct sirt_config *cfg,
						  const char *name);

#endif
