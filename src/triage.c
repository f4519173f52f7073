/* triage.c - verdicts: severity names, JSON, running the rules and
 * turning their hits into a severity, category, tags and reasons. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "sirt/buf.h"
#include "sirt/cvss.h"
#include "sirt/rules.h"
#include "sirt/triage.h"
#include "sirt/util.h"

const char *sirt_severity_name(enum sirt_severity s)
{
	static const char *const names[] = { "-", "P1", "P2", "P3", "P4" };
	return (unsigned)s <= SIRT_SEV_P4 ? names[s] : "-";
}

enum sirt_severity sirt_severity_parse(const char *s)
{
	if (!s || (s[0] != 'P' && s[0] != 'p') || s[1] < '1' || s[1] > '4' || s[2])
		return SIRT_SEV_NONE;
	return (enum sirt_severity)(s[1] - '0');
}

void sirt_verdict_release(struct sirt_verdict *v)
{
	size_t i;

	for (i = 0; i < v->ntags; i++)
		free(v->tags[i]);
	free(v->tags);
	for (i = 0; i < v->nhits; i++) {
		free(v->hits[i].rule);
		free(v->hits[i].field);
		free(v->hits[i].match);
		free(v->hits[i].describe);
		free(v->hits[i].tags);
		free(v->hits[i].expr);
	}
	for (i = 0; i < v->nnotes; i++)
		free(v->notes[i]);
	free(v->notes);
	free(v->hits);
	free(v->category);
	free(v->cvss_vector);
	free(v->reason);
	memset(v, 0, sizeof(*v));
	v->cvss = -1;
}

void sirt_verdict_redact(struct sirt_verdict *v)
{
	size_t i, k = 0;

	for (i = 0; i < v->nhits; i++)
		sirt_free(&v->hits[i].match);
	sirt_free(&v->cvss_vector);
	for (i = 0; i < v->nnotes; i++) {
		if (strncmp(v->notes[i], SIRT_CVSS_MALFORMED_NOTE,
			    strlen(SIRT_CVSS_MALFORMED_NOTE)) == 0)
			free(v->notes[i]);
		else
			v->notes[k++] = v->notes[i];
	}
	v->nnotes = k;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *sirt_verdict_to_json(const struct sirt_verdict *v)
{
	json_t *o = json_object(), *tags = json_array(), *hits = json_array();
	char *s;
	size_t i;

	json_object_set_new(o, "severity", json_string(sirt_severity_name(v->severity)));
	json_object_set_new(o, "category", jstr(v->category));
	json_object_set_new(o, "score", json_real(v->score));
	for (i = 0; i < v->ntags; i++)
		json_array_append_new(tags, json_string(v->tags[i]));
	json_object_set_new(o, "tags", tags);
	for (i = 0; i < v->nhits; i++) {
		json_t *h = json_object();
		json_object_set_new(h, "rule", jstr(v->hits[i].rule));
		json_object_set_new(h, "field", jstr(v->hits[i].field));
		json_object_set_new(h, "match", jstr(v->hits[i].match));
		json_object_set_new(h, "describe", jstr(v->hits[i].describe));
		json_object_set_new(h, "score", json_real(v->hits[i].score));
		if (v->hits[i].floor)
			json_object_set_new(h, "floor", json_string(sirt_severity_name(v->hits[i].floor)));
		if (v->hits[i].cap)
			json_object_set_new(h, "cap", json_string(sirt_severity_name(v->hits[i].cap)));
		if (v->hits[i].tags) {   /* an array, like the verdict's tags */
			json_t *ht = json_array();
			const char *t = v->hits[i].tags;
			while (*t) {
				size_t n = strcspn(t, " ");
				if (n)
					json_array_append_new(ht, json_stringn(t, n));
				t += n;
				t += strspn(t, " ");
			}
			json_object_set_new(h, "tags", ht);
		}
		if (v->hits[i].expr)
			json_object_set_new(h, "expr", json_string(v->hits[i].expr));
		json_array_append_new(hits, h);
	}
	json_object_set_new(o, "hits", hits);
	json_object_set_new(o, "cvss", v->cvss >= 0 ? json_real(v->cvss) : json_null());
	json_object_set_new(o, "cvss_vector", jstr(v->cvss_vector));
	json_object_set_new(o, "reason", jstr(v->reason));
	if (v->nnotes) {
		json_t *notes = json_array();
		for (i = 0; i < v->nnotes; i++)
			json_array_append_new(notes, json_string(v->notes[i]));
		json_object_set_new(o, "notes", notes);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!s)
		abort();
	return s;
}

static void add_note(struct sirt_verdict *v, const char *note)
{
	v->notes = sirt_xrealloc(v->notes, (v->nnotes + 1) * sizeof(char *));
	v->notes[v->nnotes++] = sirt_xstrdup(note);
}

static void add_tag(struct sirt_verdict *v, const char *t)
{
	size_t i;

	for (i = 0; i < v->ntags; i++)
		if (strcmp(v->tags[i], t) == 0)
			return;
	v->tags = sirt_xrealloc(v->tags, (v->ntags + 1) * sizeof(char *));
	v->tags[v->ntags++] = sirt_xstrdup(t);
}

static int cmp_tag(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy the rules' hits into the verdict (owned strings). */
static void copy_hits(struct sirt_verdict *v, const struct sirt_rule_result *res)
{
	size_t i, j;

	v->hits = sirt_xcalloc(res->nhits + 1, sizeof(*v->hits));
	for (i = 0; i < res->nhits; i++) {
		const struct sirt_rule_hit *h = &res->hits[i];
		struct sirt_hit *o = &v->hits[v->nhits++];
		o->rule = sirt_xstrdup(h->rule);
		o->field = sirt_xstrdup(h->field);
		o->match = sirt_xstrdup(h->match);
		o->describe = sirt_xstrdup(h->describe);
		o->score = h->score;
		o->floor = h->floor;
		o->cap = h->cap;
		o->expr = sirt_xstrdup(h->expr);
		if (h->ntags) {
			struct sirt_buf b = SIRT_BUF_INIT;
			sirt_buf_init(&b);
			for (j = 0; j < h->ntags; j++) {
				sirt_buf_addf(&b, "%s%s", j ? " " : "", h->tags[j]);
				add_tag(v, h->tags[j]);
			}
			o->tags = sirt_buf_detach(&b, NULL);
		}
	}
}

/* The severity, category and reason from the hits (see triage.h). */
static void decide(struct sirt_verdict *v, const struct sirt_rules *rules,
		   const struct sirt_rule_result *res, int unparsed)
{
	const struct sirt_rule_hit *floor_hit = NULL, *cap_hit = NULL, *top = NULL, *cat = NULL;
	enum sirt_severity sev, floor = SIRT_SEV_NONE;
	struct sirt_buf why = SIRT_BUF_INIT;
	double t2 = sirt_rules_threshold(rules, SIRT_SEV_P2);
	double t3 = sirt_rules_threshold(rules, SIRT_SEV_P3);
	size_t i;

	sirt_buf_init(&why);
	for (i = 0; i < res->nhits; i++) {
		const struct sirt_rule_hit *h = &res->hits[i];
		if (h->floor && (!floor_hit || h->floor < floor_hit->floor ||
				 (h->floor == floor_hit->floor && !floor_hit->category && h->category)))
			floor_hit = h;
		/* the strictest cap (lowest severity) wins among caps */
		if (h->cap && (!cap_hit || h->cap > cap_hit->cap))
			cap_hit = h;
		if (h->category && (!top || h->score > top->score))
			top = h;
	}
	if (floor_hit)
		floor = floor_hit->floor;

	/* score */
	if (res->score >= t2)
		sev = SIRT_SEV_P2;
	else if (res->score >= t3)
		sev = SIRT_SEV_P3;
	else
		sev = sirt_rules_default(rules);
	/* The reason is a sentence for a ticket: what was recognised, then
	 * which rule made the severity; the severity itself is printed
	 * next to it, so it is not repeated at the start. */
	if (res->nhits == 0)
		sirt_buf_addf(&why, "No rule recognised this report; %s is the default, a human reads it",
			      sirt_severity_name(sev));
	else if (res->score >= t3)
		sirt_buf_addf(&why, "No rule sets a severity; the score %.1f reaches the %s threshold "
			      "(P2 from %.1f, P3 from %.1f)", res->score, sirt_severity_name(sev), t2, t3);
	else
		sirt_buf_addf(&why, "The rules that fired set no severity and score %.1f, below the "
			      "thresholds; %s is the default", res->score, sirt_severity_name(sev));
	cat = top;

	/* floors */
	if (floor && floor <= sev) {
		sev = floor;
		sirt_buf_reset(&why);
		if (floor_hit->describe)
			sirt_buf_addf(&why, "%s; rule %s", floor_hit->describe, floor_hit->rule);
		else
			sirt_buf_addf(&why, "The severity is at least %s by rule %s",
				      sirt_severity_name(sev), floor_hit->rule);
		cat = floor_hit->category ? floor_hit : top;
	}
	/* caps: never over a P1/P2 floor */
	if (cap_hit && sev < cap_hit->cap) {
		if (floor && floor <= SIRT_SEV_P2) {
			sirt_buf_addf(&why, "; the %s cap of %s is not applied (a %s floor wins)",
				      sirt_severity_name(cap_hit->cap), cap_hit->rule,
				      sirt_severity_name(floor));
		} else {
			sirt_buf_reset(&why);
			if (cap_hit->describe)
				sirt_buf_addf(&why, "%s; capped by %s", cap_hit->describe,
					      cap_hit->rule);
			else
				sirt_buf_addf(&why, "The severity is capped by %s at %s",
					      cap_hit->rule, sirt_severity_name(cap_hit->cap));
			sev = cap_hit->cap;
			cat = cap_hit->category ? cap_hit : cat;
		}
	}
	/* an unparsed message always gets a human look */
	if (unparsed && sev > SIRT_SEV_P3) {
		sev = SIRT_SEV_P3;
		sirt_buf_reset(&why);
		sirt_buf_adds(&why, "The message could not be parsed: a human reads it");
		cat = NULL;
	}
	v->severity = sev;
	if (cat && cat->category)
		v->category = sirt_xstrdup(cat->category);
	else if (unparsed)
		v->category = sirt_xstrdup("unparsed");
	else if (res->nhits == 0)
		v->category = sirt_xstrdup("untriaged");
	else
		v->category = sirt_xstrdup("other");
	v->reason = sirt_buf_detach(&why, NULL);
}

int sirt_triage(const struct sirt_rules *rules, const struct sirt_msg *msg,
		struct sirt_verdict *v, struct sirt_err *err)
{
	struct sirt_rule_result res;
	struct sirt_rule_facts facts;
	char *note = NULL;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	memset(&res, 0, sizeof(res));
	v->cvss = -1;
	if (msg) {
		/* a CVSS vector in the subject or the body: the highest wins */
		const char *texts[2] = { msg->subject, msg->body };
		size_t k;

		for (k = 0; k < 2; k++) {
			double sc;
			char *vec = NULL;
			if (texts[k] && sirt_cvss_find(texts[k], &vec, &sc, &note) == 1 &&
			    sc > v->cvss) {
				free(v->cvss_vector);
				v->cvss = sc;
				v->cvss_vector = vec;
				vec = NULL;
			}
			free(vec);
			if (note)
				add_note(v, note);
			free(note);
			note = NULL;
		}
	}
	if (!rules || !msg) {
		v->severity = SIRT_SEV_P3;
		v->category = sirt_xstrdup(msg && msg->unparsed ? "unparsed" : "untriaged");
		v->reason = sirt_xstrdup(msg && msg->unparsed ? "unparsed: needs a human" :
					 "untriaged");
		if (msg && msg->unparsed)
			add_tag(v, "unparsed");
		return 0;
	}
	facts.cvss = v->cvss;
	if (sirt_rules_eval(rules, msg, &facts, &res, err) < 0) {
		v->severity = SIRT_SEV_P3;
		v->category = sirt_xstrdup("untriaged");
		v->reason = sirt_xstrdup(err ? err->msg : "rules failed");
		rc = -1;
		goto out;
	}
	copy_hits(v, &res);
	v->score = res.score;
	if (msg->unparsed) {
		add_tag(v, "unparsed");
		if (msg->unparsed_reason) {
			struct sirt_buf b = SIRT_BUF_INIT;
			sirt_buf_init(&b);
			sirt_buf_addf(&b, "unparsed: %s", msg->unparsed_reason);
			add_note(v, b.data);
			sirt_buf_release(&b);
		}
	}
	if (res.nlimit) {
		struct sirt_buf b = SIRT_BUF_INIT;
		sirt_buf_init(&b);
		sirt_buf_addf(&b, "%zu pattern(s) hit a PCRE2 limit and counted as no match",
			      res.nlimit);
		add_note(v, b.data);
		sirt_buf_release(&b);
	}
	decide(v, rules, &res, msg->unparsed);
	if (v->ntags > 1)
		qsort(v->tags, v->ntags, sizeof(char *), cmp_tag);
out:
	sirt_rule_result_release(&res);
	return rc;
}

/* One fired rule in words. */
static void explain_hit(struct sirt_buf *b, const struct sirt_hit *h)
{
	int first = 1;

	sirt_buf_addf(b, "- %s", h->rule);
	sirt_buf_adds(b, " (");
	if (h->floor) {
		sirt_buf_addf(b, "at least %s", sirt_severity_name(h->floor));
		first = 0;
	}
	if (h->cap) {
		sirt_buf_addf(b, "%sat most %s", first ? "" : ", ", sirt_severity_name(h->cap));
		first = 0;
	}
	if (h->score != 0 || first) {
		sirt_buf_addf(b, "%sscore %+.1f", first ? "" : ", ", h->score);
		first = 0;
	}
	if (h->tags)
		sirt_buf_addf(b, ", tags: %s", h->tags);
	sirt_buf_adds(b, ")\n");
	if (h->describe)
		sirt_buf_addf(b, "  %s.\n", h->describe);
	if (h->expr) {
		sirt_buf_addf(b, "  Because: %s\n", h->expr);
		if (h->match)
			sirt_buf_addf(b, "  Evidence: %s\n", h->match);
	} else if (h->match)
		sirt_buf_addf(b, "  Found in the %s: \"%s\"\n", h->field ? h->field : "message",
			      h->match);
}

char *sirt_verdict_explain(const struct sirt_verdict *v)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	size_t i;

	sirt_buf_init(&b);
	sirt_buf_addf(&b, "Severity %s, category %s, score %.1f.\n",
		      sirt_severity_name(v->severity), v->category ? v->category : "-", v->score);
	if (v->reason)
		sirt_buf_addf(&b, "Why %s: %s.\n", sirt_severity_name(v->severity), v->reason);
	if (v->ntags) {
		sirt_buf_adds(&b, "Tags:");
		for (i = 0; i < v->ntags; i++)
			sirt_buf_addf(&b, " %s", v->tags[i]);
		sirt_buf_addc(&b, '\n');
	}
	if (v->cvss >= 0)
		sirt_buf_addf(&b, "CVSS: %.1f (%s) from %s\n", v->cvss, sirt_cvss_rating(v->cvss),
			      v->cvss_vector ? v->cvss_vector : "?");
	for (i = 0; i < v->nnotes; i++)
		sirt_buf_addf(&b, "Note: %s\n", v->notes[i]);
	if (v->nhits) {
		sirt_buf_adds(&b, "Findings:\n");
		for (i = 0; i < v->nhits; i++)
			explain_hit(&b, &v->hits[i]);
	} else {
		sirt_buf_adds(&b, "No rule matched.\n");
	}
	return sirt_buf_detach(&b, NULL);
}
