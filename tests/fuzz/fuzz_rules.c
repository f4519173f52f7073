/* fuzz_rules.c - libFuzzer target for the rule parser and compiler
 * (src/rules.c): any bytes as a rule file must load or fail with a
 * message, never crash, hang or leak; what loads is evaluated over a
 * small message.  The prefilter's pattern widening runs too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/msg.h"
#include "sirt/rules.h"
#include "sirt/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char mail[] = "From: a@b.c\r\nSubject: Fwd: test\r\n\r\n"
				   "hello world, files are encrypted\r\n> quoted\r\n";
	struct sirt_rules *r = NULL;
	struct sirt_msg *m = NULL;
	struct sirt_err err;
	struct sirt_rule_result res;
	char *text;

	if (size > 65536)
		return 0;
	text = sirt_xstrndup((const char *)data, size);
	/* Vectorscan compiles slowly under the sanitizers: small inputs only */
	if (sirt_rules_load_string("fuzz.rules", text,
				   size < 512 ? SIRT_RULES_PREFILTER_NOW : SIRT_RULES_NO_PREFILTER,
				   &r, &err) == 0) {
		if (sirt_msg_parse(mail, sizeof(mail) - 1, NULL, &m, &err) == 0) {
			struct sirt_rule_facts f = { 9.8 };
			if (sirt_rules_eval(r, m, &f, &res, &err) == 0)
				sirt_rule_result_release(&res);
			sirt_msg_free(&m);
		}
		sirt_rules_free(&r);
	}
	free(text);
	return 0;
}
