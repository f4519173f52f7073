/* test_crypto.c - PGP/MIME and inline PGP against real GnuPG.
 *
 * tests/pgp-fixtures.sh makes throwaway keyrings and messages with the
 * gpg command line in a temporary directory; each message is parsed with
 * sirt_msg_parse and opened with sirt_crypto_process, and the crypto facts
 * are compared with what gpg made.  The real-world messages of notmuch and
 * go-pgpmail (tests/data/pgp/) are opened with their own secret keys.
 * Every gpg-agent started is stopped at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sirt/buf.h"
#include "sirt/config.h"
#include "sirt/crypto.h"
#include "sirt/msg.h"
#include "sirt/util.h"

static char dir[256];          /* fixtures */
static char top[1024];         /* source tree */
static struct sirt_crypto *cr; /* SIRT keyring, no trusted signers */
static struct sirt_crypto *cr_trust; /* same keyring, alice trusted */
static struct sirt_crypto *cr_nm;    /* notmuch's keyring */
static struct sirt_crypto *cr_go;    /* go-pgpmail's keyring */
static char fpr_alice[64], fpr_bob[64], fpr_mallory[64], fpr_exp[64], fpr_rev[64];

/* Run argv (no shell); stdout/stderr to /dev/null unless verbose. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0 && !getenv("TEST_VERBOSE")) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dir + "/" + a + b */
static void path(char *out, size_t n, const char *a, const char *b)
{
	snprintf(out, n, "%s/%s%s", dir, a, b);
}

static void read_fpr(const char *who, char out[64])
{
	char p[512], *data = NULL;
	size_t len = 0;
	struct sirt_err err;

	path(p, sizeof(p), "fpr/", who);
	assert_int_equal(sirt_read_file(p, 1024, &data, &len, &err), 0);
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	assert_true(len == 40);
	memcpy(out, data, len + 1);
	free(data);
}

/* A crypto context on home, trusting the given fingerprint (or none),
 * with the passphrase in pwfile (or none). */
static struct sirt_crypto *open_home_pw(const char *home, const char *trust,
					const char *pwfile)
{
	struct sirt_config *cfg = sirt_config_default();
	struct sirt_crypto *c = NULL;
	struct sirt_err err;

	free(cfg->gnupg_home);
	cfg->gnupg_home = sirt_xstrdup(home);
	if (trust) {
		cfg->trusted_signers = sirt_xcalloc(1, sizeof(char *));
		cfg->trusted_signers[0] = sirt_xstrdup(trust);
		cfg->ntrusted_signers = 1;
	}
	if (pwfile)
		cfg->passphrase_file = sirt_xstrdup(pwfile);
	if (sirt_crypto_open(cfg, &c, &err) < 0)
		fail_msg("sirt_crypto_open: %s", err.msg);
	sirt_config_free(&cfg);
	return c;
}

static struct sirt_crypto *open_home(const char *home, const char *trust)
{
	return open_home_pw(home, trust, NULL);
}

/* A home holding one secret key file. */
static void make_home(const char *name, const char *keyfile)
{
	char home[512];
	char *argv[] = { "gpg", "--homedir", home, "--batch", "--quiet",
			 "--import", (char *)keyfile, NULL };

	path(home, sizeof(home), name, "");
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(run(argv), 0);
}

static int setup(void **state)
{
	char script[1200], home[512], key[1200];
	const char *t = getenv("SIRT_TOP");
	char *argv[] = { "bash", script, dir, NULL };

	(void)state;
	snprintf(top, sizeof(top), "%s", t ? t : ".");
	snprintf(dir, sizeof(dir), "%s/sirt-crypto.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(script, sizeof(script), "%s/tests/pgp-fixtures.sh", top);
	if (run(argv) != 0) {
		fprintf(stderr, "pgp-fixtures.sh failed (TEST_VERBOSE=1 shows why)\n");
		return -1;
	}
	read_fpr("alice", fpr_alice);
	read_fpr("bob", fpr_bob);
	read_fpr("mallory", fpr_mallory);
	read_fpr("exp", fpr_exp);
	read_fpr("rev", fpr_rev);
	path(home, sizeof(home), "sirt-home", "");
	cr = open_home(home, NULL);
	cr_trust = open_home(home, fpr_alice);

	snprintf(key, sizeof(key), "%s/tests/data/pgp/notmuch/gnupg-secret-key.asc", top);
	make_home("nm-home", key);
	path(home, sizeof(home), "nm-home", "");
	cr_nm = open_home(home, NULL);
	snprintf(key, sizeof(key), "%s/tests/data/pgp/go-pgpmail/testPrivateKeyArmored.asc", top);
	make_home("go-home", key);
	path(home, sizeof(home), "go-home", "");
	cr_go = open_home(home, NULL);
	return 0;
}

static int teardown(void **state)
{
	static const char *homes[] = { "sirt-home", "sirt-pw-home", "sender-home",
				       "nm-home", "go-home", NULL };
	char home[512];
	int i;

	(void)state;
	sirt_crypto_close(&cr);
	sirt_crypto_close(&cr_trust);
	sirt_crypto_close(&cr_nm);
	sirt_crypto_close(&cr_go);
	for (i = 0; homes[i]; i++) {
		char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };

		path(home, sizeof(home), homes[i], "");
		run(argv);
	}
	{
		char *argv[] = { "rm", "-rf", dir, NULL };

		if (!getenv("TEST_KEEP"))
			run(argv);
	}
	return 0;
}

/* Parse and open a file: fixtures by name, or a path under the tree. */
static struct sirt_msg *open_file(struct sirt_crypto *c, const char *file)
{
	struct sirt_msg *msg = NULL;
	struct sirt_err err;
	char *data = NULL;
	size_t len = 0;

	if (sirt_read_file(file, 1 << 24, &data, &len, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &msg, &err), 0);
	free(data);
	assert_false(msg->unparsed);
	if (sirt_crypto_process(c, msg, NULL, &err) < 0)
		fail_msg("sirt_crypto_process(%s): %s", file, err.msg);
	return msg;
}

static struct sirt_msg *open_fixture(struct sirt_crypto *c, const char *name)
{
	char p[512];

	path(p, sizeof(p), "msgs/", name);
	strcat(p, ".eml");
	return open_file(c, p);
}

static struct sirt_msg *open_data(struct sirt_crypto *c, const char *rel)
{
	char p[1200];

	snprintf(p, sizeof(p), "%s/tests/data/pgp/%s", top, rel);
	return open_file(c, p);
}

/* All text of a message: body and every part's text. */
static int has_text(const struct sirt_msg *m, const char *needle)
{
	size_t i;

	if (m->body && strstr(m->body, needle))
		return 1;
	for (i = 0; i < m->nparts; i++)
		if (m->parts[i].text && strstr(m->parts[i].text, needle))
			return 1;
	return 0;
}

static int nfrom_crypto(const struct sirt_msg *m)
{
	size_t i;
	int n = 0;

	for (i = 0; i < m->nparts; i++)
		n += m->parts[i].from_crypto;
	return n;
}

static void assert_one_sig(const struct sirt_msg *m, enum sirt_sig_status st,
			   const char *fpr)
{
	assert_int_equal(m->crypto.nsigs, 1);
	if (m->crypto.sigs[0].status != st)
		fail_msg("signature status %s, expected %s (%s)",
			 sirt_sig_status_name(m->crypto.sigs[0].status),
			 sirt_sig_status_name(st),
			 m->crypto.sigs[0].detail ? m->crypto.sigs[0].detail : "");
	if (fpr) {
		assert_non_null(m->crypto.sigs[0].fingerprint);
		assert_string_equal(m->crypto.sigs[0].fingerprint, fpr);
	}
}

static void t_plain(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "plain");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_NONE);
	assert_int_equal(m->crypto.nsigs, 0);
	assert_null(sirt_crypto_info_to_json(&m->crypto));
	sirt_msg_free(&m);
}

static void t_signed_good(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "signed-good");
	char *j;

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	assert_non_null(m->crypto.sigs[0].uid);
	assert_string_equal(m->crypto.sigs[0].uid, "Alice <alice@example.org>");
	/* Known to the keyring but not certified: not trusted. */
	assert_false(m->crypto.sigs[0].trusted);
	assert_false(m->crypto.decrypted);
	j = sirt_crypto_info_to_json(&m->crypto);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"status\":\"signed\""));
	assert_non_null(strstr(j, "\"status\":\"good\""));
	assert_non_null(strstr(j, fpr_alice));
	assert_non_null(strstr(j, "\"trusted\":false"));
	free(j);
	sirt_msg_free(&m);

	/* The same message with alice in trusted_signers. */
	m = open_fixture(cr_trust, "signed-good");
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	assert_true(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
}

static void t_signed_crlf(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "signed-crlf");

	(void)state;
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	sirt_msg_free(&m);
}

static void t_signed_certified(void **state)
{
	/* bob is not in trusted_signers, but the SIRT key certified his key:
	 * full validity in the keyring makes him trusted. */
	struct sirt_msg *m = open_fixture(cr, "signed-certified");

	(void)state;
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_bob);
	assert_string_equal(m->crypto.sigs[0].validity, "full");
	assert_true(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
}

static void t_signed_unknown(void **state)
{
	struct sirt_msg *m = open_fixture(cr_trust, "signed-unknown");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_MISSING_KEY, fpr_mallory);
	assert_false(m->crypto.sigs[0].trusted);
	assert_null(m->crypto.sigs[0].uid);
	sirt_msg_free(&m);
}

static void t_signed_bad(void **state)
{
	/* alice is trusted, and still a changed byte is caught. */
	struct sirt_msg *m = open_fixture(cr_trust, "signed-bad");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_BAD, fpr_alice);
	assert_false(m->crypto.sigs[0].trusted);
	assert_true(has_text(m, "SQM injection"));
	sirt_msg_free(&m);
}

static void t_signed_expired(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "signed-expired");

	(void)state;
	assert_one_sig(m, SIRT_SIG_EXPIRED_KEY, fpr_exp);
	assert_false(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
}

static void t_signed_revoked(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "signed-revoked");

	(void)state;
	assert_one_sig(m, SIRT_SIG_REVOKED_KEY, fpr_rev);
	assert_false(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
}

static void t_encrypted(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "encrypted");
	char *j;

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_false(m->crypto.undecryptable);
	assert_int_equal(m->crypto.nsigs, 0);
	assert_true(nfrom_crypto(m) > 0);
	assert_non_null(m->body);
	assert_non_null(strstr(m->body, "staging database at db-staging.example.com"));
	j = sirt_crypto_info_to_json(&m->crypto);
	assert_non_null(strstr(j, "\"status\":\"encrypted\",\"decrypted\":true"));
	/* The facts never carry the plaintext. */
	assert_null(strstr(j, "staging"));
	free(j);
	sirt_msg_free(&m);
}

static void t_encrypted_other(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "encrypted-other");
	char *j;

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_false(m->crypto.decrypted);
	assert_true(m->crypto.undecryptable);
	assert_non_null(m->crypto.decrypt_error);
	assert_non_null(strstr(m->crypto.decrypt_error, "No secret key"));
	assert_false(has_text(m, "staging database"));
	assert_int_equal(nfrom_crypto(m), 0);
	j = sirt_crypto_info_to_json(&m->crypto);
	assert_non_null(strstr(j, "\"undecryptable\":true"));
	free(j);
	sirt_msg_free(&m);
}

static void t_encrypted_corrupt(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "encrypted-corrupt");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_non_null(m->crypto.decrypt_error);
	assert_false(has_text(m, "staging database"));
	sirt_msg_free(&m);
}

static void t_encrypted_symmetric(void **state)
{
	/* Password-encrypted: not for the SIRT key, never given a passphrase. */
	struct sirt_msg *m = open_fixture(cr, "encrypted-symmetric");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_false(m->crypto.decrypted);
	assert_false(has_text(m, "staging database"));
	sirt_msg_free(&m);
}

/* The SIRT key's passphrase comes from a file through loopback pinentry. */
static void t_passphrase(void **state)
{
	char home[512], pw[512], bad[512];
	struct sirt_crypto *c;
	struct sirt_msg *m;
	struct sirt_err err;

	(void)state;
	path(home, sizeof(home), "sirt-pw-home", "");
	path(pw, sizeof(pw), "passphrase", "");
	path(bad, sizeof(bad), "passphrase-wrong", "");

	/* No passphrase: cannot open, and says so. */
	c = open_home(home, NULL);
	m = open_fixture(c, "encrypted-pw");
	assert_true(m->crypto.undecryptable);
	assert_false(has_text(m, "staging database"));
	sirt_msg_free(&m);
	sirt_crypto_close(&c);

	/* A wrong passphrase: refused once, no loop. */
	c = open_home_pw(home, NULL, bad);
	m = open_fixture(c, "encrypted-pw");
	assert_true(m->crypto.undecryptable);
	assert_non_null(m->crypto.decrypt_error);
	assert_false(has_text(m, "staging database"));
	sirt_msg_free(&m);
	sirt_crypto_close(&c);

	/* The right one opens it. */
	c = open_home_pw(home, NULL, pw);
	m = open_fixture(c, "encrypted-pw");
	if (!m->crypto.decrypted)
		fail_msg("not decrypted: %s", m->crypto.decrypt_error ?
			 m->crypto.decrypt_error : "?");
	assert_true(has_text(m, "staging database"));
	sirt_msg_free(&m);

	/* A password-encrypted message is never given that passphrase,
	 * even when the password is the same words. */
	m = open_fixture(c, "encrypted-symmetric");
	assert_true(m->crypto.undecryptable);
	assert_false(has_text(m, "staging database"));
	sirt_msg_free(&m);
	sirt_crypto_close(&c);

	/* A missing passphrase file is a configuration error. */
	{
		struct sirt_config *cfg = sirt_config_default();

		sirt_free(&cfg->gnupg_home);
		sirt_free(&cfg->passphrase_file);
		cfg->gnupg_home = sirt_xstrdup(home);
		cfg->passphrase_file = sirt_xstrdup("/nonexistent/passphrase");
		assert_int_equal(sirt_crypto_open(cfg, &c, &err), -1);
		assert_int_equal(err.cls, SIRT_E_CONFIG);
		assert_null(c);
		sirt_config_free(&cfg);
	}
}

static void t_sign_then_encrypt(void **state)
{
	struct sirt_msg *m = open_fixture(cr_trust, "sign-then-encrypt");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	assert_true(m->crypto.sigs[0].trusted);
	assert_true(has_text(m, "staging database"));
	sirt_msg_free(&m);
}

static void t_sign_encrypt(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "sign-encrypt");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	assert_true(has_text(m, "staging database"));
	sirt_msg_free(&m);
}

static void t_inline_signed(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "inline-signed");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	sirt_msg_free(&m);
}

static void t_inline_encrypted(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "inline-encrypted");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_non_null(m->body);
	assert_non_null(strstr(m->body, "staging database"));
	sirt_msg_free(&m);
}

static void t_attach_encrypted(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "attach-encrypted");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_true(has_text(m, "admin panel at /admin has no authentication"));
	sirt_msg_free(&m);
}

/* No keyring at all: PGP content is detected, encrypted is flagged. */
static void t_no_keyring(void **state)
{
	struct sirt_msg *m = open_fixture(NULL, "encrypted");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_false(m->crypto.decrypted);
	assert_non_null(strstr(m->crypto.decrypt_error, "keyring"));
	sirt_msg_free(&m);
	m = open_fixture(NULL, "inline-encrypted");
	assert_true(m->crypto.undecryptable);
	sirt_msg_free(&m);
	m = open_fixture(NULL, "signed-good");
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_ERROR, NULL);
	assert_false(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
	/* an encrypted .asc attachment is found by the same walk as with
	 * a keyring (a second, simpler walk used to miss it) */
	m = open_fixture(NULL, "attach-encrypted");
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_non_null(strstr(m->crypto.decrypt_error, "keyring"));
	sirt_msg_free(&m);
	m = open_fixture(NULL, "attach-signed");
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_ERROR, NULL);
	sirt_msg_free(&m);
	m = open_fixture(NULL, "plain");
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_NONE);
	assert_false(m->crypto.undecryptable);
	sirt_msg_free(&m);
}

/* Decrypted content that breaks a parser limit flags the report; it
 * does not fail the message. */
static void t_graft_limit(void **state)
{
	struct sirt_msg *msg = NULL;
	struct sirt_limits lim;
	struct sirt_err err;
	char p[512], *data = NULL;
	size_t len = 0;

	(void)state;
	path(p, sizeof(p), "msgs/", "encrypted.eml");
	assert_int_equal(sirt_read_file(p, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(sirt_msg_parse(data, len, NULL, &msg, &err), 0);
	free(data);
	sirt_limits_default(&lim);
	lim.max_parts = (int)msg->nparts;      /* no room for the plaintext */
	assert_int_equal(sirt_crypto_process(cr, msg, &lim, &err), 0);
	/* decrypted, not undecryptable: the report is unparsed, for a human */
	assert_true(msg->crypto.decrypted);
	assert_false(msg->crypto.undecryptable);
	assert_null(msg->crypto.decrypt_error);
	assert_true(msg->unparsed);
	assert_non_null(strstr(msg->unparsed_reason, "decrypted, but its content was not parsed"));
	assert_false(has_text(msg, "staging database"));
	sirt_msg_free(&msg);
}

/* A file attached with its detached signature (NAME + NAME.sig). */
static void t_attach_signed(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "attach-signed");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_alice);
	sirt_msg_free(&m);
	m = open_fixture(cr, "attach-signed-bad");
	assert_one_sig(m, SIRT_SIG_BAD, fpr_alice);
	sirt_msg_free(&m);
}

static void t_twice(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "sign-then-encrypt");
	struct sirt_err err;
	size_t nparts = m->nparts, nsigs = m->crypto.nsigs;

	(void)state;
	assert_int_equal(sirt_crypto_process(cr, m, NULL, &err), 0);
	assert_int_equal(m->nparts, nparts);
	assert_int_equal(m->crypto.nsigs, nsigs);
	sirt_msg_free(&m);
}

/* mallory's key is recorded, not imported; imported only on request. */
static void t_pubkey(void **state)
{
	struct sirt_msg *m = open_fixture(cr, "pubkey");
	char home[512], *j;
	char *list[] = { "gpg", "--homedir", home, "--batch", "--list-keys",
			 "mallory@example.org", NULL };
	struct sirt_buf rep = SIRT_BUF_INIT;
	struct sirt_err err;
	const struct sirt_part *kp;
	int n = -1;

	(void)state;
	path(home, sizeof(home), "sirt-home", "");
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_NONE);
	assert_int_equal(m->crypto.nkeys, 1);
	assert_string_equal(m->crypto.keys[0].fingerprint, fpr_mallory);
	assert_non_null(strstr(m->crypto.keys[0].uids, "mallory@example.org"));
	j = sirt_crypto_info_to_json(&m->crypto);
	assert_non_null(j);
	assert_non_null(strstr(j, fpr_mallory));
	free(j);
	assert_int_not_equal(run(list), 0);          /* not imported */

	kp = &m->parts[m->crypto.keys[0].part];
	sirt_buf_init(&rep);
	assert_int_equal(sirt_crypto_import_keys(cr, kp->data, kp->size, &rep,
						 &n, &err), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(rep.data, fpr_mallory));
	assert_int_equal(run(list), 0);              /* now it is */
	sirt_buf_release(&rep);
	sirt_msg_free(&m);

	/* A signature by mallory is now verifiable, and still not trusted. */
	m = open_fixture(cr, "signed-unknown");
	assert_one_sig(m, SIRT_SIG_GOOD, fpr_mallory);
	assert_false(m->crypto.sigs[0].trusted);
	sirt_msg_free(&m);
}

static void t_import_refuses_secret(void **state)
{
	char p[1200], *data = NULL;
	size_t len = 0;
	struct sirt_buf rep = SIRT_BUF_INIT;
	struct sirt_err err;
	int n = -1;

	(void)state;
	snprintf(p, sizeof(p), "%s/tests/data/pgp/go-pgpmail/testPrivateKeyArmored.asc", top);
	assert_int_equal(sirt_read_file(p, 1 << 20, &data, &len, &err), 0);
	sirt_buf_init(&rep);
	assert_int_equal(sirt_crypto_import_keys(cr, data, len, &rep, &n, &err), -1);
	assert_int_equal(err.cls, SIRT_E_BADMSG);
	assert_int_equal(n, 0);
	sirt_buf_release(&rep);
	free(data);
}

/* ---- real-world messages ---- */

static void t_go_signed(void **state)
{
	struct sirt_msg *m = open_data(cr_go, "go-pgpmail/testPGPMIMESigned.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_GOOD, NULL);
	assert_true(has_text(m, "This is a signed message!"));
	sirt_msg_free(&m);
}

static void t_go_signed_invalid(void **state)
{
	struct sirt_msg *m = open_data(cr_go, "go-pgpmail/testPGPMIMESignedInvalid.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
	assert_one_sig(m, SIRT_SIG_BAD, NULL);
	sirt_msg_free(&m);
}

static void t_go_encrypted_signed(void **state)
{
	struct sirt_msg *m = open_data(cr_go, "go-pgpmail/testPGPMIMEEncryptedSigned.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_one_sig(m, SIRT_SIG_GOOD, NULL);
	assert_true(has_text(m, "This is an encrypted message!"));
	sirt_msg_free(&m);
}

static void t_go_encapsulated(void **state)
{
	struct sirt_msg *m = open_data(cr_go,
		"go-pgpmail/testPGPMIMEEncryptedSignedEncapsulated.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_one_sig(m, SIRT_SIG_GOOD, NULL);
	assert_true(has_text(m, "This is a signed message!"));
	sirt_msg_free(&m);
}

static void t_go_without_key(void **state)
{
	/* The SIRT's keyring has no go-pgpmail key. */
	struct sirt_msg *m = open_data(cr, "go-pgpmail/testPGPMIMEEncryptedSigned.eml");

	(void)state;
	assert_true(m->crypto.undecryptable);
	assert_non_null(strstr(m->crypto.decrypt_error, "No secret key"));
	sirt_msg_free(&m);
	m = open_data(cr, "go-pgpmail/testPGPMIMESigned.eml");
	assert_one_sig(m, SIRT_SIG_MISSING_KEY, NULL);
	sirt_msg_free(&m);
}

static void t_notmuch_encrypted(void **state)
{
	struct sirt_msg *m = open_data(cr_nm, "notmuch/crypto/basic-encrypted.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_true(nfrom_crypto(m) > 0);
	sirt_msg_free(&m);
}

static void t_notmuch_encrypted_signed(void **state)
{
	struct sirt_msg *m = open_data(cr_nm, "notmuch/crypto/encrypted-signed.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_one_sig(m, SIRT_SIG_GOOD, NULL);
	assert_non_null(m->crypto.sigs[0].uid);
	assert_non_null(strstr(m->crypto.sigs[0].uid, "test_suite@notmuchmail.org"));
	sirt_msg_free(&m);
}

static void t_notmuch_simple_encrypted(void **state)
{
	/* Encrypted to a key notmuch does not ship: undecryptable. */
	struct sirt_msg *m = open_data(cr_nm, "notmuch/crypto/simple-encrypted");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_false(m->crypto.decrypted);
	sirt_msg_free(&m);
}

static void t_notmuch_bad_encryption(void **state)
{
	struct sirt_msg *m = open_data(cr_nm,
		"notmuch/protected-headers/phony-protected-header-bad-encryption.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.undecryptable);
	assert_non_null(m->crypto.decrypt_error);
	sirt_msg_free(&m);
}

static void t_notmuch_protected(void **state)
{
	static const char *files[] = {
		"notmuch/protected-headers/protected-header.eml",
		"notmuch/protected-headers/encrypted-signed.eml",
		"notmuch/protected-headers/nested-rfc822-message.eml",
		"notmuch/protected-headers/wrapped-protected-header.eml",
		"notmuch/crypto/encrypted-rfc822-attachment",
		NULL };
	int i;

	(void)state;
	for (i = 0; files[i]; i++) {
		struct sirt_msg *m = open_data(cr_nm, files[i]);

		if (!m->crypto.decrypted || m->crypto.undecryptable)
			fail_msg("%s: not decrypted (%s)", files[i],
				 m->crypto.decrypt_error ? m->crypto.decrypt_error : "");
		assert_true(nfrom_crypto(m) > 0);
		sirt_msg_free(&m);
	}
}

static void t_notmuch_double_wrapped(void **state)
{
	/* The outer layer opens; the inner one is damaged (gpg: CRC error). */
	struct sirt_msg *m = open_data(cr_nm,
		"notmuch/protected-headers/double-wrapped-with-phony-protected-header.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_ENCRYPTED);
	assert_true(m->crypto.decrypted);
	assert_true(m->crypto.undecryptable);
	assert_true(nfrom_crypto(m) > 0);
	sirt_msg_free(&m);
}

static void t_notmuch_signed(void **state)
{
	static const char *files[] = {
		"notmuch/protected-headers/simple-signed-mail.eml",
		"notmuch/protected-headers/signed-protected-header.eml",
		NULL };
	int i;

	(void)state;
	for (i = 0; files[i]; i++) {
		struct sirt_msg *m = open_data(cr_nm, files[i]);

		assert_int_equal(m->crypto.status, SIRT_CRYPTO_SIGNED);
		assert_one_sig(m, SIRT_SIG_GOOD, NULL);
		sirt_msg_free(&m);
	}
}

/* Protected headers: the subject inside the encrypted part replaces the
 * placeholder outside, only when marked protected-headers="v1" on the
 * decrypted root, and only when decrypted text may be stored. */
static void t_notmuch_protected_subject(void **state)
{
	static const struct { const char *file, *subject; } cases[] = {
		{ "notmuch/protected-headers/protected-header.eml", "This is a protected header" },
		/* wrapped by a list in multipart/mixed: the envelope is not the
		 * whole message, so the outer subject stays */
		{ "notmuch/protected-headers/wrapped-protected-header.eml", "[mailing-list] Subject Unavailable" },
		{ "notmuch/protected-headers/no-protected-header-attribute.eml", "Subject Unavailable" },
		{ "notmuch/protected-headers/misplaced-protected-header.eml", "Subject Unavailable" },
		{ NULL, NULL } };
	struct sirt_config *cfg = sirt_config_default();
	struct sirt_crypto *c = NULL;
	struct sirt_msg *m;
	struct sirt_err err;
	char home[512];
	int i;

	(void)state;
	for (i = 0; cases[i].file; i++) {
		m = open_data(cr_nm, cases[i].file);
		assert_true(m->crypto.decrypted);
		assert_non_null(m->subject);
		if (strcmp(m->subject, cases[i].subject) != 0)
			fail_msg("%s: subject '%s', expected '%s'", cases[i].file,
				 m->subject, cases[i].subject);
		sirt_msg_free(&m);
	}
	/* store_decrypted = no: the protected subject stays inside. */
	path(home, sizeof(home), "nm-home", "");
	sirt_free(&cfg->gnupg_home);
	cfg->gnupg_home = sirt_xstrdup(home);
	cfg->store_decrypted = 0;
	assert_int_equal(sirt_crypto_open(cfg, &c, &err), 0);
	sirt_config_free(&cfg);
	m = open_data(c, "notmuch/protected-headers/protected-header.eml");
	assert_true(m->crypto.decrypted);
	assert_string_equal(m->subject, "Subject Unavailable");
	sirt_msg_free(&m);
	sirt_crypto_close(&c);
}

static void t_notmuch_smime_ignored(void **state)
{
	/* S/MIME is not PGP: left alone, never an error. */
	struct sirt_msg *m = open_data(cr_nm,
		"notmuch/protected-headers/smime-multipart-signed.eml");

	(void)state;
	assert_int_equal(m->crypto.status, SIRT_CRYPTO_NONE);
	sirt_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_plain),
		cmocka_unit_test(t_signed_good),
		cmocka_unit_test(t_signed_crlf),
		cmocka_unit_test(t_signed_certified),
		cmocka_unit_test(t_signed_unknown),
		cmocka_unit_test(t_signed_bad),
		cmocka_unit_test(t_signed_expired),
		cmocka_unit_test(t_signed_revoked),
		cmocka_unit_test(t_encrypted),
		cmocka_unit_test(t_encrypted_other),
		cmocka_unit_test(t_encrypted_corrupt),
		cmocka_unit_test(t_encrypted_symmetric),
		cmocka_unit_test(t_passphrase),
		cmocka_unit_test(t_sign_then_encrypt),
		cmocka_unit_test(t_sign_encrypt),
		cmocka_unit_test(t_inline_signed),
		cmocka_unit_test(t_inline_encrypted),
		cmocka_unit_test(t_attach_encrypted),
		cmocka_unit_test(t_no_keyring),
		cmocka_unit_test(t_graft_limit),
		cmocka_unit_test(t_attach_signed),
		cmocka_unit_test(t_twice),
		cmocka_unit_test(t_import_refuses_secret),
		cmocka_unit_test(t_go_signed),
		cmocka_unit_test(t_go_signed_invalid),
		cmocka_unit_test(t_go_encrypted_signed),
		cmocka_unit_test(t_go_encapsulated),
		cmocka_unit_test(t_go_without_key),
		cmocka_unit_test(t_notmuch_encrypted),
		cmocka_unit_test(t_notmuch_encrypted_signed),
		cmocka_unit_test(t_notmuch_simple_encrypted),
		cmocka_unit_test(t_notmuch_bad_encryption),
		cmocka_unit_test(t_notmuch_protected),
		cmocka_unit_test(t_notmuch_double_wrapped),
		cmocka_unit_test(t_notmuch_signed),
		cmocka_unit_test(t_notmuch_protected_subject),
		cmocka_unit_test(t_notmuch_smime_ignored),
		/* last: it changes the SIRT keyring */
		cmocka_unit_test(t_pubkey),
	};

	if (access("/usr/bin/gpg", X_OK) != 0) {
		printf("skipped: gpg not installed\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
