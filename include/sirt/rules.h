/* rules.h - the triage rule language: load, check, evaluate.
 *
 * Rule files (DIR/NAME.rules in name order, then LOCAL_DIR/NAME.rules) hold
 * one statement per line, SpamAssassin style; see sirt-rules(5):
 *
 *   rule     NAME FIELD /PCRE2/FLAGS     match rule (flags i m s x)
 *   meta     NAME EXPRESSION             && || ! ( ) + < <= > >= == !=
 *                                        hits(GLOB), numbers, facts
 *   score    NAME N                      effects, keyed by name
 *   severity NAME P1..P4                 a floor
 *   cap      NAME P1..P4                 a ceiling (see triage.h)
 *   tag      NAME TAG...
 *   describe NAME TEXT
 *   disable  NAME
 *   category TAG...                      tags that name a category
 *   threshold P2|P3 N                    score thresholds
 *   default  P1..P4                      verdict when nothing decides
 *
 * A loaded set (struct sirt_rules) is immutable once loaded except for
 * per-set scratch space used during evaluation: evaluate one message at
 * a time per set (one set per thread).  Reloading builds a new set; the
 * caller swaps it in only when sirt_rules_load() succeeded, so the last
 * good set stays loaded when a file is broken.
 */
#ifndef SIRT_RULES_H
#define SIRT_RULES_H

#include <stddef.h>
#include "sirt/err.h"
#include "sirt/msg.h"
#include "sirt/triage.h"

struct sirt_rules;

/* Load flags.  The Hyperscan prefilter (when built in) takes about half
 * a second to compile (milliseconds from sirt_rules_load_cache's cache),
 * which only pays over many messages: by default it is compiled once a
 * set has evaluated 32 messages (a one-message CLI run never pays for
 * it).  SIRT_PREFILTER=0 in the environment turns it
 * off, SIRT_PREFILTER=1 compiles it at load time.  Verdicts are the same
 * either way. */
#define SIRT_RULES_NO_PREFILTER  0x1  /* never use the prefilter */
#define SIRT_RULES_PREFILTER_NOW 0x2  /* compile it at load time */

/* Compile every rule file of dir (then local_dir, which may be NULL or
 * missing) into a new set owned by the caller (sirt_rules_free).  A
 * missing dir is SIRT_E_NOTFOUND; a syntax or pattern error is
 * SIRT_E_BADMSG with "FILE:LINE:COL: what" in err.  On error *rules_r
 * is untouched.  See the load flags for the prefilter. */
int sirt_rules_load_flags(const char *dir, const char *local_dir, unsigned flags,
			  struct sirt_rules **rules_r, struct sirt_err *err);
int sirt_rules_load(const char *dir, const char *local_dir,
		    struct sirt_rules **rules_r, struct sirt_err *err);
/* The same, caching the compiled prefilter in cache_dir (created 0700
 * if missing; NULL: no cache): a later process with the same rules,
 * Hyperscan and CPU loads it in milliseconds instead of compiling it
 * (half a second).  The cache is best-effort: any problem with it means
 * compiling, as without one. */
int sirt_rules_load_cache(const char *dir, const char *local_dir, unsigned flags,
			  const char *cache_dir, struct sirt_rules **rules_r,
			  struct sirt_err *err);

/* Compile rules from a string (tests, fuzzing); name is used in errors. */
int sirt_rules_load_string(const char *name, const char *text, unsigned flags,
			   struct sirt_rules **rules_r, struct sirt_err *err);

void sirt_rules_free(struct sirt_rules **rules);

/* Warnings found while loading (unknown names in metas, rules that can
 * never fire or have no effect, duplicate names), "FILE:LINE: text";
 * borrowed from the set. */
size_t sirt_rules_nwarnings(const struct sirt_rules *r);
const char *sirt_rules_warning(const struct sirt_rules *r, size_t i);

/* Number of rules (match + meta) and how many match patterns the
 * prefilter covers (0 when it is off or not built in). */
size_t sirt_rules_count(const struct sirt_rules *r);
size_t sirt_rules_prefiltered(const struct sirt_rules *r);
/* How many prefilter databases came from the cache (0 without one). */
size_t sirt_rules_prefilter_cached(const struct sirt_rules *r);

/* Write the match patterns, one per line in pcre2grep -f form (inline
 * flags such as (?i) prepended), into out (caller's buffer). */
struct sirt_buf;
void sirt_rules_patterns(const struct sirt_rules *r, struct sirt_buf *out);

/* Per match rule: how often PCRE2 ran it and how often it matched
 * since the set was loaded (for tuning the prefilter; not thread-safe,
 * like evaluation itself). */
void sirt_rules_stats(const struct sirt_rules *r, struct sirt_buf *out);

/* One fired rule as evaluation reports it. */
struct sirt_rule_hit {
	const char *rule;       /* borrowed from the set */
	const char *field;      /* "body", "header:From", "meta" (borrowed) */
	char *match;            /* excerpt (owned), NULL for metas */
	const char *describe;   /* borrowed, or NULL */
	double score;
	enum sirt_severity floor;  /* SIRT_SEV_NONE if none */
	enum sirt_severity cap;    /* SIRT_SEV_NONE if none */
	const char *const *tags;   /* borrowed */
	size_t ntags;
	const char *category;   /* first category tag of the rule, or NULL */
	const char *expr;       /* meta expression text, or NULL */
};

struct sirt_rule_result {
	struct sirt_rule_hit *hits;  /* fired rules with an effect, file order */
	size_t nhits;
	double score;                /* sum of the fired rules' scores */
	size_t nlimit;               /* patterns that hit a PCRE2 limit */
};

/* Numeric facts a caller supplies to metas (cvss < 0 = no vector). */
struct sirt_rule_facts {
	double cvss;
};

/* Evaluate every rule over msg.  __ rules never appear in the result.
 * The result's memory is the caller's (sirt_rule_result_release). */
int sirt_rules_eval(const struct sirt_rules *r, const struct sirt_msg *msg,
		    const struct sirt_rule_facts *facts,
		    struct sirt_rule_result *res, struct sirt_err *err);
void sirt_rule_result_release(struct sirt_rule_result *res);

/* Policy settings of the set (threshold/default statements). */
double sirt_rules_threshold(const struct sirt_rules *r, enum sirt_severity s);
enum sirt_severity sirt_rules_default(const struct sirt_rules *r);

/* The reporter's own words: msg body without quoted lines ("> ...") and
 * without forwarded or replied-to text below the usual markers.  The
 * result is the caller's. */
char *sirt_body_unquoted(const char *body);

#endif
