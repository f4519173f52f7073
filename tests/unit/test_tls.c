/* test_tls.c - the connection layer under the IMAP source: loopback
 * detection (tls = none is only allowed there), connect errors are
 * temporary, and a TLS handshake against a peer that does not speak
 * TLS fails cleanly instead of hanging.  The verification itself
 * (untrusted CA, name mismatch, pin) is tested end to end against a
 * real Dovecot in tests/e2e/t_imap_tls.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "sirt/tls.h"

static void test_loopback(void **state)
{
	(void)state;
	assert_true(sirt_host_is_loopback("127.0.0.1"));
	assert_true(sirt_host_is_loopback("127.1.2.3"));
	assert_true(sirt_host_is_loopback("::1"));
	assert_true(sirt_host_is_loopback("localhost"));
	assert_true(sirt_host_is_loopback("LOCALHOST"));
	assert_false(sirt_host_is_loopback("128.0.0.1"));
	assert_false(sirt_host_is_loopback("10.0.0.1"));
	assert_false(sirt_host_is_loopback("localhost.example.com"));
	assert_false(sirt_host_is_loopback("127.0.0.1.example.com"));
	assert_false(sirt_host_is_loopback("::2"));
	assert_false(sirt_host_is_loopback(""));
	assert_false(sirt_host_is_loopback(NULL));
}

/* A listening socket on 127.0.0.1; its port in *port. */
static int listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_connect_refused_is_temporary(void **state)
{
	struct sirt_conn *c = NULL;
	struct sirt_err err;
	int port, fd;

	(void)state;
	fd = listen_any(&port);
	close(fd); /* nothing listens there now */
	assert_int_equal(sirt_conn_open("127.0.0.1", port, 5, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.cls, SIRT_E_TEMP);
	assert_non_null(strstr(err.msg, "cannot connect to 127.0.0.1"));
}

/* A peer that answers like a plain-text IMAP server, then closes. */
static void *plain_server(void *arg)
{
	int lfd = *(int *)arg, fd;
	static const char greeting[] = "* OK plain text only\r\n";
	char buf[512];

	fd = accept(lfd, NULL, NULL);
	if (fd >= 0) {
		(void)!write(fd, greeting, sizeof(greeting) - 1);
		(void)!read(fd, buf, sizeof(buf));
		close(fd);
	}
	return NULL;
}

static void test_tls_to_plain_server_fails(void **state)
{
	struct sirt_tls_opts o = {"127.0.0.1", NULL, NULL};
	struct sirt_conn *c = NULL;
	struct sirt_err err;
	pthread_t th;
	int port, lfd;

	(void)state;
	lfd = listen_any(&port);
	assert_int_equal(pthread_create(&th, NULL, plain_server, &lfd), 0);
	assert_int_equal(sirt_conn_open("127.0.0.1", port, 5, &c, &err), 0);
	assert_non_null(c);
	assert_false(sirt_conn_is_tls(c));
	assert_int_equal(sirt_conn_tls(c, &o, &err), -1);
	assert_true(err.cls == SIRT_E_TLS || err.cls == SIRT_E_TEMP);
	assert_non_null(strstr(err.msg, "127.0.0.1"));
	assert_false(sirt_conn_is_tls(c));
	sirt_conn_free(&c);
	assert_null(c);
	pthread_join(th, NULL);
	close(lfd);
}

static void test_bad_ca_file_is_config_error(void **state)
{
	struct sirt_tls_opts o = {"127.0.0.1", "/nonexistent/ca.pem", NULL};
	struct sirt_conn *c = NULL;
	struct sirt_err err;
	int port, lfd;

	(void)state;
	lfd = listen_any(&port);
	assert_int_equal(sirt_conn_open("127.0.0.1", port, 5, &c, &err), 0);
	assert_int_equal(sirt_conn_tls(c, &o, &err), -1);
	assert_int_equal(err.cls, SIRT_E_CONFIG);
	assert_non_null(strstr(err.msg, "cannot load ca_file '/nonexistent/ca.pem'"));
	sirt_conn_free(&c);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_connect_refused_is_temporary),
		cmocka_unit_test(test_tls_to_plain_server_fails),
		cmocka_unit_test(test_bad_ca_file_is_config_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
