/* source_mbox.c - an mbox file read from where the last run stopped.
 *
 * The file is mapped read-only and never modified.  Messages are split
 * at "From " lines that start the file or follow an empty line (mboxrd
 * and mboxo); ">From " quoting is undone (one '>' removed from lines
 * matching ^>+From ).  The byte offset after the last committed
 * message is kept in the store's source state, with the file's inode,
 * so the next run resumes there; a file that was replaced or shrank is
 * read again from the start (the SHA-256 de-duplicates).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sirt/buf.h"
#include "sirt/config.h"
#include "sirt/sirt.h"
#include "sirt/source.h"
#include "sirt/store.h"
#include "sirt/util.h"

struct mbox_source {
	struct sirt_source base;   /* first */
	const char *map;
	size_t size;
	size_t pos;                /* start of the next message */
	unsigned long long ino;
	int count;
};

/* Offset of the next "From " separator at or after p (at a line start
 * that is the file start or follows an empty line), or size. */
static size_t next_sep(const char *map, size_t size, size_t p)
{
	while (p + 5 <= size) {
		if (!memcmp(map + p, "From ", 5) &&
		    (p == 0 || (p >= 2 && map[p - 1] == '\n' &&
				(map[p - 2] == '\n' ||
				 (p >= 3 && map[p - 2] == '\r' && map[p - 3] == '\n')))))
			return p;
		{
			const char *nl = memchr(map + p, '\n', size - p);
			if (!nl)
				return size;
			p = (size_t)(nl - map) + 1;
		}
	}
	return size;
}

static void mbox_close(struct sirt_source **srcp)
{
	struct mbox_source *m = (struct mbox_source *)*srcp;

	if (!m)
		return;
	if (m->map && m->size)
		munmap((void *)m->map, m->size);
	free(m);
	*srcp = NULL;
}

static int mbox_open(const struct sirt_source_conf *conf, struct sirt_ctx *ctx,
		     struct sirt_source **src_r, struct sirt_err *err)
{
	struct mbox_source *m;
	struct stat st;
	char *v = NULL;
	unsigned long long ino = 0, off = 0;
	int fd, rc;

	fd = open(conf->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sirt_err_set(err, errno == ENOENT ? SIRT_E_CONFIG : SIRT_E_TEMP,
				    "source '%s': cannot open mbox '%s': %s",
				    conf->name, conf->path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sirt_err_set(err, SIRT_E_CONFIG, "source '%s': '%s' is not a file",
				    conf->name, conf->path);
	}
	m = sirt_xcalloc(1, sizeof(*m));
	m->base.ops = &sirt_source_mbox_ops;
	m->base.conf = conf;
	m->base.ctx = ctx;
	m->size = (size_t)st.st_size;
	m->ino = (unsigned long long)st.st_ino;
	if (m->size) {
		void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			close(fd);
			free(m);
			return sirt_err_set(err, SIRT_E_TEMP, "source '%s': cannot map '%s': %s",
					    conf->name, conf->path, strerror(errno));
		}
		m->map = p;
	}
	close(fd);
	/* Resume after the last committed message of this same file. */
	if (sirt_ctx_store(ctx, err) < 0)
		goto fail;
	rc = sirt_store_state_get(ctx->store, conf->name, "mbox", &v, err);
	if (rc < 0)
		goto fail;
	if (rc == 1 && sscanf(v, "%llu %llu", &ino, &off) == 2 && ino == m->ino &&
	    off <= m->size)
		m->pos = (size_t)off;
	free(v);
	*src_r = &m->base;
	return 0;
fail:
	{
		struct sirt_source *s = &m->base;
		mbox_close(&s);
	}
	return -1;
}

static int mbox_next(struct sirt_source *src, struct sirt_source_msg *sm,
		     struct sirt_err *err)
{
	struct mbox_source *m = (struct mbox_source *)src;
	size_t cap = src->ctx->cfg->limits.max_message_size * 4;
	size_t start, end, body, p;
	struct sirt_buf b;

	sirt_source_msg_release(sm);
	/* Blank lines between messages (or before the first) are format. */
	while (m->map && m->pos < m->size &&
	       (m->map[m->pos] == '\n' || m->map[m->pos] == '\r'))
		m->pos++;
	if (!m->map || m->pos >= m->size)
		return 0;
	start = m->pos;
	/* Skip the From_ line (a file not starting with one is taken whole
	 * as its first message, so nothing is lost). */
	body = start;
	if (m->size - start >= 5 && !memcmp(m->map + start, "From ", 5)) {
		const char *nl = memchr(m->map + start, '\n', m->size - start);
		body = nl ? (size_t)(nl - m->map) + 1 : m->size;
	}
	end = next_sep(m->map, m->size, body);
	sirt_buf_init(&b);
	/* Copy, undoing >From quoting; drop the separator's blank line. */
	for (p = body; p < end && b.len < cap;) {
		const char *nl = memchr(m->map + p, '\n', end - p);
		size_t lend = nl ? (size_t)(nl - m->map) + 1 : end, q = p;

		while (q < lend && m->map[q] == '>')
			q++;
		if (q > p && lend - q >= 5 && !memcmp(m->map + q, "From ", 5))
			sirt_buf_add(&b, m->map + p + 1, lend - p - 1);
		else
			sirt_buf_add(&b, m->map + p, lend - p);
		p = lend;
	}
	if (end < m->size) {
		/* the blank line before the next From_ belongs to the format */
		if (b.len >= 2 && b.data[b.len - 1] == '\n' && b.data[b.len - 2] == '\n')
			b.len--;
		else if (b.len >= 4 && !memcmp(b.data + b.len - 4, "\r\n\r\n", 4))
			b.len -= 2;
		b.data[b.len] = '\0';
	}
	sm->truncated = b.len >= cap && p < end;
	sm->data = (unsigned char *)sirt_buf_detach(&b, &sm->len);
	m->count++;
	{
		char id[64];
		snprintf(id, sizeof(id), "mbox #%d at %zu", m->count, start);
		sm->id = sirt_xstrdup(id);
	}
	sm->uid = (unsigned long)end;
	sm->declared_size = end - start;
	m->pos = end;
	(void)err;
	return 1;
}

/* Remember that everything before this message's end is committed. */
static int mbox_ack(struct sirt_source *src, struct sirt_source_msg *sm,
		    struct sirt_err *err)
{
	struct mbox_source *m = (struct mbox_source *)src;
	char v[64];

	snprintf(v, sizeof(v), "%llu %lu", m->ino, sm->uid);
	return sirt_store_state_set(src->ctx->store, src->conf->name, "mbox", v, err);
}

const struct sirt_source_ops sirt_source_mbox_ops = {
	.name = "mbox",
	.open = mbox_open,
	.next = mbox_next,
	.ack = mbox_ack,
	.flush = NULL,
	.idle = NULL,
	.close = mbox_close,
};
