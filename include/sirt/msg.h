/* msg.h - one parsed message: RFC 5322 headers, MIME tree, decoded text.
 *
 * The parser (libetpan mailmime) never touches the network or the store.
 * Everything in a struct sirt_msg is UTF-8 (invalid bytes replaced),
 * NUL-terminated and owned by the message; sirt_msg_free() releases it all.
 * A message that cannot be parsed or breaks a limit is still returned
 * (unparsed = 1, unparsed_reason set) so that intake can store it raw.
 */
#ifndef SIRT_MSG_H
#define SIRT_MSG_H

#include <stddef.h>
#include <time.h>
#include "sirt/err.h"

struct sirt_limits {
	size_t max_message_size;   /* bytes; default 25 MB */
	int max_mime_depth;        /* default 32 */
	int max_parts;             /* default 1000 */
	size_t max_header_line;    /* default 998*10: longer is "unparsed" */
};

void sirt_limits_default(struct sirt_limits *lim);

struct sirt_addr {
	char *name;  /* decoded display name, or NULL */
	char *addr;  /* local@domain as written, or NULL if absent */
};

struct sirt_header {
	char *name;  /* as written, e.g. "Authentication-Results" */
	char *value; /* unfolded, RFC 2047 decoded to UTF-8 */
};

enum sirt_part_kind {
	SIRT_PART_MULTIPART,  /* a container: no data of its own */
	SIRT_PART_MESSAGE,    /* message/rfc822 container */
	SIRT_PART_SINGLE      /* a leaf with content */
};

struct sirt_part {
	int index;              /* position in msg->parts, 0 = root */
	int parent;             /* index of parent, -1 for the root */
	int depth;              /* 0 for the root */
	enum sirt_part_kind kind;
	char *content_type;     /* lower case "type/subtype" */
	char *charset;          /* lower case as declared, or NULL */
	char *filename;         /* decoded (RFC 2231/2047), or NULL */
	char *disposition;      /* "inline", "attachment" or NULL */
	char *content_id;
	char *transfer_encoding;/* lower case, or NULL (7bit) */
	char *protocol;         /* Content-Type protocol= (multipart/signed,
	                           multipart/encrypted), lower case, or NULL */
	/* The whole MIME entity as it appeared in the input, headers and
	 * body, as an offset into the buffer it was parsed from (msg->raw,
	 * or the decrypted buffer for parts below a decrypted entity;
	 * see src_buf).  Used to verify multipart/signed. */
	size_t entity_off, entity_len;
	int src_buf;            /* 0 = msg->raw, n > 0 = msg->extra_bufs[n-1] */
	unsigned char *data;    /* decoded content (leaves), NUL-terminated */
	size_t size;            /* decoded length of data */
	char sha256[65];        /* of data (leaves); empty until sirt_msg_hash() */
	char *text;             /* UTF-8 text for text/plain and text/html
	                           (HTML rendered to text), else NULL */
	int is_attachment;      /* a file, not body text */
	int is_body;            /* this part's text is in msg->body */
	int from_crypto;        /* produced by decryption (see crypto.h) */
	/* Added: link targets (a/area href) of a text/html part, distinct,
	 * in document order; also merged into msg->urls. */
	char **links;
	size_t nlinks;
};

/* Crypto facts, filled by crypto.h; zero (none) after parsing. */
enum sirt_crypto_status {
	SIRT_CRYPTO_NONE = 0,
	SIRT_CRYPTO_SIGNED,
	SIRT_CRYPTO_ENCRYPTED,
	SIRT_CRYPTO_SIGNED_ENCRYPTED
};

enum sirt_sig_status {
	SIRT_SIG_GOOD = 0,
	SIRT_SIG_BAD,
	SIRT_SIG_EXPIRED_KEY,
	SIRT_SIG_REVOKED_KEY,
	SIRT_SIG_MISSING_KEY,
	SIRT_SIG_EXPIRED_SIG,
	SIRT_SIG_ERROR
};

struct sirt_signature {
	enum sirt_sig_status status;
	char *fingerprint;      /* of the signing key, or NULL if unknown */
	char *uid;              /* primary user id, or NULL */
	char *validity;         /* "unknown", "never", "marginal", "full", "ultimate" */
	int trusted;            /* the SIRT trusts this signer */
	char *detail;           /* gpgme's words, e.g. "Bad signature" */
};

struct sirt_pubkey {
	char *fingerprint;
	char *uids;             /* newline separated */
	int part;               /* the part it came from */
};

struct sirt_crypto_info {
	enum sirt_crypto_status status;
	int decrypted;          /* an encrypted entity was opened */
	int undecryptable;      /* encrypted, could not be opened */
	char *decrypt_error;    /* gpgme's reason */
	struct sirt_signature *sigs;
	size_t nsigs;
	struct sirt_pubkey *keys;
	size_t nkeys;
};

struct sirt_msg {
	/* The input bytes exactly as received (owned). */
	unsigned char *raw;
	size_t raw_len;
	char sha256[65];        /* of raw; empty until sirt_msg_hash() */

	/* Headers of the top-level entity. */
	struct sirt_header *headers;
	size_t nheaders;
	struct sirt_addr from;
	struct sirt_addr reply_to;
	struct sirt_addr *to;  size_t nto;
	struct sirt_addr *cc;  size_t ncc;
	char *subject;          /* decoded; NULL if absent */
	char *date;             /* Date: as ISO 8601 UTC, NULL if absent/bad */
	time_t date_t;          /* 0 if absent/bad */
	char *message_id;       /* without <>; NULL if absent */
	char *in_reply_to;      /* first msg-id, without <> */
	char **references;      /* msg-ids without <> */
	size_t nreferences;
	char *auth_results;     /* Authentication-Results, all joined by "\n" */
	char *auto_submitted;
	char *precedence;
	char *list_id;
	time_t received_first;  /* time in the earliest (last) Received: hop */

	/* MIME tree, flattened in document order (parts[0] is the root). */
	struct sirt_part *parts;
	size_t nparts;

	/* Derived text. */
	char *body;             /* preferred text of every body part, joined */
	char **urls;            /* distinct URLs found in body text and HTML hrefs */
	size_t nurls;
	size_t nattachments;

	/* Parse failure or broken limit: the message is kept raw. */
	int unparsed;
	char *unparsed_reason;

	/* Filled later by the crypto module. */
	struct sirt_crypto_info crypto;

	/* Buffers produced by decryption, owned; parts may point into them. */
	unsigned char **extra_bufs;
	size_t *extra_lens;
	size_t nextra;
};

/* Parse raw (copied into the message).  Returns 0 and a message in every
 * case but allocation failure; check msg->unparsed.  lim may be NULL
 * (defaults). */
int sirt_msg_parse(const void *raw, size_t len, const struct sirt_limits *lim,
		   struct sirt_msg **msg_r, struct sirt_err *err);

/* Parse bytes (e.g. a decrypted entity) as a MIME entity and graft its
 * parts under part `parent` of msg (marked from_crypto), then recompute
 * msg->body, urls and attachment counts.  The buffer is copied into
 * msg->extra_bufs.  Limits apply to the whole message. */
int sirt_msg_add_entity(struct sirt_msg *msg, int parent, const void *bytes,
			size_t len, const struct sirt_limits *lim,
			struct sirt_err *err);

/* Mark msg as needing a human (unparsed), reason added after any
 * earlier one. */
void sirt_msg_flag_unparsed(struct sirt_msg *msg, const char *reason);

/* Fill msg->sha256 and the sha256 of every leaf that has none yet
 * (parts added by decryption included).  Parsing does not hash: triage
 * does not need the digests, storing does. */
void sirt_msg_hash(struct sirt_msg *msg);

/* Value of the first header named name (case-insensitive), or NULL. */
const char *sirt_msg_header(const struct sirt_msg *msg, const char *name);

/* The first header named name in the header block at the start of an
 * entity's bytes, unfolded and decoded as the message's own headers are
 * (encoded words, charset guessing, the same size limit), or NULL.  The
 * result is the caller's. */
char *sirt_entity_header(const void *entity, size_t len, const char *name);

/* Bytes of a part's whole entity (see entity_off). */
const unsigned char *sirt_part_entity(const struct sirt_msg *msg,
				      const struct sirt_part *p, size_t *len_r);

void sirt_msg_free(struct sirt_msg **msg);

/* "Name <addr>" or "addr" for display; the result is the caller's. */
char *sirt_addr_format(const struct sirt_addr *a);

#endif
