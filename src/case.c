/* case.c - case refs, states, threading. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "sirt/case.h"
#include "sirt/store.h"

const char *const sirt_case_states[] = {
	"new", "triaged", "investigating", "contained", "eradicated",
	"recovered", "remediated", "closed", NULL
};

int sirt_case_state_valid(const char *state)
{
	int i;
	for (i = 0; sirt_case_states[i]; i++)
		if (!strcmp(state, sirt_case_states[i]))
			return 1;
	return 0;
}

void sirt_case_ref_format(int year, int seq, char ref_r[32])
{
	snprintf(ref_r, 32, "SEC-%04d-%04d", year, seq);
}

/* "SEC-" 4 digits "-" 1 to 8 digits, not glued to other word chars. */
int sirt_case_ref_in(const char *s, char ref_r[32])
{
	const char *p;
	size_t i, nd;

	if (!s)
		return 0;
	for (p = s; *p; p++) {
		if (strncasecmp(p, "SEC-", 4))
			continue;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '-'))
			continue;
		for (i = 4; i < 8; i++)
			if (!isdigit((unsigned char)p[i]))
				break;
		if (i < 8 || p[8] != '-')
			continue;
		for (nd = 0; nd < 9 && isdigit((unsigned char)p[9 + nd]); nd++)
			;
		if (nd == 0 || nd > 8 || isalnum((unsigned char)p[9 + nd]))
			continue;
		{
			int year = 0, seq = 0;
			for (i = 4; i < 8; i++)
				year = year * 10 + (p[i] - '0');
			for (i = 0; i < nd; i++)
				seq = seq * 10 + (p[9 + i] - '0');
			if (seq == 0)
				continue;
			sirt_case_ref_format(year, seq, ref_r);
		}
		return 1;
	}
	return 0;
}

int sirt_case_thread(struct sirt_store *s, const struct sirt_msg *msg,
		     int64_t *case_id_r, struct sirt_err *err)
{
	char ref[32];
	size_t i;
	int rc;

	if (msg->in_reply_to) {
		rc = sirt_store_find_by_message_id(s, msg->in_reply_to, case_id_r, err);
		if (rc != 0)
			return rc;
	}
	/* Newest reference first: the direct parent is most likely stored. */
	for (i = msg->nreferences; i > 0; i--) {
		rc = sirt_store_find_by_message_id(s, msg->references[i - 1],
						   case_id_r, err);
		if (rc != 0)
			return rc;
	}
	if (sirt_case_ref_in(msg->subject, ref))
		return sirt_store_find_case(s, ref, case_id_r, err);
	return 0;
}
