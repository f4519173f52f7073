/* daemon.c - `sirt poll` without --once: one thread per source, IMAP
 * IDLE or interval polling, reconnect with backoff, SIGTERM/SIGHUP
 * (see sirt/daemon.h for the contract). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sirt/config.h"
#include "sirt/daemon.h"
#include "sirt/intake.h"
#include "sirt/log.h"
#include "sirt/rules.h"
#include "sirt/sirt.h"
#include "sirt/source.h"
#include "sirt/store.h"
#include "sirt/util.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 300
#define IDLE_SLICE_S 1 /* how often a waiting thread checks for stop */

static pthread_mutex_t ctx_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static volatile int stop_flag; /* read under wake_lock or racily (hint) */

void sirt_daemon_tune_memory(void)
{
	/* Each message allocates and frees a few hundred KB (MIME parse,
	 * SQLite, the fetch buffers).  With glibc's defaults the heap top
	 * is trimmed and regrown around every message (brk + TLB flush),
	 * which measured as 2-3x the whole pipeline's time on a VM.  Keep
	 * up to 32 MB of free heap instead; the peak RSS is unchanged.
	 * (glibc's malloc only: a build linked with jemalloc ignores it.) */
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TOP_PAD, 4 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
}

void sirt_daemon_lock(void)
{
	pthread_mutex_lock(&ctx_lock);
}

void sirt_daemon_unlock(void)
{
	pthread_mutex_unlock(&ctx_lock);
}

int sirt_daemon_stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST);
}

static void set_stop(int v)
{
	pthread_mutex_lock(&wake_lock);
	__atomic_store_n(&stop_flag, v, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
}

/* Sleep up to ms, waking early when the daemon is asked to stop.
 * Returns 1 if stopping. */
static int nap(long ms)
{
	struct timespec ts;
	int stopping;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&wake_lock);
	while (!(stopping = sirt_daemon_stopping()))
		if (pthread_cond_timedwait(&wake_cond, &wake_lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&wake_lock);
	return stopping;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
	pthread_t thread;
	int running;
	struct sirt_ctx *ctx;
	const struct sirt_source_conf *sc;
	const struct sirt_source_ops *ops;
	int local;	   /* backend without its own locking */
	unsigned int seed; /* for jitter */
};

/* Lock around a source call unless the backend locks by itself. */
static void src_lock(const struct worker *w)
{
	if (w->local)
		sirt_daemon_lock();
}

static void src_unlock(const struct worker *w)
{
	if (w->local)
		sirt_daemon_unlock();
}

/* Take every waiting message of src into the store: next, intake
 * (under the context lock), ack; stop between two messages when asked.
 * 0, or -1 with err. */
static int drain(struct worker *w, struct sirt_source *src, struct sirt_err *err)
{
	const struct sirt_source_conf *sc = w->sc;
	struct sirt_source_msg sm;
	struct sirt_intake_opts o;
	struct sirt_intake_result r;
	char origin[512];
	int n, rc = -1;

	memset(&sm, 0, sizeof(sm));
	for (;;) {
		if (sirt_daemon_stopping())
			break;
		src_lock(w);
		n = w->ops->next(src, &sm, err);
		src_unlock(w);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		memset(&o, 0, sizeof(o));
		snprintf(origin, sizeof(origin), "%s:%s:%s", sc->type, sc->name,
			 sm.id ? sm.id : "?");
		o.origin = origin;
		o.oversized = sm.oversized;
		o.declared_size = sm.declared_size;
		o.truncated = sm.truncated;
		o.received = sm.received;
		sirt_daemon_lock();
		n = sirt_intake(w->ctx, sm.data, sm.len, &o, &r, err);
		sirt_daemon_unlock();
		if (n < 0) {
			sirt_err_prefix(err, "%s", origin);
			goto out;
		}
		src_lock(w);
		n = w->ops->ack(src, &sm, err);
		src_unlock(w);
		if (n < 0)
			goto out;
		if (!r.duplicate)
			sirt_info("%s: %s %s %s%s", origin,
				  r.new_case ? "new case" : "follow-up to", r.ref,
				  sirt_severity_name(r.severity),
				  r.unparsed ? " (unparsed: needs a human)" : "");
		sirt_source_msg_release(&sm);
	}
	rc = 0;
out:
	sirt_source_msg_release(&sm);
	/* Deferred acks of what was committed go out even after an error. */
	if (w->ops->flush) {
		struct sirt_err ferr;

		sirt_err_clear(&ferr);
		src_lock(w);
		if (w->ops->flush(src, rc < 0 ? &ferr : err) < 0 && rc == 0)
			rc = -1;
		src_unlock(w);
	}
	return rc;
}

/* Seconds to wait before reconnect attempt number `failures` (1, 2,
 * ...): exponential from 1 s to 5 min, with +-25 % jitter so that
 * many pollers do not reconnect in step. */
static long backoff_ms(struct worker *w, int failures, int temporary)
{
	double s = BACKOFF_MAX_S;
	int i;

	if (temporary) {
		s = BACKOFF_MIN_S;
		for (i = 1; i < failures && s < BACKOFF_MAX_S; i++)
			s *= 2;
		if (s > BACKOFF_MAX_S)
			s = BACKOFF_MAX_S;
	}
	s *= 0.75 + 0.5 * ((double)rand_r(&w->seed) / RAND_MAX);
	return (long)(s * 1000);
}

/* Wait for new mail: a source with idle() decides itself (IMAP IDLE,
 * or its own interval where the server has no IDLE); the others are
 * polled every `interval` seconds.  0 = time to drain, -1 = the source
 * failed (err), 1 = stopping. */
static int wait_for_mail(struct worker *w, struct sirt_source *src, struct sirt_err *err)
{
	double deadline = mono_now() + (w->sc->interval > 0 ? w->sc->interval : 60);
	int r;

	while (!sirt_daemon_stopping()) {
		if (!w->ops->idle) {
			if (mono_now() >= deadline)
				return 0;
			if (nap(IDLE_SLICE_S * 1000))
				break;
			continue;
		}
		src_lock(w);
		r = w->ops->idle(src, IDLE_SLICE_S, err);
		src_unlock(w);
		if (r < 0)
			return -1;
		if (r == 1)
			return 0;
	}
	return 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sirt_source *src = NULL;
	struct sirt_err err;
	int failures = 0, r, temporary;

	while (!sirt_daemon_stopping()) {
		sirt_err_clear(&err);
		src_lock(w);
		r = w->ops->open(w->sc, w->ctx, &src, &err);
		src_unlock(w);
		if (r == 0) {
			if (failures)
				sirt_info("source %s: connected again", w->sc->name);
			for (;;) {
				if (drain(w, src, &err) < 0) {
					r = -1;
					break;
				}
				failures = 0;
				r = wait_for_mail(w, src, &err);
				/* A source without idle() (Maildir, mbox) is
				 * opened afresh each interval: it sees the
				 * directory or file as it is now. */
				if (r != 0 || !w->ops->idle)
					break;
			}
			src_lock(w);
			w->ops->close(&src);
			src_unlock(w);
			if (sirt_daemon_stopping())
				break;
			if (r == 0)
				continue;
		}
		failures++;
		temporary = err.cls == SIRT_E_TEMP;
		if (temporary && failures > 1)
			sirt_warn("%s (retrying)", err.msg);
		else if (temporary)
			sirt_warn("%s (reconnecting)", err.msg);
		else
			sirt_error("%s (retrying in about %d minutes)", err.msg,
				   BACKOFF_MAX_S / 60);
		/* The first retry after a dropped connection comes at once
		 * (a BYE, a server restart), then the backoff grows. */
		if (nap(temporary && failures == 1 ? 200
						   : backoff_ms(w, failures - 1, temporary)))
			break;
	}
	return NULL;
}

/* Start one thread per configured source (or only the one named). */
static int start_workers(struct sirt_ctx *ctx, const char *only, struct worker **ws_r,
			 size_t *n_r, struct sirt_err *err)
{
	struct worker *ws;
	size_t i, n = 0;

	*ws_r = NULL;
	*n_r = 0;
	ws = sirt_xcalloc(ctx->cfg->nsources + 1, sizeof(*ws));
	for (i = 0; i < ctx->cfg->nsources; i++) {
		const struct sirt_source_conf *sc = &ctx->cfg->sources[i];
		struct worker *w = &ws[n];

		if (only && strcmp(only, sc->name))
			continue;
		w->ops = sirt_source_find(sc->type);
		if (!w->ops) {
			sirt_error("source '%s': type '%s' is not available in this build",
				   sc->name, sc->type);
			continue;
		}
		w->ctx = ctx;
		w->sc = sc;
		w->local = strcmp(w->ops->name, "imap") != 0;
		w->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(i * 7919);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			sirt_error("source '%s': cannot start a thread", sc->name);
			continue;
		}
		w->running = 1;
		n++;
	}
	*ws_r = ws;
	*n_r = n;
	if (n == 0) {
		free(ws);
		*ws_r = NULL;
		return sirt_err_set(err, SIRT_E_CONFIG,
				    only ? "no usable source named '%s'" : "no usable source%s",
				    only ? only : " configured");
	}
	return 0;
}

static void join_workers(struct worker **ws, size_t n)
{
	size_t i;

	for (i = 0; *ws && i < n; i++)
		if ((*ws)[i].running)
			pthread_join((*ws)[i].thread, NULL);
	sirt_free(ws);
}

static void apply_log_target(const struct sirt_config *cfg)
{
	int use_syslog = cfg->log_target && !strcmp(cfg->log_target, "syslog");

	sirt_log_init("sirt", use_syslog, sirt_log_get_level());
}

/* SIGHUP: load the configuration file and the rules again; swap them in
 * only if both loaded.  Runs while no worker runs. */
static void reload(struct sirt_ctx *ctx)
{
	struct sirt_config *cfg = NULL, *old_cfg = ctx->cfg;
	struct sirt_rules *old_rules = ctx->rules;
	int old_tried = ctx->rules_tried;
	struct sirt_err err;

	sirt_err_clear(&err);
	if (!ctx->cfg->file) {
		sirt_info("SIGHUP: no configuration file; reloading the rules only");
	} else if (sirt_config_load(ctx->cfg->file, &cfg, &err) < 0) {
		sirt_error("SIGHUP: %s; keeping the old configuration and rules", err.msg);
		return;
	}
	/* Load the rules the new configuration names, the same way the
	 * first load did (sirt_ctx_rules). */
	if (cfg)
		ctx->cfg = cfg;
	ctx->rules = NULL;
	ctx->rules_tried = 0;
	if (sirt_ctx_rules(ctx, &err) < 0) {
		sirt_error("SIGHUP: %s; keeping the old configuration and rules", err.msg);
		ctx->cfg = old_cfg;
		ctx->rules = old_rules;
		ctx->rules_tried = old_tried;
		sirt_config_free(&cfg);
		return;
	}
	sirt_rules_free(&old_rules);
	if (cfg) {
		/* The store may have moved: reopen on demand. */
		if (strcmp(cfg->store_path, old_cfg->store_path) != 0)
			sirt_store_close(&ctx->store);
		sirt_config_free(&old_cfg);
		apply_log_target(cfg);
	}
	sirt_info("SIGHUP: configuration and rules reloaded (%zu source%s)", ctx->cfg->nsources,
		  ctx->cfg->nsources == 1 ? "" : "s");
}

int sirt_daemon_run(struct sirt_ctx *ctx, const char *only, struct sirt_err *err)
{
	struct worker *ws = NULL;
	sigset_t set, old;
	size_t n = 0;
	int sig, rc = -1;

	apply_log_target(ctx->cfg);
	sirt_daemon_tune_memory();
	/* Load what every thread shares before the threads start. */
	if (sirt_ctx_store(ctx, err) < 0 || sirt_ctx_rules(ctx, err) < 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	/* Signals go to this thread only (sigwait); workers inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	set_stop(0);
	for (;;) {
		if (start_workers(ctx, only, &ws, &n, err) < 0)
			goto out;
		sirt_info("watching %zu source%s", n, n == 1 ? "" : "s");
		do {
			if (sigwait(&set, &sig) != 0)
				sig = SIGTERM;
		} while (sig == SIGPIPE);
		sirt_info("%s: finishing the current messages", sig == SIGHUP	? "SIGHUP"
								: sig == SIGINT ? "SIGINT"
										: "SIGTERM");
		set_stop(1);
		join_workers(&ws, n);
		if (sig != SIGHUP)
			break;
		reload(ctx);
		set_stop(0);
	}
	sirt_info("stopped");
	rc = 0;
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
