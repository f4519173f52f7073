/* fuzz_rules.c - libFuzzer target for the rule parser and compiler
 * (src/rules.c): any bytes as a rule file must load or fail with a
 * message, never crash, hang or leak; what loads is evaluated over a
 * small message (or the text after a line "%%" in the input), with the
 * prefilter and without: the hits and their excerpts must be the same,
 * whatever the prefilter's widening and splitting made of the patterns. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/msg.h"
#include "sirt/rules.h"
#include "sirt/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct sirt_rule_result *a, const struct sirt_rule_result *b)
{
	size_t i;

	if (a->nhits != b->nhits)
		abort();
	for (i = 0; i < a->nhits; i++) {
		const char *ma = a->hits[i].match ? a->hits[i].match : "";
		const char *mb = b->hits[i].match ? b->hits[i].match : "";
		if (strcmp(a->hits[i].rule, b->hits[i].rule) != 0 || strcmp(ma, mb) != 0) {
			fprintf(stderr, "prefilter changed %s: '%s' vs '%s'\n", a->hits[i].rule, ma, mb);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char mail[] = "From: a@b.c\r\nSubject: Fwd: test\r\n\r\n"
				   "hello world, files are encrypted\r\n> quoted\r\n";
	struct sirt_rules *r = NULL, *plain = NULL;
	struct sirt_msg *m = NULL;
	struct sirt_err err;
	struct sirt_rule_result res, res2;
	char *text, *sep, *body = NULL;
	size_t blen = 0;

	if (size > 65536)
		return 0;
	text = sirt_xstrndup((const char *)data, size);
	if ((sep = strstr(text, "\n%%\n")) != NULL) {
		*sep = 0;
		body = sirt_xcalloc(1, strlen(sep + 4) + 40);
		blen = (size_t)sprintf(body, "Subject: fuzz\r\n\r\n%s", sep + 4);
	}
	/* Vectorscan compiles slowly under the sanitizers: small inputs only */
	if (sirt_rules_load_string("fuzz.rules", text,
				   size < 512 ? SIRT_RULES_PREFILTER_NOW : SIRT_RULES_NO_PREFILTER,
				   &r, &err) == 0) {
		if (sirt_msg_parse(body ? body : mail, body ? blen : sizeof(mail) - 1, NULL, &m,
				   &err) == 0) {
			struct sirt_rule_facts f = { 9.8 };
			if (sirt_rules_eval(r, m, &f, &res, &err) == 0) {
				if (size < 512 && sirt_rules_load_string("fuzz.rules", text,
						SIRT_RULES_NO_PREFILTER, &plain, &err) == 0) {
					if (sirt_rules_eval(plain, m, &f, &res2, &err) == 0) {
						same(&res, &res2);
						sirt_rule_result_release(&res2);
					}
					sirt_rules_free(&plain);
				}
				sirt_rule_result_release(&res);
			}
			sirt_msg_free(&m);
		}
		sirt_rules_free(&r);
	}
	free(body);
	free(text);
	return 0;
}
