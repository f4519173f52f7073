/* cmd_keys.c - sirt keys import REF: import the public keys a case's
 * reporters attached (application/pgp-keys, .asc key files) into the
 * SIRT keyring, on a human's request.
 *
 * Intake only records such keys (crypto.h, msg->crypto.keys); nothing is
 * imported automatically and nothing here ever sets owner trust: whether
 * a reporter's key is trusted stays the SIRT's decision ([crypto]
 * trusted_signers, or certifying the key with gpg).  Each import is
 * written to the case's timeline.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <jansson.h>
#include "sirt/buf.h"
#include "sirt/crypto.h"
#include "sirt/msg.h"
#include "sirt/store.h"
#include "sirt/util.h"
#include "cmd.h"

/* Import the keys recorded in one stored message; results appended to
 * out (a JSON array).  -1 only on errors that stop the command. */
static int import_message(struct sirt_ctx *ctx, int64_t case_id,
			  const struct sirt_message_row *row, json_t *out,
			  struct sirt_err *err)
{
	unsigned char *raw = NULL;
	size_t len = 0, k;
	struct sirt_msg *msg = NULL;
	int rc = -1;

	if (sirt_store_message_raw(ctx->store, row->id, &raw, &len, err) < 0)
		return -1;
	if (sirt_msg_parse(raw, len, &ctx->cfg->limits, &msg, err) < 0)
		goto out;
	/* Decrypting finds keys attached inside encrypted reports too. */
	if (sirt_crypto_process(ctx->crypto, msg, &ctx->cfg->limits, err) < 0)
		goto out;
	for (k = 0; k < msg->crypto.nkeys; k++) {
		const struct sirt_pubkey *pk = &msg->crypto.keys[k];
		const struct sirt_part *p;
		struct sirt_buf rep = SIRT_BUF_INIT;
		struct sirt_err ierr;
		const char *line;
		int n = 0, i, dup = 0;
		json_t *e;

		/* One part may hold several keys: import it once. */
		for (i = 0; (size_t)i < k; i++)
			if (msg->crypto.keys[i].part == pk->part)
				dup = 1;
		if (dup || pk->part < 0 || (size_t)pk->part >= msg->nparts)
			continue;
		p = &msg->parts[pk->part];
		sirt_buf_init(&rep);
		sirt_err_clear(&ierr);
		if (sirt_crypto_import_keys(ctx->crypto, p->data, p->size, &rep,
					    &n, &ierr) < 0) {
			if (ierr.cls == SIRT_E_TEMP) {
				*err = ierr;
				sirt_buf_release(&rep);
				goto out;
			}
			json_array_append_new(out, json_pack("{s:s?, s:s, s:s}",
				"fingerprint", pk->fingerprint, "result", "refused",
				"reason", ierr.msg));
			sirt_buf_release(&rep);
			if (sirt_store_audit(ctx->store, case_id, cmd_actor(),
					     "key-import", ierr.msg, NULL, err) < 0)
				goto out;
			continue;
		}
		/* rep: one "STATUS FPR" line per key. */
		for (line = rep.data; *line; ) {
			const char *nl = strchr(line, '\n'), *sp;
			size_t ll = nl ? (size_t)(nl - line) : strlen(line);
			char *status, *fpr, detail[300];
			const char *uids = NULL;
			size_t j;

			sp = memchr(line, ' ', ll);
			if (sp) {
				status = sirt_xstrndup(line, (size_t)(sp - line));
				fpr = sirt_xstrndup(sp + 1, ll - (size_t)(sp - line) - 1);
				for (j = 0; j < msg->crypto.nkeys; j++)
					if (msg->crypto.keys[j].fingerprint &&
					    strcasecmp(msg->crypto.keys[j].fingerprint, fpr) == 0)
						uids = msg->crypto.keys[j].uids;
				e = json_pack("{s:s, s:s, s:s?}", "fingerprint", fpr,
					      "result", status, "uids", uids);
				json_array_append_new(out, e);
				snprintf(detail, sizeof(detail), "%s %s", status, fpr);
				if (sirt_store_audit(ctx->store, case_id, cmd_actor(),
						     "key-import", detail, NULL, err) < 0) {
					free(status);
					free(fpr);
					sirt_buf_release(&rep);
					goto out;
				}
				free(status);
				free(fpr);
			}
			line += ll + (nl ? 1 : 0);
		}
		sirt_buf_release(&rep);
	}
	rc = 0;
out:
	sirt_msg_free(&msg);
	free(raw);
	return rc;
}

int cmd_keys(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_case c;
	struct sirt_message_row *m = NULL;
	struct sirt_err err;
	json_t *res = NULL, *e;
	size_t nm = 0, i;
	int64_t id;
	int opt, rc;

	memset(&c, 0, sizeof(c));
	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': ctx->json = 1; break;
		default: return cmd_usage("keys", "bad option");
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "import") != 0)
		return cmd_usage("keys", "usage: keys import REF");
	if (sirt_ctx_store_existing(ctx, &err) < 0)
		return cmd_fail("keys", &err);
	rc = sirt_store_find_case(ctx->store, argv[optind + 1], &id, &err);
	if (rc < 0)
		return cmd_fail("keys", &err);
	if (rc == 0) {
		fprintf(stderr, "sirt: keys: no case '%s'\n", argv[optind + 1]);
		return EX_NOINPUT;
	}
	if (sirt_ctx_crypto(ctx, &err) < 0)
		return cmd_fail("keys", &err);
	if (!ctx->crypto) {
		fprintf(stderr, "sirt: keys: no GnuPG keyring: set [crypto] "
			"gnupg_home (or GNUPGHOME)\n");
		return EX_CONFIG;
	}
	if (sirt_store_case_get(ctx->store, id, &c, &err) <= 0 ||
	    sirt_store_case_messages(ctx->store, id, &m, &nm, &err) < 0) {
		rc = cmd_fail("keys", &err);
		goto out;
	}
	res = json_array();
	if (sirt_store_begin(ctx->store, &err) < 0) {
		rc = cmd_fail("keys", &err);
		goto out;
	}
	for (i = 0; i < nm; i++) {
		if (import_message(ctx, id, &m[i], res, &err) < 0) {
			sirt_store_rollback(ctx->store);
			rc = cmd_fail("keys", &err);
			goto out;
		}
	}
	if (sirt_store_commit(ctx->store, &err) < 0) {
		rc = cmd_fail("keys", &err);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:O}", "ref", c.ref, "keys", res);
		cmd_put_json(o, JSON_INDENT(2));
	} else if (!json_array_size(res)) {
		printf("%s: no public keys attached to this case\n", c.ref);
	} else {
		json_array_foreach(res, i, e) {
			const char *u = json_string_value(json_object_get(e, "uids"));
			const char *why = json_string_value(json_object_get(e, "reason"));
			size_t ul = u ? strcspn(u, "\n") : 0;

			printf("%s: %s %s", c.ref,
			       json_string_value(json_object_get(e, "result")),
			       json_string_value(json_object_get(e, "fingerprint")) ?
			       json_string_value(json_object_get(e, "fingerprint")) : "-");
			if (u) {
				/* uids come from a hostile key: the first one,
				 * made safe for the terminal */
				char *first = sirt_xstrndup(u, ul);
				printf(" ");
				cmd_put_safe(first, NULL);
				free(first);
			}
			if (why)
				printf(" (%s)", why);
			putchar('\n');
		}
		printf("owner trust is not set: certify the key or list it in "
		       "[crypto] trusted_signers to trust it\n");
	}
	rc = json_array_size(res) ? EX_OK : EX_NOINPUT;
out:
	json_decref(res);
	for (i = 0; i < nm; i++)
		sirt_message_row_release(&m[i]);
	free(m);
	sirt_case_release(&c);
	return rc;
}
