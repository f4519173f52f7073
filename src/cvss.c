/* cvss.c - CVSS v3.x base scores and CVSS v4.0 scores, exactly as FIRST
 * specifies them (see include/sirt/cvss.h for the sources). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/buf.h"
#include "sirt/cvss.h"
#include "sirt/util.h"

#define CVSS_MAX_VECTOR 512

/* ---- vector parsing ----------------------------------------------- */

struct metric_def {
	const char *key;
	const char *values;     /* allowed values, one letter each, or '|' list */
	int mandatory;
};

struct parsed {
	const struct metric_def *defs;
	size_t ndefs;
	char val[48][8];        /* per def: value as written, "" if absent */
};

/* v3.x: base, temporal, environmental metrics and their values. */
static const struct metric_def v3_defs[] = {
	{ "AV", "NALP", 1 }, { "AC", "LH", 1 }, { "PR", "NLH", 1 }, { "UI", "NR", 1 },
	{ "S", "UC", 1 }, { "C", "HLN", 1 }, { "I", "HLN", 1 }, { "A", "HLN", 1 },
	{ "E", "XUPFH", 0 }, { "RL", "XOTWU", 0 }, { "RC", "XURC", 0 },
	{ "CR", "XLMH", 0 }, { "IR", "XLMH", 0 }, { "AR", "XLMH", 0 },
	{ "MAV", "XNALP", 0 }, { "MAC", "XLH", 0 }, { "MPR", "XNLH", 0 },
	{ "MUI", "XNR", 0 }, { "MS", "XUC", 0 }, { "MC", "XNLH", 0 },
	{ "MI", "XNLH", 0 }, { "MA", "XNLH", 0 },
};

/* v4.0: base, threat, environmental, supplemental. */
static const struct metric_def v4_defs[] = {
	{ "AV", "NALP", 1 }, { "AC", "LH", 1 }, { "AT", "NP", 1 }, { "PR", "NLH", 1 },
	{ "UI", "NPA", 1 }, { "VC", "HLN", 1 }, { "VI", "HLN", 1 }, { "VA", "HLN", 1 },
	{ "SC", "HLN", 1 }, { "SI", "HLN", 1 }, { "SA", "HLN", 1 },
	{ "E", "XAPU", 0 },
	{ "CR", "XHML", 0 }, { "IR", "XHML", 0 }, { "AR", "XHML", 0 },
	{ "MAV", "XNALP", 0 }, { "MAC", "XLH", 0 }, { "MAT", "XNP", 0 },
	{ "MPR", "XNLH", 0 }, { "MUI", "XNPA", 0 }, { "MVC", "XHLN", 0 },
	{ "MVI", "XHLN", 0 }, { "MVA", "XHLN", 0 }, { "MSC", "XHLN", 0 },
	{ "MSI", "XSHLN", 0 }, { "MSA", "XSHLN", 0 },
	{ "S", "XNP", 0 }, { "AU", "XNY", 0 }, { "R", "XAUI", 0 }, { "V", "XDC", 0 },
	{ "RE", "XLMH", 0 }, { "U", "|X|Clear|Green|Amber|Red|", 0 },
};

static int value_ok(const char *allowed, const char *v)
{
	if (allowed[0] == '|') {
		const char *p = strstr(allowed, v);
		size_t n = strlen(v);
		return n && p && p[-1] == '|' && p[n] == '|';
	}
	return strlen(v) == 1 && strchr(allowed, v[0]) != NULL;
}

/* Split "KEY:VAL/KEY:VAL" (after the CVSS:x.y/ prefix) into p. */
static int parse_metrics(const char *s, const struct metric_def *defs, size_t ndefs,
			 struct parsed *p, struct sirt_err *err)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->defs = defs;
	p->ndefs = ndefs;
	while (*s) {
		const char *colon = strchr(s, ':'), *slash;
		size_t kl, vl;
		char key[8], val[8];

		slash = strchr(s, '/');
		if (!slash)
			slash = s + strlen(s);
		if (!colon || colon > slash)
			return sirt_err_set(err, SIRT_E_BADMSG, "metric '%.*s' has no value",
					    (int)(slash - s), s);
		kl = (size_t)(colon - s);
		vl = (size_t)(slash - colon - 1);
		if (kl == 0 || kl >= sizeof(key) || vl == 0 || vl >= sizeof(val))
			return sirt_err_set(err, SIRT_E_BADMSG, "bad metric '%.*s'",
					    (int)(slash - s), s);
		memcpy(key, s, kl);
		key[kl] = 0;
		memcpy(val, colon + 1, vl);
		val[vl] = 0;
		for (i = 0; i < ndefs; i++)
			if (strcmp(defs[i].key, key) == 0)
				break;
		if (i == ndefs)
			return sirt_err_set(err, SIRT_E_BADMSG, "unknown metric '%s'", key);
		if (p->val[i][0])
			return sirt_err_set(err, SIRT_E_BADMSG, "metric '%s' given twice", key);
		if (!value_ok(defs[i].values, val))
			return sirt_err_set(err, SIRT_E_BADMSG, "bad value '%s' for metric '%s'",
					    val, key);
		memcpy(p->val[i], val, vl + 1);
		s = *slash ? slash + 1 : slash;
	}
	for (i = 0; i < ndefs; i++)
		if (defs[i].mandatory && !p->val[i][0])
			return sirt_err_set(err, SIRT_E_BADMSG, "base metric '%s' missing",
					    defs[i].key);
	return 0;
}

/* Value of metric key in p: "" if absent. */
static const char *pv(const struct parsed *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->ndefs; i++)
		if (strcmp(p->defs[i].key, key) == 0)
			return p->val[i];
	return "";
}

/* ---- CVSS v3.x ---------------------------------------------------- */

/* CVSS v3.1 specification, Appendix A: round up to one decimal, working
 * on integers to avoid floating-point surprises. */
double sirt_cvss31_roundup(double x)
{
	long long i = llround(x * 100000.0);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

/* CVSS v3.0 Roundup: the smallest number, to one decimal, >= x. */
static double roundup30(double x)
{
	return ceil(x * 10.0) / 10.0;
}

static double w(const char *v, const char *keys, const double *vals)
{
	const char *p = strchr(keys, v[0]);
	return p ? vals[p - keys] : 0;
}

/* Base score, CVSS v3.1 specification section 7.1 (same for 3.0 but the
 * Roundup). */
static double score_v3(const struct parsed *p, int minor)
{
	static const double av[] = { 0.85, 0.62, 0.55, 0.2 };
	static const double ac[] = { 0.77, 0.44 };
	static const double pr_u[] = { 0.85, 0.62, 0.27 };
	static const double pr_c[] = { 0.85, 0.68, 0.5 };
	static const double ui[] = { 0.85, 0.62 };
	static const double cia[] = { 0.56, 0.22, 0 };
	int changed = pv(p, "S")[0] == 'C';
	double iss, impact, expl, base;
	double (*ru)(double) = minor == 0 ? roundup30 : sirt_cvss31_roundup;

	iss = 1 - ((1 - w(pv(p, "C"), "HLN", cia)) * (1 - w(pv(p, "I"), "HLN", cia)) *
		   (1 - w(pv(p, "A"), "HLN", cia)));
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	expl = 8.22 * w(pv(p, "AV"), "NALP", av) * w(pv(p, "AC"), "LH", ac) *
	       w(pv(p, "PR"), "NLH", changed ? pr_c : pr_u) * w(pv(p, "UI"), "NR", ui);
	if (impact <= 0)
		return 0;
	if (changed)
		base = ru(fmin(1.08 * (impact + expl), 10));
	else
		base = ru(fmin(impact + expl, 10));
	return base;
}

/* ---- CVSS v4.0 ---------------------------------------------------- */

/* cvss_lookup.js (cvssLookup_global) of FIRST's reference calculator:
 * the score of the highest-severity vector of each MacroVector. */
static const struct { char mv[7]; double score; } v4_lookup[] = {
	{ "000000", 10.0 }, { "000001", 9.9 }, { "000010", 9.8 }, { "000011", 9.5 },
	{ "000020", 9.5 }, { "000021", 9.2 }, { "000100", 10.0 }, { "000101", 9.6 },
	{ "000110", 9.3 }, { "000111", 8.7 }, { "000120", 9.1 }, { "000121", 8.1 },
	{ "000200", 9.3 }, { "000201", 9.0 }, { "000210", 8.9 }, { "000211", 8.0 },
	{ "000220", 8.1 }, { "000221", 6.8 }, { "001000", 9.8 }, { "001001", 9.5 },
	{ "001010", 9.5 }, { "001011", 9.2 }, { "001020", 9.0 }, { "001021", 8.4 },
	{ "001100", 9.3 }, { "001101", 9.2 }, { "001110", 8.9 }, { "001111", 8.1 },
	{ "001120", 8.1 }, { "001121", 6.5 }, { "001200", 8.8 }, { "001201", 8.0 },
	{ "001210", 7.8 }, { "001211", 7.0 }, { "001220", 6.9 }, { "001221", 4.8 },
	{ "002001", 9.2 }, { "002011", 8.2 }, { "002021", 7.2 }, { "002101", 7.9 },
	{ "002111", 6.9 }, { "002121", 5.0 }, { "002201", 6.9 }, { "002211", 5.5 },
	{ "002221", 2.7 }, { "010000", 9.9 }, { "010001", 9.7 }, { "010010", 9.5 },
	{ "010011", 9.2 }, { "010020", 9.2 }, { "010021", 8.5 }, { "010100", 9.5 },
	{ "010101", 9.1 }, { "010110", 9.0 }, { "010111", 8.3 }, { "010120", 8.4 },
	{ "010121", 7.1 }, { "010200", 9.2 }, { "010201", 8.1 }, { "010210", 8.2 },
	{ "010211", 7.1 }, { "010220", 7.2 }, { "010221", 5.3 }, { "011000", 9.5 },
	{ "011001", 9.3 }, { "011010", 9.2 }, { "011011", 8.5 }, { "011020", 8.5 },
	{ "011021", 7.3 }, { "011100", 9.2 }, { "011101", 8.2 }, { "011110", 8.0 },
	{ "011111", 7.2 }, { "011120", 7.0 }, { "011121", 5.9 }, { "011200", 8.4 },
	{ "011201", 7.0 }, { "011210", 7.1 }, { "011211", 5.2 }, { "011220", 5.0 },
	{ "011221", 3.0 }, { "012001", 8.6 }, { "012011", 7.5 }, { "012021", 5.2 },
	{ "012101", 7.1 }, { "012111", 5.2 }, { "012121", 2.9 }, { "012201", 6.3 },
	{ "012211", 2.9 }, { "012221", 1.7 }, { "100000", 9.8 }, { "100001", 9.5 },
	{ "100010", 9.4 }, { "100011", 8.7 }, { "100020", 9.1 }, { "100021", 8.1 },
	{ "100100", 9.4 }, { "100101", 8.9 }, { "100110", 8.6 }, { "100111", 7.4 },
	{ "100120", 7.7 }, { "100121", 6.4 }, { "100200", 8.7 }, { "100201", 7.5 },
	{ "100210", 7.4 }, { "100211", 6.3 }, { "100220", 6.3 }, { "100221", 4.9 },
	{ "101000", 9.4 }, { "101001", 8.9 }, { "101010", 8.8 }, { "101011", 7.7 },
	{ "101020", 7.6 }, { "101021", 6.7 }, { "101100", 8.6 }, { "101101", 7.6 },
	{ "101110", 7.4 }, { "101111", 5.8 }, { "101120", 5.9 }, { "101121", 5.0 },
	{ "101200", 7.2 }, { "101201", 5.7 }, { "101210", 5.7 }, { "101211", 5.2 },
	{ "101220", 5.2 }, { "101221", 2.5 }, { "102001", 8.3 }, { "102011", 7.0 },
	{ "102021", 5.4 }, { "102101", 6.5 }, { "102111", 5.8 }, { "102121", 2.6 },
	{ "102201", 5.3 }, { "102211", 2.1 }, { "102221", 1.3 }, { "110000", 9.5 },
	{ "110001", 9.0 }, { "110010", 8.8 }, { "110011", 7.6 }, { "110020", 7.6 },
	{ "110021", 7.0 }, { "110100", 9.0 }, { "110101", 7.7 }, { "110110", 7.5 },
	{ "110111", 6.2 }, { "110120", 6.1 }, { "110121", 5.3 }, { "110200", 7.7 },
	{ "110201", 6.6 }, { "110210", 6.8 }, { "110211", 5.9 }, { "110220", 5.2 },
	{ "110221", 3.0 }, { "111000", 8.9 }, { "111001", 7.8 }, { "111010", 7.6 },
	{ "111011", 6.7 }, { "111020", 6.2 }, { "111021", 5.8 }, { "111100", 7.4 },
	{ "111101", 5.9 }, { "111110", 5.7 }, { "111111", 5.7 }, { "111120", 4.7 },
	{ "111121", 2.3 }, { "111200", 6.1 }, { "111201", 5.2 }, { "111210", 5.7 },
	{ "111211", 2.9 }, { "111220", 2.4 }, { "111221", 1.6 }, { "112001", 7.1 },
	{ "112011", 5.9 }, { "112021", 3.0 }, { "112101", 5.8 }, { "112111", 2.6 },
	{ "112121", 1.5 }, { "112201", 2.3 }, { "112211", 1.3 }, { "112221", 0.6 },
	{ "200000", 9.3 }, { "200001", 8.7 }, { "200010", 8.6 }, { "200011", 7.2 },
	{ "200020", 7.5 }, { "200021", 5.8 }, { "200100", 8.6 }, { "200101", 7.4 },
	{ "200110", 7.4 }, { "200111", 6.1 }, { "200120", 5.6 }, { "200121", 3.4 },
	{ "200200", 7.0 }, { "200201", 5.4 }, { "200210", 5.2 }, { "200211", 4.0 },
	{ "200220", 4.0 }, { "200221", 2.2 }, { "201000", 8.5 }, { "201001", 7.5 },
	{ "201010", 7.4 }, { "201011", 5.5 }, { "201020", 6.2 }, { "201021", 5.1 },
	{ "201100", 7.2 }, { "201101", 5.7 }, { "201110", 5.5 }, { "201111", 4.1 },
	{ "201120", 4.6 }, { "201121", 1.9 }, { "201200", 5.3 }, { "201201", 3.6 },
	{ "201210", 3.4 }, { "201211", 1.9 }, { "201220", 1.9 }, { "201221", 0.8 },
	{ "202001", 6.4 }, { "202011", 5.1 }, { "202021", 2.0 }, { "202101", 4.7 },
	{ "202111", 2.1 }, { "202121", 1.1 }, { "202201", 2.4 }, { "202211", 0.9 },
	{ "202221", 0.4 }, { "210000", 8.8 }, { "210001", 7.5 }, { "210010", 7.3 },
	{ "210011", 5.3 }, { "210020", 6.0 }, { "210021", 5.0 }, { "210100", 7.3 },
	{ "210101", 5.5 }, { "210110", 5.9 }, { "210111", 4.0 }, { "210120", 4.1 },
	{ "210121", 2.0 }, { "210200", 5.4 }, { "210201", 4.3 }, { "210210", 4.5 },
	{ "210211", 2.2 }, { "210220", 2.0 }, { "210221", 1.1 }, { "211000", 7.5 },
	{ "211001", 5.5 }, { "211010", 5.8 }, { "211011", 4.5 }, { "211020", 4.0 },
	{ "211021", 2.1 }, { "211100", 6.1 }, { "211101", 5.1 }, { "211110", 4.8 },
	{ "211111", 1.8 }, { "211120", 2.0 }, { "211121", 0.9 }, { "211200", 4.6 },
	{ "211201", 1.8 }, { "211210", 1.7 }, { "211211", 0.7 }, { "211220", 0.8 },
	{ "211221", 0.2 }, { "212001", 5.3 }, { "212011", 2.4 }, { "212021", 1.4 },
	{ "212101", 2.4 }, { "212111", 1.2 }, { "212121", 0.5 }, { "212201", 1.0 },
	{ "212211", 0.3 }, { "212221", 0.1 },
};

static double lookup(const char *mv)
{
	size_t i;

	for (i = 0; i < sizeof(v4_lookup) / sizeof(v4_lookup[0]); i++)
		if (memcmp(v4_lookup[i].mv, mv, 6) == 0)
			return v4_lookup[i].score;
	return NAN;
}

/* max_composed.js: the highest-severity vectors of each EQ level. */
static const char *const max_eq1[3][4] = {
	{ "AV:N/PR:N/UI:N/", NULL },
	{ "AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/", NULL },
	{ "AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/", NULL },
};
static const char *const max_eq2[2][3] = {
	{ "AC:L/AT:N/", NULL },
	{ "AC:H/AT:N/", "AC:L/AT:P/", NULL },
};
/* [eq3][eq6] */
static const char *const max_eq3[3][2][6] = {
	{ { "VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/", NULL },
	  { "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/", NULL } },
	{ { "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/", NULL },
	  { "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
	    "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/",
	    "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/", NULL } },
	{ { NULL },
	  { "VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/", NULL } },
};
static const char *const max_eq4[3][2] = {
	{ "SC:H/SI:S/SA:S/", NULL }, { "SC:H/SI:H/SA:H/", NULL }, { "SC:L/SI:L/SA:L/", NULL },
};
static const char *const max_eq5[3][2] = {
	{ "E:A/", NULL }, { "E:P/", NULL }, { "E:U/", NULL },
};

/* max_severity.js: max severity distances in each EQ's MacroVectors (+1). */
static const int maxsev_eq1[3] = { 1, 4, 5 };
static const int maxsev_eq2[2] = { 1, 2 };
static const int maxsev_eq3eq6[3][2] = { { 7, 6 }, { 8, 8 }, { 0, 10 } };
static const int maxsev_eq4[3] = { 6, 5, 4 };

/* m() of cvss_score.js: the effective value of a metric, with the
 * environmental override and the worst-case defaults for X. */
static const char *m(const struct parsed *p, const char *metric)
{
	const char *sel = pv(p, metric);
	char mk[8];
	const char *mod;

	if (strcmp(metric, "E") == 0 && (!sel[0] || strcmp(sel, "X") == 0))
		return "A";
	if ((strcmp(metric, "CR") == 0 || strcmp(metric, "IR") == 0 ||
	     strcmp(metric, "AR") == 0) && (!sel[0] || strcmp(sel, "X") == 0))
		return "H";
	if (strlen(metric) < sizeof(mk) - 1) {
		mk[0] = 'M';
		memcpy(mk + 1, metric, strlen(metric) + 1);
		mod = pv(p, mk);
		if (mod[0] && strcmp(mod, "X") != 0)
			return mod;
	}
	return sel;
}

static int is(const struct parsed *p, const char *metric, const char *v)
{
	return strcmp(m(p, metric), v) == 0;
}

/* macroVector() of cvss_score.js: the six EQ levels. */
static void macro_vector(const struct parsed *p, int eq[6])
{
	int av_n = is(p, "AV", "N"), pr_n = is(p, "PR", "N"), ui_n = is(p, "UI", "N");

	if (av_n && pr_n && ui_n)
		eq[0] = 0;
	else if ((av_n || pr_n || ui_n) && !is(p, "AV", "P"))
		eq[0] = 1;
	else
		eq[0] = 2;
	eq[1] = is(p, "AC", "L") && is(p, "AT", "N") ? 0 : 1;
	if (is(p, "VC", "H") && is(p, "VI", "H"))
		eq[2] = 0;
	else if (is(p, "VC", "H") || is(p, "VI", "H") || is(p, "VA", "H"))
		eq[2] = 1;
	else
		eq[2] = 2;
	if (is(p, "MSI", "S") || is(p, "MSA", "S"))
		eq[3] = 0;
	else if (is(p, "SC", "H") || is(p, "SI", "H") || is(p, "SA", "H"))
		eq[3] = 1;
	else
		eq[3] = 2;
	eq[4] = is(p, "E", "A") ? 0 : is(p, "E", "P") ? 1 : 2;
	eq[5] = (is(p, "CR", "H") && is(p, "VC", "H")) || (is(p, "IR", "H") && is(p, "VI", "H")) ||
		(is(p, "AR", "H") && is(p, "VA", "H")) ? 0 : 1;
}

static double mv_score(const int e[6])
{
	char mv[7];
	int i;

	for (i = 0; i < 6; i++) {
		if (e[i] > 9)
			return NAN;
		mv[i] = (char)('0' + e[i]);
	}
	mv[6] = 0;
	return lookup(mv);
}

/* The value of metric in a max vector string like "AV:N/PR:N/UI:N/". */
static char maxval(const char *const *parts, const char *metric)
{
	size_t i, n = strlen(metric);

	for (i = 0; i < 5; i++) {
		const char *s = parts[i];
		while (s && *s) {
			if (strncmp(s, metric, n) == 0 && s[n] == ':')
				return s[n + 1];
			s = strchr(s, '/');
			if (s)
				s++;
		}
	}
	return 0;
}

/* Severity level of a metric value, as the *_levels tables of cvss_score.js. */
static double level(const char *metric, char v)
{
	static const struct { const char *metric; const char *vals; double lv[4]; } t[] = {
		{ "AV", "NALP", { 0.0, 0.1, 0.2, 0.3 } },
		{ "PR", "NLH", { 0.0, 0.1, 0.2 } },
		{ "UI", "NPA", { 0.0, 0.1, 0.2 } },
		{ "AC", "LH", { 0.0, 0.1 } },
		{ "AT", "NP", { 0.0, 0.1 } },
		{ "VC", "HLN", { 0.0, 0.1, 0.2 } },
		{ "VI", "HLN", { 0.0, 0.1, 0.2 } },
		{ "VA", "HLN", { 0.0, 0.1, 0.2 } },
		{ "SC", "HLN", { 0.1, 0.2, 0.3 } },
		{ "SI", "SHLN", { 0.0, 0.1, 0.2, 0.3 } },
		{ "SA", "SHLN", { 0.0, 0.1, 0.2, 0.3 } },
		{ "CR", "HML", { 0.0, 0.1, 0.2 } },
		{ "IR", "HML", { 0.0, 0.1, 0.2 } },
		{ "AR", "HML", { 0.0, 0.1, 0.2 } },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].metric, metric) == 0) {
			const char *q = v ? strchr(t[i].vals, v) : NULL;
			return q ? t[i].lv[q - t[i].vals] : NAN;
		}
	return NAN;
}

/* cvss_score() of FIRST's calculator, step by step. */
static double score_v4(const struct parsed *p)
{
	static const char *const dm[14] = {
		"AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR"
	};
	int eq[6], e[6], i, n_lower = 0;
	double value, lower[5], dist[14] = { 0 }, cur[5], msd, norm[5] = { 0 }, mean;
	double maxsev[4], step = 0.1;
	const char *const *l1, *const *l2, *const *l3, *const *l4, *const *l5;
	size_t a, b, c, d, f;
	int found = 0;

	if (is(p, "VC", "N") && is(p, "VI", "N") && is(p, "VA", "N") &&
	    is(p, "SC", "N") && is(p, "SI", "N") && is(p, "SA", "N"))
		return 0.0;
	macro_vector(p, eq);
	value = mv_score(eq);

	/* next lower MacroVectors */
	memcpy(e, eq, sizeof(e)); e[0]++; lower[0] = mv_score(e);
	memcpy(e, eq, sizeof(e)); e[1]++; lower[1] = mv_score(e);
	if (eq[2] == 0 && eq[5] == 0) {
		double left, right;
		memcpy(e, eq, sizeof(e)); e[5]++; left = mv_score(e);
		memcpy(e, eq, sizeof(e)); e[2]++; right = mv_score(e);
		lower[2] = left > right ? left : right;
	} else if ((eq[2] == 1 && eq[5] == 1) || (eq[2] == 0 && eq[5] == 1)) {
		memcpy(e, eq, sizeof(e)); e[2]++; lower[2] = mv_score(e);
	} else if (eq[2] == 1 && eq[5] == 0) {
		memcpy(e, eq, sizeof(e)); e[5]++; lower[2] = mv_score(e);
	} else {
		memcpy(e, eq, sizeof(e)); e[2]++; e[5]++; lower[2] = mv_score(e);
	}
	memcpy(e, eq, sizeof(e)); e[3]++; lower[3] = mv_score(e);
	memcpy(e, eq, sizeof(e)); e[4]++; lower[4] = mv_score(e);

	/* the highest-severity vector of this MacroVector that is at least
	 * as severe as the vector scored (first one found wins) */
	l1 = max_eq1[eq[0]];
	l2 = max_eq2[eq[1]];
	l3 = max_eq3[eq[2]][eq[5]];
	l4 = max_eq4[eq[3]];
	l5 = max_eq5[eq[4]];
	for (a = 0; l1[a] && !found; a++)
	for (b = 0; l2[b] && !found; b++)
	for (c = 0; l3[c] && !found; c++)
	for (d = 0; l4[d] && !found; d++)
	for (f = 0; l5[f] && !found; f++) {
		const char *parts[5] = { l1[a], l2[b], l3[c], l4[d], l5[f] };
		int neg = 0;
		for (i = 0; i < 14; i++) {
			dist[i] = level(dm[i], m(p, dm[i])[0]) - level(dm[i], maxval(parts, dm[i]));
			if (dist[i] < 0)
				neg = 1;
		}
		if (!neg)
			found = 1;
	}
	cur[0] = dist[0] + dist[1] + dist[2];
	cur[1] = dist[3] + dist[4];
	cur[2] = dist[5] + dist[6] + dist[7] + dist[11] + dist[12] + dist[13];
	cur[3] = dist[8] + dist[9] + dist[10];
	cur[4] = 0;

	maxsev[0] = maxsev_eq1[eq[0]] * step;
	maxsev[1] = maxsev_eq2[eq[1]] * step;
	maxsev[2] = maxsev_eq3eq6[eq[2]][eq[5]] * step;
	maxsev[3] = maxsev_eq4[eq[3]] * step;
	for (i = 0; i < 5; i++) {
		msd = value - lower[i];
		if (isnan(msd))
			continue;
		n_lower++;
		if (i < 4)
			norm[i] = msd * (cur[i] / maxsev[i]);
		else
			norm[i] = msd * 0;
	}
	mean = n_lower == 0 ? 0 : (norm[0] + norm[1] + norm[2] + norm[3] + norm[4]) / n_lower;
	value -= mean;
	if (value < 0)
		value = 0.0;
	if (value > 10)
		value = 10.0;
	/* Math.round((value + 1e-6) * 10) / 10, as in FIRST's calculator */
	return floor((value + 1e-6) * 10 + 0.5) / 10;
}

/* ---- entry points ------------------------------------------------- */

int sirt_cvss_score(const char *vector, double *score_r, struct sirt_err *err)
{
	struct parsed p;

	if (!vector || strlen(vector) > CVSS_MAX_VECTOR)
		return sirt_err_set(err, SIRT_E_BADMSG, "bad CVSS vector");
	if (strncmp(vector, "CVSS:3.1/", 9) == 0 || strncmp(vector, "CVSS:3.0/", 9) == 0) {
		if (parse_metrics(vector + 9, v3_defs, sizeof(v3_defs) / sizeof(v3_defs[0]),
				  &p, err) < 0)
			return -1;
		*score_r = score_v3(&p, vector[7] - '0');
		return 0;
	}
	if (strncmp(vector, "CVSS:4.0/", 9) == 0) {
		if (parse_metrics(vector + 9, v4_defs, sizeof(v4_defs) / sizeof(v4_defs[0]),
				  &p, err) < 0)
			return -1;
		*score_r = score_v4(&p);
		return 0;
	}
	return sirt_err_set(err, SIRT_E_BADMSG, "unsupported CVSS version in '%.12s'", vector);
}

static int vchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '/' || c == '.';
}

int sirt_cvss_find(const char *text, char **vector_r, double *score_r, char **note_r)
{
	const char *p = text;
	char *best = NULL;
	double best_score = -1;
	struct sirt_buf notes = SIRT_BUF_INIT;
	int nfound = 0;

	*vector_r = NULL;
	if (note_r)
		*note_r = NULL;
	if (!text)
		return 0;
	sirt_buf_init(&notes);
	while ((p = strstr(p, "CVSS:")) != NULL && nfound < 16) {
		size_t n = 0;
		char *vec;
		double sc;
		struct sirt_err err;

		while (p[n] && vchar(p[n]) && n <= CVSS_MAX_VECTOR)
			n++;
		while (n > 0 && (p[n - 1] == '/' || p[n - 1] == '.' || p[n - 1] == ':'))
			n--;
		vec = sirt_xstrndup(p, n);
		p += n ? n : 5;
		nfound++;
		sirt_err_clear(&err);
		if (sirt_cvss_score(vec, &sc, &err) < 0) {
			if (notes.len)
				sirt_buf_adds(&notes, "; ");
			sirt_buf_addf(&notes, SIRT_CVSS_MALFORMED_NOTE " '%.80s': %s", vec,
				      err.msg);
			free(vec);
			continue;
		}
		if (sc > best_score) {
			free(best);
			best = vec;
			best_score = sc;
		} else {
			free(vec);
		}
	}
	if (note_r && notes.len)
		*note_r = sirt_buf_detach(&notes, NULL);
	sirt_buf_release(&notes);
	if (!best)
		return 0;
	*vector_r = best;
	*score_r = best_score;
	return 1;
}

const char *sirt_cvss_rating(double s)
{
	if (s <= 0)
		return "None";
	if (s < 4.0)
		return "Low";
	if (s < 7.0)
		return "Medium";
	if (s < 9.0)
		return "High";
	return "Critical";
}
