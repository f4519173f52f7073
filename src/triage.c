/* triage.c - verdicts: severity names, JSON, and running the rules. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
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
	}
	free(v->hits);
	free(v->category);
	free(v->cvss_vector);
	free(v->reason);
	memset(v, 0, sizeof(*v));
	v->cvss = -1;
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
		json_array_append_new(hits, h);
	}
	json_object_set_new(o, "hits", hits);
	json_object_set_new(o, "cvss", v->cvss >= 0 ? json_real(v->cvss) : json_null());
	json_object_set_new(o, "cvss_vector", jstr(v->cvss_vector));
	json_object_set_new(o, "reason", jstr(v->reason));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!s)
		abort();
	return s;
}

/* Without rules every message is P3 "untriaged" (a human looks). */
int sirt_triage(const struct sirt_rules *rules, const struct sirt_msg *msg,
		struct sirt_verdict *v, struct sirt_err *err)
{
	(void)rules;
	memset(v, 0, sizeof(*v));
	v->cvss = -1;
	v->severity = SIRT_SEV_P3;
	v->category = sirt_xstrdup("untriaged");
	v->reason = sirt_xstrdup(msg && msg->unparsed ? "unparsed: needs a human" :
				 "untriaged");
	(void)err;
	return 0;
}
