/* fuzz_msg.c - libFuzzer target for the message parser.
 *
 * Parses the input as a message with default limits, checks the
 * invariants every consumer relies on (valid UTF-8, parent before child,
 * entity offsets inside their buffer) and grafts a slice of the input as
 * a "decrypted" entity under one of the parts, as the crypto module
 * does.  A broken invariant aborts so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sirt/msg.h"
#include "sirt/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	if (s && !sirt_utf8_valid(s, strlen(s)))
		abort();
}

static void check(const struct sirt_msg *m)
{
	size_t i, len;

	if (m->unparsed && !m->unparsed_reason)
		abort();
	check_str(m->subject);
	check_str(m->body);
	check_str(m->from.name);
	check_str(m->from.addr);
	for (i = 0; i < m->nheaders; i++) {
		check_str(m->headers[i].name);
		check_str(m->headers[i].value);
	}
	for (i = 0; i < m->nurls; i++)
		check_str(m->urls[i]);
	for (i = 0; i < m->nparts; i++) {
		const struct sirt_part *p = &m->parts[i];

		if (p->index != (int)i || p->parent >= (int)i ||
		    (i > 0 && p->parent < 0) ||
		    (p->parent >= 0 && p->depth != m->parts[p->parent].depth + 1))
			abort();
		if (!sirt_part_entity(m, p, &len) && (p->entity_len || p->entity_off))
			abort();
		if (p->kind == SIRT_PART_SINGLE && !p->data)
			abort();
		check_str(p->text);
		check_str(p->filename);
		check_str(p->content_type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sirt_limits lim;
	struct sirt_msg *m = NULL;
	struct sirt_err err;

	sirt_limits_default(&lim);
	if (sirt_msg_parse(data, size, &lim, &m, &err) != 0)
		abort();
	check(m);
	if (m->nparts && size > 2) {
		size_t cut = data[0] % size;
		int parent = (int)(data[1] % m->nparts);

		if (sirt_msg_add_entity(m, parent, data + cut, size - cut, &lim,
					&err) == 0)
			check(m);
	}
	sirt_msg_free(&m);
	return 0;
}
