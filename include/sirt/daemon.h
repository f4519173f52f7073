/* daemon.h - `sirt poll` without --once: watch every configured source.
 *
 * One thread per source.  Each thread drains its source (next, intake,
 * ack, flush), then waits: IMAP IDLE where the server has it, else the
 * source's interval.  Everything that touches the shared context (the
 * store, the rules, the crypto engine) runs under one process-wide
 * lock, sirt_daemon_lock(); network I/O runs outside it, so a slow
 * server does not hold up the other sources.
 *
 * A source that fails with a temporary error (server down, connection
 * dropped, BYE) is closed and reopened with exponential backoff and
 * jitter (1 s doubling to 5 min).  An error of another class (wrong
 * password, untrusted certificate, bad configuration) is logged and
 * retried at the slowest pace, so that one broken mailbox neither stops
 * the others nor floods the server.
 *
 * SIGTERM/SIGINT: every thread finishes the message it holds (its case
 * is committed and acknowledged), flushes, closes, and the process exits
 * 0.  SIGHUP: the threads stop the same way, the configuration file and
 * the rules are loaded again, and the threads restart with them; if the
 * new configuration or rules fail to load, the old ones stay in force
 * and the error is logged.
 */
#ifndef SIRT_DAEMON_H
#define SIRT_DAEMON_H

#include "sirt/err.h"

struct sirt_ctx;

/* Run until SIGTERM/SIGINT.  only_source (may be NULL) restricts the
 * daemon to one [source NAME].  Returns 0 after a clean stop, -1 if it
 * could not start (err set). */
int sirt_daemon_run(struct sirt_ctx *ctx, const char *only_source, struct sirt_err *err);

/* The lock around the shared context (recursive; harmless when no
 * daemon runs).  A source backend that uses the store from next(),
 * ack() or flush() takes it around those calls. */
void sirt_daemon_lock(void);
void sirt_daemon_unlock(void);

/* Tune glibc malloc for a long run of messages (keep freed heap
 * instead of trimming and regrowing it per message).  Process-wide;
 * called by sirt_daemon_run() and by `sirt poll --once`. */
void sirt_daemon_tune_memory(void);

/* True once SIGTERM/SIGINT/SIGHUP asked the daemon to stop. */
int sirt_daemon_stopping(void);

#endif
