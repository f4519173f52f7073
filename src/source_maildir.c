/* source_maildir.c - a Maildir: new/ (and unseen cur/) in, cur/:2,S out.
 *
 * Messages are taken from new/ and from cur/ entries without the S
 * flag, in name order.  After commit, ack() renames the file into cur/
 * with the S (seen) flag added; a crash before that leaves the file
 * where it was, and the store's SHA-256 makes the retry harmless.
 * File names come only from readdir(), never from message content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sirt/buf.h"
#include "sirt/config.h"
#include "sirt/log.h"
#include "sirt/sirt.h"
#include "sirt/source.h"
#include "sirt/util.h"

struct maildir_source {
	struct sirt_source base;   /* first */
	char **names;              /* "new/NAME" or "cur/NAME" */
	size_t nnames, next;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True if a cur/ name carries the S flag in its ":2,FLAGS" info. */
static int has_seen_flag(const char *name)
{
	const char *info = strstr(name, ":2,");
	return info && strchr(info + 3, 'S');
}

static int scan_dir(struct maildir_source *m, const char *sub,
		    struct sirt_err *err)
{
	struct sirt_buf path;
	struct dirent *de;
	DIR *d;

	sirt_buf_init(&path);
	sirt_buf_addf(&path, "%s/%s", m->base.conf->path, sub);
	d = opendir(path.data);
	if (!d) {
		int e = errno;
		sirt_err_set(err, e == ENOENT ? SIRT_E_CONFIG : SIRT_E_TEMP,
			     "cannot read maildir '%s': %s", path.data, strerror(e));
		sirt_buf_release(&path);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!strcmp(sub, "cur") && has_seen_flag(de->d_name))
			continue;
		m->names = sirt_xrealloc(m->names, (m->nnames + 1) * sizeof(char *));
		sirt_buf_reset(&path);
		sirt_buf_addf(&path, "%s/%s", sub, de->d_name);
		m->names[m->nnames++] = sirt_xstrdup(path.data);
	}
	closedir(d);
	sirt_buf_release(&path);
	return 0;
}

static void maildir_close(struct sirt_source **srcp)
{
	struct maildir_source *m = (struct maildir_source *)*srcp;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	free(m);
	*srcp = NULL;
}

static int maildir_rescan(struct maildir_source *m, struct sirt_err *err)
{
	size_t i;

	for (i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	m->names = NULL;
	m->nnames = m->next = 0;
	if (scan_dir(m, "new", err) < 0 || scan_dir(m, "cur", err) < 0)
		return -1;
	if (m->nnames > 1)
		qsort(m->names, m->nnames, sizeof(char *), name_cmp);
	return 0;
}

static int maildir_open(const struct sirt_source_conf *conf, struct sirt_ctx *ctx,
			struct sirt_source **src_r, struct sirt_err *err)
{
	struct maildir_source *m = sirt_xcalloc(1, sizeof(*m));

	m->base.ops = &sirt_source_maildir_ops;
	m->base.conf = conf;
	m->base.ctx = ctx;
	if (maildir_rescan(m, err) < 0) {
		struct sirt_source *s = &m->base;
		maildir_close(&s);
		return sirt_err_prefix(err, "source '%s'", conf->name);
	}
	*src_r = &m->base;
	return 0;
}

static int maildir_next(struct sirt_source *src, struct sirt_source_msg *sm,
			struct sirt_err *err)
{
	struct maildir_source *m = (struct maildir_source *)src;
	const struct sirt_limits *lim = &src->ctx->cfg->limits;
	struct sirt_buf path;
	struct stat st;
	char *data;
	size_t len;
	int fd, trunc, rc;

	sirt_source_msg_release(sm);
	sirt_buf_init(&path);
	while (m->next < m->nnames) {
		const char *name = m->names[m->next++];
		sirt_buf_reset(&path);
		sirt_buf_addf(&path, "%s/%s", src->conf->path, name);
		fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)  /* taken by someone else */
				continue;
			if (errno == ELOOP) { /* a symlink: not mail, never followed */
				sirt_warn("maildir '%s': skipping symbolic link '%s'",
					  src->conf->path, name);
				continue;
			}
			sirt_err_set(err, SIRT_E_TEMP, "cannot open '%s': %s",
				     path.data, strerror(errno));
			sirt_buf_release(&path);
			return -1;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			sirt_warn("maildir '%s': skipping '%s': not a regular file",
				  src->conf->path, name);
			close(fd);
			continue;
		}
		/* Read up to 4x the limit: beyond that the message is kept
		 * truncated (and flagged) rather than held whole in memory. */
		rc = sirt_read_fd(fd, lim->max_message_size * 4, &data, &len, &trunc, err);
		close(fd);
		if (rc < 0) {
			sirt_err_prefix(err, "'%s'", path.data);
			sirt_buf_release(&path);
			return -1;
		}
		sm->data = (unsigned char *)data;
		sm->len = len;
		sm->id = sirt_xstrdup(name);
		sm->declared_size = (size_t)st.st_size;
		sm->oversized = 0;
		sm->truncated = trunc;
		sm->received = st.st_mtime;
		sirt_buf_release(&path);
		return 1;
	}
	sirt_buf_release(&path);
	return 0;
}

/* Move new/NAME or cur/NAME[:2,FLAGS] to cur/NAME:2,FLAGS+S. */
static int maildir_ack(struct sirt_source *src, struct sirt_source_msg *sm,
		       struct sirt_err *err)
{
	struct sirt_buf from, to;
	const char *name = sm->id + 4, *info;
	int rc = 0;

	sirt_buf_init(&from);
	sirt_buf_init(&to);
	sirt_buf_addf(&from, "%s/%s", src->conf->path, sm->id);
	info = strstr(name, ":2,");
	if (info) {
		/* keep flags sorted (Maildir spec): insert S in place */
		const char *f;
		int added = 0;
		sirt_buf_addf(&to, "%s/cur/%.*s:2,", src->conf->path,
			      (int)(info - name), name);
		for (f = info + 3; *f; f++) {
			if (!added && *f > 'S') {
				sirt_buf_addc(&to, 'S');
				added = 1;
			}
			sirt_buf_addc(&to, *f);
		}
		if (!added)
			sirt_buf_addc(&to, 'S');
	} else {
		sirt_buf_addf(&to, "%s/cur/%s:2,S", src->conf->path, name);
	}
	if (rename(from.data, to.data) < 0 && errno != ENOENT)
		rc = sirt_err_set(err, SIRT_E_TEMP, "cannot move '%s' to cur/: %s",
				  from.data, strerror(errno));
	sirt_buf_release(&from);
	sirt_buf_release(&to);
	return rc;
}

const struct sirt_source_ops sirt_source_maildir_ops = {
	.name = "maildir",
	.open = maildir_open,
	.next = maildir_next,
	.ack = maildir_ack,
	.flush = NULL,
	.idle = NULL,
	.close = maildir_close,
};
