/* cmd_show.c - sirt show REF [--raw [--message N]]: one case in full. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <jansson.h>
#include "sirt/case.h"
#include "sirt/crypto.h"
#include "sirt/msg.h"
#include "sirt/store.h"
#include "sirt/util.h"
#include "cmd.h"

json_t *cmd_case_json(const struct sirt_case *c);

static json_t *parse_json(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_loads(s, 0, NULL);
	return j ? j : json_null();
}

static void print_verdict(const char *vjson)
{
	json_t *v = parse_json(vjson), *hits, *h, *tags, *t;
	size_t i;

	if (!json_is_object(v)) {
		json_decref(v);
		return;
	}
	printf("    verdict:  %s", json_string_value(json_object_get(v, "severity")));
	if (json_string_value(json_object_get(v, "category")))
		printf(" %s", json_string_value(json_object_get(v, "category")));
	if (json_is_number(json_object_get(v, "cvss")))
		printf(", CVSS %.1f", json_number_value(json_object_get(v, "cvss")));
	if (json_string_value(json_object_get(v, "reason"))) {
		printf(" (");
		cmd_put_safe(json_string_value(json_object_get(v, "reason")), "");
		printf(")");
	}
	putchar('\n');
	tags = json_object_get(v, "tags");
	if (json_array_size(tags)) {
		printf("    tags:    ");
		json_array_foreach(tags, i, t)
			printf(" %s", json_string_value(t));
		putchar('\n');
	}
	hits = json_object_get(v, "hits");
	json_array_foreach(hits, i, h) {
		const char *d = json_string_value(json_object_get(h, "describe"));
		const char *m = json_string_value(json_object_get(h, "match"));
		printf("      - %s on %s", json_string_value(json_object_get(h, "rule")),
		       json_string_value(json_object_get(h, "field")));
		if (d) {
			printf(": ");
			cmd_put_safe(d, "");
		}
		if (m) {
			/* a meta's evidence is already '"text" (field); ...' */
			int meta = !strcmp(json_string_value(json_object_get(h, "field")) ?
					   json_string_value(json_object_get(h, "field")) : "", "meta");
			printf(meta ? " - evidence: " : " [\"");
			cmd_put_safe(m, "");
			printf(meta ? "" : "\"]");
		}
		putchar('\n');
	}
	json_decref(v);
}

static void print_parts(const char *pjson)
{
	json_t *parts = parse_json(pjson), *p;
	size_t i;

	json_array_foreach(parts, i, p) {
		const char *fn = json_string_value(json_object_get(p, "filename"));
		int depth = (int)json_integer_value(json_object_get(p, "depth"));
		const char *type = json_string_value(json_object_get(p, "type"));
		printf("      %*s", depth * 2, "");
		cmd_put_safe(type ? type : "?", "");
		if (json_is_true(json_object_get(p, "attachment"))) {
			printf(" attachment ");
			cmd_put_safe(fn ? fn : "(no name)", "");
			printf(" %lld bytes sha256:%s",
			       (long long)json_integer_value(json_object_get(p, "size")),
			       json_string_value(json_object_get(p, "sha256")) ?
			       json_string_value(json_object_get(p, "sha256")) : "-");
		} else if (json_is_true(json_object_get(p, "body"))) {
			printf(" (body text)");
		}
		if (json_is_true(json_object_get(p, "decrypted")))
			printf(" [decrypted]");
		putchar('\n');
	}
	json_decref(parts);
}

/* The crypto facts of one message (crypto.h JSON) for humans. */
static void print_crypto(const char *cjson)
{
	json_t *c = parse_json(cjson), *s;
	size_t i;

	if (!json_is_object(c)) {
		json_decref(c);
		return;
	}
	printf("    crypto:   %s", json_string_value(json_object_get(c, "status")) ?
	       json_string_value(json_object_get(c, "status")) : "?");
	if (json_is_true(json_object_get(c, "decrypted")))
		printf(", decrypted");
	putchar('\n');
	if (json_is_true(json_object_get(c, "undecryptable"))) {
		printf("      UNDECRYPTABLE: encrypted content could not be decrypted: ");
		cmd_put_safe(json_string_value(json_object_get(c, "decrypt_error")) ?
			   json_string_value(json_object_get(c, "decrypt_error")) : "?", "");
		putchar('\n');
	}
	json_array_foreach(json_object_get(c, "signatures"), i, s) {
		const char *st = json_string_value(json_object_get(s, "status"));
		const char *uid = json_string_value(json_object_get(s, "uid"));
		const char *fpr = json_string_value(json_object_get(s, "fingerprint"));
		const char *val = json_string_value(json_object_get(s, "validity"));
		const char *det = json_string_value(json_object_get(s, "detail"));

		printf("      %s signature", st ? st : "?");
		if (uid) {
			printf(" by ");
			cmd_put_safe(uid, "");
		}
		printf(" key %s (validity %s, %s)", fpr ? fpr : "unknown",
		       val ? val : "unknown",
		       json_is_true(json_object_get(s, "trusted")) ?
		       "trusted signer" : "not trusted");
		if (det) {
			printf(": ");
			cmd_put_safe(det, "");
		}
		putchar('\n');
	}
	json_array_foreach(json_object_get(c, "keys"), i, s) {
		json_t *u;
		size_t j;

		printf("      public key attached: %s",
		       json_string_value(json_object_get(s, "fingerprint")) ?
		       json_string_value(json_object_get(s, "fingerprint")) : "?");
		json_array_foreach(json_object_get(s, "uids"), j, u) {
			printf("%s", j ? ", " : " ");
			cmd_put_safe(json_string_value(u), "");
		}
		printf(" (recorded; import with: sirt keys import)\n");
	}
	json_decref(c);
}

/* Text that arrived encrypted and was not stored ([crypto]
 * store_decrypted = no), or that could not be decrypted at intake (the
 * key may have been added since): decrypt the stored raw message now.
 * Returns the body (caller wipes and frees) or NULL. */
static char *decrypt_on_demand(struct sirt_ctx *ctx,
			       const struct sirt_message_row *m)
{
	json_t *c;
	unsigned char *raw = NULL;
	size_t len = 0;
	struct sirt_msg *msg = NULL;
	struct sirt_err err;
	char *body = NULL;
	int want;

	if (!m->crypto_json)
		return NULL;
	c = parse_json(m->crypto_json);
	want = (!m->body && json_is_true(json_object_get(c, "decrypted"))) ||
	       json_is_true(json_object_get(c, "undecryptable"));
	json_decref(c);
	sirt_err_clear(&err);
	if (!want || sirt_ctx_crypto(ctx, &err) < 0 || !ctx->crypto ||
	    sirt_store_message_raw(ctx->store, m->id, &raw, &len, &err) < 0) {
		if (want && err.msg[0])
			fprintf(stderr, "sirt: show: cannot decrypt message %.12s: %s\n",
				m->sha256, err.msg);
		return NULL;
	}
	if (sirt_msg_parse(raw, len, &ctx->cfg->limits, &msg, &err) == 0 &&
	    sirt_crypto_process(ctx->crypto, msg, &ctx->cfg->limits, &err) == 0 &&
	    msg->crypto.decrypted && msg->body &&
	    !(m->body && msg->crypto.undecryptable))  /* opened further now */
		body = sirt_xstrdup(msg->body);
	else if (err.msg[0])
		fprintf(stderr, "sirt: show: cannot decrypt message %.12s: %s\n",
			m->sha256, err.msg);
	sirt_msg_free(&msg);
	sirt_wipe_free(raw, len);
	return body;
}

static int show_text(struct sirt_ctx *ctx, const struct sirt_case *c,
		     struct sirt_message_row *m, size_t nm,
		     struct sirt_audit_row *a, size_t na)
{
	size_t i, j;

	printf("%s  %s  %s\n", c->ref, sirt_severity_name(c->severity), c->state);
	printf("subject:   ");
	cmd_put_safe(c->subject ? c->subject : "(no subject)", "");
	printf("\nreporter:  ");
	cmd_put_safe(c->reporter ? c->reporter : "-", "");
	printf("\nreceived:  %s\n", c->received);
	printf("severity:  %s", sirt_severity_name(c->severity));
	if (c->severity_override)
		printf(" (set by a human; automatic %s)", sirt_severity_name(c->severity_auto));
	else if (c->reason) {
		printf(" (");
		cmd_put_safe(c->reason, "");
		printf(")");
	}
	printf("\ncategory:  %s\n", c->category ? c->category : "-");
	printf("tags:     ");
	for (i = 0; i < c->ntags; i++)
		printf(" %s", c->tags[i]);
	printf("%s\n", c->ntags ? "" : " -");
	if (c->unparsed)
		printf("attention: a message of this case could not be parsed; read it raw\n");
	for (i = 0; i < nm; i++) {
		json_t *urls = parse_json(m[i].urls_json), *u;
		printf("\nmessage %zu of %zu  %s\n", i + 1, nm, m[i].received);
		printf("    from:     ");
		cmd_put_safe(m[i].from ? m[i].from : "-", "");
		printf("\n    subject:  ");
		cmd_put_safe(m[i].subject ? m[i].subject : "(no subject)", "");
		printf("\n    date:     %s\n", m[i].date ? m[i].date : "-");
		printf("    id:       ");
		cmd_put_safe(m[i].message_id ? m[i].message_id : "-", "");
		printf("\n    via:      ");
		cmd_put_safe(m[i].origin ? m[i].origin : "-", "");
		printf("\n    sha256:   %s (%zu bytes)\n", m[i].sha256, m[i].raw_size);
		if (m[i].unparsed) {
			printf("    UNPARSED: ");
			cmd_put_safe(m[i].unparsed_reason ? m[i].unparsed_reason : "", "");
			printf("\n");
		}
		print_verdict(m[i].verdict_json);
		print_crypto(m[i].crypto_json);
		printf("    parts:\n");
		print_parts(m[i].parts_json);
		if (json_array_size(urls)) {
			printf("    urls:\n");
			json_array_foreach(urls, j, u) {
				printf("      ");
				cmd_put_safe(json_string_value(u), "");
				putchar('\n');
			}
		}
		json_decref(urls);
		if (m[i].body) {
			printf("    text:\n        ");
			cmd_put_safe(m[i].body, "        ");
			putchar('\n');
		}
		{
			char *plain = decrypt_on_demand(ctx, &m[i]);

			if (plain) {
				printf("    text (decrypted now, not stored):\n        ");
				cmd_put_safe(plain, "        ");
				putchar('\n');
				sirt_wipe_free(plain, strlen(plain));
			}
		}
	}
	printf("\ntimeline:\n");
	for (i = 0; i < na; i++) {
		printf("  %s  ", a[i].at);
		cmd_put_col(a[i].actor, 10);
		printf(" %-9s ", a[i].action);
		cmd_put_safe(a[i].detail ? a[i].detail : "", "");
		if (a[i].note) {
			printf("  -- ");
			cmd_put_safe(a[i].note, "     ");
		}
		putchar('\n');
	}
	(void)ctx;
	return EX_OK;
}

static int show_json(struct sirt_ctx *ctx, const struct sirt_case *c, struct sirt_message_row *m,
		     size_t nm, struct sirt_audit_row *a, size_t na)
{
	json_t *o = cmd_case_json(c), *msgs = json_array(), *tl = json_array();
	size_t i;

	for (i = 0; i < nm; i++) {
		json_t *x = json_object();
		json_object_set_new(x, "received", json_string(m[i].received));
		json_object_set_new(x, "origin", m[i].origin ? json_string(m[i].origin) : json_null());
		json_object_set_new(x, "message_id", m[i].message_id ? json_string(m[i].message_id) : json_null());
		json_object_set_new(x, "from", m[i].from ? json_string(m[i].from) : json_null());
		json_object_set_new(x, "subject", m[i].subject ? json_string(m[i].subject) : json_null());
		json_object_set_new(x, "date", m[i].date ? json_string(m[i].date) : json_null());
		json_object_set_new(x, "sha256", json_string(m[i].sha256));
		json_object_set_new(x, "size", json_integer((json_int_t)m[i].raw_size));
		json_object_set_new(x, "unparsed", json_boolean(m[i].unparsed));
		json_object_set_new(x, "unparsed_reason", m[i].unparsed_reason ?
				    json_string(m[i].unparsed_reason) : json_null());
		json_object_set_new(x, "severity", json_string(sirt_severity_name(m[i].severity)));
		json_object_set_new(x, "verdict", parse_json(m[i].verdict_json));
		json_object_set_new(x, "crypto", parse_json(m[i].crypto_json));
		json_object_set_new(x, "parts", parse_json(m[i].parts_json));
		json_object_set_new(x, "urls", parse_json(m[i].urls_json));
		{
			/* the text decrypted now replaces what was stored */
			char *plain = decrypt_on_demand(ctx, &m[i]);

			json_object_set_new(x, "body", plain ? json_string(plain) :
					    m[i].body ? json_string(m[i].body) : json_null());
			json_object_set_new(x, "body_decrypted_now", json_boolean(plain != NULL));
			if (plain)
				sirt_wipe_free(plain, strlen(plain));
		}
		json_array_append_new(msgs, x);
	}
	json_object_set_new(o, "messages", msgs);
	for (i = 0; i < na; i++)
		json_array_append_new(tl, json_pack("{s:s, s:s, s:s, s:s?, s:s?}",
			"at", a[i].at, "actor", a[i].actor, "action", a[i].action,
			"detail", a[i].detail, "note", a[i].note));
	json_object_set_new(o, "timeline", tl);
	/* No deadline regimes are computed by this version. */
	json_object_set_new(o, "deadlines", json_array());
	cmd_put_json(o, JSON_INDENT(2));
	return EX_OK;
}

int cmd_show(int argc, char **argv, struct sirt_ctx *ctx)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "message", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sirt_case c;
	struct sirt_message_row *m = NULL;
	struct sirt_audit_row *a = NULL;
	struct sirt_err err;
	const char *ref = NULL;
	size_t nm = 0, na = 0, i;
	int64_t id;
	long which = 1;
	int opt, raw = 0, rc;

	memset(&c, 0, sizeof(c));
	sirt_err_clear(&err);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': raw = 1; break;
		case 'm':
			if (sirt_parse_long(optarg, 1, 1000000, &which) < 0)
				return cmd_usage("show", "--message needs a number >= 1");
			break;
		case 'j': ctx->json = 1; break;
		default: return cmd_usage("show", "bad option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage("show", "needs exactly one case ref (SEC-YYYY-NNNN)");
	ref = argv[optind];
	if (sirt_ctx_store_existing(ctx, &err) < 0)
		return cmd_fail("show", &err);
	rc = sirt_store_find_case(ctx->store, ref, &id, &err);
	if (rc < 0)
		return cmd_fail("show", &err);
	if (rc == 0) {
		fprintf(stderr, "sirt: show: no case '%s'\n", ref);
		return EX_NOINPUT;
	}
	if (sirt_store_case_get(ctx->store, id, &c, &err) <= 0 ||
	    sirt_store_case_messages(ctx->store, id, &m, &nm, &err) < 0 ||
	    sirt_store_case_audit(ctx->store, id, &a, &na, &err) < 0) {
		rc = cmd_fail("show", &err);
		goto out;
	}
	if (raw && isatty(1)) {
		fprintf(stderr, "sirt: show: refusing to write the raw bytes of a "
			"message to a terminal (they may hold escape sequences); "
			"redirect to a file or a pipe\n");
		rc = EX_USAGE;
		goto out;
	}
	if (raw) {
		unsigned char *bytes;
		size_t len, off = 0;
		if ((size_t)which > nm) {
			fprintf(stderr, "sirt: show: case %s has %zu message(s)\n", c.ref, nm);
			rc = EX_NOINPUT;
			goto out;
		}
		if (sirt_store_message_raw(ctx->store, m[which - 1].id, &bytes, &len, &err) < 0) {
			rc = cmd_fail("show", &err);
			goto out;
		}
		while (off < len) {
			ssize_t w = write(1, bytes + off, len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(bytes);
		rc = off == len ? EX_OK : EX_IOERR;
		goto out;
	}
	rc = ctx->json ? show_json(ctx, &c, m, nm, a, na) : show_text(ctx, &c, m, nm, a, na);
out:
	for (i = 0; i < nm; i++)
		sirt_message_row_release(&m[i]);
	free(m);
	for (i = 0; i < na; i++)
		sirt_audit_row_release(&a[i]);
	free(a);
	sirt_case_release(&c);
	return rc;
}
