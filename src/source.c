/* source.c - the table of mail source backends, looked up by name. */
#include <stdlib.h>
#include <string.h>
#include "sirt/source.h"

static const struct sirt_source_ops *const source_table[] = {
	&sirt_source_maildir_ops,
	&sirt_source_mbox_ops,
	&sirt_source_imap_ops,
	NULL
};

const struct sirt_source_ops *sirt_source_find(const char *name)
{
	int i;

	for (i = 0; source_table[i]; i++)
		if (!strcmp(source_table[i]->name, name))
			return source_table[i];
	return NULL;
}

void sirt_source_msg_release(struct sirt_source_msg *m)
{
	free(m->data);
	free(m->id);
	memset(m, 0, sizeof(*m));
}
