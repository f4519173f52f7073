/* bench_triage.c - triage throughput on one core: read, parse, decode,
 * run the rules, free; nothing stored.  parse_us (parse and decode, and
 * freeing the message) and rules_us are per message; triage_msgs_per_s
 * is messages per second of those two stages, the triage itself; the
 * process's CPU time adds reading the files and the loop. 
 *
 *   bench_triage [--no-prefilter] [--patterns] RULES_DIR LISTFILE
 *
 * LISTFILE names one message file per line.  Prints one line of
 * key=value figures (messages, bytes, seconds, msgs_per_s, ...) and the
 * verdict counts per severity, so two runs can be compared.  With
 * --patterns, prints the match patterns of RULES_DIR in pcre2grep -f form
 * instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sirt/buf.h"
#include "sirt/daemon.h"
#include "sirt/log.h"
#include "sirt/msg.h"
#include "sirt/rules.h"
#include "sirt/triage.h"
#include "sirt/util.h"

/* CPU time of this process: the machine may be shared, and one core's
 * worth of work is what we measure. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall clock, read through the vDSO (no system call): the per-stage
 * split, taken around every message, must not cost what it measures.
 * CLOCK_PROCESS_CPUTIME_ID is a system call, about 1.5 us each on this
 * kind of VM, three per message. */
static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sirt_rules *rules = NULL;
	struct sirt_err err;
	unsigned flags = SIRT_RULES_PREFILTER_NOW;
	int ai = 1, patterns = 0, stats = 0, repeat = 1, k;
	const char *cache = NULL;
	FILE *list;
	char line[4096];
	size_t nmsg = 0, bytes = 0, sev[5] = { 0 }, nhits = 0;
	double t0, t1, w0, w1, tload, tparse = 0, trules = 0, ta, tb, tc, td;

	sirt_log_init("bench_triage", 0, SIRT_LOG_ERROR);
	sirt_daemon_tune_memory();  /* as sirt poll and the daemon run */
	for (; ai < argc && argv[ai][0] == '-'; ai++) {
		if (strcmp(argv[ai], "--no-prefilter") == 0)
			flags = SIRT_RULES_NO_PREFILTER;
		else if (strcmp(argv[ai], "--patterns") == 0)
			patterns = 1;
		else if (strcmp(argv[ai], "--stats") == 0)
			stats = 1;
		else if (strcmp(argv[ai], "--cache") == 0 && ai + 1 < argc)
			cache = argv[++ai];   /* the prefilter cache, as sirt poll has it */
		else if (strcmp(argv[ai], "--repeat") == 0 && ai + 1 < argc)
			repeat = atoi(argv[++ai]) > 0 ? atoi(argv[ai]) : 1;
	}
	if (argc - ai < (patterns ? 1 : 2)) {
		fprintf(stderr, "usage: bench_triage [--no-prefilter] [--patterns] [--cache DIR] "
			"RULES_DIR [LISTFILE]\n");
		return 64;
	}
	tload = now();
	if (sirt_rules_load_cache(argv[ai], NULL, flags, cache, &rules, &err) < 0) {
		fprintf(stderr, "bench_triage: %s\n", err.msg);
		return 65;
	}
	tload = now() - tload;
	if (patterns) {
		struct sirt_buf b = SIRT_BUF_INIT;
		sirt_buf_init(&b);
		sirt_rules_patterns(rules, &b);
		fputs(b.data, stdout);
		sirt_buf_release(&b);
		sirt_rules_free(&rules);
		return 0;
	}
	list = fopen(argv[ai + 1], "r");
	if (!list) {
		perror(argv[ai + 1]);
		return 66;
	}
	t0 = now();
	w0 = wall();
	while (fgets(line, sizeof(line), list)) {
		struct sirt_msg *msg = NULL;
		struct sirt_verdict v;
		char *data = NULL;
		size_t len = 0;

		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		if (sirt_read_file(line, 64u << 20, &data, &len, &err) < 0) {
			fprintf(stderr, "bench_triage: %s\n", err.msg);
			continue;
		}
		ta = wall();
		if (sirt_msg_parse(data, len, NULL, &msg, &err) == 0) {
			tb = wall();
			tparse += tb - ta;
			/* --repeat N: triage the same parsed message N times
			 * (isolates the rules' cost for profiling) */
			for (k = 0; k < repeat; k++) {
				if (sirt_triage(rules, msg, &v, &err) == 0 && k == 0) {
					sev[v.severity <= SIRT_SEV_P4 ? v.severity : 0]++;
					nhits += v.nhits;
				}
				sirt_verdict_release(&v);
			}
			tc = wall();
			trules += tc - tb;
			sirt_msg_free(&msg);
			/* freeing what the parse built is the parse's cost */
			td = wall();
			tparse += td - tc;
		}
		free(data);
		nmsg++;
		bytes += len;
	}
	t1 = now();
	w1 = wall();
	fclose(list);
	printf("messages=%zu bytes=%zu avg_bytes=%.0f cpu_seconds=%.3f wall_seconds=%.3f msgs_per_s=%.0f "
	       "us_per_msg=%.1f rules=%zu prefiltered=%zu load_s=%.2f "
	       "P1=%zu P2=%zu P3=%zu P4=%zu hits=%zu parse_us=%.1f rules_us=%.1f "
	       "triage_msgs_per_s=%.0f cached=%zu\n",
	       nmsg, bytes, nmsg ? (double)bytes / (double)nmsg : 0, t1 - t0, w1 - w0,
	       (double)nmsg / (t1 - t0), (t1 - t0) * 1e6 / (double)(nmsg ? nmsg : 1),
	       sirt_rules_count(rules), sirt_rules_prefiltered(rules), tload,
	       sev[1], sev[2], sev[3], sev[4], nhits,
	       tparse * 1e6 / (double)(nmsg ? nmsg : 1), trules * 1e6 / (double)(nmsg ? nmsg : 1),
	       tparse + trules > 0 ? (double)nmsg / (tparse + trules) : 0,
	       sirt_rules_prefilter_cached(rules));
	if (stats) {
		struct sirt_buf b = SIRT_BUF_INIT;
		sirt_buf_init(&b);
		sirt_rules_stats(rules, &b);
		fputs(b.data, stderr);
		sirt_buf_release(&b);
	}
	sirt_rules_free(&rules);
	return 0;
}
