/* crypto.h - PGP/MIME (RFC 3156) and inline PGP with gpgme.
 *
 * sirt_crypto_process() looks at a parsed message, verifies signatures
 * over the exact bytes of signed entities, decrypts encrypted entities
 * with the SIRT's key and grafts the plaintext into the message as MIME
 * (sirt_msg_add_entity), and fills msg->crypto.  A message that cannot
 * be decrypted is not an error: msg->crypto.undecryptable is set with
 * gpgme's reason.  One gpgme context is reused across messages.
 * When the whole message is one encrypted envelope whose decrypted root
 * carries protected headers (protected-headers="v1"), its Subject
 * replaces msg->subject (unless [crypto] store_decrypted = no).
 */
#ifndef SIRT_CRYPTO_H
#define SIRT_CRYPTO_H

#include "sirt/err.h"
#include "sirt/msg.h"

struct sirt_config;
struct sirt_crypto;

/* Open a gpgme context on cfg->gnupg_home (GNUPGHOME if unset) with the
 * passphrase from cfg->passphrase_file (loopback pinentry). */
int sirt_crypto_open(const struct sirt_config *cfg, struct sirt_crypto **c_r,
		     struct sirt_err *err);
void sirt_crypto_close(struct sirt_crypto **c);

/* c may be NULL (no keyring): PGP content is then only detected, an
 * encrypted report marked undecryptable and signatures left unverified. */
int sirt_crypto_process(struct sirt_crypto *c, struct sirt_msg *msg,
			const struct sirt_limits *lim, struct sirt_err *err);

/* msg->crypto as a JSON object text (caller frees), or NULL if status is
 * none and there is nothing to say:
 * {"status":"signed+encrypted","decrypted":true,"undecryptable":false,
 *  "decrypt_error":null,"signatures":[{"status":"good","fingerprint":..,
 *  "uid":..,"validity":..,"trusted":true,"detail":..}],"keys":[..]} */
char *sirt_crypto_info_to_json(const struct sirt_crypto_info *ci);

const char *sirt_crypto_status_name(enum sirt_crypto_status s);
const char *sirt_sig_status_name(enum sirt_sig_status s);

/* Import the public keys in bytes (armored or binary, e.g. a report's
 * application/pgp-keys attachment) into the keyring.  Never sets owner
 * trust; data holding a secret key is refused (SIRT_E_BADMSG).  One line
 * per key ("imported FPR", "unchanged FPR", ...) is appended to report;
 * *n_r counts the keys now in the keyring. */
struct sirt_buf;
int sirt_crypto_import_keys(struct sirt_crypto *c, const void *bytes,
			    size_t len, struct sirt_buf *report, int *n_r,
			    struct sirt_err *err);

/* Free what msg->crypto holds and zero it (sirt_msg_free may use it). */
void sirt_crypto_info_release(struct sirt_crypto_info *ci);

/* What the rules cannot decide: an encrypted report that could not be
 * opened (msg->crypto.undecryptable) is tagged "undecryptable", gets at
 * least P3 (a human must read it; a P1/P2 verdict stays) and a note with
 * gpgme's reason.  Call after sirt_triage(); no-op otherwise. */
struct sirt_verdict;
void sirt_crypto_adjust_verdict(const struct sirt_msg *msg,
				struct sirt_verdict *v);

#endif
