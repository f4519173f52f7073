/* tls.c - TCP connections with a verified GnuTLS session, and a
 * libetpan mailstream_low driver over them (see sirt/tls.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <libetpan/mailstream_low.h>
#include "sirt/buf.h"
#include "sirt/tls.h"
#include "sirt/util.h"

struct sirt_conn {
	int fd;
	int timeout_ms;
	gnutls_session_t session; /* NULL until sirt_conn_tls() */
	gnutls_certificate_credentials_t cred;
	int tls;	   /* handshake done */
	const char *error; /* static text */
};

/* Set fd's O_NONBLOCK to on; 0 ok. */
static int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

/* Turn on TCP keepalive (dead peers found within ~2 minutes of idle
 * silence, which also keeps NAT state alive during IMAP IDLE) and the
 * socket-level send/receive timeouts. */
static void tune_socket(int fd, int timeout_s)
{
	int on = 1, idle = 60, intvl = 15, cnt = 4;
	struct timeval tv = {timeout_s, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect one address with a timeout; returns the fd or -1 (errno). */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	int fd, r, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (set_nonblock(fd, 1) < 0)
		goto fail;
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS)
		goto fail;
	if (r < 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	if (set_nonblock(fd, 0) < 0)
		goto fail;
	return fd;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

int sirt_conn_open(const char *host, int port, int timeout_s, struct sirt_conn **c_r,
		   struct sirt_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, r, saved = 0;

	*c_r = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0)
		return sirt_err_set(err, r == EAI_AGAIN ? SIRT_E_TEMP : SIRT_E_CONFIG,
				    "cannot resolve '%s': %s", host, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_s * 1000);
		if (fd >= 0)
			break;
		saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return sirt_err_set(err, SIRT_E_TEMP, "cannot connect to %s:%d: %s", host, port,
				    strerror(saved));
	tune_socket(fd, timeout_s);
	*c_r = sirt_xcalloc(1, sizeof(**c_r));
	(*c_r)->fd = fd;
	(*c_r)->timeout_ms = timeout_s * 1000;
	return 0;
}

int sirt_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!host)
		return 0;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* Parse a hex fingerprint (colons and spaces ignored, any case) into
 * 32 bytes; 0 ok. */
static int parse_pin(const char *s, unsigned char out[32])
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= 32)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	return (n == 32 && hi < 0) ? 0 : -1;
}

/* Why verification failed, in words, from GnuTLS's status bits. */
static void describe_status(unsigned status, struct sirt_buf *b)
{
	static const struct {
		unsigned bit;
		const char *what;
	} t[] = {
		{GNUTLS_CERT_SIGNER_NOT_FOUND, "signer not found"},
		{GNUTLS_CERT_SIGNER_NOT_CA, "signer is not a CA"},
		{GNUTLS_CERT_UNEXPECTED_OWNER, "name does not match"},
		{GNUTLS_CERT_EXPIRED, "expired"},
		{GNUTLS_CERT_NOT_ACTIVATED, "not yet valid"},
		{GNUTLS_CERT_REVOKED, "revoked"},
		{GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm"},
		{GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature"},
		{GNUTLS_CERT_PURPOSE_MISMATCH, "not for TLS servers"},
	};
	size_t i;
	int first = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!(status & t[i].bit))
			continue;
		sirt_buf_addf(b, "%s%s", first ? "" : ", ", t[i].what);
		first = 0;
	}
	if (first)
		sirt_buf_adds(b, "invalid");
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		sirt_buf_adds(b, "; set ca_file");
}

/* Compare the peer's certificate with the pinned fingerprint. */
static int check_pin(struct sirt_conn *c, const struct sirt_tls_opts *o, struct sirt_err *err)
{
	const gnutls_datum_t *certs;
	unsigned int ncerts = 0;
	unsigned char want[32], got[32];
	char hex[65];

	if (parse_pin(o->pin_sha256, want) < 0)
		return sirt_err_set(err, SIRT_E_CONFIG, "pin_sha256 is not 64 hex digits");
	certs = gnutls_certificate_get_peers(c->session, &ncerts);
	if (!certs || ncerts == 0)
		return sirt_err_set(err, SIRT_E_TLS, "%s sent no certificate", o->host);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size, got) < 0)
		return sirt_err_set(err, SIRT_E_FATAL, "cannot hash certificate");
	if (memcmp(want, got, 32) != 0) {
		sirt_sha256_hex(certs[0].data, certs[0].size, hex);
		return sirt_err_set(
			err, SIRT_E_TLS,
			"certificate for %s does not match pin_sha256 (server sent %s)",
			o->host, hex);
	}
	return 0;
}

int sirt_conn_tls(struct sirt_conn *c, const struct sirt_tls_opts *o, struct sirt_err *err)
{
	struct sirt_buf why = SIRT_BUF_INIT;
	struct in6_addr a6;
	struct in_addr a4;
	int r, rc = -1;

	sirt_buf_init(&why);
	if (c->session)
		return sirt_err_set(err, SIRT_E_FATAL, "TLS already started");
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0)
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory (TLS)");
	if (o->ca_file) {
		r = gnutls_certificate_set_x509_trust_file(c->cred, o->ca_file,
							   GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			sirt_err_set(err, SIRT_E_CONFIG, "cannot load ca_file '%s': %s",
				     o->ca_file,
				     r == 0 ? "no certificate in it" : gnutls_strerror(r));
			goto out;
		}
	} else {
		r = gnutls_certificate_set_x509_system_trust(c->cred);
		if (r < 0) {
			sirt_err_set(err, SIRT_E_CONFIG, "cannot load the system CA store: %s",
				     gnutls_strerror(r));
			goto out;
		}
	}
	if (gnutls_init(&c->session, GNUTLS_CLIENT) < 0) {
		c->session = NULL;
		sirt_err_set(err, SIRT_E_FATAL, "out of memory (TLS)");
		goto out;
	}
	gnutls_set_default_priority(c->session);
	gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->cred);
	/* SNI only for DNS names (RFC 6066 forbids IP literals). */
	if (inet_pton(AF_INET, o->host, &a4) != 1 && inet_pton(AF_INET6, o->host, &a6) != 1)
		gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, o->host, strlen(o->host));
	/* Chain and name are always verified; a pin is checked on top. */
	gnutls_session_set_verify_cert(c->session, o->host, 0);
	gnutls_transport_set_int(c->session, c->fd);
	gnutls_handshake_set_timeout(c->session, (unsigned)c->timeout_ms);
	gnutls_record_set_timeout(c->session, (unsigned)c->timeout_ms);
	do
		r = gnutls_handshake(c->session);
	while (r < 0 && gnutls_error_is_fatal(r) == 0);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		describe_status(gnutls_session_get_verify_cert_status(c->session), &why);
		sirt_err_set(err, SIRT_E_TLS, "certificate for %s not trusted: %s", o->host,
			     why.data);
		goto out;
	}
	if (r < 0) {
		sirt_err_set(err,
			     r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
					     r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_TIMEDOUT
				     ? SIRT_E_TEMP
				     : SIRT_E_TLS,
			     "TLS handshake with %s failed: %s", o->host, gnutls_strerror(r));
		goto out;
	}
	if (o->pin_sha256 && check_pin(c, o, err) < 0)
		goto out;
	c->tls = 1;
	rc = 0;
out:
	sirt_buf_release(&why);
	return rc;
}

/* Wait until fd is readable; 1 ready, 0 timeout, -1 error. */
static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t sirt_conn_read(struct sirt_conn *c, void *buf, size_t n)
{
	ssize_t r;

	if (c->fd < 0) {
		c->error = "connection closed";
		return -1;
	}
	if (c->tls) {
		do
			r = gnutls_record_recv(c->session, buf, n);
		while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (r < 0) {
			c->error =
				r == GNUTLS_E_TIMEDOUT ? "timed out" : gnutls_strerror((int)r);
			return -1;
		}
		return r;
	}
	r = wait_readable(c->fd, c->timeout_ms);
	if (r == 0) {
		c->error = "timed out";
		return -1;
	}
	if (r < 0) {
		c->error = "poll failed";
		return -1;
	}
	do
		r = read(c->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		c->error = strerror(errno);
	return r;
}

ssize_t sirt_conn_write(struct sirt_conn *c, const void *buf, size_t n)
{
	ssize_t r;

	if (c->fd < 0) {
		c->error = "connection closed";
		return -1;
	}
	if (c->tls) {
		do
			r = gnutls_record_send(c->session, buf, n);
		while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
		if (r < 0) {
			c->error = gnutls_strerror((int)r);
			return -1;
		}
		return r;
	}
	do
		r = send(c->fd, buf, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		c->error = strerror(errno);
	return r;
}

int sirt_conn_fd(const struct sirt_conn *c)
{
	return c->fd;
}

size_t sirt_conn_pending(const struct sirt_conn *c)
{
	return c->tls ? gnutls_record_check_pending(c->session) : 0;
}

int sirt_conn_is_tls(const struct sirt_conn *c)
{
	return c->tls;
}

const char *sirt_conn_error(const struct sirt_conn *c)
{
	return c->error ? c->error : "connection closed";
}

/* Shut the connection down (TLS close_notify, best effort) and close
 * the socket; the struct stays allocated. */
static void conn_close(struct sirt_conn *c)
{
	if (c->fd >= 0) {
		if (c->tls) {
			gnutls_record_set_timeout(c->session, 1000);
			(void)gnutls_bye(c->session, GNUTLS_SHUT_WR);
		}
		close(c->fd);
		c->fd = -1;
	}
}

void sirt_conn_free(struct sirt_conn **cp)
{
	struct sirt_conn *c = *cp;

	if (!c)
		return;
	conn_close(c);
	if (c->session)
		gnutls_deinit(c->session);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c);
	*cp = NULL;
}

/* ---- the libetpan low-level driver ---- */

static ssize_t low_read(mailstream_low *s, void *buf, size_t n)
{
	return sirt_conn_read(s->data, buf, n);
}

static ssize_t low_write(mailstream_low *s, const void *buf, size_t n)
{
	return sirt_conn_write(s->data, buf, n);
}

static int low_close(mailstream_low *s)
{
	conn_close(s->data);
	return 0;
}

static int low_get_fd(mailstream_low *s)
{
	return ((struct sirt_conn *)s->data)->fd;
}

static void low_free(mailstream_low *s)
{
	struct sirt_conn *c = s->data;

	sirt_conn_free(&c);
	free(s);
}

static void low_cancel(mailstream_low *s)
{
	(void)s;
}

static struct mailstream_cancel *low_get_cancel(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static carray *low_get_chain(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static mailstream_low_driver sirt_low_driver = {
	.mailstream_read = low_read,
	.mailstream_write = low_write,
	.mailstream_close = low_close,
	.mailstream_get_fd = low_get_fd,
	.mailstream_free = low_free,
	.mailstream_cancel = low_cancel,
	.mailstream_get_cancel = low_get_cancel,
	.mailstream_get_certificate_chain = low_get_chain,
	.mailstream_setup_idle = NULL,
	.mailstream_unsetup_idle = NULL,
	.mailstream_interrupt_idle = NULL,
};

struct _mailstream_low *sirt_conn_mailstream(struct sirt_conn *c)
{
	return mailstream_low_new(c, &sirt_low_driver);
}
