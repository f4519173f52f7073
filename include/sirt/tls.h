/* tls.h - a TCP connection with an optional, verified GnuTLS session,
 * usable by libetpan as a mailstream.
 *
 * libetpan's own TLS (mailimap_ssl_connect) does not verify the server
 * certificate, so sirt owns the TLS session: the chain is checked
 * against the system CA store or ca_file, the host name (or IP address)
 * against the certificate, and SNI is sent for DNS names.  A pinned
 * SHA-256 fingerprint of the server certificate (its DER), when
 * configured, is required on top of that: only that certificate is
 * accepted.  (A self-signed server: ca_file = its certificate.)
 *
 * A connection starts in plain text (sirt_conn_open); sirt_conn_tls()
 * runs the handshake on it, either at once (implicit TLS) or after the
 * protocol's STARTTLS.  sirt_conn_mailstream() hands libetpan a
 * mailstream_low over the connection: from then on the connection is
 * owned by that stream and freed with it.
 */
#ifndef SIRT_TLS_H
#define SIRT_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include "sirt/err.h"

struct sirt_conn;
struct _mailstream_low;

struct sirt_tls_opts {
	const char *host;	/* name checked against the certificate */
	const char *ca_file;	/* PEM trust anchors, NULL = system store */
	const char *pin_sha256; /* hex (colons allowed) of the server
				   certificate's DER, or NULL */
};

/* Connect to host:port over TCP (every address getaddrinfo gives, in
 * order), with TCP keepalive on and timeout_s for connect, reads and
 * writes.  *c_r is the caller's (sirt_conn_free). */
int sirt_conn_open(const char *host, int port, int timeout_s, struct sirt_conn **c_r,
		   struct sirt_err *err);

/* Handshake TLS over c and verify the peer (see above).  On failure err
 * is SIRT_E_TLS and says why, e.g. "certificate for 127.0.0.1 not
 * trusted: signer not found; set ca_file". */
int sirt_conn_tls(struct sirt_conn *c, const struct sirt_tls_opts *o, struct sirt_err *err);

/* Read/write like read(2)/write(2) (TLS if started).  Read returns 0 at
 * end of stream, -1 on error or timeout. */
ssize_t sirt_conn_read(struct sirt_conn *c, void *buf, size_t n);
ssize_t sirt_conn_write(struct sirt_conn *c, const void *buf, size_t n);

/* The socket, for poll(2); bytes already decrypted and buffered inside
 * the TLS layer (poll would not see them). */
int sirt_conn_fd(const struct sirt_conn *c);
size_t sirt_conn_pending(const struct sirt_conn *c);
int sirt_conn_is_tls(const struct sirt_conn *c);

/* The last I/O error in words ("timed out", "connection reset"...). */
const char *sirt_conn_error(const struct sirt_conn *c);

/* True if host is a loopback address or "localhost". */
int sirt_host_is_loopback(const char *host);

/* A libetpan low-level stream over c; the stream owns c from now on
 * (its close/free drop the connection).  NULL on allocation failure. */
struct _mailstream_low *sirt_conn_mailstream(struct sirt_conn *c);

/* Close and free (NULL-safe, NULLs *c). */
void sirt_conn_free(struct sirt_conn **c);

#endif
