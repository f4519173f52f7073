/* case.h - case refs, states and threading rules. */
#ifndef SIRT_CASE_H
#define SIRT_CASE_H

#include <stddef.h>
#include <stdint.h>
#include "sirt/err.h"
#include "sirt/msg.h"

struct sirt_store;

/* The states of 004's response process, in order. */
extern const char *const sirt_case_states[];   /* NULL-terminated */

int sirt_case_state_valid(const char *state);

/* Find "SEC-YYYY-NNNN" (brackets optional) in s; copies the upper-cased
 * ref into ref_r and returns 1, or 0 if none. */
int sirt_case_ref_in(const char *s, char ref_r[32]);

/* Format a ref from year and sequence. */
void sirt_case_ref_format(int year, int seq, char ref_r[32]);

/* The case an incoming message follows up, if any: its In-Reply-To or
 * References naming a stored message, else a case ref in its subject.
 * 1 found (*case_id_r), 0 new case, -1 error. */
int sirt_case_thread(struct sirt_store *s, const struct sirt_msg *msg,
		     int64_t *case_id_r, struct sirt_err *err);

#endif
