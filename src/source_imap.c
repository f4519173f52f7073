/* source_imap.c - the IMAP source (libetpan mailimap over sirt's own
 * verified TLS, see tls.h).
 *
 * Progress is kept per (source, mailbox) in the store's source state:
 * "uidvalidity/<mailbox>" and "uid/<mailbox>", the highest UID below
 * which every message is committed AND acknowledged at the server.
 *
 * Flow: SELECT, UID SEARCH UID last+1:*, then batches of conf->batch
 * UIDs.  A batch is first sized (UID FETCH (UID RFC822.SIZE)), then its
 * bodies are fetched with BODY.PEEK[] (never sets \Seen) in groups of
 * at most GROUP_BYTES, so memory stays bounded whatever the mailbox; a
 * message above limits.max_message_size is fetched as BODY.PEEK[HEADER]
 * only and handed over with oversized = 1.  The data handed out points
 * into the group's fetch result (valid until the next call of next()).
 *
 * Batch commit: the messages of one fetched group are taken into the
 * store inside one transaction (store.h sirt_store_batch_begin), each
 * intake a savepoint; the group is committed when it has been handed
 * out, and only then are its messages flagged.
 *
 * Crash safety: ack() only records the UID.  When every message of a
 * group has been committed, its messages are applied at the server
 * (flag: +FLAGS (\Seen $SirtFiled); move: UID MOVE, else UID COPY +
 * \Deleted + UID EXPUNGE) and only then is the state advanced past it.
 * A kill at any point therefore leaves the state at or below the first
 * message not yet flagged; after a restart those messages are fetched
 * again, intake recognises them by their SHA-256 (duplicate, nothing
 * stored twice) and they are acknowledged and flagged.  The state only
 * passes UIDs that were acknowledged (or vanished from the server), so
 * a message whose intake failed is tried again next time.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <libetpan/libetpan.h>
#include "sirt/buf.h"
#include "sirt/config.h"
#include "sirt/daemon.h"
#include "sirt/log.h"
#include "sirt/sirt.h"
#include "sirt/source.h"
#include "sirt/store.h"
#include "sirt/tls.h"
#include "sirt/util.h"

#define IMAP_TIMEOUT_S 60
#define GROUP_BYTES (8u * 1024 * 1024) /* bodies per FETCH */
#define GROUP_MAX 500		       /* messages per FETCH */
#define IDLE_MAX_S (29 * 60)	       /* RFC 2177: re-issue < 30 min */
#define FILED_KEYWORD "$SirtFiled"

struct imap_item {
	uint32_t uid;
	uint32_t size;	  /* RFC822.SIZE */
	int state;	  /* ITEM_* */
	time_t received;  /* INTERNALDATE, 0 if unknown */
	const char *body; /* into the group's fetch result */
	size_t body_len;
};

enum { ITEM_NEW = 0, ITEM_HANDED, ITEM_ACKED, ITEM_GONE };

struct imap_src {
	struct sirt_source base; /* first */
	mailimap *imap;
	struct sirt_conn *conn; /* borrowed: owned by imap's stream */
	char *mailbox;
	char *key_uid, *key_validity; /* state keys */
	uint32_t uidvalidity;
	uint32_t last_uid;    /* committed state */
	uint32_t search_from; /* next search starts here */
	int has_idle, has_move, has_uidplus;
	int port; /* the port connected to */
	int idling;
	time_t idle_since;
	int waiting; /* idle() called since the last next() */
	time_t wait_since;
	size_t max_size;

	uint32_t *uids; /* found by the last search, ascending */
	size_t nuids, uidpos;

	struct imap_item *batch; /* the current batch */
	size_t nbatch;
	size_t fetched; /* items whose bodies were requested */

	clist *group;		     /* fetch result of the current group */
	size_t group_first, group_n; /* batch indexes it covers */
	size_t handpos;		     /* next batch index to hand out */
	int tx_open;		     /* a store batch spans the group */

	char idbuf[32];
};

/* libetpan's error code in words, for messages. */
static const char *imap_strerror(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		return "connection lost";
	case MAILIMAP_ERROR_PARSE:
		return "unparsable server response";
	case MAILIMAP_ERROR_MEMORY:
		return "out of memory";
	case MAILIMAP_ERROR_LOGIN:
		return "login refused";
	case MAILIMAP_ERROR_SELECT:
		return "SELECT refused";
	case MAILIMAP_ERROR_UID_FETCH:
		return "UID FETCH refused";
	case MAILIMAP_ERROR_UID_SEARCH:
		return "UID SEARCH refused";
	case MAILIMAP_ERROR_UID_STORE:
		return "UID STORE refused";
	case MAILIMAP_ERROR_UID_COPY:
		return "UID COPY refused";
	case MAILIMAP_ERROR_UID_MOVE:
		return "UID MOVE refused";
	case MAILIMAP_ERROR_EXPUNGE:
		return "UID EXPUNGE refused";
	case MAILIMAP_ERROR_STARTTLS:
		return "STARTTLS refused";
	case MAILIMAP_ERROR_SASL:
		return "authentication refused";
	case MAILIMAP_ERROR_EXTENSION:
		return "extension not supported";
	default:
		return "IMAP error";
	}
}

/* Fill err for a failed libetpan call: stream/parse problems are
 * temporary (reconnect), refusals carry the server's words. */
static int imap_fail(struct imap_src *s, int r, const char *what, struct sirt_err *err)
{
	const char *resp = s->imap ? s->imap->imap_response : NULL;
	enum sirt_err_class cls = SIRT_E_PROTO;
	char *clean = NULL;
	int rc;

	/* A dropped connection, or a response cut short (BYE, server
	 * restart): reconnect with backoff. */
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE)
		cls = SIRT_E_TEMP;
	if (r == MAILIMAP_ERROR_MEMORY)
		cls = SIRT_E_FATAL;
	if (resp && *resp && r != MAILIMAP_ERROR_STREAM)
		clean = sirt_utf8_sanitize(resp, strnlen(resp, 300));
	if (r == MAILIMAP_ERROR_STREAM && s->conn)
		rc = sirt_err_set(err, cls, "%s: %s:%d: %s (%s)", what, s->base.conf->host,
				  s->port, imap_strerror(r), sirt_conn_error(s->conn));
	else
		rc = sirt_err_set(err, cls, "%s: %s%s%s", what, imap_strerror(r),
				  clean ? ": " : "", clean ? clean : "");
	free(clean);
	return rc;
}

static int is_ok(int r)
{
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

/* Refresh the server's capabilities (they change after STARTTLS and
 * after login). */
static int refresh_caps(struct imap_src *s, struct sirt_err *err)
{
	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->imap, &cap);

	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "CAPABILITY", err);
	mailimap_capability_data_free(cap);
	return 0;
}

/* The password of source conf: password_file, else the environment
 * variable SIRT_PASSWORD_<NAME> (upper case, other than [A-Z0-9] -> _).
 * The result is the caller's, to wipe and free. */
static int get_password(const struct sirt_source_conf *conf, char **pw_r, struct sirt_err *err)
{
	struct sirt_buf var = SIRT_BUF_INIT;
	const char *p, *v;
	int rc = -1;

	*pw_r = NULL;
	if (conf->password_file)
		return sirt_read_secret(conf->password_file, pw_r, err);
	sirt_buf_init(&var);
	sirt_buf_adds(&var, "SIRT_PASSWORD_");
	for (p = conf->name; *p; p++) {
		char c = *p;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		sirt_buf_addc(&var, c);
	}
	v = getenv(var.data);
	if (!v || !*v) {
		sirt_err_set(err, SIRT_E_CONFIG,
			     "source '%s': no password: set password_file or %s", conf->name,
			     var.data);
		goto out;
	}
	*pw_r = sirt_xstrdup(v);
	rc = 0;
out:
	sirt_buf_release(&var);
	return rc;
}

/* Authenticate: XOAUTH2 with the token read now from oauth2_token_file
 * (so an external refresher keeps it fresh), else LOGIN or PLAIN. */
static int authenticate(struct imap_src *s, struct sirt_err *err)
{
	const struct sirt_source_conf *conf = s->base.conf;
	const char *auth = conf->auth;
	char *secret = NULL;
	int r, rc = -1;

	if (!conf->user)
		return sirt_err_set(err, SIRT_E_CONFIG, "source '%s': no user", conf->name);
	if (!auth)
		auth = conf->oauth2_token_file ? "xoauth2" : "login";
	if (!strcasecmp(auth, "xoauth2")) {
		if (!conf->oauth2_token_file)
			return sirt_err_set(
				err, SIRT_E_CONFIG,
				"source '%s': auth = xoauth2 needs oauth2_token_file",
				conf->name);
		if (sirt_read_secret(conf->oauth2_token_file, &secret, err) < 0)
			return -1;
		r = mailimap_oauth2_authenticate(s->imap, conf->user, secret);
	} else if (!strcasecmp(auth, "login") || !strcasecmp(auth, "plain")) {
		if (get_password(conf, &secret, err) < 0)
			return -1;
		if (!strcasecmp(auth, "plain"))
			r = mailimap_authenticate(s->imap, "PLAIN", NULL, NULL, NULL,
						  conf->user, conf->user, secret, NULL);
		else
			r = mailimap_login(s->imap, conf->user, secret);
	} else {
		return sirt_err_set(err, SIRT_E_CONFIG,
				    "source '%s': auth must be login, plain or xoauth2",
				    conf->name);
	}
	if (r == MAILIMAP_ERROR_STREAM) {
		imap_fail(s, r, "login", err);
		goto out;
	}
	if (r != MAILIMAP_NO_ERROR) {
		const char *resp = s->imap->imap_response;
		char *clean = resp ? sirt_utf8_sanitize(resp, strnlen(resp, 300)) : NULL;

		sirt_err_set(err, SIRT_E_AUTH, "login as '%s' at %s refused%s%s", conf->user,
			     conf->host, clean ? ": " : "", clean ? clean : "");
		free(clean);
		goto out;
	}
	rc = 0;
out:
	if (secret)
		sirt_wipe_free(secret, strlen(secret));
	return rc;
}

/* Read (and on a UIDVALIDITY change, reset) the state of the mailbox. */
static int load_state(struct imap_src *s, struct sirt_err *err)
{
	struct sirt_ctx *ctx = s->base.ctx;
	const char *name = s->base.conf->name;
	char *val = NULL, num[32];
	long v;
	uint32_t old_validity = 0;
	int r, rc = -1, locked = 1;

	sirt_daemon_lock();
	if (sirt_ctx_store(ctx, err) < 0)
		goto out;
	r = sirt_store_state_get(ctx->store, name, s->key_validity, &val, err);
	if (r < 0)
		goto out;
	if (r == 1 && sirt_parse_long(val, 0, UINT32_MAX, &v) == 0)
		old_validity = (uint32_t)v;
	sirt_free(&val);
	r = sirt_store_state_get(ctx->store, name, s->key_uid, &val, err);
	if (r < 0)
		goto out;
	s->last_uid = 0;
	if (r == 1 && sirt_parse_long(val, 0, UINT32_MAX, &v) == 0)
		s->last_uid = (uint32_t)v;
	sirt_free(&val);
	if (old_validity != s->uidvalidity) {
		if (old_validity != 0)
			sirt_warn("source %s: UIDVALIDITY of '%s' changed (%" PRIu32
				  " -> %" PRIu32 "): rescanning the whole mailbox "
				  "(messages already filed are recognised and not filed twice)",
				  name, s->mailbox, old_validity, s->uidvalidity);
		s->last_uid = 0;
		/* uid first: a crash in between leaves uid 0 with the old
		 * validity, which rescans again; never the reverse. */
		if (sirt_store_begin(ctx->store, err) < 0)
			goto out;
		if (sirt_store_state_set(ctx->store, name, s->key_uid, "0", err) < 0)
			goto rollback;
		snprintf(num, sizeof(num), "%" PRIu32, s->uidvalidity);
		if (sirt_store_state_set(ctx->store, name, s->key_validity, num, err) < 0)
			goto rollback;
		if (sirt_store_commit(ctx->store, err) < 0)
			goto rollback;
	}
	s->search_from = s->last_uid + 1;
	rc = 0;
	goto out;
rollback:
	sirt_store_rollback(ctx->store);
out:
	if (locked)
		sirt_daemon_unlock();
	return rc;
}

/* Record that every UID up to uid is done. */
static int save_last_uid(struct imap_src *s, uint32_t uid, struct sirt_err *err)
{
	struct sirt_ctx *ctx = s->base.ctx;
	char num[32];
	int rc = -1;

	if (uid <= s->last_uid)
		return 0;
	snprintf(num, sizeof(num), "%" PRIu32, uid);
	sirt_daemon_lock();
	if (sirt_ctx_store(ctx, err) < 0)
		goto out;
	if (sirt_store_state_set(ctx->store, s->base.conf->name, s->key_uid, num, err) < 0)
		goto out;
	s->last_uid = uid;
	rc = 0;
out:
	sirt_daemon_unlock();
	return rc;
}

static void drop_group(struct imap_src *s)
{
	size_t i;

	for (i = s->group_first; s->batch && i < s->group_first + s->group_n; i++) {
		s->batch[i].body = NULL;
		s->batch[i].body_len = 0;
	}
	if (s->group)
		mailimap_fetch_list_free(s->group);
	s->group = NULL;
	s->group_n = 0;
}

static void drop_batch(struct imap_src *s)
{
	drop_group(s);
	sirt_free(&s->batch);
	s->nbatch = s->fetched = s->handpos = 0;
}

/* Leave IDLE if in it. */
static int idle_stop(struct imap_src *s, struct sirt_err *err)
{
	int r;

	if (!s->idling)
		return 0;
	s->idling = 0;
	r = mailimap_idle_done(s->imap);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(s, r, "IDLE", err);
		err->cls = SIRT_E_TEMP; /* the server ended IDLE: reconnect */
		return -1;
	}
	return 0;
}

/* Connect, (STARTTLS,) authenticate, select; s->base.conf is set. */
static int imap_connect(struct imap_src *s, struct sirt_err *err)
{
	const struct sirt_source_conf *conf = s->base.conf;
	struct sirt_tls_opts topts;
	struct sirt_conn *conn = NULL;
	mailstream_low *low = NULL;
	mailstream *stream = NULL;
	int port = conf->port, r, greeting;

	if (!conf->host)
		return sirt_err_set(err, SIRT_E_CONFIG, "source '%s': no host", conf->name);
	if (conf->tls == SIRT_TLS_NONE &&
	    !(conf->allow_plaintext && sirt_host_is_loopback(conf->host)))
		return sirt_err_set(err, SIRT_E_CONFIG,
				    "source '%s': tls = none is only allowed with "
				    "allow_plaintext = yes and a loopback host",
				    conf->name);
	if (port == 0)
		port = conf->tls == SIRT_TLS_IMPLICIT ? 993 : 143;
	s->port = port;
	memset(&topts, 0, sizeof(topts));
	topts.host = conf->host;
	topts.ca_file = conf->ca_file;
	topts.pin_sha256 = conf->pin_sha256;

	if (sirt_conn_open(conf->host, port, IMAP_TIMEOUT_S, &conn, err) < 0)
		return -1;
	if (conf->tls == SIRT_TLS_IMPLICIT && sirt_conn_tls(conn, &topts, err) < 0)
		goto fail;
	low = sirt_conn_mailstream(conn);
	if (!low) {
		sirt_err_set(err, SIRT_E_FATAL, "out of memory");
		goto fail;
	}
	s->conn = conn;
	conn = NULL; /* owned by low */
	stream = mailstream_new(low, 8192);
	if (!stream) {
		mailstream_low_free(low);
		s->conn = NULL;
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	}
	s->imap = mailimap_new(0, NULL);
	if (!s->imap) {
		mailstream_close(stream);
		s->conn = NULL;
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	}
	mailimap_set_timeout(s->imap, IMAP_TIMEOUT_S);
	r = mailimap_connect(s->imap, stream);
	if (!s->imap->imap_stream)
		s->conn = NULL; /* libetpan closed the stream */
	if (!is_ok(r))
		return imap_fail(s, r, "connect", err);
	greeting = r;
	if (conf->tls == SIRT_TLS_STARTTLS) {
		r = mailimap_starttls(s->imap);
		if (r != MAILIMAP_NO_ERROR)
			return imap_fail(s, r, "STARTTLS", err);
		/* Anything the server sent after its OK arrived in plain
		 * text and could be an injected response: refuse. */
		if (s->imap->imap_stream->read_buffer_len != 0)
			return sirt_err_set(err, SIRT_E_PROTO,
					    "%s sent data after STARTTLS (injection?)",
					    conf->host);
		if (sirt_conn_tls(s->conn, &topts, err) < 0)
			return -1;
	}
	if (refresh_caps(s, err) < 0)
		return -1;
	if (greeting != MAILIMAP_NO_ERROR_AUTHENTICATED || conf->tls == SIRT_TLS_STARTTLS) {
		if (authenticate(s, err) < 0)
			return -1;
		if (refresh_caps(s, err) < 0)
			return -1;
	}
	s->has_idle = mailimap_has_idle(s->imap);
	s->has_move = mailimap_has_extension(s->imap, "MOVE");
	s->has_uidplus = mailimap_has_uidplus(s->imap);
	if (conf->after == SIRT_AFTER_MOVE && !s->has_move && !s->has_uidplus)
		return sirt_err_set(
			err, SIRT_E_CONFIG,
			"source '%s': after = move needs a server with MOVE or UIDPLUS",
			conf->name);
	r = mailimap_select(s->imap, s->mailbox);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(s, r, "SELECT", err);
		return sirt_err_prefix(err, "cannot select mailbox '%s'", s->mailbox);
	}
	if (!s->imap->imap_selection_info)
		return sirt_err_set(err, SIRT_E_PROTO, "SELECT gave no mailbox information");
	s->uidvalidity = s->imap->imap_selection_info->sel_uidvalidity;
	return 0;
fail:
	sirt_conn_free(&conn);
	return -1;
}

static void imap_close(struct sirt_source **srcp);
static int imap_flush(struct sirt_source *src, struct sirt_err *err);

static int imap_open(const struct sirt_source_conf *conf, struct sirt_ctx *ctx,
		     struct sirt_source **src_r, struct sirt_err *err)
{
	struct imap_src *s;
	struct sirt_buf b = SIRT_BUF_INIT;

	*src_r = NULL;
	s = sirt_xcalloc(1, sizeof(*s));
	s->base.ops = &sirt_source_imap_ops;
	s->base.conf = conf;
	s->base.ctx = ctx;
	s->mailbox = sirt_xstrdup(conf->mailbox ? conf->mailbox : "INBOX");
	sirt_buf_init(&b);
	sirt_buf_addf(&b, "uid/%s", s->mailbox);
	s->key_uid = sirt_buf_detach(&b, NULL);
	sirt_buf_addf(&b, "uidvalidity/%s", s->mailbox);
	s->key_validity = sirt_buf_detach(&b, NULL);
	sirt_buf_release(&b);
	s->max_size = ctx->cfg->limits.max_message_size;
	if (imap_connect(s, err) < 0 || load_state(s, err) < 0) {
		sirt_err_prefix(err, "source %s", conf->name);
		struct sirt_source *tmp = &s->base;
		imap_close(&tmp);
		return -1;
	}
	sirt_debug("source %s: connected to %s, mailbox '%s', uidvalidity %" PRIu32
		   ", last uid %" PRIu32 "%s%s",
		   conf->name, conf->host, s->mailbox, s->uidvalidity, s->last_uid,
		   s->has_idle ? ", IDLE" : "", s->has_move ? ", MOVE" : "");
	*src_r = &s->base;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* UID SEARCH UID from:* into s->uids (ascending, all >= from). */
static int search_new(struct imap_src *s, struct sirt_err *err)
{
	struct mailimap_search_key *key;
	struct mailimap_set *set;
	clist *res = NULL;
	clistiter *it;
	size_t n = 0;
	int r;

	sirt_free(&s->uids);
	s->nuids = s->uidpos = 0;
	set = mailimap_set_new_interval(s->search_from, 0); /* from:* */
	if (!set)
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	key = mailimap_search_key_new_uid(set);
	if (!key) {
		mailimap_set_free(set);
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	}
	r = mailimap_uid_search(s->imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "UID SEARCH", err);
	s->uids = sirt_xcalloc((size_t)clist_count(res) + 1, sizeof(uint32_t));
	for (it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		/* "n:*" also matches the highest UID when it is below n. */
		if (u >= s->search_from)
			s->uids[n++] = u;
	}
	mailimap_search_result_free(res);
	qsort(s->uids, n, sizeof(uint32_t), cmp_u32);
	s->nuids = n;
	return 0;
}

/* The UID and the requested attributes of one FETCH response item. */
struct fetched {
	uint32_t uid;
	uint32_t size;
	time_t internaldate;
	const char *body;
	size_t body_len;
	int has_body;
};

/* INTERNALDATE as time_t (UTC), 0 if absent or nonsense. */
static time_t imap_date(const struct mailimap_date_time *d)
{
	struct tm tm;
	time_t t;
	int zone, off;

	if (!d || d->dt_month < 1 || d->dt_month > 12 || d->dt_day < 1 || d->dt_day > 31 ||
	    d->dt_year < 1970)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	zone = d->dt_zone; /* e.g. +0130 as 130 */
	off = (zone / 100) * 3600 + (zone % 100) * 60;
	return t - off;
}

static void parse_msg_att(struct mailimap_msg_att *att, struct fetched *f)
{
	clistiter *it;

	memset(f, 0, sizeof(*f));
	for (it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			f->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			f->size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			f->internaldate = imap_date(st->att_data.att_internal_date);
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section) {
				f->body = st->att_data.att_body_section->sec_body_part;
				f->body_len = st->att_data.att_body_section->sec_length;
				f->has_body = 1;
			}
			break;
		default:
			break;
		}
	}
}

/* A set of the batch items [first, first+n) with state want (or all
 * if want < 0), consecutive UIDs joined into ranges.  NULL if empty. */
static struct mailimap_set *batch_set(struct imap_src *s, size_t first, size_t n, int want)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	uint32_t lo = 0, hi = 0;
	size_t i, count = 0;

	if (!set)
		return NULL;
	for (i = first; i < first + n; i++) {
		uint32_t u = s->batch[i].uid;
		if (want >= 0 && s->batch[i].state != want)
			continue;
		count++;
		if (lo && u == hi + 1) {
			hi = u;
			continue;
		}
		if (lo)
			mailimap_set_add_interval(set, lo, hi);
		lo = hi = u;
	}
	if (lo)
		mailimap_set_add_interval(set, lo, hi);
	if (count == 0) {
		mailimap_set_free(set);
		return NULL;
	}
	return set;
}

static struct imap_item *find_item(struct imap_src *s, size_t first, size_t n, uint32_t uid)
{
	size_t lo = first, hi = first + n;

	while (lo < hi) { /* batch is ascending */
		size_t mid = lo + (hi - lo) / 2;
		if (s->batch[mid].uid == uid)
			return &s->batch[mid];
		if (s->batch[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Start a batch from the searched UIDs and learn the sizes. */
static int start_batch(struct imap_src *s, struct sirt_err *err)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	clist *res = NULL;
	clistiter *it;
	size_t i, n = s->nuids - s->uidpos;
	int r;

	drop_batch(s);
	if (n > (size_t)(s->base.conf->batch > 0 ? s->base.conf->batch : 200))
		n = (size_t)(s->base.conf->batch > 0 ? s->base.conf->batch : 200);
	s->batch = sirt_xcalloc(n, sizeof(*s->batch));
	for (i = 0; i < n; i++) {
		s->batch[i].uid = s->uids[s->uidpos + i];
		s->batch[i].state = ITEM_GONE; /* until FETCH shows it */
	}
	s->nbatch = n;
	s->uidpos += n;
	set = batch_set(s, 0, n, -1);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (!set || !ft ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
						       mailimap_fetch_att_new_rfc822_size()) ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
						       mailimap_fetch_att_new_internaldate())) {
		if (set)
			mailimap_set_free(set);
		if (ft)
			mailimap_fetch_type_free(ft);
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	}
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_set_free(set);
	mailimap_fetch_type_free(ft);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "UID FETCH (RFC822.SIZE)", err);
	for (it = clist_begin(res); it; it = clist_next(it)) {
		struct fetched f;
		struct imap_item *item;

		parse_msg_att(clist_content(it), &f);
		item = find_item(s, 0, n, f.uid);
		if (item) {
			item->size = f.size;
			item->received = f.internaldate;
			item->state = ITEM_NEW;
		}
	}
	mailimap_fetch_list_free(res);
	return 0;
}

/* Fetch the bodies of the next group of the batch: consecutive items
 * up to GROUP_BYTES / GROUP_MAX; an oversized item alone, headers only. */
static int fetch_group(struct imap_src *s, struct sirt_err *err)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_section *sec;
	struct mailimap_set *set;
	clist *res = NULL;
	clistiter *it;
	size_t first = s->fetched, n = 0, bytes = 0;
	int oversized = 0, r;

	drop_group(s);
	while (first < s->nbatch && s->batch[first].state == ITEM_GONE)
		first++;
	s->fetched = first;
	if (first >= s->nbatch)
		return 0;
	if (s->max_size && s->batch[first].size > s->max_size) {
		oversized = 1;
		n = 1;
	} else {
		while (first + n < s->nbatch && n < GROUP_MAX) {
			const struct imap_item *it2 = &s->batch[first + n];
			if (it2->state == ITEM_NEW &&
			    ((s->max_size && it2->size > s->max_size) ||
			     (n > 0 && bytes + it2->size > GROUP_BYTES)))
				break;
			if (it2->state == ITEM_NEW)
				bytes += it2->size;
			n++;
		}
	}
	s->group_first = first;
	s->group_n = n;
	s->fetched = first + n;
	set = batch_set(s, first, n, ITEM_NEW);
	if (!set)
		return 0;
	sec = oversized ? mailimap_section_new_header() : mailimap_section_new(NULL);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (!sec || !ft ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) ||
	    mailimap_fetch_type_new_fetch_att_list_add(
		    ft, mailimap_fetch_att_new_body_peek_section(sec))) {
		mailimap_set_free(set);
		if (ft)
			mailimap_fetch_type_free(ft);
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	}
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_set_free(set);
	mailimap_fetch_type_free(ft);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "UID FETCH (BODY.PEEK[])", err);
	s->group = res;
	for (it = clist_begin(res); it; it = clist_next(it)) {
		struct fetched f;
		struct imap_item *item;

		parse_msg_att(clist_content(it), &f);
		item = find_item(s, first, n, f.uid);
		if (item && item->state == ITEM_NEW && f.has_body) {
			item->body = f.body ? f.body : "";
			item->body_len = f.body ? f.body_len : 0;
		}
	}
	/* An item the server did not return vanished meanwhile. */
	{
		size_t i;
		for (i = first; i < first + n; i++)
			if (s->batch[i].state == ITEM_NEW && !s->batch[i].body)
				s->batch[i].state = ITEM_GONE;
	}
	return 0;
}

/* Test hook for the crash-safety test: with SIRT_TEST_KILL_AFTER_COMMIT=N
 * in the environment, the process kills itself (SIGKILL, as a crash
 * would) right after the N-th group commit and before that group is
 * flagged at the server: the narrowest window there is. */
static void test_crash_point(void)
{
	static long commits;
	const char *v = getenv("SIRT_TEST_KILL_AFTER_COMMIT");
	long n;

	if (!v || sirt_parse_long(v, 1, 1000000, &n) < 0)
		return;
	if (++commits == n)
		raise(SIGKILL);
}

/* Open one store transaction for the group about to be handed out
 * (batch commit: one fsync per group instead of one per message).  The
 * daemon lock is held until tx_commit(): every intake of the group runs
 * as a savepoint inside it, and no other source's message can slip
 * into a transaction whose acknowledgements are still pending. */
static int tx_begin(struct imap_src *s, struct sirt_err *err)
{
	struct sirt_ctx *ctx = s->base.ctx;

	if (s->tx_open)
		return 0;
	sirt_daemon_lock();
	if (sirt_ctx_store(ctx, err) < 0 || sirt_store_batch_begin(ctx->store, err) < 0) {
		sirt_daemon_unlock();
		return -1;
	}
	s->tx_open = 1;
	return 0;
}

/* Commit the group's transaction.  If that fails, nothing of it is
 * stored: its acknowledgements are dropped (not flagged, state not
 * advanced past them) and the messages come again next time. */
static int tx_commit(struct imap_src *s, struct sirt_err *err)
{
	size_t i;
	int r;

	if (!s->tx_open)
		return 0;
	r = sirt_store_batch_commit(s->base.ctx->store, err);
	s->tx_open = 0;
	sirt_daemon_unlock();
	if (r < 0) {
		for (i = 0; i < s->nbatch; i++)
			if (s->batch[i].state == ITEM_ACKED)
				s->batch[i].state = ITEM_HANDED;
		return -1;
	}
	return 0;
}

/* Apply the acknowledged messages of the batch at the server, then
 * advance the state past the batch's prefix that is done. */
static int apply_batch(struct imap_src *s, struct sirt_err *err)
{
	const struct sirt_source_conf *conf = s->base.conf;
	struct mailimap_set *set;
	uint32_t done = 0;
	size_t i;
	int r;

	if (!s->batch || s->nbatch == 0)
		return 0;
	set = batch_set(s, 0, s->nbatch, ITEM_ACKED);
	if (set && conf->after == SIRT_AFTER_FLAG) {
		struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
		struct mailimap_store_att_flags *sa;
		char *kw = strdup(FILED_KEYWORD);

		if (!fl || !kw || mailimap_flag_list_add(fl, mailimap_flag_new_seen()) ||
		    mailimap_flag_list_add(fl, mailimap_flag_new_flag_keyword(kw))) {
			mailimap_set_free(set);
			return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
		}
		sa = mailimap_store_att_flags_new_add_flags_silent(fl);
		r = mailimap_uid_store(s->imap, set, sa);
		mailimap_store_att_flags_free(sa);
		if (r != MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return imap_fail(s, r, "UID STORE +FLAGS (\\Seen " FILED_KEYWORD ")",
					 err);
		}
	} else if (set && conf->after == SIRT_AFTER_MOVE) {
		if (s->has_move) {
			r = mailimap_uid_move(s->imap, set, conf->move_to);
		} else {
			r = mailimap_uid_copy(s->imap, set, conf->move_to);
			if (r == MAILIMAP_NO_ERROR) {
				struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
				struct mailimap_store_att_flags *sa;
				mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
				sa = mailimap_store_att_flags_new_add_flags_silent(fl);
				r = mailimap_uid_store(s->imap, set, sa);
				mailimap_store_att_flags_free(sa);
				if (r == MAILIMAP_NO_ERROR)
					r = mailimap_uid_expunge(s->imap, set);
			}
		}
		if (r != MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			imap_fail(s, r, s->has_move ? "UID MOVE" : "UID COPY/EXPUNGE", err);
			return sirt_err_prefix(err, "cannot move filed messages to '%s'",
					       conf->move_to);
		}
	}
	if (set)
		mailimap_set_free(set);
	for (i = 0; i < s->nbatch; i++) {
		if (s->batch[i].state != ITEM_ACKED && s->batch[i].state != ITEM_GONE)
			break;
		done = s->batch[i].uid;
	}
	if (done && save_last_uid(s, done, err) < 0)
		return -1;
	/* Applied: forget the acks so a second flush does nothing. */
	for (i = 0; i < s->nbatch; i++)
		if (s->batch[i].state == ITEM_ACKED)
			s->batch[i].state = ITEM_GONE;
	return 0;
}

static int imap_next(struct sirt_source *src, struct sirt_source_msg *m, struct sirt_err *err)
{
	struct imap_src *s = (struct imap_src *)src;

	memset(m, 0, sizeof(*m));
	s->waiting = 0;
	if (!s->imap || !s->imap->imap_stream)
		return sirt_err_set(err, SIRT_E_TEMP, "source %s: not connected",
				    src->conf->name);
	if (idle_stop(s, err) < 0)
		return -1;
	for (;;) {
		/* Hand out the next fetched message of the group. */
		while (s->group && s->handpos < s->group_first + s->group_n) {
			struct imap_item *item = &s->batch[s->handpos++];
			if (item->state != ITEM_NEW)
				continue;
			item->state = ITEM_HANDED;
			m->data = sirt_xmalloc(item->body_len + 1);
			memcpy(m->data, item->body, item->body_len);
			m->data[item->body_len] = '\0';
			m->len = item->body_len;
			snprintf(s->idbuf, sizeof(s->idbuf), "uid %" PRIu32, item->uid);
			m->id = sirt_xstrdup(s->idbuf);
			m->uid = item->uid;
			m->received = item->received;
			m->oversized = s->max_size && item->size > s->max_size;
			m->declared_size = item->size;
			m->priv = item;
			if (item->uid >= s->search_from)
				s->search_from = item->uid + 1;
			return 1;
		}
		/* Group done: commit it, then flag what it stored. */
		if (s->tx_open) {
			if (tx_commit(s, err) < 0)
				goto fail;
			test_crash_point();
			if (apply_batch(s, err) < 0)
				goto fail;
		}
		if (s->batch && s->fetched < s->nbatch) {
			s->handpos = s->fetched;
			if (fetch_group(s, err) < 0)
				goto fail;
			s->handpos = s->group_first;
			if (s->group && tx_begin(s, err) < 0)
				goto fail;
			continue;
		}
		/* Batch done: apply it before starting the next one. */
		if (s->batch) {
			size_t i;
			for (i = 0; i < s->nbatch; i++)
				if (s->batch[i].uid >= s->search_from)
					s->search_from = s->batch[i].uid + 1;
			if (apply_batch(s, err) < 0)
				goto fail;
			drop_batch(s);
		}
		if (s->uidpos >= s->nuids) {
			if (search_new(s, err) < 0)
				goto fail;
			if (s->nuids == 0)
				return 0;
		}
		if (start_batch(s, err) < 0)
			goto fail;
	}
fail:
	return sirt_err_prefix(err, "source %s", src->conf->name);
}

static int imap_ack(struct sirt_source *src, struct sirt_source_msg *m, struct sirt_err *err)
{
	struct imap_item *item = m->priv;

	(void)src;
	(void)err;
	if (item && item->state == ITEM_HANDED)
		item->state = ITEM_ACKED;
	return 0;
}

static int imap_flush(struct sirt_source *src, struct sirt_err *err)
{
	struct imap_src *s = (struct imap_src *)src;

	if (tx_commit(s, err) < 0)
		return sirt_err_prefix(err, "source %s", src->conf->name);
	if (!s->imap || !s->imap->imap_stream || !s->batch)
		return 0;
	if (idle_stop(s, err) < 0 || apply_batch(s, err) < 0)
		return sirt_err_prefix(err, "source %s", src->conf->name);
	return 0;
}

/* Wait for new mail: IMAP IDLE where the server has it (entered on the
 * first call and kept across calls; after 29 minutes it asks for a
 * drain, which ends IDLE, looks for new mail and idles again, RFC 2177),
 * else the source's interval while watching the connection for a BYE.
 * 1 = go and look (call next()), 0 = timed out, -1 = error (the
 * connection dropped: TEMP). */
static int imap_idle(struct sirt_source *src, int timeout_s, struct sirt_err *err)
{
	struct imap_src *s = (struct imap_src *)src;
	struct pollfd pfd;
	time_t now = time(NULL);
	int r;

	if (!s->imap || !s->imap->imap_stream)
		return sirt_err_set(err, SIRT_E_TEMP, "source %s: not connected",
				    src->conf->name);
	if (!s->waiting) {
		s->waiting = 1;
		s->wait_since = now;
	}
	if (s->idling && now - s->idle_since >= IDLE_MAX_S)
		return 1;
	if (!s->has_idle &&
	    now - s->wait_since >= (src->conf->interval > 0 ? src->conf->interval : 60))
		return 1;
	if (s->has_idle && !s->idling) {
		r = mailimap_idle(s->imap);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(s, r, "IDLE", err);
			goto fail;
		}
		s->idling = 1;
		s->idle_since = time(NULL);
	}
	if (s->imap->imap_stream->read_buffer_len > 0 || sirt_conn_pending(s->conn) > 0)
		return 1;
	pfd.fd = sirt_conn_fd(s->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		r = poll(&pfd, 1, timeout_s * 1000);
	while (r < 0 && errno == EINTR && !sirt_daemon_stopping());
	if (r < 0 && errno == EINTR)
		return 0;
	if (r < 0) {
		sirt_err_set(err, SIRT_E_TEMP, "poll: %s", strerror(errno));
		goto fail;
	}
	if (r == 0)
		return 0;
	if (!s->idling) {
		/* Without IDLE the server has nothing to say: data or EOF
		 * here means BYE or a dropped connection. */
		char c;
		if (recv(pfd.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
			sirt_err_set(err, SIRT_E_TEMP, "server closed the connection");
			goto fail;
		}
	}
	return 1;
fail:
	return sirt_err_prefix(err, "source %s", src->conf->name);
}

static void imap_close(struct sirt_source **srcp)
{
	struct imap_src *s = (struct imap_src *)*srcp;
	struct sirt_err err;

	if (!s)
		return;
	sirt_err_clear(&err);
	/* What intake stored is kept (committed); unflagged, it is fetched
	 * again next time and recognised. */
	if (tx_commit(s, &err) < 0)
		sirt_warn("%s", err.msg);
	if (s->imap) {
		if (s->imap->imap_stream) {
			/* Best effort: deferred acks, then a polite LOGOUT.
			 * A failure was reported by flush() already, and
			 * only means those messages come again next time. */
			if (idle_stop(s, &err) == 0 && s->batch &&
			    imap_flush(&s->base, &err) < 0)
				sirt_debug("%s", err.msg);
			if (s->imap->imap_stream)
				(void)mailimap_logout(s->imap);
		}
		mailimap_free(s->imap);
	}
	drop_batch(s);
	free(s->uids);
	free(s->mailbox);
	free(s->key_uid);
	free(s->key_validity);
	free(s);
	*srcp = NULL;
}

const struct sirt_source_ops sirt_source_imap_ops = {
	.name = "imap",
	.open = imap_open,
	.next = imap_next,
	.ack = imap_ack,
	.flush = imap_flush,
	.idle = imap_idle,
	.close = imap_close,
};
