/* rules.c - the triage rule language: parser, PCRE2 compile, checks,
 * Hyperscan prefilter and evaluation over a parsed message.
 *
 * See include/sirt/rules.h for the statements and contrib/man/sirt-rules.5
 * for the full grammar and semantics.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#ifdef SIRT_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif
/* Under valgrind the PCRE2 JIT's 16-byte block reads past the end of a
 * subject look like errors to memcheck: use the interpreter there. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SIRT_ON_VALGRIND() (RUNNING_ON_VALGRIND)
#endif
#endif
#ifndef SIRT_ON_VALGRIND
#define SIRT_ON_VALGRIND() 0
#endif
#include "sirt/buf.h"
#include "sirt/log.h"
#include "sirt/rules.h"
#include "sirt/util.h"

/* Limits: no rule file or message can make the engine slow or huge. */
#define RULES_MAX_FILE     (4u << 20)   /* bytes per rule file */
#define RULES_MAX_RULES    20000
#define RULES_MAX_NAME     64
#define EXPR_MAX_DEPTH     64
#define EXPR_MAX_NODES     4096         /* operands and operators per meta */
#define LINE_MAX_LEN       65536        /* bytes per statement */
#define SCAN_MAX           (1u << 20)   /* bytes of one field value scanned */
#define MATCH_LIMIT        200000u      /* pcre2 match() calls per match */
#define DEPTH_LIMIT        5000u        /* backtracking depth */
#define HEAP_LIMIT         (16u * 1024) /* KiB */
#define EXCERPT_MAX        120          /* bytes of matched text kept */
#define PREFILTER_AFTER    32           /* messages before the prefilter is built */

enum fkind {
	FK_SUBJECT, FK_FROM, FK_TO, FK_HEADER, FK_BODY, FK_BODY_UNQUOTED,
	FK_TEXT, FK_RAWBODY, FK_URI, FK_ATTNAME, FK_ATTTYPE, FK_SIGNED, FK_ENCRYPTED,
	FK_SIGNATURE, FK_SIGNER, FK_SIGNER_TRUSTED
};

static const char *const fkind_names[] = {
	"subject", "from", "to", "header", "body", "body-unquoted",
	"text", "rawbody", "uri", "attachment-name", "attachment-type", "signed",
	"encrypted", "signature", "signer", "signer-trusted"
};
#define FK_COUNT (sizeof(fkind_names) / sizeof(fkind_names[0]))

/* Numeric facts usable in metas. */
enum fact {
	FACT_CVSS, FACT_ATTACHMENTS, FACT_URLS, FACT_PARTS, FACT_SIZE,
	FACT_SCORE, FACT_SIGNED, FACT_ENCRYPTED, FACT_TRUSTED, FACT_UNPARSED,
	FACT_COUNT
};
static const char *const fact_names[FACT_COUNT] = {
	"cvss", "attachments", "urls", "parts", "size", "score", "signed",
	"encrypted", "trusted", "unparsed"
};

enum node_kind {
	N_NUM, N_RULE, N_UNKNOWN, N_FACT, N_HITS, N_NOT, N_AND, N_OR, N_ADD,
	N_LT, N_LE, N_GT, N_GE, N_EQ, N_NE
};

struct node {
	enum node_kind kind;
	double num;             /* N_NUM */
	int idx;                /* N_RULE rule index, N_FACT fact */
	char *name;             /* N_RULE/N_UNKNOWN name, N_HITS glob */
	int *list;              /* N_HITS: rule indices */
	size_t nlist;
	int col;                /* for messages */
	struct node *a, *b;
};

/* One top-level branch of a match rule's pattern, for the prefilter. */
struct branch {
	pcre2_code *re;         /* the branch alone; NULL: the rule's whole pattern */
	int *prog;              /* formula over the slot's pieces; none: always */
	size_t len;
	int *prog2;             /* and over its second-stage pieces, if any */
	size_t len2;
	size_t gid;             /* index into scratch.bcand */
};

/* A branch of a rule, as the prefilter's index names it. */
struct bref {
	int rule;               /* index in set->rules */
	const struct branch *b;
};

struct rule {
	char *name;
	const char *file;       /* borrowed from set->files */
	int line;
	int local;              /* defined in the local directory */
	int is_meta;
	int is_sub;             /* named __X: only feeds metas, no effect */
	int slot;               /* match: field slot */
	char *pattern;          /* match: as written between the slashes */
	uint32_t pflags;        /* match: PCRE2 compile options from flags */
	char flagstr[8];
	pcre2_code *re;
	struct node *expr;      /* meta */
	char *expr_text;
	double score;
	enum sirt_severity floor, cap;
	char **tags;
	size_t ntags;
	char *describe;
	int disabled;
	int used;               /* referenced by a meta */
	int prefiltered;        /* covered by a Hyperscan database */
	struct branch *br;      /* prefiltered: top-level branches (see build_prefilter) */
#ifdef SIRT_HAVE_HYPERSCAN
	hs_database_t *db2;     /* the prefilter's second stage for it, or NULL */
#endif
	size_t nbr;
	size_t nruns, nmatches; /* statistics: PCRE2 runs and matches */
	const char *category;   /* borrowed from tags */
};

struct slot {
	enum fkind kind;
	char *header;           /* FK_HEADER: name */
	char *label;            /* "body", "header:From" */
	int *rules;             /* match rules on this slot */
	size_t nrules;
	int *always;            /* rules the prefilter cannot cover */
	size_t nalways;
#ifdef SIRT_HAVE_HYPERSCAN
	hs_database_t *db;      /* the prefilter's first stage */
	int *leaf_rule;         /* piece (Hyperscan id) -> index in rules */
	size_t nleaves;
	/* piece -> the branches whose formula reads it: leaf_refs
	 * [leaf_ref0[k], leaf_ref0[k + 1]); a formula holds only if one of
	 * its pieces was seen, so only those branches are evaluated */
	size_t *leaf_ref0;
	struct bref *leaf_refs;
	struct bref *true_refs; /* branches without a formula: always */
	size_t ntrue;
	size_t gid0, gid1;      /* the slot's branches' gids */
#endif
};

/* Mutable per-set evaluation state (one message at a time). */
struct scratch {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
#ifdef SIRT_HAVE_HYPERSCAN
	hs_scratch_t *hs;
#endif
	unsigned char *pf_seen; /* per piece of a slot: Hyperscan matched it */
	unsigned *pf_list;      /* the pieces seen, in the order seen */
	unsigned char *pf_stack;
	unsigned char *bcand;   /* per branch (gid): candidate */
	struct bref *pf_pend;   /* branches waiting for the second stage */
	unsigned char *pf_scanned; /* per rule: its second stage scanned (2: failed) */
	unsigned char *cand;    /* per rule: candidate from the prefilter */
	signed char *state;     /* per rule: -1 unknown, 0 no, 1 fired, 2 busy */
	size_t *mstart, *mend;  /* per rule: match offsets */
	int *mval;              /* per rule: which value matched */
	int *mslot;
};

struct sirt_rules {
	struct rule *rules;
	size_t nrules, cap;
	struct slot *slots;
	size_t nslots;
	char **files;           /* file names (for rule->file) */
	size_t nfiles;
	char **warnings;
	size_t nwarnings;
	char **categories;
	size_t ncategories;
	double threshold[5];    /* [2] = P2, [3] = P3 */
	enum sirt_severity dflt;
	int use_prefilter;      /* wanted (flags, environment) */
	int prefilter_built;    /* databases compiled (lazily, see rules.h) */
	size_t nevals;          /* messages evaluated so far */
	char *cache_dir;        /* prefilter databases cached here (or NULL) */
	size_t ncached;         /* databases loaded from the cache */
	size_t nprefiltered;
	struct scratch sc;
};

/* ---- small helpers ------------------------------------------------ */

static void warnf(struct sirt_rules *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append a formatted warning to the set (owned by the set). */
static void warnf(struct sirt_rules *r, const char *fmt, ...)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	va_list ap;

	sirt_buf_init(&b);
	va_start(ap, fmt);
	sirt_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r->warnings = sirt_xrealloc(r->warnings, (r->nwarnings + 1) * sizeof(char *));
	r->warnings[r->nwarnings++] = sirt_buf_detach(&b, NULL);
}

static int valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RULES_MAX_NAME || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static int find_rule(const struct sirt_rules *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_fact(const char *name)
{
	int i;

	for (i = 0; i < FACT_COUNT; i++)
		if (strcmp(fact_names[i], name) == 0)
			return i;
	return -1;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->name);
	free(n->list);
	free(n);
}

static void rule_branches_free(struct rule *ru)
{
	size_t i;

	for (i = 0; i < ru->nbr; i++) {
		if (ru->br[i].re)
			pcre2_code_free(ru->br[i].re);
		free(ru->br[i].prog);
		free(ru->br[i].prog2);
	}
#ifdef SIRT_HAVE_HYPERSCAN
	if (ru->db2)
		hs_free_database(ru->db2);
	ru->db2 = NULL;
#endif
	free(ru->br);
	ru->br = NULL;
	ru->nbr = 0;
}

static void rule_release(struct rule *ru)
{
	size_t i;

	free(ru->name);
	free(ru->pattern);
	if (ru->re)
		pcre2_code_free(ru->re);
	node_free(ru->expr);
	free(ru->expr_text);
	for (i = 0; i < ru->ntags; i++)
		free(ru->tags[i]);
	free(ru->tags);
	free(ru->describe);
	rule_branches_free(ru);
}

/* Free a set and everything it owns (patterns, databases, scratch);
 * *rp becomes NULL. */
void sirt_rules_free(struct sirt_rules **rp)
{
	struct sirt_rules *r = rp ? *rp : NULL;
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nrules; i++)
		rule_release(&r->rules[i]);
	free(r->rules);
	for (i = 0; i < r->nslots; i++) {
		free(r->slots[i].header);
		free(r->slots[i].label);
		free(r->slots[i].rules);
		free(r->slots[i].always);
#ifdef SIRT_HAVE_HYPERSCAN
		if (r->slots[i].db)
			hs_free_database(r->slots[i].db);
		free(r->slots[i].leaf_rule);
		free(r->slots[i].leaf_ref0);
		free(r->slots[i].leaf_refs);
		free(r->slots[i].true_refs);
#endif
	}
	free(r->slots);
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	for (i = 0; i < r->ncategories; i++)
		free(r->categories[i]);
	free(r->categories);
	if (r->sc.md)
		pcre2_match_data_free(r->sc.md);
	if (r->sc.mctx)
		pcre2_match_context_free(r->sc.mctx);
	if (r->sc.jit)
		pcre2_jit_stack_free(r->sc.jit);
#ifdef SIRT_HAVE_HYPERSCAN
	if (r->sc.hs)
		hs_free_scratch(r->sc.hs);
#endif
	free(r->cache_dir);
	free(r->sc.pf_seen);
	free(r->sc.pf_list);
	free(r->sc.pf_stack);
	free(r->sc.bcand);
	free(r->sc.pf_pend);
	free(r->sc.pf_scanned);
	free(r->sc.cand);
	free(r->sc.state);
	free(r->sc.mstart);
	free(r->sc.mend);
	free(r->sc.mval);
	free(r->sc.mslot);
	free(r);
	*rp = NULL;
}

/* ---- lexing one line ---------------------------------------------- */

struct lex {
	const char *file;
	int line;
	const char *s;          /* the line (NUL-terminated copy) */
	size_t pos;
};

static int lex_err(const struct lex *lx, size_t pos, struct sirt_err *err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fill err with "FILE:LINE:COL: message" (column 1-based, in bytes). */
static int lex_err(const struct lex *lx, size_t pos, struct sirt_err *err,
		   const char *fmt, ...)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	va_list ap;

	sirt_buf_init(&b);
	sirt_buf_addf(&b, "%s:%d:%zu: ", lx->file, lx->line, pos + 1);
	va_start(ap, fmt);
	sirt_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sirt_err_set(err, SIRT_E_BADMSG, "%s", b.data);
	sirt_buf_release(&b);
	return -1;
}

static void lex_skip(struct lex *lx)
{
	while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t')
		lx->pos++;
}

/* Next whitespace-separated word: start offset in *start, length returned
 * (0 at end of line). */
static size_t lex_word(struct lex *lx, size_t *start)
{
	size_t n = 0;

	lex_skip(lx);
	*start = lx->pos;
	while (lx->s[lx->pos] && lx->s[lx->pos] != ' ' && lx->s[lx->pos] != '\t') {
		lx->pos++;
		n++;
	}
	return n;
}

static int lex_end(struct lex *lx, struct sirt_err *err)
{
	lex_skip(lx);
	if (lx->s[lx->pos] && lx->s[lx->pos] != '#')
		return lex_err(lx, lx->pos, err, "unexpected text '%.40s'", lx->s + lx->pos);
	return 0;
}

static int parse_sev(const char *s, size_t n, enum sirt_severity *s_r, int allow_none)
{
	char tmp[8];

	if (allow_none && n == 4 && strncasecmp(s, "none", 4) == 0) {
		*s_r = SIRT_SEV_NONE;
		return 0;
	}
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	*s_r = sirt_severity_parse(tmp);
	return *s_r == SIRT_SEV_NONE ? -1 : 0;
}

static int parse_num(const char *s, size_t n, double *v_r)
{
	char tmp[32], *end;
	double v;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	errno = 0;
	v = strtod(tmp, &end);
	if (errno || *end || !isfinite(v) || fabs(v) > 1e6)
		return -1;
	*v_r = v;
	return 0;
}

/* ---- meta expressions --------------------------------------------- */

struct eparse {
	struct lex *lx;
	struct sirt_rules *r;
	struct sirt_err *err;
	int depth;
	int nodes;
};

static struct node *mknode(enum node_kind k, int col)
{
	struct node *n = sirt_xcalloc(1, sizeof(*n));

	n->kind = k;
	n->col = col;
	return n;
}

static struct node *ep_or(struct eparse *ep);

/* True if the next token starts with tok (white space skipped). */
static int ep_peek(struct eparse *ep, const char *tok)
{
	lex_skip(ep->lx);
	return strncmp(ep->lx->s + ep->lx->pos, tok, strlen(tok)) == 0;
}

/* primary := NUMBER | NAME | hits(GLOB) | '(' or ')' */
static struct node *ep_primary(struct eparse *ep)
{
	struct lex *lx = ep->lx;
	const char *s;
	size_t start, n;
	struct node *nd;

	lex_skip(lx);
	start = lx->pos;
	s = lx->s + start;
	if (++ep->nodes > EXPR_MAX_NODES) {
		lex_err(lx, start, ep->err, "expression too long (more than %d operands)",
			EXPR_MAX_NODES);
		return NULL;
	}
	if (*s == '(') {
		if (++ep->depth > EXPR_MAX_DEPTH) {
			lex_err(lx, start, ep->err, "expression nested too deeply");
			return NULL;
		}
		lx->pos++;
		nd = ep_or(ep);
		if (!nd)
			return NULL;
		if (!ep_peek(ep, ")")) {
			node_free(nd);
			lex_err(lx, lx->pos, ep->err, "expected ')'");
			return NULL;
		}
		lx->pos++;
		ep->depth--;
		return nd;
	}
	if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
		double v;
		n = 0;
		while (isdigit((unsigned char)s[n]) || s[n] == '.')
			n++;
		if (parse_num(s, n, &v) < 0) {
			lex_err(lx, start, ep->err, "bad number '%.*s'", (int)n, s);
			return NULL;
		}
		lx->pos += n;
		nd = mknode(N_NUM, (int)start);
		nd->num = v;
		return nd;
	}
	n = 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n == 0) {
		if (s[0])
			lex_err(lx, start, ep->err, "unexpected '%c' in expression", s[0]);
		else
			lex_err(lx, start, ep->err, "expression ends too early");
		return NULL;
	}
	if (n == 4 && strncmp(s, "hits", 4) == 0 && s[4] == '(') {
		size_t g = 5, gs;
		while (s[g] == ' ')
			g++;
		gs = g;
		while (isalnum((unsigned char)s[g]) || s[g] == '_' || s[g] == '*' ||
		       s[g] == '?' || s[g] == '[' || s[g] == ']' || s[g] == '-')
			g++;
		if (g == gs) {
			lex_err(lx, start + g, ep->err, "hits() needs a rule name pattern");
			return NULL;
		}
		nd = mknode(N_HITS, (int)start);
		nd->name = sirt_xstrndup(s + gs, g - gs);
		while (s[g] == ' ')
			g++;
		if (s[g] != ')') {
			node_free(nd);
			lex_err(lx, start + g, ep->err, "expected ')' after hits(%.*s",
				(int)(g - gs), s + gs);
			return NULL;
		}
		lx->pos += g + 1;
		return nd;
	}
	if (!valid_name(s, n)) {
		lex_err(lx, start, ep->err, "bad name '%.*s'", (int)n, s);
		return NULL;
	}
	nd = mknode(N_UNKNOWN, (int)start);  /* resolved after loading */
	nd->name = sirt_xstrndup(s, n);
	lx->pos += n;
	return nd;
}

/* sum := primary ('+' primary)* */
static struct node *ep_sum(struct eparse *ep)
{
	struct node *a = ep_primary(ep), *b, *n;

	while (a && ep_peek(ep, "+")) {
		int col = (int)ep->lx->pos;
		ep->lx->pos++;
		b = ep_primary(ep);
		if (!b) {
			node_free(a);
			return NULL;
		}
		n = mknode(N_ADD, col);
		n->a = a;
		n->b = b;
		a = n;
	}
	return a;
}

/* cmp := sum (OP sum)? */
static struct node *ep_cmp(struct eparse *ep)
{
	static const struct { const char *op; enum node_kind k; } ops[] = {
		{ "<=", N_LE }, { ">=", N_GE }, { "==", N_EQ }, { "!=", N_NE },
		{ "<", N_LT }, { ">", N_GT }
	};
	struct node *a = ep_sum(ep), *b, *n;
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!ep_peek(ep, ops[i].op))
			continue;
		n = mknode(ops[i].k, (int)ep->lx->pos);
		ep->lx->pos += strlen(ops[i].op);
		b = ep_sum(ep);
		if (!b) {
			node_free(a);
			free(n);
			return NULL;
		}
		n->a = a;
		n->b = b;
		return n;
	}
	return a;
}

/* not := '!' not | cmp */
static struct node *ep_not(struct eparse *ep)
{
	struct node *n, *a;

	if (ep_peek(ep, "!") && !ep_peek(ep, "!=")) {
		int col = (int)ep->lx->pos;
		if (++ep->depth > EXPR_MAX_DEPTH) {
			lex_err(ep->lx, (size_t)col, ep->err, "expression nested too deeply");
			return NULL;
		}
		ep->lx->pos++;
		a = ep_not(ep);
		ep->depth--;
		if (!a)
			return NULL;
		n = mknode(N_NOT, col);
		n->a = a;
		return n;
	}
	return ep_cmp(ep);
}

/* A left-associative chain: operand (op operand)*, each op a node of
 * type t. */
static struct node *ep_chain(struct eparse *ep, const char *op, enum node_kind t,
			     struct node *(*operand)(struct eparse *))
{
	struct node *a = operand(ep), *b, *n;

	while (a && ep_peek(ep, op)) {
		int col = (int)ep->lx->pos;
		ep->lx->pos += strlen(op);
		b = operand(ep);
		if (!b) {
			node_free(a);
			return NULL;
		}
		n = mknode(t, col);
		n->a = a;
		n->b = b;
		a = n;
	}
	return a;
}

/* and := not ('&&' not)* */
static struct node *ep_and(struct eparse *ep)
{
	return ep_chain(ep, "&&", N_AND, ep_not);
}

/* or := and ('||' and)* */
static struct node *ep_or(struct eparse *ep)
{
	return ep_chain(ep, "||", N_OR, ep_and);
}

/* ---- statements --------------------------------------------------- */

/* A new rule slot named name (duplicates handled by the caller). */
static struct rule *add_rule(struct sirt_rules *r, const char *name, size_t n,
			     const struct lex *lx, int local)
{
	struct rule *ru;

	if (r->nrules == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->rules = sirt_xrealloc(r->rules, r->cap * sizeof(*r->rules));
	}
	ru = &r->rules[r->nrules++];
	memset(ru, 0, sizeof(*ru));
	ru->name = sirt_xstrndup(name, n);
	ru->is_sub = n >= 2 && name[0] == '_' && name[1] == '_';
	ru->file = lx->file;
	ru->line = lx->line;
	ru->local = local;
	ru->slot = -1;
	return ru;
}

/* The index of the field slot for (kind, header name), created on first
 * use: rules on the same field share one slot and one prefilter scan. */
static int slot_for(struct sirt_rules *r, enum fkind k, const char *hdr)
{
	size_t i;
	struct slot *s;

	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].kind == k &&
		    (k != FK_HEADER || strcasecmp(r->slots[i].header, hdr) == 0))
			return (int)i;
	r->slots = sirt_xrealloc(r->slots, (r->nslots + 1) * sizeof(*r->slots));
	s = &r->slots[r->nslots];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	if (k == FK_HEADER) {
		struct sirt_buf b = SIRT_BUF_INIT;
		sirt_buf_init(&b);
		sirt_buf_addf(&b, "header:%s", hdr);
		s->header = sirt_xstrdup(hdr);
		s->label = sirt_buf_detach(&b, NULL);
	} else {
		s->label = sirt_xstrdup(fkind_names[k]);
	}
	return (int)r->nslots++;
}

/* Handle a definition of a name that already exists: a later definition
 * replaces the earlier one (site overrides); within the same directory
 * that is probably a mistake and is warned about. */
static void redefine(struct sirt_rules *r, int idx, const struct lex *lx, int local)
{
	struct rule *old = &r->rules[idx];

	if (old->local == local)
		warnf(r, "%s:%d: duplicate rule name %s (first defined at %s:%d); the later definition wins",
		      lx->file, lx->line, old->name, old->file, old->line);
	/* Keep effects set so far, replace the definition. */
	free(old->pattern);
	old->pattern = NULL;
	if (old->re)
		pcre2_code_free(old->re);
	old->re = NULL;
	node_free(old->expr);
	old->expr = NULL;
	free(old->expr_text);
	old->expr_text = NULL;
	old->file = lx->file;
	old->line = lx->line;
	old->local = local;
	old->disabled = 0;
}

/* JIT when possible; the interpreter is the fallback (and what runs
 * under valgrind or with SIRT_PCRE2_JIT=0). */
static int jit_wanted(void)
{
	const char *e = getenv("SIRT_PCRE2_JIT");

	return !SIRT_ON_VALGRIND() && !(e && strcmp(e, "0") == 0);
}

/* rule NAME FIELD /PATTERN/FLAGS */
static int st_rule(struct sirt_rules *r, struct lex *lx, int local, struct sirt_err *err)
{
	size_t ns, nn, fs, fn, ps, i;
	const char *s = lx->s;
	enum fkind k = FK_COUNT;
	char hdr[128] = "";
	struct rule *ru;
	int idx, errcode;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP;
	PCRE2_SIZE erroff;
	struct sirt_buf pat = SIRT_BUF_INIT;
	char flagstr[8] = "";
	size_t nflags = 0;

	nn = lex_word(lx, &ns);
	if (!valid_name(s + ns, nn))
		return lex_err(lx, ns, err, "bad or missing rule name '%.*s'", (int)nn, s + ns);
	fn = lex_word(lx, &fs);
	if (fn == 0)
		return lex_err(lx, fs, err, "rule %.*s needs a field and a pattern", (int)nn, s + ns);
	for (i = 0; i < FK_COUNT; i++)
		if (i != FK_HEADER && strlen(fkind_names[i]) == fn &&
		    strncmp(fkind_names[i], s + fs, fn) == 0)
			k = (enum fkind)i;
	if (k == FK_COUNT && fn > 7 && strncmp(s + fs, "header:", 7) == 0) {
		size_t j;
		if (fn - 7 >= sizeof(hdr))
			return lex_err(lx, fs + 7, err, "header name too long");
		for (j = fs + 7; j < fs + fn; j++)
			if ((unsigned char)s[j] <= ' ' || (unsigned char)s[j] >= 127 || s[j] == ':')
				return lex_err(lx, j, err, "bad header name");
		memcpy(hdr, s + fs + 7, fn - 7);
		hdr[fn - 7] = 0;
		k = FK_HEADER;
	}
	if (k == FK_COUNT)
		return lex_err(lx, fs, err, "unknown field '%.*s' (one of subject, from, to, "
			       "header:NAME, body, body-unquoted, text, rawbody, uri, attachment-name, "
			       "attachment-type, signed, encrypted, signature, signer, signer-trusted)",
			       (int)fn, s + fs);
	lex_skip(lx);
	ps = lx->pos;
	if (s[ps] != '/')
		return lex_err(lx, ps, err, "expected /PATTERN/FLAGS");
	sirt_buf_init(&pat);
	for (i = ps + 1; s[i] && s[i] != '/'; i++) {
		if (s[i] == '\\' && s[i + 1]) {
			/* \/ is a literal slash; keep other escapes for PCRE2 */
			if (s[i + 1] != '/')
				sirt_buf_addc(&pat, '\\');
			sirt_buf_addc(&pat, s[i + 1]);
			i++;
			continue;
		}
		sirt_buf_addc(&pat, s[i]);
	}
	if (s[i] != '/') {
		sirt_buf_release(&pat);
		return lex_err(lx, ps, err, "pattern has no closing '/'");
	}
	for (i++; s[i] && s[i] != ' ' && s[i] != '\t'; i++) {
		switch (s[i]) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		default:
			sirt_buf_release(&pat);
			return lex_err(lx, i, err, "unknown pattern flag '%c' (use i, m, s, x)", s[i]);
		}
		if (!strchr(flagstr, s[i]) && nflags < sizeof(flagstr) - 1) {
			flagstr[nflags++] = s[i];
			flagstr[nflags] = 0;
		}
	}
	lx->pos = i;
	if (lex_end(lx, err) < 0) {
		sirt_buf_release(&pat);
		return -1;
	}

	{
		char *name = sirt_xstrndup(s + ns, nn);
		idx = find_rule(r, name);
		free(name);
	}
	if (idx >= 0) {
		redefine(r, idx, lx, local);
		ru = &r->rules[idx];
	} else {
		if (r->nrules >= RULES_MAX_RULES) {
			sirt_buf_release(&pat);
			return lex_err(lx, ns, err, "too many rules");
		}
		ru = add_rule(r, s + ns, nn, lx, local);
	}
	ru->is_meta = 0;
	ru->pflags = opts;
	memcpy(ru->flagstr, flagstr, sizeof(flagstr));
	ru->slot = slot_for(r, k, hdr);
	ru->pattern = sirt_buf_detach(&pat, NULL);
	ru->re = pcre2_compile((PCRE2_SPTR)ru->pattern, PCRE2_ZERO_TERMINATED, opts,
			       &errcode, &erroff, NULL);
	if (!ru->re) {
		PCRE2_UCHAR msg[256];
		size_t col;
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		/* erroff counts pattern bytes; escapes removed from \/ shift it
		 * slightly, which is fine for pointing a human at the spot. */
		col = ps + 1 + erroff;
		return lex_err(lx, col, err, "rule %s: bad pattern: %s", ru->name, (char *)msg);
	}
	if (jit_wanted())
		(void)pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE);
	return 0;
}

/* meta NAME EXPRESSION */
static int st_meta(struct sirt_rules *r, struct lex *lx, int local, struct sirt_err *err)
{
	size_t ns, nn, es;
	struct eparse ep = { lx, r, err, 0, 0 };
	struct node *e;
	struct rule *ru;
	int idx;
	char *name;

	nn = lex_word(lx, &ns);
	if (!valid_name(lx->s + ns, nn))
		return lex_err(lx, ns, err, "bad or missing rule name '%.*s'", (int)nn, lx->s + ns);
	lex_skip(lx);
	es = lx->pos;
	if (!lx->s[es])
		return lex_err(lx, es, err, "meta needs an expression");
	e = ep_or(&ep);
	if (!e)
		return -1;
	if (lex_end(lx, err) < 0) {
		node_free(e);
		return -1;
	}
	name = sirt_xstrndup(lx->s + ns, nn);
	idx = find_rule(r, name);
	free(name);
	if (idx >= 0) {
		redefine(r, idx, lx, local);
		ru = &r->rules[idx];
	} else {
		if (r->nrules >= RULES_MAX_RULES) {
			node_free(e);
			return lex_err(lx, ns, err, "too many rules");
		}
		ru = add_rule(r, lx->s + ns, nn, lx, local);
	}
	ru->is_meta = 1;
	ru->slot = -1;
	ru->expr = e;
	{
		size_t end = strlen(lx->s);
		const char *hash = strchr(lx->s + es, '#');
		if (hash)
			end = (size_t)(hash - lx->s);
		while (end > es && (lx->s[end - 1] == ' ' || lx->s[end - 1] == '\t'))
			end--;
		ru->expr_text = sirt_xstrndup(lx->s + es, end - es);
	}
	return 0;
}

/* Effects name a rule defined anywhere (before or after); they are kept
 * as pending statements and applied after all files are read. */
struct pending {
	char *kw;
	char *name;
	char *arg;
	const char *file;
	int line;
	size_t col;             /* of the argument */
	int local;
};

struct pend_list {
	struct pending *p;
	size_t n;
};

/* Remember an effect statement (copies its strings) to apply later. */
static void pend_add(struct pend_list *pl, const char *kw, const char *name, size_t nn,
		     const char *arg, const struct lex *lx, size_t col, int local)
{
	struct pending *p;

	pl->p = sirt_xrealloc(pl->p, (pl->n + 1) * sizeof(*pl->p));
	p = &pl->p[pl->n++];
	p->kw = sirt_xstrdup(kw);
	p->name = sirt_xstrndup(name, nn);
	p->arg = sirt_xstrdup(arg);
	p->file = lx->file;
	p->line = lx->line;
	p->col = col;
	p->local = local;
}

static void pend_release(struct pend_list *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++) {
		free(pl->p[i].kw);
		free(pl->p[i].name);
		free(pl->p[i].arg);
	}
	free(pl->p);
	pl->p = NULL;
	pl->n = 0;
}

/* The rest of the line without a trailing comment or blanks. */
static char *rest_of_line(struct lex *lx, int keep_hash)
{
	size_t end, st;

	lex_skip(lx);
	st = lx->pos;
	end = strlen(lx->s);
	if (!keep_hash) {
		const char *h = strchr(lx->s + st, '#');
		if (h)
			end = (size_t)(h - lx->s);
	}
	while (end > st && (lx->s[end - 1] == ' ' || lx->s[end - 1] == '\t'))
		end--;
	lx->pos = strlen(lx->s);
	return sirt_xstrndup(lx->s + st, end - st);
}

/* score/severity/cap/tag/describe/disable NAME ARGS: syntax-check now,
 * apply later. */
static int st_effect(struct sirt_rules *r, struct lex *lx, const char *kw, int local,
		     struct pend_list *pl, struct sirt_err *err)
{
	size_t ns, nn, as, an;
	char *arg;
	double v;
	enum sirt_severity sv;

	(void)r;
	nn = lex_word(lx, &ns);
	if (nn == 0)
		return lex_err(lx, ns, err, "%s needs a rule name", kw);
	if (!valid_name(lx->s + ns, nn))
		return lex_err(lx, ns, err, "bad rule name '%.*s'", (int)nn, lx->s + ns);
	lex_skip(lx);
	as = lx->pos;
	if (strcmp(kw, "disable") == 0) {
		if (lex_end(lx, err) < 0)
			return -1;
		pend_add(pl, kw, lx->s + ns, nn, "", lx, as, local);
		return 0;
	}
	arg = rest_of_line(lx, strcmp(kw, "describe") == 0);
	an = strlen(arg);
	if (an == 0) {
		free(arg);
		return lex_err(lx, as, err, "%s %.*s needs a value", kw, (int)nn, lx->s + ns);
	}
	if (strcmp(kw, "score") == 0 && parse_num(arg, an, &v) < 0) {
		free(arg);
		return lex_err(lx, as, err, "bad score (a number such as 2.5 or -1)");
	}
	if ((strcmp(kw, "severity") == 0 || strcmp(kw, "cap") == 0) &&
	    parse_sev(arg, an, &sv, 1) < 0) {
		free(arg);
		return lex_err(lx, as, err, "bad severity (P1, P2, P3, P4 or none)");
	}
	if (strcmp(kw, "tag") == 0) {
		size_t i;
		for (i = 0; i < an; i++) {
			unsigned char c = (unsigned char)arg[i];
			if (!(isalnum(c) || c == '-' || c == '_' || c == ':' || c == '.' || c == ' ' || c == '\t')) {
				free(arg);
				return lex_err(lx, as + i, err, "bad character in tag");
			}
		}
	}
	pend_add(pl, kw, lx->s + ns, nn, arg, lx, as, local);
	free(arg);
	return 0;
}

/* Global settings: category TAG..., threshold P2|P3 N, default Pn. */
static int st_setting(struct sirt_rules *r, struct lex *lx, const char *kw, struct sirt_err *err)
{
	size_t s1, n1, s2, n2;
	enum sirt_severity sv;
	double v;

	if (strcmp(kw, "category") == 0) {
		while ((n1 = lex_word(lx, &s1)) > 0) {
			if (lx->s[s1] == '#')
				break;
			r->categories = sirt_xrealloc(r->categories,
						      (r->ncategories + 1) * sizeof(char *));
			r->categories[r->ncategories++] = sirt_xstrndup(lx->s + s1, n1);
		}
		return 0;
	}
	n1 = lex_word(lx, &s1);
	if (strcmp(kw, "default") == 0) {
		if (parse_sev(lx->s + s1, n1, &sv, 0) < 0)
			return lex_err(lx, s1, err, "bad severity (P1..P4)");
		r->dflt = sv;
		return lex_end(lx, err);
	}
	/* threshold */
	if (parse_sev(lx->s + s1, n1, &sv, 0) < 0 || (sv != SIRT_SEV_P2 && sv != SIRT_SEV_P3))
		return lex_err(lx, s1, err, "threshold is for P2 or P3");
	n2 = lex_word(lx, &s2);
	if (parse_num(lx->s + s2, n2, &v) < 0)
		return lex_err(lx, s2, err, "bad threshold (a number)");
	r->threshold[sv] = v;
	return lex_end(lx, err);
}

/* Parse one file's text into r.  name is used in messages. */
static int parse_text(struct sirt_rules *r, const char *name, const char *text, size_t len,
		      int local, struct pend_list *pl, struct sirt_err *err)
{
	struct lex lx;
	size_t off = 0, kn, ks;
	char *line = NULL, kw[16];
	int lineno = 0, rc = 0;
	const char *fname;

	r->files = sirt_xrealloc(r->files, (r->nfiles + 1) * sizeof(char *));
	r->files[r->nfiles] = sirt_xstrdup(name);
	fname = r->files[r->nfiles++];
	if (memchr(text, 0, len))
		return sirt_err_set(err, SIRT_E_BADMSG, "%s: contains a NUL byte", name);
	if (!sirt_utf8_valid(text, len))
		return sirt_err_set(err, SIRT_E_BADMSG, "%s: not valid UTF-8", name);
	while (off < len && rc == 0) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;

		lineno++;
		if (ll > LINE_MAX_LEN) {
			rc = sirt_err_set(err, SIRT_E_BADMSG, "%s:%d:1: line longer than %d bytes",
					  fname, lineno, LINE_MAX_LEN);
			break;
		}
		free(line);
		line = sirt_xstrndup(text + off, ll);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = 0;
		off += ll + (nl ? 1 : 0);
		memset(&lx, 0, sizeof(lx));
		lx.file = fname;
		lx.line = lineno;
		lx.s = line;
		kn = lex_word(&lx, &ks);
		if (kn == 0 || line[ks] == '#')
			continue;
		if (kn >= sizeof(kw)) {
			rc = lex_err(&lx, ks, err, "unknown statement '%.*s'", (int)kn, line + ks);
			break;
		}
		memcpy(kw, line + ks, kn);
		kw[kn] = 0;
		if (strcmp(kw, "rule") == 0)
			rc = st_rule(r, &lx, local, err);
		else if (strcmp(kw, "meta") == 0)
			rc = st_meta(r, &lx, local, err);
		else if (strcmp(kw, "score") == 0 || strcmp(kw, "severity") == 0 ||
			 strcmp(kw, "cap") == 0 || strcmp(kw, "tag") == 0 ||
			 strcmp(kw, "describe") == 0 || strcmp(kw, "disable") == 0)
			rc = st_effect(r, &lx, kw, local, pl, err);
		else if (strcmp(kw, "category") == 0 || strcmp(kw, "threshold") == 0 ||
			 strcmp(kw, "default") == 0)
			rc = st_setting(r, &lx, kw, err);
		else
			rc = lex_err(&lx, ks, err, "unknown statement '%s' (rule, meta, score, "
				     "severity, cap, tag, describe, disable, category, threshold, default)", kw);
	}
	free(line);
	return rc;
}

/* ---- linking and checks ------------------------------------------- */

/* Add tag t (n bytes) to the rule unless it is there already. */
static void add_tag(struct rule *ru, const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < ru->ntags; i++)
		if (strlen(ru->tags[i]) == n && strncmp(ru->tags[i], t, n) == 0)
			return;
	ru->tags = sirt_xrealloc(ru->tags, (ru->ntags + 1) * sizeof(char *));
	ru->tags[ru->ntags++] = sirt_xstrndup(t, n);
}

/* Apply the effect statements in file order (later ones override
 * earlier ones); effects for unknown rules are warnings. */
static void apply_pending(struct sirt_rules *r, struct pend_list *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++) {
		struct pending *p = &pl->p[i];
		int idx = find_rule(r, p->name);
		struct rule *ru;

		if (idx < 0) {
			warnf(r, "%s:%d: %s for unknown rule %s", p->file, p->line, p->kw, p->name);
			continue;
		}
		ru = &r->rules[idx];
		if (strcmp(p->kw, "score") == 0) {
			ru->score = strtod(p->arg, NULL);
		} else if (strcmp(p->kw, "severity") == 0) {
			parse_sev(p->arg, strlen(p->arg), &ru->floor, 1);
		} else if (strcmp(p->kw, "cap") == 0) {
			parse_sev(p->arg, strlen(p->arg), &ru->cap, 1);
		} else if (strcmp(p->kw, "describe") == 0) {
			free(ru->describe);
			ru->describe = sirt_xstrdup(p->arg);
		} else if (strcmp(p->kw, "disable") == 0) {
			ru->disabled = 1;
		} else if (strcmp(p->kw, "tag") == 0) {
			const char *s = p->arg;
			while (*s) {
				size_t n;
				while (*s == ' ' || *s == '\t')
					s++;
				n = strcspn(s, " \t");
				if (n)
					add_tag(ru, s, n);
				s += n;
			}
		}
	}
}

/* Resolve names in a meta expression; unknown names become warnings
 * and evaluate false. */
static void resolve(struct sirt_rules *r, int self, struct node *n)
{
	struct rule *me = &r->rules[self];
	size_t i;

	if (!n)
		return;
	resolve(r, self, n->a);
	resolve(r, self, n->b);
	if (n->kind == N_UNKNOWN) {
		int idx = find_rule(r, n->name), f;
		if (idx >= 0) {
			n->kind = N_RULE;
			n->idx = idx;
			r->rules[idx].used = 1;
			if (r->rules[idx].disabled)
				warnf(r, "%s:%d: meta %s uses disabled rule %s (always false)",
				      me->file, me->line, me->name, n->name);
		} else if ((f = find_fact(n->name)) >= 0) {
			n->kind = N_FACT;
			n->idx = f;
		} else {
			warnf(r, "%s:%d: meta %s uses unknown rule %s (always false)",
			      me->file, me->line, me->name, n->name);
		}
	} else if (n->kind == N_HITS) {
		for (i = 0; i < r->nrules; i++) {
			if ((int)i == self || fnmatch(n->name, r->rules[i].name, 0) != 0)
				continue;
			n->list = sirt_xrealloc(n->list, (n->nlist + 1) * sizeof(int));
			n->list[n->nlist++] = (int)i;
			r->rules[i].used = 1;
		}
		if (n->nlist == 0)
			warnf(r, "%s:%d: meta %s: hits(%s) matches no rule",
			      me->file, me->line, me->name, n->name);
	}
}

/* Depth-first search for cycles among metas; color: 0 white, 1 grey, 2 black. */
static int cycle_dfs(struct sirt_rules *r, int i, unsigned char *color, struct sirt_err *err);

static int cycle_node(struct sirt_rules *r, const struct node *n, unsigned char *color,
		      struct sirt_err *err)
{
	size_t i;

	if (!n)
		return 0;
	if (cycle_node(r, n->a, color, err) < 0 || cycle_node(r, n->b, color, err) < 0)
		return -1;
	if (n->kind == N_RULE)
		return cycle_dfs(r, n->idx, color, err);
	if (n->kind == N_HITS)
		for (i = 0; i < n->nlist; i++)
			if (cycle_dfs(r, n->list[i], color, err) < 0)
				return -1;
	return 0;
}

static int cycle_dfs(struct sirt_rules *r, int i, unsigned char *color, struct sirt_err *err)
{
	struct rule *ru = &r->rules[i];

	if (!ru->is_meta || color[i] == 2)
		return 0;
	if (color[i] == 1)
		return sirt_err_set(err, SIRT_E_BADMSG, "%s:%d:1: meta %s depends on itself",
				    ru->file, ru->line, ru->name);
	color[i] = 1;
	if (cycle_node(r, ru->expr, color, err) < 0)
		return -1;
	color[i] = 2;
	return 0;
}

/* Collect the distinct rule atoms of a purely boolean expression; returns
 * -1 if it has numbers, facts or counts (not checked). */
static int bool_atoms(const struct node *n, int *atoms, size_t *na, size_t max)
{
	size_t i;

	if (!n)
		return 0;
	switch (n->kind) {
	case N_RULE:
		for (i = 0; i < *na; i++)
			if (atoms[i] == n->idx)
				return 0;
		if (*na >= max)
			return -1;
		atoms[(*na)++] = n->idx;
		return 0;
	case N_UNKNOWN:
		return 0;
	case N_NOT:
		return bool_atoms(n->a, atoms, na, max);
	case N_AND: case N_OR:
		if (bool_atoms(n->a, atoms, na, max) < 0)
			return -1;
		return bool_atoms(n->b, atoms, na, max);
	default:
		return -1;
	}
}

/* Evaluate a boolean meta with its atoms set from the bits of mask
 * (used to find metas that can never fire). */
static int bool_eval(const struct sirt_rules *r, const struct node *n, const int *atoms,
		     size_t na, unsigned mask)
{
	size_t i;

	switch (n->kind) {
	case N_RULE:
		if (r->rules[n->idx].disabled)
			return 0;
		for (i = 0; i < na; i++)
			if (atoms[i] == n->idx)
				return (mask >> i) & 1;
		return 0;
	case N_UNKNOWN: return 0;
	case N_NOT: return !bool_eval(r, n->a, atoms, na, mask);
	case N_AND: return bool_eval(r, n->a, atoms, na, mask) && bool_eval(r, n->b, atoms, na, mask);
	case N_OR: return bool_eval(r, n->a, atoms, na, mask) || bool_eval(r, n->b, atoms, na, mask);
	default: return 1;
	}
}

/* Warn about rules that can never fire or never matter. */
static void check_rules(struct sirt_rules *r)
{
	size_t i;

	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		int sub = ru->is_sub;
		int atoms[16];
		size_t na = 0;

		if (ru->disabled)
			continue;
		if (sub && !ru->used)
			warnf(r, "%s:%d: %s is a sub-rule (__) that no meta uses: it can never matter",
			      ru->file, ru->line, ru->name);
		if (sub && (ru->score != 0 || ru->floor || ru->cap || ru->ntags))
			warnf(r, "%s:%d: %s is a sub-rule (__): its effects are ignored",
			      ru->file, ru->line, ru->name);
		if (!sub && ru->score == 0 && !ru->floor && !ru->cap && !ru->ntags && !ru->describe && !ru->used)
			warnf(r, "%s:%d: rule %s has no effect (no score, severity, cap, tag or describe)",
			      ru->file, ru->line, ru->name);
		if (ru->is_meta && bool_atoms(ru->expr, atoms, &na, 16) == 0) {
			unsigned m, any = 0;
			for (m = 0; m < (1u << na) && !any; m++)
				any = (unsigned)bool_eval(r, ru->expr, atoms, na, m);
			if (!any)
				warnf(r, "%s:%d: meta %s can never fire (%s)",
				      ru->file, ru->line, ru->name, ru->expr_text);
		}
	}
}

/* The first tag of the rule that the set declares a category. */
static void set_categories(struct sirt_rules *r)
{
	size_t i, j, k;

	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		ru->category = NULL;
		for (j = 0; j < ru->ntags && !ru->category; j++)
			for (k = 0; k < r->ncategories; k++)
				if (strcmp(ru->tags[j], r->categories[k]) == 0) {
					ru->category = ru->tags[j];
					break;
				}
	}
}

/* ---- prefilter ---------------------------------------------------- */

#ifdef SIRT_HAVE_HYPERSCAN
/* Widening a PCRE2 pattern into one Hyperscan compiles quickly and that
 * matches at least everything the PCRE2 pattern matches (a superset is
 * all a prefilter needs; PCRE2 confirms).  Hyperscan in UTF-8 mode with
 * Unicode properties (UCP) takes seconds to minutes on patterns with
 * \w repeats and bounded repeats, so instead:
 *   - \w \d \s become ASCII classes plus every non-ASCII character,
 *     \W \D \S \p{..} \h \v become "any character";
 *   - non-ASCII letters become "any non-ASCII character" when caseless
 *     (Unicode case folding is then not needed), but for the Kelvin
 *     sign and the long s, which PCRE2 matches to k and s;
 *   - \b \B \K and lookarounds are dropped (assertions only narrow);
 *   - bounded repeats {m,n} with n - m > 8 become {m,};
 *   - atomic groups and possessive quantifiers become plain ones,
 *     named groups become non-capturing, backreferences match anything.
 * Returns -1 for what it does not know (the pattern then always runs in
 * PCRE2). */
#define HS_ANY     "[\\s\\S]"
#define HS_WORD    "[^\\x00-\\x2f\\x3a-\\x40\\x5b-\\x5e\\x60\\x7b-\\x7f]"
#define HS_DIGIT   "[^\\x00-\\x2f\\x3a-\\x7f]"
#define HS_SPACE   "[^\\x00-\\x08\\x0e-\\x1f\\x21-\\x7f]"
#define HS_NONASCII "[^\\x00-\\x7f]"

/* Index of the ']' closing the class that starts at p[i] == '[' (n if
 * unclosed); a ']' right after '[' or "[^" is a member. */
static size_t class_end(const char *p, size_t n, size_t i)
{
	size_t j = i + 1;

	if (j < n && p[j] == '^')
		j++;
	if (j < n && p[j] == ']')
		j++;
	for (; j < n && p[j] != ']'; j++)
		if (p[j] == '\\')
			j++;
	return j < n ? j : n;
}

/* Index just past the group that starts at p[i] == '(' (-1 if none). */
static long group_end(const char *p, size_t n, size_t i)
{
	int depth = 0, cls = 0;

	for (; i < n; i++) {
		char c = p[i];
		if (c == '\\') {
			i++;
			continue;
		}
		if (cls) {
			if (c == ']')
				cls = 0;
			continue;
		}
		if (c == '[') {
			cls = 1;
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return (long)i + 1;
	}
	return -1;
}

/* Rewrite the character class starting at p[*ip] == '[' into out (see
 * hs_rewrite); *ip is left on its closing ']'. -1 if not understood. */
static int hs_rewrite_class(const char *p, size_t n, size_t *ip, int caseless,
			    struct sirt_buf *out)
{
	size_t i = *ip + 1;
	int neg = 0, any = 0;
	struct sirt_buf body = SIRT_BUF_INIT;

	sirt_buf_init(&body);
	if (i < n && p[i] == '^') {
		neg = 1;
		i++;
	}
	if (i < n && p[i] == ']') {
		sirt_buf_adds(&body, "\\]");
		i++;
	}
	for (; i < n && p[i] != ']'; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '[' && i + 1 < n && p[i + 1] == ':') {
			/* POSIX class: any character (superset) */
			const char *e = strstr(p + i, ":]");
			if (!e)
				goto bad;
			any = 1;
			i = (size_t)(e - p) + 1;
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			char e = p[i + 1];
			i++;
			if (e == 'w')
				sirt_buf_adds(&body, neg ? "\\w" : "0-9A-Za-z_\\x{80}-\\x{10FFFF}");
			else if (e == 'd')
				sirt_buf_adds(&body, neg ? "\\d" : "0-9\\x{80}-\\x{10FFFF}");
			else if (e == 's')
				sirt_buf_adds(&body, neg ? "\\s" : "\\t-\\r \\x{80}-\\x{10FFFF}");
			else if (strchr("WDSpPhHvVNRX", e))
				any = 1;
			else if (e == 'x' && i + 1 < n && p[i + 1] == '{') {
				const char *cb = memchr(p + i, '}', n - i);
				if (!cb)
					goto bad;
				if (strtoul(p + i + 2, NULL, 16) > 0x7f && caseless)
					any = 1;
				sirt_buf_add(&body, p + i - 1, (size_t)(cb - (p + i - 1)) + 1);
				i = (size_t)(cb - p);
			} else if (isalnum((unsigned char)e) && !strchr("tnrfaex", e)) {
				goto bad;
			} else {
				sirt_buf_addc(&body, '\\');
				sirt_buf_addc(&body, e);
			}
			continue;
		}
		if (c >= 0x80 && caseless && !neg)
			any = 1;
		sirt_buf_addc(&body, (char)c);
	}
	if (i >= n)
		goto bad;
	*ip = i;
	if (any)
		sirt_buf_adds(out, HS_ANY);
	else
		sirt_buf_addf(out, "[%s%s]", neg ? "^" : "", body.data);
	sirt_buf_release(&body);
	return 0;
bad:
	sirt_buf_release(&body);
	return -1;
}

/* True if whatever p[i..n) matches starts with an ASCII word character
 * (a letter, digit or '_' that is not optional, or a group whose every
 * alternative does).  A \b next to such a character holds in PCRE2's
 * Unicode sense exactly when the other side is not a word character;
 * Hyperscan's ASCII \b then holds too (a non-ASCII letter counts as a
 * non-word byte there: more matches, never fewer), so the prefilter may
 * keep it.  Caseless k and s are out: they also match the Kelvin sign
 * and the long s, which are not ASCII. */
static int hs_word_start(const char *p, size_t n, size_t i, int caseless, int depth)
{
	unsigned char c;
	long e;
	size_t j, k;
	int d = 0;

	if (i >= n || depth > 8)
		return 0;
	c = (unsigned char)p[i];
	if (isalnum(c) || c == '_') {
		if (caseless && strchr("kKsS", c))
			return 0;
		return !(i + 1 < n && (p[i + 1] == '?' || p[i + 1] == '*' ||
				       (p[i + 1] == '{' && i + 2 < n && p[i + 2] == '0')));
	}
	if (c != '(' || (e = group_end(p, n, i)) < 0)
		return 0;
	if ((size_t)e < n && (p[e] == '?' || p[e] == '*' ||
			      (p[e] == '{' && (size_t)e + 1 < n && p[e + 1] == '0')))
		return 0;
	j = i + 1;
	if (p[j] == '?') {
		if (p[j + 1] != ':')
			return 0;
		j += 2;
	}
	if (!hs_word_start(p, (size_t)e - 1, j, caseless, depth + 1))
		return 0;
	for (k = j; k < (size_t)e - 1; k++) {
		char ch = p[k];
		if (ch == '\\') {
			k++;
		} else if (ch == '[') {
			k = class_end(p, (size_t)e - 1, k);
		} else if (ch == '(') {
			d++;
		} else if (ch == ')') {
			d--;
		} else if (ch == '|' && d == 0 &&
			   !hs_word_start(p, (size_t)e - 1, k + 1, caseless, depth + 1)) {
			return 0;
		}
	}
	return 1;
}

/* Parse the quantifier at p[*qe] (if any) into qmin/qmax (-1: no upper
 * bound); *qe moves past it and a lazy or possessive mark. */
static void pf_quant(const char *p, size_t n, size_t *qe, long *qmin, long *qmax)
{
	size_t q = *qe;

	*qmin = *qmax = 1;
	if (q < n && (p[q] == '*' || p[q] == '+' || p[q] == '?')) {
		*qmin = p[q] == '+' ? 1 : 0;
		*qmax = p[q] == '?' ? 1 : -1;
		q++;
	} else if (q < n && p[q] == '{') {
		char *e1, *e2;
		long m = strtol(p + q + 1, &e1, 10), mx;
		if (e1 != p + q + 1 && *e1 == '}') {
			*qmin = *qmax = m;
			q = (size_t)(e1 - p) + 1;
		} else if (e1 != p + q + 1 && *e1 == ',' && e1[1] == '}') {
			*qmin = m;
			*qmax = -1;
			q = (size_t)(e1 - p) + 2;
		} else if (e1 != p + q + 1 && *e1 == ',' &&
			   (mx = strtol(e1 + 1, &e2, 10), e2 != e1 + 1 && *e2 == '}')) {
			*qmin = m;
			*qmax = mx;
			q = (size_t)(e2 - p) + 1;
		}
	}
	if (q > *qe && q < n && (p[q] == '?' || p[q] == '+'))
		q++;
	*qe = q;
}

/* The value of the hex digits (at most two) at p[i], *k of them. */
static unsigned long hex2(const char *p, size_t n, size_t i, size_t *k)
{
	char hex[3] = { 0, 0, 0 };

	for (*k = 0; *k < 2 && i + *k < n && isxdigit((unsigned char)p[i + *k]); (*k)++)
		hex[*k] = p[i + *k];
	return strtoul(hex, NULL, 16);
}

/* True if the pattern turns caseless matching on inside: an option
 * group such as (?i) or (?si:...) ("i" before any "-"). */
static int inline_caseless(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (p[0] == '(' && p[1] == '?') {
			const char *q = p + 2;
			while (*q && (isalpha((unsigned char)*q) || *q == '^')) {
				if (*q == 'i')
					return 1;
				q++;
			}
		}
	}
	return 0;
}

/* What a caseless non-ASCII character becomes: any non-ASCII one, but
 * for the two whose case folding reaches ASCII (PCRE2 matches the Kelvin
 * sign to k and K, the long s to s and S); Hyperscan's caseless UTF-8
 * k and s match them back. */
static const char *hs_caseless(unsigned long cp)
{
	return cp == 0x212A ? "k" : cp == 0x17F ? "s" : HS_NONASCII;
}

static int hs_rewrite(const char *p, int caseless, struct sirt_buf *out)
{
	size_t n = strlen(p), i;
	int word = 0;           /* the last item was a plain ASCII word character */

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int after_word = word;

		word = 0;
		if (c == '\\') {
			char e;
			if (i + 1 >= n)
				return -1;
			e = p[++i];
			switch (e) {
			case 'b':
				/* kept where PCRE2's Unicode \\b and Hyperscan's
				 * ASCII one agree on the texts that match (see
				 * hs_word_start); dropped (superset) elsewhere */
				if (hs_word_start(p, n, i + 1, caseless, 0) || after_word)
					sirt_buf_adds(out, "\\b");
				break;
			case 'B': case 'K':
				break;
			case 'w': sirt_buf_adds(out, HS_WORD); break;
			case 'd': sirt_buf_adds(out, HS_DIGIT); break;
			case 's': sirt_buf_adds(out, HS_SPACE); break;
			case 'W': case 'D': case 'S': case 'h': case 'H': case 'v': case 'V':
				sirt_buf_adds(out, HS_ANY);
				break;
			case 'N':
				/* any character but a newline, or \N{U+hh..} */
				if (i + 1 < n && p[i + 1] == '{') {
					const char *cb = strchr(p + i, '}');
					if (!cb)
						return -1;
					i = (size_t)(cb - p);
				}
				sirt_buf_adds(out, HS_ANY);
				break;
			case 'p': case 'P':
				if (i + 1 < n && p[i + 1] == '{') {
					const char *cb = strchr(p + i, '}');
					if (!cb)
						return -1;
					i = (size_t)(cb - p);
				} else {
					i++;
				}
				sirt_buf_adds(out, HS_ANY);
				break;
			case 'x':
				if (i + 1 < n && p[i + 1] == '{') {
					const char *cb = strchr(p + i, '}');
					if (!cb)
						return -1;
					unsigned long cp = strtoul(p + i + 2, NULL, 16);
					if (cp > 0x7f && caseless)
						sirt_buf_adds(out, hs_caseless(cp));
					else
						sirt_buf_add(out, p + i - 1, (size_t)(cb - (p + i - 1)) + 1);
					i = (size_t)(cb - p);
				} else {
					/* \xhh: a code point in UTF mode */
					size_t k;
					unsigned long cp = hex2(p, n, i + 1, &k);
					if (cp > 0x7f && caseless)
						sirt_buf_adds(out, HS_NONASCII);
					else
						sirt_buf_add(out, p + i - 1, k + 2);
					i += k;
				}
				break;
			case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			case '8': case '9': case 'g': case 'k':
				if (e == 'g' || e == 'k') {
					/* \g{..} \k<..> \k{..} \k'..' \gN */
					if (i + 1 < n && strchr("{<'", p[i + 1])) {
						char close = p[i + 1] == '{' ? '}' : p[i + 1] == '<' ? '>' : '\'';
						const char *cb = strchr(p + i + 2, close);
						if (!cb)
							return -1;
						i = (size_t)(cb - p);
					} else {
						while (i + 1 < n && (isdigit((unsigned char)p[i + 1]) || p[i + 1] == '-'))
							i++;
					}
				} else {
					while (i + 1 < n && isdigit((unsigned char)p[i + 1]))
						i++;
				}
				sirt_buf_adds(out, "(?:" HS_ANY "*)");
				break;
			case 'A': case 'z': case 'Z': case 't': case 'n': case 'r': case 'f':
			case 'e': case 'a':
				sirt_buf_addc(out, '\\');
				sirt_buf_addc(out, e);
				break;
			default:
				if (isalnum((unsigned char)e))
					return -1;  /* \Q \E \G \R \X \c \o ...: leave to PCRE2 */
				sirt_buf_addc(out, '\\');
				sirt_buf_addc(out, e);
			}
			continue;
		}
		if (c == '[') {
			if (hs_rewrite_class(p, n, &i, caseless, out) < 0)
				return -1;
			continue;
		}
		if (c == '(' && i + 1 < n && p[i + 1] == '?') {
			const char *q = p + i + 2;
			if (*q == '=' || *q == '!' || (*q == '<' && (q[1] == '=' || q[1] == '!'))) {
				long e = group_end(p, n, i);
				if (e < 0)
					return -1;
				i = (size_t)e - 1;
				/* a quantifier on a dropped assertion: drop it too */
				{
					size_t qe = i + 1;
					long qmin, qmax;
					pf_quant(p, n, &qe, &qmin, &qmax);
					i = qe - 1;
				}
				continue;
			}
			if (*q == ':' || *q == '>' || *q == '|') {
				if (*q == '|')
					return -1;
				sirt_buf_adds(out, "(?:");
				i += 2;
				continue;
			}
			if (*q == '<' || *q == '\'' || (*q == 'P' && q[1] == '<')) {
				const char *close = strchr(q, *q == '\'' ? '\'' : '>');
				if (*q == '\'')
					close = strchr(q + 1, '\'');
				if (!close)
					return -1;
				sirt_buf_adds(out, "(?:");
				i = (size_t)(close - p);
				continue;
			}
			if (*q == '#' || *q == '(' || *q == 'R' || *q == '&' || *q == 'C' ||
			    isdigit((unsigned char)*q) || *q == '+' || *q == '-' || *q == 'P')
				return -1;
			/* inline options (?i) (?s-m:...) : keep, x is not supported */
			{
				size_t j = i + 2;
				while (j < n && (isalpha((unsigned char)p[j]) || p[j] == '-')) {
					if (p[j] == 'x' || p[j] == 'J' || p[j] == 'U' || p[j] == 'n')
						return -1;
					j++;
				}
			}
			sirt_buf_addc(out, '(');
			continue;
		}
		if (c == '(' && i + 1 < n && p[i + 1] == '*')
			return -1;  /* (*VERB) */
		if (c == '{') {
			/* {m,n} with a wide range: unbounded */
			char *end;
			unsigned long m = strtoul(p + i + 1, &end, 10), mx;
			if (end != p + i + 1 && *end == ',' && isdigit((unsigned char)end[1])) {
				char *end2;
				mx = strtoul(end + 1, &end2, 10);
				if (*end2 == '}' && mx >= m && mx - m > 8) {
					sirt_buf_addf(out, "{%lu,}", m);
					i = (size_t)(end2 - p);
					if (i + 1 < n && p[i + 1] == '+')
						i++;
					continue;
				}
			}
			sirt_buf_addc(out, '{');
			continue;
		}
		if ((c == '+' || c == '*' || c == '?' || c == '}') && i + 1 < n && p[i + 1] == '+') {
			/* possessive: plain */
			sirt_buf_addc(out, (char)c);
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
			unsigned cp = 0x80;
			if (caseless) {
				(void)sirt_utf8_decode((const unsigned char *)p + i, n - i, &cp);
				sirt_buf_adds(out, hs_caseless(cp));
			} else {
				sirt_buf_add(out, p + i, len);
			}
			i += len - 1;
			continue;
		}
		word = (isalnum(c) || c == '_') && !(caseless && strchr("kKsS", c));
		sirt_buf_addc(out, (char)c);
	}
	return 0;
}

/* ---- the prefilter's split: long gaps become a logical AND ---------
 *
 * Hyperscan is fast on literals and small automata, and slow on a
 * pattern such as "A.{0,200}B.{0,80}C": it must carry "A seen" and "A
 * then B seen" from byte to byte (35 times the cost of A, B and C
 * scanned on their own, measured on reports full of the trigger words).
 * A prefilter only has to be a superset of the real matches, so each
 * branch (already in Hyperscan's syntax, see hs_rewrite) is cut at
 * every long gap -- an unbounded repeat of any character, of a negated
 * class or of a group, or an optional run of any character -- into
 * pieces; the pieces become Hyperscan patterns of their own and the
 * branch a formula over them: pieces ANDed, alternatives ORed.  A text
 * the branch matches contains every piece of one of its alternatives,
 * so the formula holds whenever PCRE2 can match; PCRE2 stays the judge.
 * An optional group with such a gap inside, "(?:\w+ ){0,3}" or "(?:\S+
 * )?", is a gap too: it can stand for any text.  (Kept inside a piece,
 * it made the body-unquoted database 27% slower to scan over 4.5 KB
 * reports; the shorter pieces it leaves cost no more PCRE2 runs than
 * that over the labelled reports, make bench's set, same run.) */

enum { PF_TRUE, PF_LEAF, PF_AND, PF_OR };

struct pf_node {
	int op;
	int lit;                /* PF_LEAF: text is a plain string */
	size_t q;               /* PF_LEAF, a pattern: its quality (see pf_quality) */
	size_t id;              /* PF_LEAF: its number (see pf_number) */
	char *text;             /* PF_LEAF: the piece */
	struct pf_node *a, *b;
};

static struct pf_node *pf_mk(int op, struct pf_node *a, struct pf_node *b)
{
	struct pf_node *n = sirt_xcalloc(1, sizeof(*n));

	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

static void pf_free(struct pf_node *n)
{
	if (!n)
		return;
	pf_free(n->a);
	pf_free(n->b);
	free(n->text);
	free(n);
}

static struct pf_node *pf_and(struct pf_node *a, struct pf_node *b)
{
	if (!a || a->op == PF_TRUE) {
		pf_free(a);
		return b;
	}
	if (!b || b->op == PF_TRUE) {
		pf_free(b);
		return a;
	}
	return pf_mk(PF_AND, a, b);
}

static struct pf_node *pf_or(struct pf_node *a, struct pf_node *b)
{
	if (!a)
		return b;
	if (a->op == PF_TRUE || b->op == PF_TRUE) {
		pf_free(a);
		pf_free(b);
		return pf_mk(PF_TRUE, NULL, NULL);
	}
	return pf_mk(PF_OR, a, b);
}

/* Index just past the atom at p[i] (a group, a class, an escape, a
 * character); 0 if not understood. */
static size_t pf_atom_end(const char *p, size_t n, size_t i)
{
	unsigned char c = (unsigned char)p[i];

	if (c == '(') {
		long e = group_end(p, n, i);
		return e < 0 ? 0 : (size_t)e;
	}
	if (c == '[') {
		size_t j = class_end(p, n, i);
		return j < n ? j + 1 : 0;
	}
	if (c == '\\') {
		if (i + 1 >= n)
			return 0;
		if (p[i + 1] == 'x' && i + 2 < n && p[i + 2] == '{') {
			const char *cb = memchr(p + i, '}', n - i);
			return cb ? (size_t)(cb - p) + 1 : 0;
		}
		if (p[i + 1] == 'x') {
			size_t k;          /* \xhh: up to two hex digits */
			(void)hex2(p, n, i + 2, &k);
			return i + 2 + k;
		}
		return i + 2;
	}
	if (c >= 0xC0)
		return i + ((c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4);
	return i + 1;
}

struct pf_state {
	int bad;                /* not understood: no split */
	int gaps;               /* gaps cut so far */
};


/* The fewest bytes a piece (alternatives up to ')' or the end) can
 * match. */
static size_t pf_minlen(const char *p, size_t n, size_t *ip)
{
	size_t best = (size_t)-1, cur = 0, i = *ip;

	while (i < n && p[i] != ')') {
		size_t ae, qe, m;
		long qmin, qmax;
		if (p[i] == '|') {
			best = cur < best ? cur : best;
			cur = 0;
			i++;
			continue;
		}
		ae = pf_atom_end(p, n, i);
		if (ae == 0 || ae > n)
			break;
		if (p[i] == '(') {
			size_t j = i + 1;
			if (p[j] == '?')
				j += 2;
			m = pf_minlen(p, ae - 1, &j);
		} else if (p[i] == '^' || p[i] == '$' ||
			   (p[i] == '\\' && strchr("AzZbB", p[i + 1]))) {
			m = 0;
		} else if (p[i] == '\\' || p[i] == '[' || p[i] == '.') {
			m = 1;
		} else {
			m = ae - i;
		}
		qe = ae;
		pf_quant(p, n, &qe, &qmin, &qmax);
		cur += m * (size_t)(qmin > 0 ? qmin : 0);
		i = qe;
	}
	*ip = i;
	return cur < best ? cur : best;
}

/* The piece collected so far ANDed into *acc; the piece is emptied.  A
 * piece that can match fewer than PF_MIN_PIECE bytes adds nothing: one
 * that can match the empty string (optional or zero-width items only)
 * is in every text, and Hyperscan does not report it; and Vectorscan
 * 5.4.9 missed one-byte matches past the first 64 bytes of the text
 * when the pattern has HS_FLAG_SINGLEMATCH and shares its database
 * (found by fuzz_rules: "f" and "zz" over 70 bytes ending in "f zz"
 * report only "zz"). */
#define PF_MIN_PIECE 2

/* A piece being collected: its text, and where its optional ends lie.
 * Items that may match nothing (quantified {0,n}, ?, *) at either end
 * of a piece narrow nothing -- a text holds "A(?:\w+ ){0,2}" wherever it
 * holds "A" -- but cost Hyperscan automaton states at every byte, so
 * the piece that is scanned for is [lead, req_end).  Only a run of such
 * items at an end goes: "\b(?:x)?foo" keeps its "(?:x)?", since "\bfoo"
 * would miss "xfoo". */
struct pf_piece {
	struct sirt_buf b;
	size_t lead;            /* end of the leading optional items */
	size_t req_end;         /* end of the last item that is not optional */
	int required;           /* a non-optional item was added */
};

static void pf_piece_add(struct pf_piece *pc, const char *item, size_t n, int optional)
{
	sirt_buf_add(&pc->b, item, n);
	if (!optional) {
		pc->required = 1;
		pc->req_end = pc->b.len;
	} else if (!pc->required) {
		pc->lead = pc->b.len;
	}
}

/* The piece t[0..n) ANDed into *acc, if it is long enough to count. */
static void pf_leaf(const char *t, size_t n, struct pf_node **acc)
{
	size_t i = 0;

	if (n && pf_minlen(t, n, &i) >= PF_MIN_PIECE) {
		struct pf_node *l = pf_mk(PF_LEAF, NULL, NULL);
		l->text = sirt_xstrndup(t, n);
		*acc = pf_and(*acc, l);
	}
}

static void pf_flush(struct pf_piece *pc, struct pf_node **acc)
{
	if (pc->required && pc->req_end > pc->lead)
		pf_leaf(pc->b.data + pc->lead, pc->req_end - pc->lead, acc);
	sirt_buf_reset(&pc->b);
	pc->lead = pc->req_end = 0;
	pc->required = 0;
}

static struct pf_node *pf_alt(const char *p, size_t n, size_t *ip, struct pf_state *ps);

/* One branch: items up to '|' or ')' (or the end). */
static struct pf_node *pf_concat(const char *p, size_t n, size_t *ip, struct pf_state *ps)
{
	struct pf_piece piece;
	struct pf_node *acc = NULL;
	size_t i = *ip;

	memset(&piece, 0, sizeof(piece));
	sirt_buf_init(&piece.b);
	while (i < n && p[i] != '|' && p[i] != ')' && !ps->bad) {
		size_t st = i, ae = pf_atom_end(p, n, i), qe;
		long qmin, qmax;
		int wide;

		if (ae == 0 || ae > n) {
			ps->bad = 1;
			break;
		}
		if (p[i] == '(' && i + 1 < n && p[i + 1] == '?' && i + 2 < n && p[i + 2] != ':') {
			ps->bad = 1;  /* inline options: a piece would lose them */
			break;
		}
		qe = ae;
		pf_quant(p, n, &qe, &qmin, &qmax);
		i = qe;
		wide = p[st] == '.' ||
		       (p[st] == '[' && (p[st + 1] == '^' ||
					 strncmp(p + st, HS_ANY, strlen(HS_ANY)) == 0));
		if (!wide && p[st] == '(' && qmin == 0 && qmax >= 0) {
			/* an optional group with a gap inside: a gap */
			size_t j = st + 1;
			struct pf_state gs = { 0, 0 };

			if (p[j] == '?')
				j += 2;
			pf_free(pf_alt(p, ae - 1, &j, &gs));
			if (!gs.bad && gs.gaps > 0) {
				pf_flush(&piece, &acc);
				ps->gaps++;
				continue;
			}
		}
		if ((qmax < 0 && (wide || p[st] == '(')) || (qmin == 0 && qmax > 1 && wide)) {
			/* a gap: the piece ends */
			pf_flush(&piece, &acc);
			ps->gaps++;
			continue;
		}
		if (p[st] == '(' && qmin == 1 && qmax == 1) {
			/* an unquantified group: split inside it only if it
			 * has gaps of its own */
			size_t j = st + 1;
			struct pf_node *g;
			int gaps = ps->gaps;
			if (p[j] == '?')
				j += 2;
			g = pf_alt(p, ae - 1, &j, ps);
			if (ps->bad) {
				pf_free(g);
				break;
			}
			if (ps->gaps != gaps) {
				pf_flush(&piece, &acc);
				acc = pf_and(acc, g);
				continue;
			}
			pf_free(g);
		}
		pf_piece_add(&piece, p + st, qe - st, qmin == 0);
	}
	pf_flush(&piece, &acc);
	sirt_buf_release(&piece.b);
	*ip = i;
	return acc ? acc : pf_mk(PF_TRUE, NULL, NULL);
}

static struct pf_node *pf_alt(const char *p, size_t n, size_t *ip, struct pf_state *ps)
{
	struct pf_node *acc = NULL;

	for (;;) {
		acc = pf_or(acc, pf_concat(p, n, ip, ps));
		if (ps->bad || *ip >= n || p[*ip] != '|')
			break;
		(*ip)++;
	}
	return acc;
}

/* The formula of a pattern in Hyperscan syntax; NULL if it cannot be
 * split (the pattern is then used whole). */
static struct pf_node *pf_split(const char *p)
{
	size_t n = strlen(p), i = 0;
	struct pf_state ps = { 0, 0 };
	struct pf_node *f = pf_alt(p, n, &i, &ps);

	if (ps.bad || i != n) {
		pf_free(f);
		return NULL;
	}
	return f;
}

/* ---- the prefilter's literals: a piece becomes the strings it needs --
 *
 * Hyperscan scans a set of plain strings with its literal matchers, and
 * the cost of a set grows with its shortest strings: over the 4.5 KB
 * reports of make bench, the body-unquoted pieces as patterns took 20 us
 * a message; the strings they require, all of 5 bytes or more, 4.5 us.
 * So each piece (see pf_split) is read, where it can be, into a formula
 * over strings -- every text the piece matches contains every string of
 * one alternative, as in RE2's prefilter: a run of characters, small
 * classes and small alternations gives a set of exact strings (at most
 * PF_SET of them); anything wider ends the run.  A piece whose strings
 * are short (under PF_GOOD bytes) stays a pattern: as a string it would
 * cost as much and say less (no \b, no adjacency).
 *
 * The prefilter then runs in two stages.  The first scans, for every
 * message, the branch formulas pruned of their weak conjuncts (those
 * under PF_GOOD while another reaches it, else all but the best): one
 * required string is enough for a superset.  A branch that passes and
 * lost pieces to the pruning waits for its rule's second stage, a small
 * database of those pieces, scanned only then; its whole formula decides.
 * (One second stage for the whole slot cost more than it saved: 13 us
 * a scan, for a third of the 4.5 KB reports.)
 *
 * Caseless strings are matched ASCII-caseless; PCRE2 in UTF mode also
 * matches k and s to the Kelvin sign and the long s, so a first stage
 * with caseless strings also scans for those two characters and, if one
 * is in the text, runs every pattern (see prefilter). */
#define PF_SET  64
#define PF_GOOD 6

struct pf_set {
	size_t n;
	char *s[PF_SET];
};

static void pf_set_free(struct pf_set *st)
{
	while (st->n)
		free(st->s[--st->n]);
}

static void pf_set_one(struct pf_set *st, const char *s, size_t len)
{
	st->n = 1;
	st->s[0] = sirt_xstrndup(s, len);
}

static int pf_set_has(const struct pf_set *st, const char *s)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->s[i], s) == 0)
			return 1;
	return 0;
}

/* u's strings moved into st (u emptied); -1 and nothing moved if st
 * would hold more than PF_SET. */
static int pf_set_union(struct pf_set *st, struct pf_set *u)
{
	size_t i, add = 0;

	for (i = 0; i < u->n; i++)
		add += !pf_set_has(st, u->s[i]);
	if (st->n + add > PF_SET)
		return -1;
	for (i = 0; i < u->n; i++) {
		if (pf_set_has(st, u->s[i]))
			free(u->s[i]);
		else
			st->s[st->n++] = u->s[i];
	}
	u->n = 0;
	return 0;
}

/* *run followed by any string of u, if the product fits (else -1 and
 * nothing changes). */
static int pf_set_cross(struct pf_set *run, const struct pf_set *u)
{
	struct pf_set out;
	size_t i, j;

	if (run->n * u->n > PF_SET)
		return -1;
	out.n = 0;
	for (i = 0; i < run->n; i++)
		for (j = 0; j < u->n; j++) {
			struct pf_set one;
			one.n = 1;
			one.s[0] = sirt_xmalloc(strlen(run->s[i]) + strlen(u->s[j]) + 1);
			strcpy(stpcpy(one.s[0], run->s[i]), u->s[j]);
			(void)pf_set_union(&out, &one);
		}
	pf_set_free(run);
	*run = out;
	return 0;
}

/* The formula "one of st's strings" (st emptied): a string that holds
 * another is dropped (the shorter is then in the text too); TRUE if one
 * is shorter than PF_MIN_PIECE. */
static struct pf_node *pf_set_node(struct pf_set *st)
{
	struct pf_node *acc = NULL;
	size_t i, j;
	int weak = 0;

	for (i = 0; i < st->n; i++)
		if (strlen(st->s[i]) < PF_MIN_PIECE)
			weak = 1;
	for (i = 0; i < st->n && !weak; i++) {
		struct pf_node *l;
		for (j = 0; j < st->n; j++)
			if (j != i && strstr(st->s[i], st->s[j]) &&
			    (strlen(st->s[j]) < strlen(st->s[i]) || j < i))
				break;
		if (j < st->n)
			continue;
		l = pf_mk(PF_LEAF, NULL, NULL);
		l->text = sirt_xstrdup(st->s[i]);
		l->lit = 1;
		acc = pf_or(acc, l);
	}
	pf_set_free(st);
	return acc ? acc : pf_mk(PF_TRUE, NULL, NULL);
}

/* The character an escape at p[i] == '\\' stands for, its UTF-8 bytes
 * in out: the byte count; 0 for a zero-width assertion; -1 for a class
 * or anything else. *ie is set past the escape. */
static int pf_escape(const char *p, size_t n, size_t i, size_t *ie, char *out)
{
	char e = i + 1 < n ? p[i + 1] : 0;
	unsigned long c;
	char *end;

	*ie = i + 2;
	if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z' || e == 'G')
		return 0;
	if (e == 'x') {
		if (i + 2 < n && p[i + 2] == '{') {
			c = strtoul(p + i + 3, &end, 16);
			if (*end != '}' || end == p + i + 3)
				return -1;
			*ie = (size_t)(end - p) + 1;
		} else {
			size_t k;
			c = hex2(p, n, i + 2, &k);
			*ie = i + 2 + k;
		}
		if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000))
			return -1;
		return (int)sirt_utf8_encode((unsigned)c, out);
	}
	switch (e) {
	case 't': out[0] = '\t'; return 1;
	case 'n': out[0] = '\n'; return 1;
	case 'r': out[0] = '\r'; return 1;
	case 'f': out[0] = '\f'; return 1;
	case 'e': out[0] = '\033'; return 1;
	case 'a': out[0] = '\a'; return 1;
	}
	if (e && !isalnum((unsigned char)e) && (unsigned char)e < 0x80) {
		out[0] = e;
		return 1;
	}
	return -1;
}

/* The members of the class at p[i] == '[' as one-byte strings, if it is
 * not negated and has at most four ASCII members (folded when caseless);
 * 1 and *ie past it, 0 for a wider class, -1 if not understood. */
static int pf_class(const char *p, size_t n, size_t i, int ci, size_t *ie, struct pf_set *st)
{
	size_t j = i + 1, end = class_end(p, n, i);
	unsigned char seen[128];
	size_t k, cnt = 0;

	if (end >= n)
		return -1;
	*ie = end + 1;
	if (p[j] == '^')
		return 0;
	memset(seen, 0, sizeof(seen));
	while (j < end) {
		char b[4];
		unsigned lo, hi;
		size_t je;
		int bl;
		if (p[j] == '\\') {
			bl = pf_escape(p, end, j, &je, b);
			if (bl != 1)
				return 0;
		} else {
			b[0] = p[j];
			je = j + 1;
		}
		lo = (unsigned char)b[0];
		hi = lo;
		if (je + 1 < end && p[je] == '-') {
			if (p[je + 1] == '\\') {
				bl = pf_escape(p, end, je + 1, &je, b);
				if (bl != 1)
					return 0;
			} else {
				b[0] = p[je + 1];
				je += 2;
			}
			hi = (unsigned char)b[0];
		}
		if (lo >= 0x80 || hi >= 0x80 || hi < lo || hi - lo > 4 || lo == 0)
			return 0;
		for (k = lo; k <= hi; k++) {
			unsigned char c = (unsigned char)(ci ? tolower((int)k) : (int)k);
			if (!seen[c]++)
				cnt++;
		}
		j = je;
	}
	if (cnt == 0 || cnt > 4)
		return 0;
	for (k = 0; k < 128; k++)
		if (seen[k]) {
			char c = (char)k;
			struct pf_set one;
			pf_set_one(&one, &c, 1);
			(void)pf_set_union(st, &one);
		}
	return 1;
}

static int pf_lx_alt(const char *p, size_t n, size_t *ip, int ci, struct pf_set *ex,
		     struct pf_node **m, int depth);

/* A run of items up to '|' or ')': 1 with ex holding the exact strings
 * it matches, 0 with *m the formula it needs, -1 if not understood. */
static int pf_lx_concat(const char *p, size_t n, size_t *ip, int ci, struct pf_set *ex,
			struct pf_node **m, int depth)
{
	struct pf_set run;
	struct pf_node *acc = NULL;
	size_t i = *ip;
	int exact = 1;

	pf_set_one(&run, "", 0);
	while (i < n && p[i] != '|' && p[i] != ')') {
		struct pf_set it;
		struct pf_node *im = NULL;
		size_t ie, qe;
		long qmin, qmax;
		int kind;       /* 1: exact strings in it, 0: formula im */
		unsigned char c = (unsigned char)p[i];

		it.n = 0;
		if (c == '(') {
			long ge = group_end(p, n, i);
			size_t j = i + 1;
			if (ge < 0 || (p[j] == '?' && p[j + 1] != ':'))
				goto bad;
			if (p[j] == '?')
				j += 2;
			kind = pf_lx_alt(p, (size_t)ge - 1, &j, ci, &it, &im, depth + 1);
			if (kind < 0 || j != (size_t)ge - 1) {
				pf_set_free(&it);
				pf_free(im);
				goto bad;
			}
			ie = (size_t)ge;
		} else if (c == '[') {
			kind = pf_class(p, n, i, ci, &ie, &it);
			if (kind < 0)
				goto bad;
		} else if (c == '\\') {
			char b[4];
			int bl = pf_escape(p, n, i, &ie, b);
			kind = 1;
			if (bl < 0 || (ci && bl > 0 && (unsigned char)b[0] >= 0x80))
				kind = 0;       /* a class, or a caseless non-ASCII letter */
			else
				pf_set_one(&it, b, (size_t)bl);
		} else if (c == '^' || c == '$') {
			ie = i + 1;
			kind = 1;
			pf_set_one(&it, "", 0);
		} else if (c == '.' || c == '*' || c == '+' || c == '?' || c == '{') {
			if (c != '.')
				goto bad;
			ie = i + 1;
			kind = 0;
		} else if (c >= 0x80) {
			ie = pf_atom_end(p, n, i);
			if (ie == 0 || ie > n || ci)
				goto bad;
			kind = 1;
			pf_set_one(&it, p + i, ie - i);
		} else {
			char b = (char)(ci ? tolower(c) : c);
			ie = i + 1;
			kind = 1;
			pf_set_one(&it, &b, 1);
		}
		if (kind == 0 && !im)
			im = pf_mk(PF_TRUE, NULL, NULL);
		qe = ie;
		pf_quant(p, n, &qe, &qmin, &qmax);
		i = qe;
		if (qmin == 0) {
			/* optional: its strings or nothing */
			struct pf_set none;
			pf_set_one(&none, "", 0);
			if (kind == 0 || qmax != 1 || pf_set_union(&it, &none) < 0) {
				pf_set_free(&none);
				pf_set_free(&it);
				pf_free(im);
				im = pf_mk(PF_TRUE, NULL, NULL);
				kind = 0;
			}
		}
		if (kind == 0) {
			acc = pf_and(acc, pf_set_node(&run));
			acc = pf_and(acc, im);
			pf_set_one(&run, "", 0);
			exact = 0;
			continue;
		}
		if (pf_set_cross(&run, &it) == 0 && qmax == 1) {
			pf_set_free(&it);
			continue;
		}
		/* the product does not fit, or the item repeats (its first
		 * copy ends what came before, its last starts what follows):
		 * the run so far is required, and the item starts the next */
		acc = pf_and(acc, pf_set_node(&run));
		run = it;
		exact = 0;
	}
	*ip = i;
	if (exact) {
		*ex = run;
		return 1;
	}
	*m = pf_and(acc, pf_set_node(&run));
	if (!*m)
		*m = pf_mk(PF_TRUE, NULL, NULL);
	return 0;
bad:
	pf_set_free(&run);
	pf_free(acc);
	return -1;
}

static int pf_lx_alt(const char *p, size_t n, size_t *ip, int ci, struct pf_set *ex,
		     struct pf_node **m, int depth)
{
	struct pf_set u;
	struct pf_node *acc = NULL;
	int exact = 1;

	u.n = 0;
	if (depth > 16)
		return -1;
	for (;;) {
		struct pf_set e;
		struct pf_node *bm = NULL;
		int k;

		e.n = 0;
		k = pf_lx_concat(p, n, ip, ci, &e, &bm, depth);
		if (k < 0) {
			pf_set_free(&u);
			pf_free(acc);
			return -1;
		}
		if (!(k == 1 && exact && pf_set_union(&u, &e) == 0)) {
			if (exact && u.n)
				acc = pf_or(acc, pf_set_node(&u));
			exact = 0;
			acc = pf_or(acc, k == 1 ? pf_set_node(&e) : bm);
		}
		if (*ip >= n || p[*ip] != '|')
			break;
		(*ip)++;
	}
	if (exact) {
		*ex = u;
		return 1;
	}
	*m = acc;
	return 0;
}

/* A piece's formula over strings; NULL if it is not understood. */
static struct pf_node *pf_lits(const char *p, int ci)
{
	size_t n = strlen(p), i = 0;
	struct pf_set e;
	struct pf_node *m = NULL;
	int k;

	e.n = 0;
	k = pf_lx_alt(p, n, &i, ci, &e, &m, 0);
	if (k < 0 || i != n) {
		pf_set_free(&e);
		pf_free(m);
		return NULL;
	}
	return k == 1 ? pf_set_node(&e) : m;
}

/* How selective f is: its shortest string that must be found (a piece
 * left a pattern has the quality pf_to_lits found for it). */
static size_t pf_quality(const struct pf_node *f)
{
	size_t qa, qb;

	switch (f->op) {
	case PF_LEAF:
		return f->lit ? strlen(f->text) : f->q;
	case PF_AND:
		qa = pf_quality(f->a);
		qb = pf_quality(f->b);
		return qa > qb ? qa : qb;
	case PF_OR:
		qa = pf_quality(f->a);
		qb = pf_quality(f->b);
		return qa < qb ? qa : qb;
	default:
		return 0;
	}
}

/* f with each piece it can read replaced by its formula over strings. */
static struct pf_node *pf_to_lits(struct pf_node *f, int ci)
{
	struct pf_node *a, *b, *l;
	int op = f->op;

	if (op == PF_LEAF) {
		if (f->lit)
			return f;
		l = pf_lits(f->text, ci);
		f->q = l ? pf_quality(l) : PF_GOOD;     /* not understood: kept */
		if (f->q < PF_GOOD) {
			/* short strings: the piece scans cheaper, and more
			 * selectively (\\b, adjacency), as a pattern */
			pf_free(l);
			return f;
		}
		if (!l)
			return f;
		pf_free(f);
		return l;
	}
	if (op == PF_TRUE)
		return f;
	a = pf_to_lits(f->a, ci);
	b = pf_to_lits(f->b, ci);
	f->a = f->b = NULL;
	pf_free(f);
	return op == PF_AND ? pf_and(a, b) : pf_or(a, b);
}

static void pf_conjuncts(struct pf_node *f, struct pf_node ***v, size_t *n)
{
	if (f->op == PF_AND) {
		pf_conjuncts(f->a, v, n);
		pf_conjuncts(f->b, v, n);
		f->a = f->b = NULL;
		pf_free(f);
		return;
	}
	*v = sirt_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = f;
}

/* f with the weak conjuncts of each AND dropped: those of quality under
 * PF_GOOD when another reaches it, else all but the best. */
static struct pf_node *pf_prune(struct pf_node *f)
{
	struct pf_node **v = NULL, *acc = NULL;
	size_t n = 0, i, best = 0, bi = 0, *q;

	if (f->op == PF_OR) {
		f->a = pf_prune(f->a);
		f->b = pf_prune(f->b);
		return f;
	}
	if (f->op != PF_AND)
		return f;
	pf_conjuncts(f, &v, &n);
	q = sirt_xcalloc(n, sizeof(size_t));
	for (i = 0; i < n; i++) {
		v[i] = pf_prune(v[i]);
		q[i] = pf_quality(v[i]);
		if (q[i] > best) {
			best = q[i];
			bi = i;
		}
	}
	for (i = 0; i < n; i++) {
		if (best >= PF_GOOD ? q[i] >= PF_GOOD : i == bi)
			acc = pf_and(acc, v[i]);
		else
			pf_free(v[i]);
	}
	free(q);
	free(v);
	return acc;
}

/* Number f's pieces from *n on, in the order pf_emit visits them. */
static void pf_number(struct pf_node *f, size_t *n)
{
	if (f->op == PF_LEAF) {
		f->id = (*n)++;
	} else if (f->op != PF_TRUE) {
		pf_number(f->a, n);
		pf_number(f->b, n);
	}
}

static struct pf_node *pf_copy(const struct pf_node *f)
{
	struct pf_node *c = pf_mk(f->op, NULL, NULL);

	*c = *f;
	c->text = f->text ? sirt_xstrdup(f->text) : NULL;
	c->a = f->a ? pf_copy(f->a) : NULL;
	c->b = f->b ? pf_copy(f->b) : NULL;
	return c;
}

/* keep[id] = 1 for each piece of f. */
static void pf_mark(const struct pf_node *f, unsigned char *keep)
{
	if (f->op == PF_LEAF)
		keep[f->id] = 1;
	else if (f->op != PF_TRUE) {
		pf_mark(f->a, keep);
		pf_mark(f->b, keep);
	}
}

/* A slot's pieces as they are collected: the Hyperscan texts, flags
 * and the stage (1 or 2) of each. */
struct pf_out {
	char **texts;
	unsigned *flags;
	unsigned char *stage;
	size_t n;
};

static void pf_out_add(struct pf_out *o, char *text, unsigned flags, int stage)
{
	o->texts = sirt_xrealloc(o->texts, (o->n + 1) * sizeof(char *));
	o->flags = sirt_xrealloc(o->flags, (o->n + 1) * sizeof(unsigned));
	o->stage = sirt_xrealloc(o->stage, o->n + 1);
	o->texts[o->n] = text;
	o->flags[o->n] = flags;
	o->stage[o->n++] = (unsigned char)stage;
}

static void pf_out_trim(struct pf_out *o, size_t n)
{
	while (o->n > n)
		free(o->texts[--o->n]);
}

static void pf_out_free(struct pf_out *o)
{
	pf_out_trim(o, 0);
	free(o->texts);
	free(o->flags);
	free(o->stage);
	memset(o, 0, sizeof(*o));
}

/* f's pieces into o, in their numbered order: stage 1 if keep says so,
 * else 2. */
static void pf_emit(const struct pf_node *f, struct pf_out *o, unsigned rflags,
		    const unsigned char *keep)
{
	if (f->op == PF_LEAF) {
		int stage = keep[f->id] ? 1 : 2;
		if (f->lit) {
			/* a plain string, every byte but letters and digits escaped */
			struct sirt_buf b = SIRT_BUF_INIT;
			const unsigned char *c;
			sirt_buf_init(&b);
			for (c = (const unsigned char *)f->text; *c; c++) {
				if (isalnum(*c) && *c < 0x80)
					sirt_buf_addc(&b, (char)*c);
				else
					sirt_buf_addf(&b, "\\x%02x", *c);
			}
			pf_out_add(o, sirt_buf_detach(&b, NULL),
				   HS_FLAG_SINGLEMATCH | (rflags & HS_FLAG_CASELESS), stage);
		} else {
			pf_out_add(o, sirt_xstrdup(f->text), rflags, stage);
		}
	} else if (f->op != PF_TRUE) {
		pf_emit(f->a, o, rflags, keep);
		pf_emit(f->b, o, rflags, keep);
	}
}

/* Postfix program of f into prog, piece k being base + k. */
#define PF_OP_AND (-1)
#define PF_OP_OR  (-2)

static void pf_prog(const struct pf_node *f, int **prog, size_t *len, size_t base)
{
	if (f->op == PF_LEAF) {
		*prog = sirt_xrealloc(*prog, (*len + 1) * sizeof(int));
		(*prog)[(*len)++] = (int)(base + f->id);
		return;
	}
	pf_prog(f->a, prog, len, base);
	pf_prog(f->b, prog, len, base);
	*prog = sirt_xrealloc(*prog, (*len + 1) * sizeof(int));
	(*prog)[(*len)++] = f->op == PF_AND ? PF_OP_AND : PF_OP_OR;
}

/* The formula over the pieces seen; stack holds len entries. */
static int pf_eval(const int *prog, size_t len, const unsigned char *seen, unsigned char *stack)
{
	size_t i, sp = 0;

	for (i = 0; i < len; i++) {
		if (prog[i] >= 0) {
			stack[sp++] = seen[prog[i]];
		} else {
			unsigned char b = stack[--sp], a = stack[--sp];
			stack[sp++] = prog[i] == PF_OP_AND ? (a && b) : (a || b);
		}
	}
	return sp == 1 && stack[0];
}

/* The top-level branches of a PCRE2 pattern ("a|b(c|d)|e" -> a, b(c|d),
 * e; one group around the whole pattern is looked through), as new
 * strings; 0 if the pattern has one branch or cannot be cut safely
 * (extended syntax, \Q, \K, back references, recursion, conditions,
 * verbs, options that reach across branches). */
static size_t pcre_branches(const char *p, uint32_t opts, char ***out)
{
	size_t n = strlen(p), i, st, nb = 0;
	char **v = NULL;

	*out = NULL;
	if (opts & PCRE2_EXTENDED)
		return 0;
	for (i = 0; i + 1 < n; i++) {
		if (p[i] == '\\' && strchr("Q123456789gkEK", p[i + 1]))
			return 0;  /* \K: the start reported is no longer the leftmost */
		if (p[i] == '\\')
			i++;
		else if (p[i] == '(' && (p[i + 1] == '*' ||
					 (p[i + 1] == '?' && i + 2 < n && strchr("|(R&P+-^0123456789", p[i + 2]))))
			return 0;
	}
	if (n > 3 && strncmp(p, "(?:", 3) == 0 && group_end(p, n, 0) == (long)n) {
		p += 3;
		n -= 4;
	}
	for (i = 0, st = 0; i <= n; i++) {
		if (i == n || p[i] == '|') {
			v = sirt_xrealloc(v, (nb + 1) * sizeof(char *));
			v[nb] = sirt_xcalloc(1, i - st + 1);
			memcpy(v[nb++], p + st, i - st);
			st = i + 1;
			continue;
		}
		if (p[i] == '\\') {
			i++;
		} else if (p[i] == '(') {
			long e = group_end(p, n, i);
			if (e < 0)
				break;
			/* "(?i)" at the top level reaches into later branches */
			if (p[i + 1] == '?' && isalpha((unsigned char)p[i + 2]) &&
			    p[strspn(p + i + 2, "imnsxUJ-") + i + 2] == ')')
				break;
			i = (size_t)e - 1;
		} else if (p[i] == '[') {
			i = class_end(p, n, i);
		}
	}
	if (i <= n || nb < 2) {
		while (nb)
			free(v[--nb]);
		free(v);
		return 0;
	}
	*out = v;
	return nb;
}

/* A rule's branches, each with its formulas (pieces appended to o).  0
 * if the prefilter cannot help this rule (every branch is always a
 * candidate). */
static int rule_branches(struct rule *ru, int split, struct pf_out *o, size_t *gid)
{
	unsigned rflags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_ALLOWEMPTY;
	char **bs = NULL;
	size_t nb = split ? pcre_branches(ru->pattern, ru->pflags, &bs) : 0, i, useful = 0;

	if (ru->pflags & PCRE2_CASELESS)
		rflags |= HS_FLAG_CASELESS;
	if (ru->pflags & PCRE2_MULTILINE)
		rflags |= HS_FLAG_MULTILINE;
	if (ru->pflags & PCRE2_DOTALL)
		rflags |= HS_FLAG_DOTALL;
	rule_branches_free(ru);
	ru->nbr = nb ? nb : 1;
	ru->br = sirt_xcalloc(ru->nbr, sizeof(*ru->br));
	for (i = 0; i < ru->nbr; i++) {
		struct branch *b = &ru->br[i];
		const char *text = nb ? bs[i] : ru->pattern;
		struct sirt_buf hs = SIRT_BUF_INIT;
		struct pf_node *f = NULL;

		b->gid = (*gid)++;
		if (nb) {
			int ec;
			PCRE2_SIZE eo;
			b->re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, ru->pflags,
					      &ec, &eo, NULL);
			if (!b->re) {
				/* not a pattern on its own after all: whole */
				size_t k;
				for (k = 0; k < nb; k++)
					free(bs[k]);
				free(bs);
				*gid -= i + 1;
				rule_branches_free(ru);
				return -1;
			}
			if (jit_wanted())
				(void)pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE);
		}
		sirt_buf_init(&hs);
		if (!(ru->pflags & PCRE2_EXTENDED) &&
		    hs_rewrite(text, (ru->pflags & PCRE2_CASELESS) || inline_caseless(text),
			       &hs) == 0) {
			f = pf_split(hs.data);
			if (!f) {
				/* whole, unless it can match the empty string */
				pf_leaf(hs.data, hs.len, &f);
				if (!f)
					f = pf_mk(PF_TRUE, NULL, NULL);
			}
		}
		sirt_buf_release(&hs);
		if (f)
			f = pf_to_lits(f, (ru->pflags & PCRE2_CASELESS) != 0);
		if (f && f->op != PF_TRUE) {
			/* the first stage scans for the pieces of the pruned
			 * formula; a branch that passes it and lost pieces to
			 * the pruning is then judged on its whole formula */
			size_t np = 0, k, base = o->n;
			struct pf_node *g;
			unsigned char *keep;
			pf_number(f, &np);
			g = pf_prune(pf_copy(f));
			keep = sirt_xcalloc(np, 1);
			pf_mark(g, keep);
			pf_emit(f, o, rflags, keep);
			pf_prog(g, &b->prog, &b->len, base);
			for (k = 0; k < np && keep[k]; k++)
				;
			if (k < np)
				pf_prog(f, &b->prog2, &b->len2, base);
			free(keep);
			pf_free(g);
			useful++;
		}
		pf_free(f);
	}
	for (i = 0; i < nb; i++)
		free(bs[i]);
	free(bs);
	return useful > 0;
}

/* ---- the prefilter's on-disk cache ----------------------------------
 *
 * Compiling the Hyperscan databases is most of a rule set's load time
 * (half a second) and memory peak, paid again by every process.  With a
 * cache directory (the daemon's state directory), each slot's database
 * is serialized to cache_dir/prefilter-SHA256.hsdb, the hash covering
 * the exact pieces and flags, the Hyperscan version and the CPU
 * platform; the next process deserializes it instead (a few ms).  The
 * cache is only a cache: a file that is missing, unreadable or rejected
 * by hs_deserialize_database() means compiling, as without one.  Files
 * no build has used for PF_CACHE_KEEP seconds are removed. */
#define PF_CACHE_MAX  (256u << 20)
#define PF_CACHE_KEEP (7 * 24 * 3600)

static void pf_cache_key(const struct slot *s, char *const *texts, const unsigned *flags,
			 const unsigned *ids, size_t n, char out[65])
{
	struct sirt_buf b = SIRT_BUF_INIT;
	hs_platform_info_t plat;
	size_t i;

	sirt_buf_init(&b);
	memset(&plat, 0, sizeof(plat));
	(void)hs_populate_platform(&plat);
	sirt_buf_addf(&b, "sirt-prefilter 2\n%s\n%llu %llu %llu %llu\n%s\n", hs_version(),
		      (unsigned long long)plat.tune, (unsigned long long)plat.cpu_features,
		      (unsigned long long)plat.reserved1, (unsigned long long)plat.reserved2,
		      s->label);
	/* the ids too: the same pieces under other numbers (another rule's
	 * second stage, or a rule edited before them) are another database */
	for (i = 0; i < n; i++)
		sirt_buf_addf(&b, "%u\t%u\t%s\n", ids[i], flags[i], texts[i]);
	sirt_sha256_hex(b.data, b.len, out);
	sirt_buf_release(&b);
}

static void pf_cache_path(const struct sirt_rules *r, const char *key, struct sirt_buf *p)
{
	sirt_buf_reset(p);
	sirt_buf_addf(p, "%s/prefilter-%s.hsdb", r->cache_dir, key);
}

static hs_database_t *pf_cache_load(const struct sirt_rules *r, const char *key)
{
	struct sirt_buf path = SIRT_BUF_INIT;
	struct sirt_err e;
	hs_database_t *db = NULL;
	char *data = NULL;
	size_t len = 0;

	sirt_buf_init(&path);
	pf_cache_path(r, key, &path);
	if (sirt_read_file(path.data, PF_CACHE_MAX, &data, &len, &e) == 0) {
		if (hs_deserialize_database(data, len, &db) != HS_SUCCESS) {
			sirt_debug("rules: prefilter cache %s rejected: compiling", path.data);
			db = NULL;
		} else {
			(void)utime(path.data, NULL);  /* in use: not pruned */
		}
	}
	free(data);
	sirt_buf_release(&path);
	return db;
}

static void pf_cache_save(const struct sirt_rules *r, const char *key, const hs_database_t *db)
{
	struct sirt_buf path = SIRT_BUF_INIT, tmp = SIRT_BUF_INIT;
	struct sirt_err e;
	char *bytes = NULL;
	size_t len = 0, off = 0;
	int fd = -1, ok = 0;

	sirt_buf_init(&path);
	sirt_buf_init(&tmp);
	if (sirt_mkdirs(r->cache_dir, 0700, &e) < 0 ||
	    hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		goto out;
	pf_cache_path(r, key, &path);
	sirt_buf_addf(&tmp, "%s.%ld.tmp", path.data, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	while (off < len) {
		ssize_t w = write(fd, bytes + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (close(fd) == 0 && rename(tmp.data, path.data) == 0)
		ok = 1;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (!ok) {
		if (tmp.len)
			(void)unlink(tmp.data);
		sirt_debug("rules: cannot write the prefilter cache in %s: %s", r->cache_dir,
			   strerror(errno));
	}
	free(bytes);  /* hs_serialize_database used malloc */
	sirt_buf_release(&path);
	sirt_buf_release(&tmp);
}

/* Remove cache files no build has used for PF_CACHE_KEEP seconds. */
static void pf_cache_prune(const struct sirt_rules *r)
{
	DIR *d = opendir(r->cache_dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct stat st;
		if (strncmp(de->d_name, "prefilter-", 10) != 0 || n < 15 ||
		    (strcmp(de->d_name + n - 5, ".hsdb") != 0 && strcmp(de->d_name + n - 4, ".tmp") != 0))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > PF_CACHE_KEEP)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* One slot's database: from the cache when it has it, else compiled
 * (and then cached). */
static int pf_database(const struct sirt_rules *r, const struct slot *s, char *const *texts,
		       const unsigned *flags, const unsigned *ids, size_t n, hs_database_t **db,
		       hs_compile_error_t **ce)
{
	char key[65];

	*db = NULL;
	*ce = NULL;
	if (r->cache_dir) {
		pf_cache_key(s, texts, flags, ids, n, key);
		if ((*db = pf_cache_load(r, key)) != NULL) {
			((struct sirt_rules *)r)->ncached++;
			return 0;
		}
	}
	if (hs_compile_multi((const char *const *)texts, flags, ids, (unsigned)n, HS_MODE_BLOCK,
			     NULL, db, ce) != HS_SUCCESS)
		return -1;
	if (r->cache_dir)
		pf_cache_save(r, key, *db);
	return 0;
}

/* The slot's piece -> branch index (see struct slot). */
static void pf_index(const struct sirt_rules *r, struct slot *s)
{
	size_t i, j, k, *fill;

	s->leaf_ref0 = sirt_xcalloc(s->nleaves + 2, sizeof(size_t));
	for (i = 0; i < s->nrules; i++) {
		const struct rule *ru = &r->rules[s->rules[i]];
		if (!ru->prefiltered)
			continue;
		for (j = 0; j < ru->nbr; j++) {
			if (ru->br[j].len == 0)
				s->ntrue++;
			for (k = 0; k < ru->br[j].len; k++)
				if (ru->br[j].prog[k] >= 0 && (size_t)ru->br[j].prog[k] < s->nleaves)
					s->leaf_ref0[ru->br[j].prog[k] + 2]++;
		}
	}
	for (k = 2; k < s->nleaves + 2; k++)
		s->leaf_ref0[k] += s->leaf_ref0[k - 1];
	s->leaf_refs = sirt_xcalloc(s->leaf_ref0[s->nleaves + 1] + 1, sizeof(struct bref));
	s->true_refs = sirt_xcalloc(s->ntrue + 1, sizeof(struct bref));
	/* leaf_ref0[k + 1] is the fill point of piece k, and ends as its end */
	fill = s->leaf_ref0 + 1;
	s->ntrue = 0;
	for (i = 0; i < s->nrules; i++) {
		const struct rule *ru = &r->rules[s->rules[i]];
		if (!ru->prefiltered)
			continue;
		for (j = 0; j < ru->nbr; j++) {
			const struct branch *b = &ru->br[j];
			struct bref ref = { s->rules[i], b };
			if (b->len == 0)
				s->true_refs[s->ntrue++] = ref;
			for (k = 0; k < b->len; k++)
				if (b->prog[k] >= 0 && (size_t)b->prog[k] < s->nleaves)
					s->leaf_refs[fill[b->prog[k]]++] = ref;
		}
	}
}

/* One stage's database of a slot, of the pieces o holds for that stage
 * (of one rule, its index in the slot, if rule >= 0; Hyperscan ids: the
 * pieces' numbers).  Stage 1 also scans for the two characters caseless
 * strings do not see (ids o->n and o->n + 1), if either stage of the
 * slot has such strings.  *db stays NULL if the stage has no pieces.
 * -1 if Hyperscan refuses, with *bad the piece it names (else -1) and
 * *msg its message. */
static int pf_stage_db(const struct sirt_rules *r, const struct slot *s, const struct pf_out *o,
		       int stage, int rule, hs_database_t **db, long *bad, char **msg)
{
	static char kelvin[] = "\\xe2\\x84\\xaa", long_s[] = "\\xc5\\xbf";
	char **texts = sirt_xcalloc(o->n + 2, sizeof(char *));
	unsigned *flags = sirt_xcalloc(o->n + 2, sizeof(unsigned));
	unsigned *ids = sirt_xcalloc(o->n + 2, sizeof(unsigned));
	hs_compile_error_t *ce = NULL;
	size_t n = 0, j;
	int fold = 0, rc = 0;

	*db = NULL;
	for (j = 0; j < o->n; j++) {
		/* a caseless plain string (no UTF-8 mode) in either stage */
		fold |= (o->flags[j] & HS_FLAG_CASELESS) && !(o->flags[j] & HS_FLAG_UTF8);
		if (o->stage[j] != stage || (rule >= 0 && s->leaf_rule[j] != rule))
			continue;
		texts[n] = o->texts[j];
		flags[n] = o->flags[j];
		ids[n++] = (unsigned)j;
	}
	if (fold && stage == 1) {
		texts[n] = kelvin;
		flags[n] = HS_FLAG_SINGLEMATCH;
		ids[n++] = (unsigned)o->n;
		texts[n] = long_s;
		flags[n] = HS_FLAG_SINGLEMATCH;
		ids[n++] = (unsigned)o->n + 1;
	}
	if (n && pf_database(r, s, texts, flags, ids, n, db, &ce) != 0) {
		*bad = ce && ce->expression >= 0 && (size_t)ce->expression < n &&
		       ids[ce->expression] < o->n ? (long)ids[ce->expression] : -1;
		*msg = sirt_xstrdup(ce ? ce->message : "?");
		if (ce)
			hs_free_compile_error(ce);
		rc = -1;
	}
	free(texts);
	free(flags);
	free(ids);
	return rc;
}

/* Compile Hyperscan databases per field slot, of the pieces of every
 * branch of every pattern (see pf_split, pf_lits and pcre_branches): the
 * first stage's, scanned for every message, and the second stage's, of
 * the weak pieces pf_prune set apart, scanned only for a message where a
 * branch that needs them has passed the first.  A rule whose every
 * branch is always a candidate, or that Hyperscan rejects, is left to
 * PCRE2 alone (slot->always). */
static void build_prefilter(struct sirt_rules *r)
{
	size_t si, i, maxleaves = 0, maxprog = 1, gid = 0;

	for (si = 0; si < r->nslots; si++) {
		struct slot *s = &r->slots[si];
		struct pf_out o;
		size_t j, gid0 = gid, npieces;
		int *skip;

		if (s->nrules == 0)
			continue;
		memset(&o, 0, sizeof(o));
		skip = sirt_xcalloc(s->nrules, sizeof(int));
		for (;;) {
			long bad = -1;
			char *msg = NULL;
			int rc;

			pf_out_trim(&o, 0);
			gid = gid0;
			for (i = 0; i < s->nrules; i++) {
				struct rule *ru = &r->rules[s->rules[i]];
				size_t from = o.n;

				rule_branches_free(ru);
				if (skip[i])
					continue;
				rc = rule_branches(ru, 1, &o, &gid);
				if (rc < 0) {
					/* branches that do not compile alone: whole */
					pf_out_trim(&o, from);
					rc = rule_branches(ru, 0, &o, &gid);
				}
				if (rc <= 0) {
					skip[i] = 1;
					continue;
				}
				s->leaf_rule = sirt_xrealloc(s->leaf_rule, (o.n + 1) * sizeof(int));
				for (j = from; j < o.n; j++)
					s->leaf_rule[j] = (int)i;
			}
			if (o.n == 0)
				break;
			rc = pf_stage_db(r, s, &o, 1, -1, &s->db, &bad, &msg);
			for (i = 0; i < s->nrules && rc == 0; i++) {
				if (skip[i])
					continue;
				rc = pf_stage_db(r, s, &o, 2, (int)i, &r->rules[s->rules[i]].db2,
						 &bad, &msg);
				if (rc < 0 && bad < 0)
					bad = (long)o.n;  /* a second stage: its rule */
				if (rc < 0)
					break;
			}
			if (rc == 0)
				break;
			if (s->db)
				hs_free_database(s->db);
			s->db = NULL;
			if (bad >= 0) {
				size_t br = bad < (long)o.n ? (size_t)s->leaf_rule[bad] : i;
				sirt_debug("rules: %s: pattern left to PCRE2 only (hyperscan: %s)",
					   r->rules[s->rules[br]].name, msg);
				skip[br] = 1;
				free(msg);
				continue;
			}
			sirt_debug("rules: hyperscan cannot build the %s prefilter: %s", s->label, msg);
			free(msg);
			for (i = 0; i < s->nrules; i++)
				skip[i] = 1;
			break;
		}
		npieces = o.n;
		pf_out_free(&o);
		if (s->db && hs_alloc_scratch(s->db, &r->sc.hs) != HS_SUCCESS) {
			hs_free_database(s->db);
			s->db = NULL;
		}
		for (i = 0; i < s->nrules && s->db; i++) {
			hs_database_t *d2 = r->rules[s->rules[i]].db2;
			if (d2 && hs_alloc_scratch(d2, &r->sc.hs) != HS_SUCCESS) {
				hs_free_database(s->db);
				s->db = NULL;
			}
		}
		s->nleaves = s->db ? npieces : 0;
		s->gid0 = gid0;
		s->gid1 = gid;
		if (s->nleaves > maxleaves)
			maxleaves = s->nleaves;
		for (i = 0; i < s->nrules; i++) {
			struct rule *ru = &r->rules[s->rules[i]];
			if (skip[i] || !s->db) {
				rule_branches_free(ru);
				s->always = sirt_xrealloc(s->always, (s->nalways + 1) * sizeof(int));
				s->always[s->nalways++] = s->rules[i];
				continue;
			}
			ru->prefiltered = 1;
			r->nprefiltered++;
			for (j = 0; j < ru->nbr; j++) {
				if (ru->br[j].len > maxprog)
					maxprog = ru->br[j].len;
				if (ru->br[j].len2 > maxprog)
					maxprog = ru->br[j].len2;
			}
		}
		free(skip);
		if (s->db)
			pf_index(r, s);
	}
	r->sc.pf_seen = sirt_xcalloc(maxleaves + 1, 1);
	r->sc.pf_list = sirt_xcalloc(maxleaves + 1, sizeof(unsigned));
	r->sc.pf_stack = sirt_xcalloc(maxprog + 1, 1);
	r->sc.bcand = sirt_xcalloc(gid + 1, 1);
	r->sc.pf_pend = sirt_xcalloc(gid + 1, sizeof(struct bref));
	r->sc.pf_scanned = sirt_xcalloc(r->nrules + 1, 1);
	r->prefilter_built = 1;
	if (r->cache_dir)
		pf_cache_prune(r);
}
#endif

/* ---- loading ------------------------------------------------------ */

/* An empty set with the default policy settings (thresholds, default). */
static struct sirt_rules *rules_new(void)
{
	struct sirt_rules *r = sirt_xcalloc(1, sizeof(*r));

	r->threshold[SIRT_SEV_P2] = 10;
	r->threshold[SIRT_SEV_P3] = 4;
	r->dflt = SIRT_SEV_P3;
	return r;
}

/* After all text is parsed: effects, names, checks, scratch, prefilter. */
static int finish(struct sirt_rules *r, struct pend_list *pl, unsigned flags,
		  struct sirt_err *err)
{
	size_t i;
	unsigned char *color;
	const char *env = getenv("SIRT_PREFILTER");

	apply_pending(r, pl);
	for (i = 0; i < r->nrules; i++)
		if (r->rules[i].is_meta)
			resolve(r, (int)i, r->rules[i].expr);
	color = sirt_xcalloc(r->nrules + 1, 1);
	for (i = 0; i < r->nrules; i++)
		if (cycle_dfs(r, (int)i, color, err) < 0) {
			free(color);
			return -1;
		}
	free(color);
	check_rules(r);
	set_categories(r);
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		struct slot *s;
		if (ru->is_meta || ru->disabled)
			continue;
		s = &r->slots[ru->slot];
		s->rules = sirt_xrealloc(s->rules, (s->nrules + 1) * sizeof(int));
		s->rules[s->nrules++] = (int)i;
	}
	r->sc.md = pcre2_match_data_create(1, NULL);
	r->sc.mctx = pcre2_match_context_create(NULL);
	r->sc.jit = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
	if (!r->sc.md || !r->sc.mctx)
		return sirt_err_set(err, SIRT_E_FATAL, "out of memory");
	pcre2_set_match_limit(r->sc.mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(r->sc.mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(r->sc.mctx, HEAP_LIMIT);
	if (r->sc.jit)
		pcre2_jit_stack_assign(r->sc.mctx, NULL, r->sc.jit);
	r->sc.cand = sirt_xcalloc(r->nrules + 1, 1);
	r->sc.state = sirt_xcalloc(r->nrules + 1, 1);
	r->sc.mstart = sirt_xcalloc(r->nrules + 1, sizeof(size_t));
	r->sc.mend = sirt_xcalloc(r->nrules + 1, sizeof(size_t));
	r->sc.mval = sirt_xcalloc(r->nrules + 1, sizeof(int));
	r->sc.mslot = sirt_xcalloc(r->nrules + 1, sizeof(int));
	r->use_prefilter = !(flags & SIRT_RULES_NO_PREFILTER) && !(env && strcmp(env, "0") == 0);
#ifdef SIRT_HAVE_HYPERSCAN
	if (r->use_prefilter && ((flags & SIRT_RULES_PREFILTER_NOW) || (env && strcmp(env, "1") == 0)))
		build_prefilter(r);
#else
	r->use_prefilter = 0;
#endif
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parse every DIR/NAME.rules in byte order of their names. */
static int load_dir(struct sirt_rules *r, const char *dir, int local, struct pend_list *pl,
		    struct sirt_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (!d)
		return sirt_err_set(err, errno == ENOENT ? SIRT_E_NOTFOUND : SIRT_E_CONFIG,
				    "cannot open rules directory '%s': %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 6, ".rules") != 0)
			continue;
		names = sirt_xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = sirt_xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)   /* names is NULL in a directory without rule files */
		qsort(names, n, sizeof(char *), cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		struct sirt_buf path = SIRT_BUF_INIT;
		char *data = NULL;
		size_t len = 0;

		sirt_buf_init(&path);
		sirt_buf_addf(&path, "%s/%s", dir, names[i]);
		rc = sirt_read_file(path.data, RULES_MAX_FILE, &data, &len, err);
		if (rc == 0)
			rc = parse_text(r, path.data, data, len, local, pl, err);
		free(data);
		sirt_buf_release(&path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int sirt_rules_load_flags(const char *dir, const char *local_dir, unsigned flags,
			  struct sirt_rules **rules_r, struct sirt_err *err)
{
	return sirt_rules_load_cache(dir, local_dir, flags, NULL, rules_r, err);
}

int sirt_rules_load_cache(const char *dir, const char *local_dir, unsigned flags,
			  const char *cache_dir, struct sirt_rules **rules_r, struct sirt_err *err)
{
	struct sirt_rules *r = rules_new();
	struct pend_list pl = { NULL, 0 };
	int rc = -1;

	r->cache_dir = cache_dir && *cache_dir ? sirt_xstrdup(cache_dir) : NULL;

	if (load_dir(r, dir, 0, &pl, err) < 0)
		goto out;
	if (local_dir && *local_dir) {
		struct sirt_err e2;
		sirt_err_clear(&e2);
		if (load_dir(r, local_dir, 1, &pl, &e2) < 0) {
			if (e2.cls != SIRT_E_NOTFOUND) {
				*err = e2;
				goto out;
			}
		}
	}
	if (finish(r, &pl, flags, err) < 0)
		goto out;
	*rules_r = r;
	r = NULL;
	rc = 0;
out:
	pend_release(&pl);
	sirt_rules_free(&r);
	return rc;
}

int sirt_rules_load(const char *dir, const char *local_dir, struct sirt_rules **rules_r,
		    struct sirt_err *err)
{
	return sirt_rules_load_flags(dir, local_dir, 0, rules_r, err);
}

int sirt_rules_load_string(const char *name, const char *text, unsigned flags,
			   struct sirt_rules **rules_r, struct sirt_err *err)
{
	struct sirt_rules *r = rules_new();
	struct pend_list pl = { NULL, 0 };
	int rc = -1;

	if (parse_text(r, name, text, strlen(text), 0, &pl, err) < 0)
		goto out;
	if (finish(r, &pl, flags, err) < 0)
		goto out;
	*rules_r = r;
	r = NULL;
	rc = 0;
out:
	pend_release(&pl);
	sirt_rules_free(&r);
	return rc;
}

size_t sirt_rules_nwarnings(const struct sirt_rules *r) { return r ? r->nwarnings : 0; }
const char *sirt_rules_warning(const struct sirt_rules *r, size_t i)
{
	return r && i < r->nwarnings ? r->warnings[i] : NULL;
}
size_t sirt_rules_count(const struct sirt_rules *r) { return r ? r->nrules : 0; }
size_t sirt_rules_prefilter_cached(const struct sirt_rules *r) { return r ? r->ncached : 0; }
size_t sirt_rules_prefiltered(const struct sirt_rules *r)
{
	return r && r->use_prefilter && r->prefilter_built ? r->nprefiltered : 0;
}
double sirt_rules_threshold(const struct sirt_rules *r, enum sirt_severity s)
{
	return (s == SIRT_SEV_P2 || s == SIRT_SEV_P3) ? r->threshold[s] : 0;
}
enum sirt_severity sirt_rules_default(const struct sirt_rules *r) { return r->dflt; }

void sirt_rules_stats(const struct sirt_rules *r, struct sirt_buf *out)
{
	size_t i;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		if (ru->is_meta || ru->disabled)
			continue;
		sirt_buf_addf(out, "%-28s %-16s %s runs=%zu matches=%zu\n", ru->name,
			      r->slots[ru->slot].label, ru->prefiltered ? "prefiltered" : "always     ",
			      ru->nruns, ru->nmatches);
	}
}

void sirt_rules_patterns(const struct sirt_rules *r, struct sirt_buf *out)
{
	size_t i;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		if (ru->is_meta || ru->disabled || !ru->pattern)
			continue;
		if (ru->flagstr[0])
			sirt_buf_addf(out, "(?%s)", ru->flagstr);
		sirt_buf_adds(out, ru->pattern);
		sirt_buf_addc(out, '\n');
	}
}

/* ---- the reporter's own words ------------------------------------- */

/* True if the line (not NUL-terminated, length n) starts forwarded or
 * replied-to text in one of the languages the policy covers. */
static int quote_marker(const char *s, size_t n)
{
	static const char *const starts[] = {
		"-----original message", "----- original message",
		"-------- original message", "---------- forwarded message",
		"-------- forwarded message", "begin forwarded message",
		"-----ursprüngliche nachricht", "-------- weitergeleitete nachricht",
		"---------- weitergeleitete nachricht", "-------- message transféré",
		"---------- message transféré", "-------- message d'origine",
		"-----message d'origine", "---------- mensaje reenviado",
		"-------- mensaje reenviado", "-----mensaje original",
		"-------- mensaje original", "anfang der weitergeleiteten nachricht",
		"début du message réexpédié", "inicio del mensaje reenviado",
		NULL
	};
	size_t i, k;
	char low[96];

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	/* fast path: every marker starts with one of these */
	if (n < 8 || !strchr("-_bBaAdDiIoOlLeE", *s))
		return 0;
	if (*s != '-' && *s != '_') {
		/* ... and a letter with one of these three bytes */
		static const char *const heads[] = {
			"beg", "anf", "d\xc3\xa9", "ini", "on ", "am ", "le ", "el ", NULL
		};
		char h[4];

		for (i = 0; i < 3; i++)
			h[i] = (char)tolower((unsigned char)s[i]);
		h[3] = 0;
		for (i = 0; heads[i] && strcmp(h, heads[i]) != 0; i++)
			;
		if (!heads[i])
			return 0;
	}
	k = n < sizeof(low) - 1 ? n : sizeof(low) - 1;
	for (i = 0; i < k; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[k] = 0;
	for (i = 0; starts[i]; i++)
		if (strncmp(low, starts[i], strlen(starts[i])) == 0)
			return 1;
	/* "On Mon, 1 Jan 2026, X wrote:" and its German, French, Spanish forms */
	if (k > 8 && (strncmp(low, "on ", 3) == 0 || strncmp(low, "am ", 3) == 0 ||
		      strncmp(low, "le ", 3) == 0 || strncmp(low, "el ", 3) == 0)) {
		const char *e = low + k;
		while (e > low && (e[-1] == ' ' || e[-1] == '\r'))
			e--;
		if ((e - low >= 6 && strncmp(e - 6, "wrote:", 6) == 0) ||
		    (e - low >= 8 && strncmp(e - 8, "schrieb:", 8) == 0) ||
		    (strncmp(low, "am ", 3) == 0 && strstr(low, " schrieb ") && e[-1] == ':') ||
		    (e - low >= 8 && strncmp(e - 8, "a écrit:", 8) == 0) ||
		    (e - low >= 9 && strncmp(e - 9, "a écrit :", 9) == 0) ||
		    (e - low >= 10 && strncmp(e - 10, "escribió:", 10) == 0))
			return 1;
	}
	return 0;
}

/* True if the line at p starts an Outlook-style header block of the
 * quoted mail: "From: ..." (or a line of underscores) followed by a line
 * "Sent:", "Date:", "Gesendet:", "Enviado:", "Envoyé :" ... */
static int outlook_block(const char *p, size_t n, const char *next)
{
	static const char *const first[] = { "from:", "de:", "de :", "von:", "da:", NULL };
	static const char *const second[] = {
		"sent:", "date:", "gesendet:", "enviado:", "enviado el:", "envoyé :",
		"envoyé:", "datum:", "fecha:", "inviato:", "to:", "an:", "para:", "à :", NULL
	};
	size_t i, u = 0;
	int head = 0;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	/* fast path: underscores, or a first[] name (f, d or v) */
	if (!n || (p[0] != '_' && (p[0] | 0x20) != 'f' && (p[0] | 0x20) != 'd' &&
		   (p[0] | 0x20) != 'v'))
		return 0;
	while (u < n && p[u] == '_')
		u++;
	if (u >= 20 && u == n)
		head = 1;
	for (i = 0; first[i] && !head; i++)
		if (n >= strlen(first[i]) && strncasecmp(p, first[i], strlen(first[i])) == 0)
			head = 2;
	if (!head || !next)
		return 0;
	while (*next == ' ' || *next == '\t')
		next++;
	if (head == 1) {
		/* underscores, then the From: line */
		for (i = 0; first[i]; i++)
			if (strncasecmp(next, first[i], strlen(first[i])) == 0)
				return 1;
		return 0;
	}
	for (i = 0; second[i]; i++)
		if (strncasecmp(next, second[i], strlen(second[i])) == 0)
			return 1;
	return 0;
}

/* The lines of body that sirt_body_unquoted keeps, each with a newline,
 * appended to b; returns 1 if it drops or cuts anything.  With b NULL,
 * only answers that (at the first line it would drop). */
static int unquoted_lines(const char *body, struct sirt_buf *b)
{
	const char *p = body ? body : "";
	int cut = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;

		while (q < p + n && (*q == ' ' || *q == '\t'))
			q++;
		if (quote_marker(p, n) || outlook_block(p, n, nl ? nl + 1 : NULL))
			return 1;
		if (q < p + n && *q == '>') {
			/* a quoted line: skip */
			cut = 1;
			if (!b)
				return 1;
		} else if (b) {
			sirt_buf_add(b, p, n);
			sirt_buf_addc(b, '\n');
		}
		p += n + (nl ? 1 : 0);
	}
	return cut;
}

char *sirt_body_unquoted(const char *body)
{
	struct sirt_buf b = SIRT_BUF_INIT;

	sirt_buf_init(&b);
	unquoted_lines(body, &b);
	return sirt_buf_detach(&b, NULL);
}

/* ---- evaluation --------------------------------------------------- */

struct fval {
	const char *s;
	size_t n;
};

struct fvals {
	struct fval *v;
	size_t n;
	int ready;
};

struct evalctx {
	const struct sirt_rules *r;
	const struct sirt_msg *msg;
	struct fvals *slots;    /* per slot values, lazily built */
	char **owned;           /* strings built for this message */
	size_t nowned;
	const char *body_flat;  /* collapse(msg->body), once built */
	const char **part_flat; /* collapse(part text), once built */
	double facts[FACT_COUNT];
	size_t nlimit;
};

static const char *own(struct evalctx *ec, char *s)
{
	if ((ec->nowned & (ec->nowned - 1)) == 0)
		ec->owned = sirt_xrealloc(ec->owned, (ec->nowned ? ec->nowned * 2 : 1) * sizeof(char *));
	ec->owned[ec->nowned++] = s;
	return s;
}

static void fv_add(struct fvals *fv, const char *s, size_t n)
{
	if (!s)
		return;
	if ((fv->n & (fv->n - 1)) == 0)  /* grow at 0, 1, 2, 4, 8, ... */
		fv->v = sirt_xrealloc(fv->v, (fv->n ? fv->n * 2 : 1) * sizeof(*fv->v));
	fv->v[fv->n].s = s;
	fv->v[fv->n].n = n > SCAN_MAX ? SCAN_MAX : n;
	fv->n++;
}

static void fv_adds(struct fvals *fv, const char *s)
{
	if (s)
		fv_add(fv, s, strlen(s));
}

static const char *sig_word(enum sirt_sig_status s)
{
	switch (s) {
	case SIRT_SIG_GOOD: return "good";
	case SIRT_SIG_BAD: case SIRT_SIG_REVOKED_KEY: return "bad";
	case SIRT_SIG_EXPIRED_KEY: case SIRT_SIG_EXPIRED_SIG: return "expired";
	default: return "unknown";
	}
}

static int signer_trusted(const struct sirt_msg *m)
{
	size_t i;

	for (i = 0; i < m->crypto.nsigs; i++)
		if (m->crypto.sigs[i].status == SIRT_SIG_GOOD && m->crypto.sigs[i].trusted)
			return 1;
	return 0;
}

/* Append t[0..n) (no white space but ' ') to out at *o, making each run
 * of spaces one and dropping spaces at the start or after a space. */
static void collapse_spaces(char *out, size_t *o, const char *t, size_t n)
{
	size_t i = 0, k = *o, end;
	int sp = !k || out[k - 1] == ' ';

	while (i < n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* eight bytes at a time while no space follows a space (out
		 * is never ahead of t: the store stays within its room) */
		while (n - i >= 8) {
			uint64_t w, x, z;

			memcpy(&w, t + i, 8);
			x = w ^ UINT64_C(0x2020202020202020);
			/* bit 7 of each byte that is a space */
			z = ~(((x & UINT64_C(0x7f7f7f7f7f7f7f7f)) +
			       UINT64_C(0x7f7f7f7f7f7f7f7f)) | x) &
			    UINT64_C(0x8080808080808080);
			if ((z & (z >> 8)) || (sp && (z & 0x80)))
				break;
			memcpy(out + k, &w, 8);
			k += 8;
			i += 8;
			sp = (int)(z >> 63);
		}
#endif
		/* copy each byte, but keep a space only after something else */
		end = n - i > 8 ? i + 8 : n;
		for (; i < end; i++) {
			out[k] = t[i];
			k += !(t[i] == ' ' && sp);
			sp = t[i] == ' ';
		}
	}
	*o = k;
}

/* Zeroed bytes after a subject built here: the PCRE2 JIT reads the
 * subject in 16-byte blocks and may touch bytes past its end. */
#define SUBJECT_SLACK 32

/* s with every run of white space (newlines, tabs, no-break spaces)
 * made one plain space, so that phrases match across wrapped lines;
 * the result is the caller's. */
static char *collapse(const char *s)
{
	size_t n = s ? strlen(s) : 0, o = 0;
	char *out = sirt_xmalloc(n + 1 + SUBJECT_SLACK);

	while (s && *s) {
		/* up to the next white space other than a plain space (or
		 * a lead byte of U+00A0): strcspn's vector loop */
		size_t r = strcspn(s, "\t\n\r\f\v\xc2");

		collapse_spaces(out, &o, s, r);
		s += r;
		if (!*s)
			break;
		if ((unsigned char)*s == 0xC2 && (unsigned char)s[1] != 0xA0) {
			out[o++] = *s++;  /* another character */
			continue;
		}
		s += (unsigned char)*s == 0xC2 ? 2 : 1;
		if (o && out[o - 1] != ' ')
			out[o++] = ' ';
	}
	memset(out + o, 0, n + 1 + SUBJECT_SLACK - o);
	return out;
}

/* collapse(msg->body), built once for the text and body-unquoted slots. */
static const char *body_flat(struct evalctx *ec)
{
	if (!ec->body_flat)
		ec->body_flat = own(ec, collapse(ec->msg->body));
	return ec->body_flat;
}

/* collapse(part i's text), built once for the text and body-unquoted
 * slots. */
static const char *part_flat(struct evalctx *ec, size_t i)
{
	if (!ec->part_flat)
		ec->part_flat = sirt_xcalloc(ec->msg->nparts, sizeof(*ec->part_flat));
	if (!ec->part_flat[i])
		ec->part_flat[i] = own(ec, collapse(ec->msg->parts[i].text));
	return ec->part_flat[i];
}

/* collapse(sirt_body_unquoted(text)), text being the message body (part
 * -1) or part's text.  Most reports quote nothing: then the unquoted text
 * is the text (with a final newline added), and its collapsed text is
 * the text slot's (with a final space). */
static const char *unquoted_flat(struct evalctx *ec, const char *text, int part)
{
	const char *flat;
	size_t tn, fn;
	char *c;

	if (unquoted_lines(text, NULL))
		return own(ec, collapse(own(ec, sirt_body_unquoted(text))));
	flat = part < 0 ? body_flat(ec) : part_flat(ec, (size_t)part);
	tn = strlen(text);
	fn = strlen(flat);
	/* the added newline collapses to a space, unless one ends it */
	if (!tn || text[tn - 1] == '\n' || !fn || flat[fn - 1] == ' ')
		return flat;
	/* laid out as collapse() does it */
	c = sirt_xcalloc(1, fn + 2 + SUBJECT_SLACK);
	memcpy(c, flat, fn);
	c[fn] = ' ';
	return own(ec, c);
}

/* Build the values of one field slot for this message. */
static struct fvals *slot_values(struct evalctx *ec, int si)
{
	struct fvals *fv = &ec->slots[si];
	const struct slot *s = &ec->r->slots[si];
	const struct sirt_msg *m = ec->msg;
	size_t i;
	int signd, encr;

	if (fv->ready)
		return fv;
	fv->ready = 1;
	signd = m->crypto.status == SIRT_CRYPTO_SIGNED || m->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED;
	encr = m->crypto.status == SIRT_CRYPTO_ENCRYPTED || m->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED;
	switch (s->kind) {
	case FK_SUBJECT: fv_adds(fv, m->subject); break;
	case FK_FROM:
		if (m->from.addr || m->from.name)
			fv_adds(fv, own(ec, sirt_addr_format(&m->from)));
		break;
	case FK_TO:
		for (i = 0; i < m->nto; i++)
			fv_adds(fv, own(ec, sirt_addr_format(&m->to[i])));
		for (i = 0; i < m->ncc; i++)
			fv_adds(fv, own(ec, sirt_addr_format(&m->cc[i])));
		break;
	case FK_HEADER:
		for (i = 0; i < m->nheaders; i++)
			if (m->headers[i].name && strcasecmp(m->headers[i].name, s->header) == 0)
				fv_adds(fv, m->headers[i].value ? m->headers[i].value : "");
		break;
	case FK_BODY:
		/* the preferred text, then any other text alternative the
		 * parser did not prefer (a key sentence may be only in the
		 * HTML part): each part once */
		fv_adds(fv, m->body);
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].text && !m->parts[i].is_body && !m->parts[i].is_attachment)
				fv_adds(fv, m->parts[i].text);
		break;
	case FK_BODY_UNQUOTED:
		fv_adds(fv, unquoted_flat(ec, m->body ? m->body : "", -1));
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].text && !m->parts[i].is_body && !m->parts[i].is_attachment)
				fv_adds(fv, unquoted_flat(ec, m->parts[i].text, (int)i));
		break;
	case FK_TEXT:
		fv_adds(fv, body_flat(ec));
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].text && !m->parts[i].is_body && !m->parts[i].is_attachment)
				fv_adds(fv, part_flat(ec, i));
		break;
	case FK_RAWBODY:
		if (m->raw) {
			const char *raw = (const char *)m->raw, *b;
			size_t off = 0;
			b = memmem(raw, m->raw_len, "\r\n\r\n", 4);
			if (b)
				off = (size_t)(b - raw) + 4;
			else if ((b = memmem(raw, m->raw_len, "\n\n", 2)) != NULL)
				off = (size_t)(b - raw) + 2;
			fv_add(fv, raw + off, m->raw_len - off);
		}
		break;
	case FK_URI:
		for (i = 0; i < m->nurls; i++)
			fv_adds(fv, m->urls[i]);
		break;
	case FK_ATTNAME:
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].is_attachment && m->parts[i].filename)
				fv_adds(fv, m->parts[i].filename);
		break;
	case FK_ATTTYPE:
		for (i = 0; i < m->nparts; i++)
			if (m->parts[i].is_attachment && m->parts[i].content_type)
				fv_adds(fv, m->parts[i].content_type);
		break;
	case FK_SIGNED: fv_adds(fv, signd ? "yes" : "no"); break;
	case FK_ENCRYPTED: fv_adds(fv, encr ? "yes" : "no"); break;
	case FK_SIGNATURE:
		for (i = 0; i < m->crypto.nsigs; i++)
			fv_adds(fv, sig_word(m->crypto.sigs[i].status));
		break;
	case FK_SIGNER:
		for (i = 0; i < m->crypto.nsigs; i++)
			fv_adds(fv, m->crypto.sigs[i].fingerprint);
		break;
	case FK_SIGNER_TRUSTED: fv_adds(fv, signer_trusted(m) ? "yes" : "no"); break;
	}
	return fv;
}

/* A PCRE2 error other than "no match", logged; a limit counts as no
 * match. */
static void match_failed(struct evalctx *ec, const struct rule *ru, int rc)
{
	const struct sirt_rules *r = ec->r;

	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		ec->nlimit++;
		sirt_warn("rules: %s (%s:%d) hit a PCRE2 limit on %s: counted as no match",
			  ru->name, ru->file, ru->line, r->slots[ru->slot].label);
	} else {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		sirt_warn("rules: %s: match error on %s: %s", ru->name,
			  r->slots[ru->slot].label, (char *)msg);
	}
}

/* Run one match rule's pattern over the values of its slot: the first
 * value with a match wins.  With the prefilter, a pattern cut into
 * branches runs only the branches the prefilter let through, each on its
 * own; the match reported is the one the whole pattern finds (the
 * leftmost start, the first branch there). */
static void run_match(struct evalctx *ec, int idx)
{
	const struct sirt_rules *r = ec->r;
	const struct rule *ru = &r->rules[idx];
	struct fvals *fv = slot_values(ec, ru->slot);
	int split = r->use_prefilter && r->prefilter_built && ru->prefiltered && ru->nbr > 1 &&
		    ru->br[0].re;
	size_t i, b, nb = split ? ru->nbr : 1;

	r->sc.state[idx] = 0;
	((struct rule *)ru)->nruns++;  /* statistics only */
	for (i = 0; i < fv->n; i++) {
		PCRE2_SIZE best = PCRE2_UNSET, end = 0;
		for (b = 0; b < nb; b++) {
			int rc;
			if (split && !r->sc.bcand[ru->br[b].gid])
				continue;
			rc = pcre2_match(split ? ru->br[b].re : ru->re, (PCRE2_SPTR)fv->v[i].s,
					 fv->v[i].n, 0, 0, r->sc.md, r->sc.mctx);
			if (rc >= 0) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->sc.md);
				if (best == PCRE2_UNSET || ov[0] < best) {
					best = ov[0];
					end = ov[1] >= ov[0] ? ov[1] : ov[0];
				}
			} else if (rc != PCRE2_ERROR_NOMATCH) {
				match_failed(ec, ru, rc);
			}
		}
		if (best != PCRE2_UNSET) {
			r->sc.state[idx] = 1;
			r->sc.mstart[idx] = best;
			r->sc.mend[idx] = end;
			r->sc.mval[idx] = (int)i;
			r->sc.mslot[idx] = ru->slot;
			((struct rule *)ru)->nmatches++;
			return;
		}
	}
}

#ifdef SIRT_HAVE_HYPERSCAN
/* The pieces one slot's scans have seen. */
struct pf_hits {
	unsigned char *seen;
	unsigned *list;
	size_t n;
	size_t npieces;
	int fold;               /* a Kelvin sign or long s (see pf_lits) */
};

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int fl, void *ctx)
{
	struct pf_hits *h = ctx;

	(void)from; (void)to; (void)fl;
	if (id >= h->npieces) {
		h->fold = 1;
		return 0;
	}
	if (!h->seen[id]) {
		h->seen[id] = 1;
		h->list[h->n++] = id;
	}
	return 0;
}
#endif

/* Decide which match rules run: all of them without the prefilter, else
 * the prefilter's candidates plus the patterns it cannot cover. */
static void prefilter(struct evalctx *ec)
{
	const struct sirt_rules *r = ec->r;
	size_t si, i, j, k, npend;
	struct pf_hits hits;
	int all;

	if (!r->use_prefilter || !r->prefilter_built) {
		memset(r->sc.cand, 1, r->nrules);
		return;
	}
	memset(r->sc.cand, 0, r->nrules);
#ifdef SIRT_HAVE_HYPERSCAN
	for (si = 0; si < r->nslots; si++) {
		const struct slot *s = &r->slots[si];
		struct fvals *fv;

		if (s->nrules == 0)
			continue;
		for (i = 0; i < s->nalways; i++)
			r->sc.cand[s->always[i]] = 1;
		if (!s->db)
			continue;
		fv = slot_values(ec, (int)si);
		memset(r->sc.pf_seen, 0, s->nleaves);
		hits.seen = r->sc.pf_seen;
		hits.list = r->sc.pf_list;
		hits.n = 0;
		hits.npieces = s->nleaves;
		hits.fold = 0;
		all = 0;
		for (j = 0; j < fv->n && !all; j++)
			/* everything in a parsed message is UTF-8 but the raw body */
			all = (s->kind == FK_RAWBODY && !sirt_utf8_valid(fv->v[j].s, fv->v[j].n)) ||
			      hs_scan(s->db, fv->v[j].s, (unsigned)fv->v[j].n, 0, r->sc.hs,
				      hs_on_match, &hits) != HS_SUCCESS;
		if (all || hits.fold) {
			/* Not UTF-8, a character caseless strings do not see, or
			 * a scan error: every piece counts as seen, so every
			 * formula holds and every pattern runs. */
			memset(r->sc.bcand + s->gid0, 1, s->gid1 - s->gid0);
			for (i = 0; i < s->nrules; i++)
				if (r->rules[s->rules[i]].prefiltered)
					r->sc.cand[s->rules[i]] = 1;
			continue;
		}
		/* The pieces seen in any value: a superset of each value's.
		 * Only a branch that reads a piece seen can hold; one whose
		 * first-stage formula holds and that has a second waits for
		 * its rule's second-stage scan (bcand 2 meanwhile). */
		memset(r->sc.bcand + s->gid0, 0, s->gid1 - s->gid0);
		for (i = 0; i < s->ntrue; i++) {
			r->sc.bcand[s->true_refs[i].b->gid] = 1;
			r->sc.cand[s->true_refs[i].rule] = 1;
		}
		npend = 0;
		for (k = 0; k < hits.n; k++) {
			size_t e = s->leaf_ref0[hits.list[k] + 1];
			for (i = s->leaf_ref0[hits.list[k]]; i < e; i++) {
				const struct bref *ref = &s->leaf_refs[i];
				if (r->sc.bcand[ref->b->gid] ||
				    !pf_eval(ref->b->prog, ref->b->len, r->sc.pf_seen, r->sc.pf_stack))
					continue;
				if (ref->b->len2) {
					r->sc.bcand[ref->b->gid] = 2;
					r->sc.pf_pend[npend++] = *ref;
					continue;
				}
				r->sc.bcand[ref->b->gid] = 1;
				r->sc.cand[ref->rule] = 1;
			}
		}
		for (i = 0; i < npend; i++) {
			const struct bref *ref = &r->sc.pf_pend[i];
			const struct rule *ru = &r->rules[ref->rule];
			int ok;
			if (r->sc.pf_scanned[ref->rule] == 0) {
				/* the rule's second stage, once per message */
				all = 0;
				for (j = 0; j < fv->n && !all; j++)
					all = hs_scan(ru->db2, fv->v[j].s, (unsigned)fv->v[j].n, 0,
						      r->sc.hs, hs_on_match, &hits) != HS_SUCCESS;
				r->sc.pf_scanned[ref->rule] = (unsigned char)(all ? 2 : 1);
			}
			ok = r->sc.pf_scanned[ref->rule] == 2 ||
			     pf_eval(ref->b->prog2, ref->b->len2, r->sc.pf_seen, r->sc.pf_stack);
			r->sc.bcand[ref->b->gid] = (unsigned char)ok;
			if (ok)
				r->sc.cand[ref->rule] = 1;
		}
		for (i = 0; i < npend; i++)
			r->sc.pf_scanned[r->sc.pf_pend[i].rule] = 0;
	}
#else
	(void)si; (void)i; (void)j; (void)k; (void)ec; (void)hits; (void)all; (void)npend;
	memset(r->sc.cand, 1, r->nrules);
#endif
}

static double eval_node(struct evalctx *ec, const struct node *n);

static int eval_rule(struct evalctx *ec, int idx)
{
	const struct sirt_rules *r = ec->r;
	const struct rule *ru = &r->rules[idx];

	if (r->sc.state[idx] >= 0)
		return r->sc.state[idx] == 1;
	if (ru->disabled) {
		r->sc.state[idx] = 0;
		return 0;
	}
	if (!ru->is_meta) {
		/* A sub-rule runs only when a meta asks for it (metas
		 * short-circuit, so "X && __Y" never runs __Y when X is
		 * false); not a prefilter candidate: cannot match. */
		if (r->sc.cand[idx])
			run_match(ec, idx);
		else
			r->sc.state[idx] = 0;
		return r->sc.state[idx] == 1;
	}
	r->sc.state[idx] = 2;  /* cycles are rejected at load time */
	r->sc.state[idx] = eval_node(ec, ru->expr) != 0 ? 1 : 0;
	return r->sc.state[idx] == 1;
}

static double eval_node(struct evalctx *ec, const struct node *n)
{
	double a, b;
	size_t i, c;

	switch (n->kind) {
	case N_NUM: return n->num;
	case N_RULE: return eval_rule(ec, n->idx);
	case N_UNKNOWN: return 0;
	case N_FACT: return ec->facts[n->idx];
	case N_HITS:
		for (i = 0, c = 0; i < n->nlist; i++)
			c += (size_t)eval_rule(ec, n->list[i]);
		return (double)c;
	case N_NOT: return eval_node(ec, n->a) == 0;
	case N_AND: return eval_node(ec, n->a) != 0 && eval_node(ec, n->b) != 0;
	case N_OR: return eval_node(ec, n->a) != 0 || eval_node(ec, n->b) != 0;
	case N_ADD: return eval_node(ec, n->a) + eval_node(ec, n->b);
	default: break;
	}
	a = eval_node(ec, n->a);
	b = eval_node(ec, n->b);
	switch (n->kind) {
	case N_LT: return a < b;
	case N_LE: return a <= b;
	case N_GT: return a > b;
	case N_GE: return a >= b;
	case N_EQ: return a == b;
	case N_NE: return a != b;
	default: return 0;
	}
}

/* A printable excerpt of what matched (at most EXCERPT_MAX bytes, on a
 * UTF-8 boundary, controls and newlines as spaces); caller's. */
static char *excerpt(const char *s, size_t n, size_t st, size_t en)
{
	struct sirt_buf b = SIRT_BUF_INIT;
	size_t len, i;
	char *clean;
	int cut = 0;

	if (st > n)
		st = n;
	if (en > n)
		en = n;
	if (en == st) {  /* empty match: show what follows */
		en = st + 60 < n ? st + 60 : n;
	}
	len = en - st;
	if (len > EXCERPT_MAX) {
		len = EXCERPT_MAX;
		while (len > 0 && ((unsigned char)s[st + len] & 0xC0) == 0x80)
			len--;
		cut = 1;
	}
	clean = sirt_utf8_sanitize(s + st, len);
	sirt_buf_init(&b);
	for (i = 0; clean[i]; i++) {
		unsigned char c = (unsigned char)clean[i];
		if (c < 0x20 || c == 0x7f) {
			if (b.len == 0 || b.data[b.len - 1] != ' ')
				sirt_buf_addc(&b, ' ');
		} else {
			sirt_buf_addc(&b, (char)c);
		}
	}
	free(clean);
	if (cut)
		sirt_buf_adds(&b, "…");
	return sirt_buf_detach(&b, NULL);
}

/* The evidence behind a meta: the excerpts of the match rules that fired
 * and made it true (not those under a "!"), at most 3, as
 * '"text" (field)' joined by "; ". */
static void meta_evidence(struct evalctx *ec, const struct node *n, struct sirt_buf *b,
			  int *count, int depth)
{
	const struct sirt_rules *r = ec->r;
	size_t i;

	if (!n || *count >= 3 || depth > 16)
		return;
	if (n->kind == N_NOT)
		return;
	if (n->kind == N_RULE || n->kind == N_HITS) {
		size_t k, nk = n->kind == N_RULE ? 1 : n->nlist;
		for (k = 0; k < nk && *count < 3; k++) {
			int idx = n->kind == N_RULE ? n->idx : n->list[k];
			const struct rule *ru = &r->rules[idx];
			if (r->sc.state[idx] != 1)
				continue;
			if (ru->is_meta) {
				meta_evidence(ec, ru->expr, b, count, depth + 1);
			} else {
				const struct fval *v = &ec->slots[ru->slot].v[r->sc.mval[idx]];
				char *x = excerpt(v->s, v->n, r->sc.mstart[idx], r->sc.mend[idx]);
				for (i = 0; x[i]; i++)
					if (x[i] == '"')
						x[i] = '\'';
				sirt_buf_addf(b, "%s\"%s\" (%s)", b->len ? "; " : "", x,
					      r->slots[ru->slot].label);
				free(x);
				(*count)++;
			}
		}
		return;
	}
	meta_evidence(ec, n->a, b, count, depth);
	meta_evidence(ec, n->b, b, count, depth);
}

int sirt_rules_eval(const struct sirt_rules *r, const struct sirt_msg *msg,
		    const struct sirt_rule_facts *facts, struct sirt_rule_result *res,
		    struct sirt_err *err)
{
	struct evalctx ec;
	size_t i, nfired;
	double score = 0;

	(void)err;
	memset(res, 0, sizeof(*res));
	memset(&ec, 0, sizeof(ec));
	ec.r = r;
	ec.msg = msg;
	ec.slots = sirt_xcalloc(r->nslots + 1, sizeof(*ec.slots));
	ec.facts[FACT_CVSS] = facts && facts->cvss >= 0 ? facts->cvss : NAN;
	ec.facts[FACT_ATTACHMENTS] = (double)msg->nattachments;
	ec.facts[FACT_URLS] = (double)msg->nurls;
	ec.facts[FACT_PARTS] = (double)msg->nparts;
	ec.facts[FACT_SIZE] = (double)msg->raw_len;
	ec.facts[FACT_SIGNED] = msg->crypto.status == SIRT_CRYPTO_SIGNED ||
				msg->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED;
	ec.facts[FACT_ENCRYPTED] = msg->crypto.status == SIRT_CRYPTO_ENCRYPTED ||
				   msg->crypto.status == SIRT_CRYPTO_SIGNED_ENCRYPTED;
	ec.facts[FACT_TRUSTED] = signer_trusted(msg);
	ec.facts[FACT_UNPARSED] = msg->unparsed != 0;
	memset(r->sc.state, 0xff, r->nrules);  /* -1: unknown */
#ifdef SIRT_HAVE_HYPERSCAN
	/* The prefilter pays for its compile time only over many messages:
	 * build it once this set has seen PREFILTER_AFTER of them.  It is a
	 * cache inside the set (verdicts are the same with or without it),
	 * hence the cast; evaluation is single-threaded per set. */
	if (r->use_prefilter && !r->prefilter_built &&
	    ++((struct sirt_rules *)r)->nevals >= PREFILTER_AFTER)
		build_prefilter((struct sirt_rules *)r);
#endif

	prefilter(&ec);
	/* Rules with effects of their own run now; sub-rules (__) lazily,
	 * when a meta needs them (eval_rule). */
	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		if (ru->is_meta || ru->disabled || ru->is_sub)
			continue;
		if (r->sc.cand[i])
			run_match(&ec, (int)i);
		else
			r->sc.state[i] = 0;
		if (r->sc.state[i] == 1)
			score += ru->score;
	}
	ec.facts[FACT_SCORE] = score;
	for (i = 0; i < r->nrules; i++)
		if (r->rules[i].is_meta)
			(void)eval_rule(&ec, (int)i);

	/* as many as fired: a set-sized array per message was a large
	 * allocation, zeroed every time */
	for (i = 0, nfired = 0; i < r->nrules; i++)
		nfired += r->sc.state[i] == 1;
	res->hits = sirt_xcalloc(nfired + 1, sizeof(*res->hits));
	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		struct sirt_rule_hit *h;

		if (r->sc.state[i] != 1 || ru->is_sub)
			continue;
		h = &res->hits[res->nhits++];
		h->rule = ru->name;
		h->describe = ru->describe;
		h->score = ru->score;
		h->floor = ru->floor;
		h->cap = ru->cap;
		h->tags = (const char *const *)ru->tags;
		h->ntags = ru->ntags;
		h->category = ru->category;
		res->score += ru->score;
		if (ru->is_meta) {
			struct sirt_buf b = SIRT_BUF_INIT;
			int cnt = 0;
			h->field = "meta";
			h->expr = ru->expr_text;
			sirt_buf_init(&b);
			meta_evidence(&ec, ru->expr, &b, &cnt, 0);
			if (b.len)
				h->match = sirt_buf_detach(&b, NULL);
			sirt_buf_release(&b);
		} else {
			const struct fval *v = &ec.slots[ru->slot].v[r->sc.mval[i]];
			h->field = r->slots[ru->slot].label;
			h->match = excerpt(v->s, v->n, r->sc.mstart[i], r->sc.mend[i]);
		}
	}
	res->nlimit = ec.nlimit;

	for (i = 0; i < r->nslots; i++)
		free(ec.slots[i].v);
	free(ec.slots);
	free(ec.part_flat);
	for (i = 0; i < ec.nowned; i++)
		free(ec.owned[i]);
	free(ec.owned);
	return 0;
}

void sirt_rule_result_release(struct sirt_rule_result *res)
{
	size_t i;

	for (i = 0; i < res->nhits; i++)
		free(res->hits[i].match);
	free(res->hits);
	memset(res, 0, sizeof(*res));
}
