/* cvss.h - CVSS v3.0/v3.1 and v4.0 vectors: parse and score exactly as
 * FIRST specifies.
 *
 * v3.x: the base score per the CVSS v3.1 specification section 7 (the
 * v3.1 Roundup of Appendix A; v3.0 vectors use v3.0's Roundup).
 * Temporal and environmental metrics are validated but do not change the
 * score reported (it is the base score).
 * v4.0: the score of the whole vector (CVSS-B, -BT, -BE or -BTE depending
 * on which metrics it carries) with the MacroVector lookup table and the
 * interpolation of FIRST's reference calculator (cvss-v4-calculator,
 * cvss_lookup.js, max_composed.js, max_severity.js, cvss_score.js).
 */
#ifndef SIRT_CVSS_H
#define SIRT_CVSS_H

#include "sirt/err.h"

/* Score one vector ("CVSS:3.1/AV:N/..." or "CVSS:4.0/AV:N/...").  0 and
 * *score_r in 0.0..10.0, or -1 with SIRT_E_BADMSG naming what is wrong. */
int sirt_cvss_score(const char *vector, double *score_r, struct sirt_err *err);

/* Find CVSS vectors in free text and score them.  Returns 1 with the
 * highest-scoring valid vector (*vector_r, caller frees) and its score,
 * 0 if there is none.  Malformed vectors are skipped; a note saying why
 * (caller frees) is left in *note_r when note_r is not NULL, else NULL. */
int sirt_cvss_find(const char *text, char **vector_r, double *score_r, char **note_r);
/* How such a note starts (it quotes the text that was not a vector). */
#define SIRT_CVSS_MALFORMED_NOTE "ignored malformed CVSS vector"


/* The v3.1 Roundup (Appendix A), exposed for tests. */
double sirt_cvss31_roundup(double x);

/* "None", "Low", "Medium", "High", "Critical" for a score. */
const char *sirt_cvss_rating(double score);

#endif
