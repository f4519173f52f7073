/* crypto.c - PGP/MIME (RFC 3156) and inline PGP with gpgme (see crypto.h).
 *
 * Every byte handed to gpgme here comes from a hostile message.  gpgme
 * runs gpg as a separate process; what we bound is the amount of
 * plaintext we accept back (a compressed packet can expand a 25 MB
 * message into gigabytes), the number of crypto operations per message,
 * and the number of keys and signatures recorded.  Plaintext buffers are
 * wiped before they are freed; the passphrase lives in one buffer that
 * is wiped on close and is only ever written to gpg's loopback pipe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include <gpgme.h>
#include <libetpan/libetpan.h>
#include "sirt/buf.h"
#include "sirt/config.h"
#include "sirt/crypto.h"
#include "sirt/log.h"
#include "sirt/triage.h"
#include "sirt/util.h"

/* Upper bounds per message. */
#define CRYPTO_MAX_OPS   32   /* decrypt/verify operations */
#define CRYPTO_MAX_SIGS  32   /* signatures recorded */
#define CRYPTO_MAX_KEYS  32   /* public keys recorded */
#define CRYPTO_MAX_UIDS  16   /* user ids recorded per key */
#define CRYPTO_MAX_UID_LEN 256

struct sirt_crypto {
	gpgme_ctx_t ctx;
	char *passphrase;         /* NULL if none; wiped on close */
	char **trusted;           /* upper-case fingerprints (own copy) */
	size_t ntrusted;
	int store_decrypted;      /* [crypto] store_decrypted */
};

/* ---- names ---- */

const char *sirt_crypto_status_name(enum sirt_crypto_status s)
{
	switch (s) {
	case SIRT_CRYPTO_NONE: return "none";
	case SIRT_CRYPTO_SIGNED: return "signed";
	case SIRT_CRYPTO_ENCRYPTED: return "encrypted";
	case SIRT_CRYPTO_SIGNED_ENCRYPTED: return "signed+encrypted";
	}
	return "none";
}

const char *sirt_sig_status_name(enum sirt_sig_status s)
{
	switch (s) {
	case SIRT_SIG_GOOD: return "good";
	case SIRT_SIG_BAD: return "bad";
	case SIRT_SIG_EXPIRED_KEY: return "expired-key";
	case SIRT_SIG_REVOKED_KEY: return "revoked-key";
	case SIRT_SIG_MISSING_KEY: return "missing-key";
	case SIRT_SIG_EXPIRED_SIG: return "expired-signature";
	case SIRT_SIG_ERROR: return "error";
	}
	return "error";
}

static const char *validity_name(gpgme_validity_t v)
{
	switch (v) {
	case GPGME_VALIDITY_UNKNOWN: return "unknown";
	case GPGME_VALIDITY_UNDEFINED: return "undefined";
	case GPGME_VALIDITY_NEVER: return "never";
	case GPGME_VALIDITY_MARGINAL: return "marginal";
	case GPGME_VALIDITY_FULL: return "full";
	case GPGME_VALIDITY_ULTIMATE: return "ultimate";
	}
	return "unknown";
}

/* ---- context ---- */

/* gpgme asks for the passphrase of a secret key: write it to gpg's
 * loopback pipe.  A second request after a bad one is refused, so a
 * wrong passphrase file fails once instead of looping. */
static gpgme_error_t passphrase_cb(void *hook, const char *uid_hint,
				   const char *info, int prev_was_bad, int fd)
{
	struct sirt_crypto *c = hook;
	size_t n;

	(void)info;
	/* No uid hint: a symmetric (password) encrypted message.  Such a
	 * message is not for the SIRT's key: never hand it our passphrase. */
	if (!uid_hint || !c->passphrase || prev_was_bad)
		return gpg_error(GPG_ERR_CANCELED);
	n = strlen(c->passphrase);
	if (gpgme_io_writen(fd, c->passphrase, n) < 0 ||
	    gpgme_io_writen(fd, "\n", 1) < 0)
		return gpgme_error_from_errno(errno);
	return 0;
}

/* Translate a gpgme error met while setting up into err. */
static int gpg_fail(struct sirt_err *err, enum sirt_err_class cls,
		    const char *what, gpgme_error_t e)
{
	return sirt_err_set(err, cls, "%s: %s", what, gpgme_strerror(e));
}

/* gpgme must be initialised once before any other call. */
static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;

static void gpgme_setup(void)
{
	gpgme_check_version(NULL);
}

int sirt_crypto_open(const struct sirt_config *cfg, struct sirt_crypto **c_r,
		     struct sirt_err *err)
{
	struct sirt_crypto *c;
	const char *home = cfg ? cfg->gnupg_home : NULL;
	gpgme_error_t e;
	struct stat st;
	size_t i;
	int rc = -1;

	*c_r = NULL;
	c = sirt_xcalloc(1, sizeof(*c));
	pthread_once(&gpgme_once, gpgme_setup);
	e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (e) {
		gpg_fail(err, SIRT_E_CONFIG, "GnuPG engine not usable", e);
		goto out;
	}
	if (home && *home) {
		if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
			sirt_err_set(err, SIRT_E_CONFIG,
				     "gnupg_home '%s' is not a directory", home);
			goto out;
		}
	}
	e = gpgme_new(&c->ctx);
	if (e) {
		gpg_fail(err, SIRT_E_FATAL, "cannot create gpgme context", e);
		goto out;
	}
	e = gpgme_set_protocol(c->ctx, GPGME_PROTOCOL_OpenPGP);
	if (!e && home && *home)
		e = gpgme_ctx_set_engine_info(c->ctx, GPGME_PROTOCOL_OpenPGP,
					      NULL, home);
	if (e) {
		gpg_fail(err, SIRT_E_CONFIG, "cannot select the GnuPG home", e);
		goto out;
	}
	/* Never reach the network to fetch keys or CRLs for a message. */
	gpgme_set_offline(c->ctx, 1);
	gpgme_set_keylist_mode(c->ctx, GPGME_KEYLIST_MODE_LOCAL);
	gpgme_set_armor(c->ctx, 1);
	e = gpgme_set_pinentry_mode(c->ctx, GPGME_PINENTRY_MODE_LOOPBACK);
	if (e) {
		gpg_fail(err, SIRT_E_CONFIG, "cannot use loopback pinentry", e);
		goto out;
	}
	gpgme_set_passphrase_cb(c->ctx, passphrase_cb, c);
	if (cfg && cfg->passphrase_file && *cfg->passphrase_file) {
		if (sirt_read_secret(cfg->passphrase_file, &c->passphrase,
				     err) < 0) {
			sirt_err_prefix(err, "[crypto] passphrase_file");
			err->cls = SIRT_E_CONFIG;
			goto out;
		}
	}
	c->store_decrypted = cfg ? cfg->store_decrypted : 1;
	if (cfg && cfg->ntrusted_signers) {
		c->trusted = sirt_xcalloc(cfg->ntrusted_signers, sizeof(char *));
		for (i = 0; i < cfg->ntrusted_signers; i++)
			c->trusted[i] = sirt_xstrdup(cfg->trusted_signers[i]);
		c->ntrusted = cfg->ntrusted_signers;
	}
	*c_r = c;
	c = NULL;
	rc = 0;
out:
	if (c)
		sirt_crypto_close(&c);
	return rc;
}

void sirt_crypto_close(struct sirt_crypto **cp)
{
	struct sirt_crypto *c = *cp;
	size_t i;

	if (!c)
		return;
	if (c->ctx)
		gpgme_release(c->ctx);
	if (c->passphrase)
		sirt_wipe_free(c->passphrase, strlen(c->passphrase));
	for (i = 0; i < c->ntrusted; i++)
		free(c->trusted[i]);
	free(c->trusted);
	free(c);
	*cp = NULL;
}

/* ---- bounded output data ---- */

/* A gpgme output data object writing into a sirt_buf, refusing to grow
 * beyond max bytes (the write fails with EFBIG and gpgme aborts). */
struct bounded {
	struct sirt_buf buf;
	size_t max;
	int overflow;
};

static ssize_t bounded_write(void *h, const void *p, size_t n)
{
	struct bounded *b = h;

	if (b->buf.len + n > b->max) {
		b->overflow = 1;
		errno = EFBIG;
		return -1;
	}
	sirt_buf_add(&b->buf, p, n);
	return (ssize_t)n;
}

static ssize_t bounded_read(void *h, void *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
	errno = EBADF;
	return -1;
}

static off_t bounded_seek(void *h, off_t off, int whence)
{
	struct bounded *b = h;

	if (off == 0 && (whence == SEEK_END || whence == SEEK_CUR))
		return (off_t)b->buf.len;
	errno = ESPIPE;
	return -1;
}

static struct gpgme_data_cbs bounded_cbs = {
	bounded_read, bounded_write, bounded_seek, NULL
};

/* ---- the walk over one message ---- */

struct walk {
	struct sirt_crypto *c;
	struct sirt_msg *msg;
	const struct sirt_limits *lim;
	const void **done;        /* part data already consumed (identity) */
	size_t ndone;
	int ops;
	int signed_any;
	int encrypted_any;
};

static void mark_done(struct walk *w, const void *data)
{
	if (!data)
		return;
	w->done = sirt_xrealloc(w->done, (w->ndone + 1) * sizeof(*w->done));
	w->done[w->ndone++] = data;
}

static int is_done(const struct walk *w, const void *data)
{
	size_t i;

	if (!data)
		return 0;
	for (i = 0; i < w->ndone; i++)
		if (w->done[i] == data)
			return 1;
	return 0;
}

/* The n-th (0-based) direct child of part idx, or -1. */
static int child(const struct sirt_msg *msg, int idx, int n)
{
	size_t i;

	for (i = 0; i < msg->nparts; i++)
		if (msg->parts[i].parent == idx && n-- == 0)
			return (int)i;
	return -1;
}

static int type_is(const struct sirt_part *p, const char *t)
{
	return p->content_type && strcmp(p->content_type, t) == 0;
}

static int trusted_fpr(const struct sirt_crypto *c, const char *fpr)
{
	size_t i;

	if (!fpr)
		return 0;
	for (i = 0; i < c->ntrusted; i++)
		if (strcasecmp(c->trusted[i], fpr) == 0)
			return 1;
	return 0;
}

/* Record the signatures of the last verify (or decrypt+verify) result.
 * The result is copied first: key look-ups below start new operations
 * on the context, which would release it. */
static void record_sigs(struct walk *w, gpgme_verify_result_t vr)
{
	struct sirt_crypto_info *ci = &w->msg->crypto;
	gpgme_signature_t s;
	struct tmp { enum sirt_sig_status st; char *fpr; gpgme_validity_t val;
		     char *detail; } *t = NULL;
	size_t n = 0, i;

	if (!vr)
		return;
	for (s = vr->signatures; s; s = s->next) {
		gpgme_error_t code = gpg_err_code(s->status);
		enum sirt_sig_status st;
		struct sirt_buf d = SIRT_BUF_INIT;

		if (ci->nsigs + n >= CRYPTO_MAX_SIGS)
			break;
		switch (code) {
		case GPG_ERR_NO_ERROR: st = SIRT_SIG_GOOD; break;
		case GPG_ERR_BAD_SIGNATURE: st = SIRT_SIG_BAD; break;
		case GPG_ERR_KEY_EXPIRED: st = SIRT_SIG_EXPIRED_KEY; break;
		case GPG_ERR_CERT_REVOKED: st = SIRT_SIG_REVOKED_KEY; break;
		case GPG_ERR_NO_PUBKEY: st = SIRT_SIG_MISSING_KEY; break;
		case GPG_ERR_SIG_EXPIRED: st = SIRT_SIG_EXPIRED_SIG; break;
		default: st = SIRT_SIG_ERROR; break;
		}
		/* A "good" signature from a key gpg knows to be revoked or
		 * expired is reported through the summary only. */
		if (st == SIRT_SIG_GOOD && (s->summary & GPGME_SIGSUM_KEY_REVOKED))
			st = SIRT_SIG_REVOKED_KEY;
		else if (st == SIRT_SIG_GOOD && (s->summary & GPGME_SIGSUM_KEY_EXPIRED))
			st = SIRT_SIG_EXPIRED_KEY;
		else if (st == SIRT_SIG_GOOD && (s->summary & GPGME_SIGSUM_SIG_EXPIRED))
			st = SIRT_SIG_EXPIRED_SIG;
		sirt_buf_init(&d);
		sirt_buf_adds(&d, code ? gpgme_strerror(s->status)
				       : "Good signature");
		if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
			sirt_buf_adds(&d, "; key revoked");
		if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
			sirt_buf_adds(&d, "; key expired");
		if (s->summary & GPGME_SIGSUM_SIG_EXPIRED)
			sirt_buf_adds(&d, "; signature expired");
		if (s->wrong_key_usage)
			sirt_buf_adds(&d, "; wrong key usage");
		t = sirt_xrealloc(t, (n + 1) * sizeof(*t));
		t[n].st = st;
		t[n].fpr = sirt_xstrdup(s->fpr);
		t[n].val = s->validity;
		t[n].detail = sirt_buf_detach(&d, NULL);
		n++;
	}
	if (!n)
		return;
	ci->sigs = sirt_xrealloc(ci->sigs, (ci->nsigs + n) * sizeof(*ci->sigs));
	for (i = 0; i < n; i++) {
		struct sirt_signature *sig = &ci->sigs[ci->nsigs++];
		gpgme_key_t key = NULL;
		int sub_trusted = trusted_fpr(w->c, t[i].fpr);

		memset(sig, 0, sizeof(*sig));
		sig->status = t[i].st;
		sig->fingerprint = t[i].fpr;
		sig->validity = sirt_xstrdup(validity_name(t[i].val));
		sig->detail = t[i].detail;
		if (t[i].fpr && t[i].st != SIRT_SIG_MISSING_KEY &&
		    gpgme_get_key(w->c->ctx, t[i].fpr, &key, 0) == 0 && key) {
			/* Name the primary key, as a user configures it. */
			if (key->subkeys && key->subkeys->fpr &&
			    strcasecmp(key->subkeys->fpr, t[i].fpr) != 0) {
				free(sig->fingerprint);
				sig->fingerprint = sirt_xstrdup(key->subkeys->fpr);
			}
			if (key->uids && key->uids->uid)
				sig->uid = sirt_utf8_sanitize(key->uids->uid,
						strlen(key->uids->uid));
			gpgme_key_unref(key);
		}
		/* Only a good signature can make a signer trusted. */
		sig->trusted = sig->status == SIRT_SIG_GOOD &&
			(sub_trusted || trusted_fpr(w->c, sig->fingerprint) ||
			 t[i].val == GPGME_VALIDITY_FULL ||
			 t[i].val == GPGME_VALIDITY_ULTIMATE);
	}
	free(t);
	w->signed_any = 1;
}

/* Canonicalise bytes to CRLF line endings (RFC 3156 section 5). */
static void canon_crlf(const unsigned char *p, size_t n, struct sirt_buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			sirt_buf_add(out, p + start, i - start);
			sirt_buf_add(out, "\r\n", 2);
			start = i + 1;
		}
	}
	sirt_buf_add(out, p + start, n - start);
}

static int budget(struct walk *w)
{
	if (w->ops >= CRYPTO_MAX_OPS) {
		sirt_msg_hash(w->msg);
		sirt_warn("crypto: more than %d PGP operations in message %.12s;"
			  " the rest is left alone", CRYPTO_MAX_OPS,
			  w->msg->sha256);
		return 0;
	}
	w->ops++;
	return 1;
}

/* Is this error the engine's (retry later) rather than the data's? */
static int engine_trouble(gpgme_error_t e)
{
	switch (gpg_err_code(e)) {
	case GPG_ERR_ENOMEM:
	case GPG_ERR_INV_ENGINE:
	case GPG_ERR_ENGINE_TOO_OLD:
	case GPG_ERR_NO_AGENT:
	case GPG_ERR_AGENT:
	case GPG_ERR_ASS_CONNECT_FAILED:
	case GPG_ERR_ENOSPC:
		return 1;
	default:
		return 0;
	}
}

/* Verify a detached signature sig over signed (already canonical). */
/* A signature that could not be checked, with gpgme's words or ours. */
static void unchecked_sig(struct walk *w, const char *detail)
{
	struct sirt_crypto_info *ci = &w->msg->crypto;
	struct sirt_signature *s;

	ci->sigs = sirt_xrealloc(ci->sigs, (ci->nsigs + 1) * sizeof(*ci->sigs));
	s = &ci->sigs[ci->nsigs++];
	memset(s, 0, sizeof(*s));
	s->status = SIRT_SIG_ERROR;
	s->validity = sirt_xstrdup("unknown");
	s->detail = sirt_xstrdup(detail);
	w->signed_any = 1;
}

/* Without a keyring (w->c NULL) the walk still finds every signed and
 * encrypted entity the same way, and says it could not be opened, so
 * that an encrypted report is flagged for a human instead of looking
 * plain. */
#define NO_KEYRING "no usable GnuPG keyring (see [crypto] gnupg_home)"

static int verify_detached(struct walk *w, const void *signed_bytes,
			   size_t signed_len, const void *sig, size_t sig_len,
			   struct sirt_err *err)
{
	gpgme_data_t dsig = NULL, dtext = NULL;
	gpgme_error_t e;
	int rc = -1;

	if (!budget(w))
		return 0;
	if (!w->c) {
		unchecked_sig(w, "not verified: " NO_KEYRING);
		return 0;
	}
	if (gpgme_data_new_from_mem(&dsig, sig, sig_len, 0) ||
	    gpgme_data_new_from_mem(&dtext, signed_bytes, signed_len, 0)) {
		sirt_err_set(err, SIRT_E_FATAL, "gpgme: out of memory");
		goto out;
	}
	e = gpgme_op_verify(w->c->ctx, dsig, dtext, NULL);
	if (e && engine_trouble(e)) {
		gpg_fail(err, SIRT_E_TEMP, "cannot verify signature", e);
		goto out;
	}
	if (e) {
		/* Not a signature gpg can read: record it as an error. */
		sirt_debug("crypto: verify failed: %s", gpgme_strerror(e));
	}
	{
		gpgme_verify_result_t vr = gpgme_op_verify_result(w->c->ctx);

		if (vr && vr->signatures) {
			gpgme_result_ref(vr);
			record_sigs(w, vr);
			gpgme_result_unref(vr);
		} else {
			unchecked_sig(w, e ? gpgme_strerror(e) : "no signature found");
		}
	}
	rc = 0;
out:
	gpgme_data_release(dsig);
	gpgme_data_release(dtext);
	return rc;
}

/* Record that an encrypted entity could not be opened, keeping the
 * first reason. */
static void set_undecryptable(struct walk *w, const char *why)
{
	struct sirt_crypto_info *ci = &w->msg->crypto;

	ci->undecryptable = 1;
	if (!ci->decrypt_error)
		ci->decrypt_error = sirt_xstrdup(why);
}

/* Decrypt (and verify, if signed) cipher into *plain (the caller wipes
 * it).  1 = decrypted, 0 = could not (recorded as undecryptable), -1 =
 * error (engine trouble). */
static int decrypt(struct walk *w, const void *cipher, size_t len,
		   struct bounded *plain, struct sirt_err *err)
{
	gpgme_data_t din = NULL, dout = NULL;
	gpgme_decrypt_result_t dr;
	gpgme_error_t e;
	int rc = -1;

	w->encrypted_any = 1;
	if (!budget(w))
		return 0;
	if (!w->c) {
		set_undecryptable(w, NO_KEYRING);
		return 0;
	}
	sirt_buf_init(&plain->buf);
	plain->max = w->lim->max_message_size;
	plain->overflow = 0;
	if (gpgme_data_new_from_mem(&din, cipher, len, 0) ||
	    gpgme_data_new_from_cbs(&dout, &bounded_cbs, plain)) {
		sirt_err_set(err, SIRT_E_FATAL, "gpgme: out of memory");
		goto out;
	}
	e = gpgme_op_decrypt_verify(w->c->ctx, din, dout);
	if (e && engine_trouble(e)) {
		/* Say so in the facts too, in case the caller stores the
		 * message anyway: a human must look at it. */
		struct sirt_buf why = SIRT_BUF_INIT;

		sirt_buf_init(&why);
		sirt_buf_addf(&why, "GnuPG unavailable: %s", gpgme_strerror(e));
		set_undecryptable(w, why.data);
		sirt_buf_release(&why);
		gpg_fail(err, SIRT_E_TEMP, "cannot decrypt", e);
		goto out;
	}
	if (e || plain->overflow) {
		struct sirt_buf why = SIRT_BUF_INIT;
		gpgme_recipient_t r;
		int n = 0;

		sirt_buf_init(&why);
		if (plain->overflow)
			sirt_buf_addf(&why, "decrypted text larger than %zu bytes",
				      plain->max);
		else
			sirt_buf_adds(&why, gpgme_strerror(e));
		dr = gpgme_op_decrypt_result(w->c->ctx);
		if (dr && dr->unsupported_algorithm)
			sirt_buf_addf(&why, " (unsupported algorithm %s)",
				      dr->unsupported_algorithm);
		for (r = dr ? dr->recipients : NULL; r && n < 8; r = r->next, n++)
			sirt_buf_addf(&why, "%s%s", n ? ", " : "; encrypted to ",
				      r->keyid ? r->keyid : "?");
		set_undecryptable(w, why.data);
		sirt_buf_release(&why);
		sirt_buf_wipe(&plain->buf);
		rc = 0;
		goto out;
	}
	w->msg->crypto.decrypted = 1;
	{
		gpgme_verify_result_t vr = gpgme_op_verify_result(w->c->ctx);

		if (vr && vr->signatures) {
			gpgme_result_ref(vr);
			record_sigs(w, vr);
			gpgme_result_unref(vr);
		}
	}
	rc = 1;
out:
	gpgme_data_release(din);
	gpgme_data_release(dout);
	if (rc < 0)
		sirt_buf_wipe(&plain->buf);
	return rc;
}

/* Graft bytes under parent.  Content that breaks the parser's limits
 * (depth, parts, size) is not an error of the whole message: it was
 * decrypted, but the report is flagged unparsed, for a human, with the
 * parser's reason. */
static int graft(struct walk *w, int parent, const void *p, size_t n,
		 struct sirt_err *err)
{
	struct sirt_err gerr;

	sirt_err_clear(&gerr);
	if (sirt_msg_add_entity(w->msg, parent, p, n, w->lim, &gerr) == 0)
		return 0;
	if (gerr.cls != SIRT_E_BADMSG) {
		*err = gerr;
		return -1;
	}
	{
		struct sirt_buf why = SIRT_BUF_INIT;

		sirt_buf_init(&why);
		sirt_buf_addf(&why, "decrypted, but its content was not parsed: %s",
			      gerr.msg);
		sirt_msg_flag_unparsed(w->msg, why.data);
		sirt_buf_release(&why);
	}
	return 0;
}

/* Does text start with a MIME header block naming a Content-Type? */
static int looks_like_mime(const char *p, size_t n)
{
	size_t i = 0, line = 0;
	int ct = 0;

	while (i < n && line < 100) {
		size_t s = i, k;

		while (i < n && p[i] != '\n')
			i++;
		k = i - s;
		if (k && p[s + k - 1] == '\r')
			k--;
		i++;
		line++;
		if (k == 0)
			return ct;                      /* end of headers */
		if (p[s] == ' ' || p[s] == '\t')
			continue;                       /* folded */
		{
			size_t j = s;

			while (j < s + k && p[j] != ':' && p[j] > ' ' &&
			       p[j] < 127)
				j++;
			if (j == s || j == s + k || p[j] != ':')
				return 0;               /* not a header */
			if (j - s == 12 && strncasecmp(p + s, "content-type", 12) == 0)
				ct = 1;
		}
	}
	return 0;
}

/* Graft decrypted bytes under part parent: MIME as it is, text wrapped
 * as text/plain, binary left out.  The plaintext stays the caller's. */
static int graft_plain(struct walk *w, int parent, const char *p, size_t n,
		       struct sirt_err *err)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	int rc;

	if (looks_like_mime(p, n))
		return graft(w, parent, p, n, err);
	if (memchr(p, '\0', n)) {
		sirt_info("crypto: decrypted content of part %d is binary;"
			  " not shown", parent);
		return 0;
	}
	sirt_buf_init(&b);
	sirt_buf_adds(&b, "Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n\r\n");
	sirt_buf_add(&b, p, n);
	rc = graft(w, parent, b.data, b.len, err);
	sirt_buf_wipe(&b);
	return rc;
}

/* multipart/signed; protocol="application/pgp-signature" at idx. */
static int do_signed(struct walk *w, int idx, struct sirt_err *err)
{
	struct sirt_msg *msg = w->msg;
	int c1 = child(msg, idx, 0), c2 = child(msg, idx, 1);
	const unsigned char *ent;
	struct sirt_buf canon = SIRT_BUF_INIT;
	size_t elen = 0;
	int rc;

	if (c1 < 0 || c2 < 0 || !type_is(&msg->parts[c2],
					 "application/pgp-signature"))
		return 0;
	mark_done(w, msg->parts[c2].data);
	ent = sirt_part_entity(msg, &msg->parts[c1], &elen);
	if (!ent || !msg->parts[c2].data)
		return 0;
	sirt_buf_init(&canon);
	canon_crlf(ent, elen, &canon);
	rc = verify_detached(w, canon.data, canon.len, msg->parts[c2].data,
			     msg->parts[c2].size, err);
	sirt_buf_release(&canon);
	return rc;
}

/* Protected headers (Thunderbird, draft-autocrypt-lamps-protected-headers):
 * an encrypted message whose outer Subject is a stand-in ("...")
 * carries the real one in the headers of the decrypted root part, marked
 * protected-headers="v1".  Use it for the message when the root of the
 * message is what was decrypted, and only when decrypted text may be
 * stored (the subject is stored with the case). */
static void protected_subject(struct walk *w, int idx, const char *p, size_t n)
{
	char *ct, *subj;

	if (idx != 0 || !w->c->store_decrypted)
		return;
	ct = sirt_entity_header(p, n, "Content-Type");
	if (ct && (strcasestr(ct, "protected-headers=\"v1\"") ||
		   strcasestr(ct, "protected-headers=v1")) &&
	    (subj = sirt_entity_header(p, n, "Subject")) != NULL) {
		if (*subj) {
			free(w->msg->subject);
			w->msg->subject = subj;
		} else {
			free(subj);
		}
	}
	free(ct);
}

/* multipart/encrypted; protocol="application/pgp-encrypted" at idx. */
static int do_encrypted(struct walk *w, int idx, struct sirt_err *err)
{
	struct sirt_msg *msg = w->msg;
	int c1 = child(msg, idx, 0), c2 = child(msg, idx, 1), got;
	struct bounded plain;
	int rc = 0;

	if (c1 < 0 || c2 < 0)
		return 0;
	if (!msg->parts[idx].protocol &&
	    !type_is(&msg->parts[c1], "application/pgp-encrypted"))
		return 0;
	mark_done(w, msg->parts[c1].data);
	mark_done(w, msg->parts[c2].data);
	if (!msg->parts[c2].data || !msg->parts[c2].size) {
		w->encrypted_any = 1;
		set_undecryptable(w, "no encrypted data in multipart/encrypted");
		return 0;
	}
	got = decrypt(w, msg->parts[c2].data, msg->parts[c2].size, &plain, err);
	if (got <= 0)
		return got;
	rc = graft(w, idx, plain.buf.data, plain.buf.len, err);
	if (rc == 0)
		protected_subject(w, idx, plain.buf.data, plain.buf.len);
	sirt_buf_wipe(&plain.buf);
	return rc;
}

/* Find an armor line "-----BEGIN ...-----" at the start of a line in
 * p[0..n); returns its offset or -1. */
static long find_line(const char *p, size_t n, size_t from, const char *line)
{
	size_t ll = strlen(line), i = from;

	while (i + ll <= n) {
		const char *q = memmem(p + i, n - i, line, ll);

		if (!q)
			return -1;
		i = (size_t)(q - p);
		if (i == 0 || p[i - 1] == '\n')
			return (long)i;
		i++;
	}
	return -1;
}

/* Inline PGP in a text part: encrypted and clear-signed blocks. */
static int do_inline(struct walk *w, int idx, struct sirt_err *err)
{
	static const char BEGIN_MSG[] = "-----BEGIN PGP MESSAGE-----";
	static const char END_MSG[] = "-----END PGP MESSAGE-----";
	static const char BEGIN_SIGNED[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	static const char END_SIG[] = "-----END PGP SIGNATURE-----";
	const char *data = (const char *)w->msg->parts[idx].data;
	size_t n = w->msg->parts[idx].size, from = 0;
	int blocks = 0;

	while (data && from < n && blocks < 8) {
		long b = find_line(data, n, from, BEGIN_MSG);
		long s = find_line(data, n, from, BEGIN_SIGNED);
		long e;

		if (b >= 0 && (s < 0 || b < s)) {
			struct bounded plain;
			int got;

			e = find_line(data, n, (size_t)b, END_MSG);
			if (e < 0)
				break;
			e += (long)sizeof(END_MSG) - 1;
			got = decrypt(w, data + b, (size_t)(e - b), &plain, err);
			if (got < 0)
				return -1;
			if (got > 0) {
				int rc = graft_plain(w, idx, plain.buf.data,
						     plain.buf.len, err);

				sirt_buf_wipe(&plain.buf);
				if (rc < 0)
					return -1;
				/* The part array may have moved. */
				data = (const char *)w->msg->parts[idx].data;
			}
			from = (size_t)e;
		} else if (s >= 0) {
			struct bounded plain;
			gpgme_data_t dsig = NULL, dout = NULL;
			gpgme_error_t ge;

			e = find_line(data, n, (size_t)s, END_SIG);
			if (e < 0)
				break;
			e += (long)sizeof(END_SIG) - 1;
			from = (size_t)e;
			blocks++;
			if (!budget(w))
				break;
			if (!w->c) {
				unchecked_sig(w, "not verified: " NO_KEYRING);
				continue;
			}
			sirt_buf_init(&plain.buf);
			plain.max = w->lim->max_message_size;
			plain.overflow = 0;
			if (gpgme_data_new_from_mem(&dsig, data + s,
						    (size_t)(e - s), 0) ||
			    gpgme_data_new_from_cbs(&dout, &bounded_cbs, &plain)) {
				gpgme_data_release(dsig);
				return sirt_err_set(err, SIRT_E_FATAL,
						    "gpgme: out of memory");
			}
			ge = gpgme_op_verify(w->c->ctx, dsig, NULL, dout);
			gpgme_data_release(dsig);
			gpgme_data_release(dout);
			sirt_buf_wipe(&plain.buf);
			if (ge && engine_trouble(ge))
				return gpg_fail(err, SIRT_E_TEMP,
						"cannot verify signature", ge);
			{
				gpgme_verify_result_t vr =
					gpgme_op_verify_result(w->c->ctx);

				if (vr && vr->signatures) {
					gpgme_result_ref(vr);
					record_sigs(w, vr);
					gpgme_result_unref(vr);
				}
			}
			continue;
		} else {
			break;
		}
		blocks++;
	}
	return 0;
}

/* Record the public keys in data (never imported). */
static int do_keys(struct walk *w, int idx, struct sirt_err *err)
{
	struct sirt_crypto_info *ci = &w->msg->crypto;
	const struct sirt_part *p = &w->msg->parts[idx];
	gpgme_data_t d = NULL;
	gpgme_key_t key;
	gpgme_error_t e;

	(void)err;
	if (!w->c || !p->data || !p->size || !budget(w))
		return 0;  /* without a keyring gpgme cannot list them */
	if (gpgme_data_new_from_mem(&d, (const char *)p->data, p->size, 0))
		return sirt_err_set(err, SIRT_E_FATAL, "gpgme: out of memory");
	e = gpgme_op_keylist_from_data_start(w->c->ctx, d, 0);
	while (!e && !(e = gpgme_op_keylist_next(w->c->ctx, &key))) {
		struct sirt_buf uids = SIRT_BUF_INIT;
		gpgme_user_id_t u;
		struct sirt_pubkey *k;
		int nu;

		if (ci->nkeys >= CRYPTO_MAX_KEYS || !key->fpr) {
			gpgme_key_unref(key);
			continue;
		}
		sirt_buf_init(&uids);
		for (u = key->uids, nu = 0; u && nu < CRYPTO_MAX_UIDS; u = u->next) {
			if (!u->uid)
				continue;
			if (uids.len)
				sirt_buf_addc(&uids, '\n');
			/* a hostile key's user ids: bounded, one line each */
			{
				size_t j, n = strnlen(u->uid, CRYPTO_MAX_UID_LEN);

				for (j = 0; j < n; j++)
					sirt_buf_addc(&uids, (unsigned char)u->uid[j] < 0x20 ?
						      ' ' : u->uid[j]);
			}
			nu++;
		}
		ci->keys = sirt_xrealloc(ci->keys,
					 (ci->nkeys + 1) * sizeof(*ci->keys));
		k = &ci->keys[ci->nkeys++];
		k->fingerprint = sirt_xstrdup(key->fpr);
		k->uids = sirt_utf8_sanitize(uids.data, uids.len);
		k->part = idx;
		sirt_buf_release(&uids);
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(w->c->ctx);
	if (gpg_err_code(e) != GPG_ERR_EOF)
		sirt_debug("crypto: key listing of part %d: %s", idx,
			   gpgme_strerror(e));
	gpgme_data_release(d);
	return 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n, m;

	if (!s)
		return 0;
	n = strlen(s);
	m = strlen(suf);
	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* A detached signature attached next to the file it signs (NAME and
 * NAME.sig or NAME.asc, e.g. Enigmail's "sign attachments"): verify it
 * over that file's decoded bytes. */
static int do_detached_file(struct walk *w, int idx, struct sirt_err *err)
{
	const struct sirt_msg *msg = w->msg;
	const struct sirt_part *sp = &msg->parts[idx];
	size_t n = strlen(sp->filename), i;

	if (n < 5)
		return 0;
	for (i = 0; i < msg->nparts; i++) {
		const struct sirt_part *f = &msg->parts[i];

		if ((int)i == idx || f->kind != SIRT_PART_SINGLE || !f->filename ||
		    !f->data || f->parent != sp->parent ||
		    strlen(f->filename) != n - 4 ||
		    strncmp(f->filename, sp->filename, n - 4) != 0)
			continue;
		return verify_detached(w, f->data, f->size, sp->data, sp->size,
				       err);
	}
	return 0;
}

/* An attachment that may hold PGP data (.asc, .gpg, .pgp, .sig). */
static int do_attachment(struct walk *w, int idx, struct sirt_err *err)
{
	const struct sirt_part *p = &w->msg->parts[idx];
	gpgme_data_t d = NULL;
	gpgme_data_type_t t;

	if (!p->data || !p->size)
		return 0;
	if (gpgme_data_new_from_mem(&d, (const char *)p->data, p->size, 0))
		return sirt_err_set(err, SIRT_E_FATAL, "gpgme: out of memory");
	t = gpgme_data_identify(d, 0);
	gpgme_data_release(d);
	if (t == GPGME_DATA_TYPE_PGP_KEY)
		return do_keys(w, idx, err);
	if (t == GPGME_DATA_TYPE_PGP_ENCRYPTED) {
		struct bounded plain;
		int got, rc;

		got = decrypt(w, p->data, p->size, &plain, err);
		if (got <= 0)
			return got;
		rc = graft_plain(w, idx, plain.buf.data, plain.buf.len, err);
		sirt_buf_wipe(&plain.buf);
		return rc;
	}
	if (t == GPGME_DATA_TYPE_PGP_SIGNED && type_is(p, "text/plain"))
		return do_inline(w, idx, err);
	if (t == GPGME_DATA_TYPE_PGP_SIGNATURE && p->filename)
		return do_detached_file(w, idx, err);
	return 0;
}

int sirt_crypto_process(struct sirt_crypto *c, struct sirt_msg *msg,
			const struct sirt_limits *lim, struct sirt_err *err)
{
	struct sirt_limits deflim;
	struct walk w;
	struct sirt_crypto_info *ci = &msg->crypto;
	size_t i;
	int rc = -1;

	if (!lim) {
		sirt_limits_default(&deflim);
		lim = &deflim;
	}
	if (msg->unparsed)
		return 0;
	/* gpgme_data_identify needs gpgme set up, keyring or not */
	pthread_once(&gpgme_once, gpgme_setup);
	/* Already processed (grafted parts present): do not graft twice. */
	if (ci->status != SIRT_CRYPTO_NONE || ci->nsigs || ci->nkeys ||
	    ci->undecryptable)
		return 0;
	for (i = 0; i < msg->nparts; i++)
		if (msg->parts[i].from_crypto)
			return 0;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.msg = msg;
	w.lim = lim;
	for (i = 0; i < msg->nparts; i++) {
		const struct sirt_part *p = &msg->parts[i];
		int idx = (int)i;

		if (p->kind == SIRT_PART_MULTIPART) {
			/* protocol= is required (RFC 3156), but some mailers
			 * drop it: then the children's types decide. */
			if (type_is(p, "multipart/signed") && (!p->protocol ||
			    strcmp(p->protocol, "application/pgp-signature") == 0)) {
				if (do_signed(&w, idx, err) < 0)
					goto out;
			} else if (type_is(p, "multipart/encrypted") && (!p->protocol ||
				   strcmp(p->protocol, "application/pgp-encrypted") == 0)) {
				if (do_encrypted(&w, idx, err) < 0)
					goto out;
			}
			continue;
		}
		if (p->kind != SIRT_PART_SINGLE || is_done(&w, p->data))
			continue;
		if (type_is(p, "application/pgp-keys")) {
			if (do_keys(&w, idx, err) < 0)
				goto out;
		} else if (has_suffix(p->filename, ".asc") ||
			   has_suffix(p->filename, ".gpg") ||
			   has_suffix(p->filename, ".pgp") ||
			   has_suffix(p->filename, ".sig") ||
			   type_is(p, "application/pgp-encrypted")) {
			if (do_attachment(&w, idx, err) < 0)
				goto out;
		} else if (type_is(p, "text/plain")) {
			if (do_inline(&w, idx, err) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (w.signed_any && w.encrypted_any)
		ci->status = SIRT_CRYPTO_SIGNED_ENCRYPTED;
	else if (w.encrypted_any)
		ci->status = SIRT_CRYPTO_ENCRYPTED;
	else if (w.signed_any)
		ci->status = SIRT_CRYPTO_SIGNED;
	free(w.done);
	return rc;
}

/* ---- JSON ---- */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *sirt_crypto_info_to_json(const struct sirt_crypto_info *ci)
{
	json_t *o, *sigs, *keys;
	char *out, *ret;
	size_t i;

	if (!ci || (ci->status == SIRT_CRYPTO_NONE && !ci->nkeys &&
		    !ci->nsigs && !ci->undecryptable))
		return NULL;
	o = json_object();
	json_object_set_new(o, "status",
			    json_string(sirt_crypto_status_name(ci->status)));
	json_object_set_new(o, "decrypted", json_boolean(ci->decrypted));
	json_object_set_new(o, "undecryptable", json_boolean(ci->undecryptable));
	json_object_set_new(o, "decrypt_error", jstr(ci->decrypt_error));
	sigs = json_array();
	for (i = 0; i < ci->nsigs; i++) {
		const struct sirt_signature *s = &ci->sigs[i];
		json_t *j = json_object();

		json_object_set_new(j, "status",
				    json_string(sirt_sig_status_name(s->status)));
		json_object_set_new(j, "fingerprint", jstr(s->fingerprint));
		json_object_set_new(j, "uid", jstr(s->uid));
		json_object_set_new(j, "validity", jstr(s->validity));
		json_object_set_new(j, "trusted", json_boolean(s->trusted));
		json_object_set_new(j, "detail", jstr(s->detail));
		json_array_append_new(sigs, j);
	}
	json_object_set_new(o, "signatures", sigs);
	keys = json_array();
	for (i = 0; i < ci->nkeys; i++) {
		const struct sirt_pubkey *k = &ci->keys[i];
		json_t *j = json_object(), *uids = json_array();
		const char *u = k->uids;

		json_object_set_new(j, "fingerprint", jstr(k->fingerprint));
		while (u && *u) {
			const char *nl = strchr(u, '\n');
			size_t n = nl ? (size_t)(nl - u) : strlen(u);

			json_array_append_new(uids, json_stringn(u, n));
			u += n + (nl ? 1 : 0);
		}
		json_object_set_new(j, "uids", uids);
		json_object_set_new(j, "part", json_integer(k->part));
		json_array_append_new(keys, j);
	}
	json_object_set_new(o, "keys", keys);
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!out)
		return NULL;
	ret = sirt_xstrdup(out);
	free(out);
	return ret;
}

/* ---- keys ---- */

int sirt_crypto_import_keys(struct sirt_crypto *c, const void *bytes,
			    size_t len, struct sirt_buf *report, int *n_r,
			    struct sirt_err *err)
{
	gpgme_data_t d = NULL;
	gpgme_key_t key;
	gpgme_error_t e;
	gpgme_import_result_t ir;
	gpgme_import_status_t is;
	int secret = 0, rc = -1;

	*n_r = 0;
	if (gpgme_data_new_from_mem(&d, bytes, len, 0))
		return sirt_err_set(err, SIRT_E_FATAL, "gpgme: out of memory");
	/* Look before importing: a secret key never enters the keyring
	 * this way. */
	e = gpgme_op_keylist_from_data_start(c->ctx, d, 0);
	while (!e && !(e = gpgme_op_keylist_next(c->ctx, &key))) {
		if (key->secret)
			secret = 1;
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(c->ctx);
	if (secret) {
		sirt_err_set(err, SIRT_E_BADMSG,
			     "the attachment holds a secret key; not imported");
		goto out;
	}
	gpgme_data_seek(d, 0, SEEK_SET);
	e = gpgme_op_import(c->ctx, d);
	if (e) {
		gpg_fail(err, engine_trouble(e) ? SIRT_E_TEMP : SIRT_E_BADMSG,
			 "cannot import keys", e);
		goto out;
	}
	ir = gpgme_op_import_result(c->ctx);
	for (is = ir ? ir->imports : NULL; is; is = is->next) {
		if (is->result) {
			sirt_buf_addf(report, "not imported %s: %s\n",
				      is->fpr ? is->fpr : "?",
				      gpgme_strerror(is->result));
			continue;
		}
		sirt_buf_addf(report, "%s %s\n",
			      (is->status & GPGME_IMPORT_NEW) ? "imported" :
			      is->status ? "updated" : "unchanged",
			      is->fpr ? is->fpr : "?");
		(*n_r)++;
	}
	rc = 0;
out:
	gpgme_data_release(d);
	return rc;
}

void sirt_crypto_info_release(struct sirt_crypto_info *ci)
{
	size_t i;

	for (i = 0; i < ci->nsigs; i++) {
		free(ci->sigs[i].fingerprint);
		free(ci->sigs[i].uid);
		free(ci->sigs[i].validity);
		free(ci->sigs[i].detail);
	}
	free(ci->sigs);
	for (i = 0; i < ci->nkeys; i++) {
		free(ci->keys[i].fingerprint);
		free(ci->keys[i].uids);
	}
	free(ci->keys);
	free(ci->decrypt_error);
	memset(ci, 0, sizeof(*ci));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sirt_crypto_adjust_verdict(const struct sirt_msg *msg,
				struct sirt_verdict *v)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	size_t i;
	int have = 0;

	if (!msg || !v || !msg->crypto.undecryptable)
		return;
	for (i = 0; i < v->ntags; i++)
		if (strcmp(v->tags[i], "undecryptable") == 0)
			have = 1;
	if (!have) {
		v->tags = sirt_xrealloc(v->tags, (v->ntags + 1) * sizeof(char *));
		v->tags[v->ntags++] = sirt_xstrdup("undecryptable");
		qsort(v->tags, v->ntags, sizeof(char *), cmp_str);
	}
	sirt_buf_init(&b);
	sirt_buf_addf(&b, "encrypted content could not be decrypted: %s",
		      msg->crypto.decrypt_error ? msg->crypto.decrypt_error
						: "unknown reason");
	v->notes = sirt_xrealloc(v->notes, (v->nnotes + 1) * sizeof(char *));
	v->notes[v->nnotes++] = sirt_xstrdup(b.data);
	if (v->severity == SIRT_SEV_NONE || v->severity > SIRT_SEV_P3) {
		v->severity = SIRT_SEV_P3;
		free(v->reason);
		sirt_buf_reset(&b);
		sirt_buf_adds(&b, "P3: encrypted report could not be decrypted, "
			      "needs a human");
		v->reason = sirt_buf_detach(&b, NULL);
	}
	sirt_buf_release(&b);
}
