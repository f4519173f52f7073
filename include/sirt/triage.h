/* triage.h - the verdict on one message: severity, category, tags, why.
 *
 * The rules engine (rules.h) produces hits; triage turns them into a
 * verdict following DESIGN.md "Triage semantics".  Nothing here knows
 * about SQLite or trackers.
 */
#ifndef SIRT_TRIAGE_H
#define SIRT_TRIAGE_H

#include <stddef.h>
#include "sirt/err.h"
#include "sirt/msg.h"

struct sirt_rules; /* see rules.h */

enum sirt_severity {
	SIRT_SEV_NONE = 0,
	SIRT_SEV_P1 = 1,
	SIRT_SEV_P2 = 2,
	SIRT_SEV_P3 = 3,
	SIRT_SEV_P4 = 4
};

struct sirt_hit {
	char *rule;      /* rule name */
	char *field;     /* field it matched on ("body", "header:From", "meta") */
	char *match;     /* bounded excerpt of the matched text, UTF-8, or NULL */
	char *describe;  /* the rule's describe text, or NULL */
	double score;    /* the rule's score contribution */
	/* Added for explanations (may be zero/NULL in verdicts read back): */
	enum sirt_severity floor;  /* the rule's severity floor, or NONE */
	enum sirt_severity cap;    /* the rule's cap, or NONE */
	char *tags;                /* the rule's tags, space separated, or NULL */
	char *expr;                /* a meta rule's expression, or NULL */
};

struct sirt_verdict {
	enum sirt_severity severity;
	char *category;        /* e.g. "vulnerability", "phishing", "untriaged" */
	double score;
	char **tags;           /* distinct, sorted */
	size_t ntags;
	struct sirt_hit *hits;
	size_t nhits;
	double cvss;           /* base score, < 0 if no vector */
	char *cvss_vector;     /* the vector scored, or NULL */
	char *reason;          /* one line for humans ("untriaged", "P1 floor from ...") */
	/* Added: remarks that are not hits, e.g. a malformed CVSS vector
	 * ignored, a pattern that hit a PCRE2 limit. */
	char **notes;
	size_t nnotes;
};

/* Run the rules over msg.  rules may be NULL: the verdict is then P3,
 * category and reason "untriaged".  On error the verdict is still valid
 * (P3, reason names the error) and -1 is returned. */
int sirt_triage(const struct sirt_rules *rules, const struct sirt_msg *msg,
		struct sirt_verdict *v, struct sirt_err *err);

void sirt_verdict_release(struct sirt_verdict *v);

/* Remove from v everything that quotes the message's text: the matched
 * excerpt of each hit, the CVSS vector found and the notes that quote a
 * malformed one.  For [crypto] store_decrypted = no, before storing. */
void sirt_verdict_redact(struct sirt_verdict *v);

/* "P1".."P4" (or "-") and back; parse returns SIRT_SEV_NONE if bad. */
const char *sirt_severity_name(enum sirt_severity s);
enum sirt_severity sirt_severity_parse(const char *s);

/* The verdict as a JSON object text (caller frees):
 * {"severity":"P3","category":..,"score":..,"tags":[..],
 *  "hits":[{"rule","field","match","describe","score"}],
 *  "cvss":null|N,"cvss_vector":..,"reason":..} */
char *sirt_verdict_to_json(const struct sirt_verdict *v);

/* How the verdict is decided (documented in sirt-rules(5)):
 *  1. every fired rule's floor: the verdict is at least the highest one;
 *  2. without a floor, the score: >= threshold P2 (default 10) is P2,
 *     >= threshold P3 (default 4) is P3, a lower score (or nothing
 *     fired) is the set's default (P3): P4 comes only from a cap;
 *  3. a cap lowers the verdict to at most the cap's severity unless a
 *     P1 or P2 floor fired (a floor of P1/P2 always wins over a cap);
 *  4. an unparsed message is at least P3 and tagged "unparsed".
 * The category is that of the rule that decided (cap, else highest
 * floor, else highest score).
 *
 * The verdict in words a SIRT member can paste into a ticket: the
 * severity line, the reason, tags, CVSS, and one paragraph per fired
 * rule (caller frees). */
char *sirt_verdict_explain(const struct sirt_verdict *v);

#endif
