/*
 * The token endpoint (RFC 6749 §5): a grant goes in as a form, the answer is
 * a JSON object holding either the tokens or an OAuth error. Anything else
 * (an HTML error page, a proxy's answer, garbage) is a plain failure that
 * names the HTTP status, never the body (it might echo a secret).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "o2.h"
#include "util.h"

struct json_object *o2_json_parse(const char *body, size_t len)
{
	struct json_tokener *tk;
	struct json_object *j;
	size_t end;

	if (len > O2_BODY_MAX || (tk = json_tokener_new()) == NULL)
		return NULL;
	j = json_tokener_parse_ex(tk, body, (int)len);
	end = j != NULL ? json_tokener_get_parse_end(tk) : 0;
	json_tokener_free(tk);
	if (j == NULL)
		return NULL;
	/* One object, then at most white space: anything else is not an answer. */
	while (end < len && (body[end] == ' ' || body[end] == '\n' || body[end] == '\r' ||
	    body[end] == '\t'))
		end++;
	if (end != len || !json_object_is_type(j, json_type_object)) {
		o2_json_free(j);
		return NULL;
	}
	return j;
}

void o2_json_free(struct json_object *j)
{
	if (j == NULL)
		return;
	if (!json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return;
	}
	/* Tokens sit in json-c's strings: wipe them before they are freed. */
	json_object_object_foreach(j, key, v) {
		(void)key;
		if (json_object_is_type(v, json_type_string))
			explicit_bzero((char *)(uintptr_t)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	}
	json_object_put(j);
}

const char *o2_json_str(struct json_object *j, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long o2_json_long(struct json_object *j, const char *key, long dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(j, key, &v))
		return dflt;
	/* Some providers send numbers as strings ("expires_in": "3599"). */
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)) {
		long n = (long)json_object_get_int64(v);

		return n > 0 ? n : dflt;
	}
	return dflt;
}

static char *dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A token must fit the SASL line and hold nothing that could break it. */
static bool token_ok(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 12 * 1024)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

enum o2_result o2_grant(const struct o2 *o, const char *form, struct o2_tokens *t,
    char *err, size_t errlen)
{
	const char *url = o->c->oauth2_token_url, *access, *e;
	struct json_object *j;
	struct o2_http r;
	enum o2_result res = O2_FAILED;

	memset(t, 0, sizeof(*t));
	if (o2_http_post(o, url, form, &r, err, errlen) != 0)
		return O2_FAILED;
	j = o2_json_parse(r.body, r.len);
	if (j == NULL) {
		snprintf(err, errlen, "%s answered HTTP %ld with something that is not a JSON "
		    "object", url, r.status);
		goto out;
	}
	if ((e = o2_json_str(j, "error")) != NULL) {
		t->error = xstrdup(e);
		t->error_description = dup_opt(o2_json_str(j, "error_description"));
		res = O2_OAUTH_ERROR;
		goto out;
	}
	access = o2_json_str(j, "access_token");
	if (r.status != 200 || !token_ok(access)) {
		snprintf(err, errlen, "%s answered HTTP %ld without %s", url, r.status,
		    access == NULL ? "an access_token" : "a usable access_token");
		goto out;
	}
	if (o2_json_str(j, "refresh_token") != NULL && !token_ok(o2_json_str(j, "refresh_token"))) {
		snprintf(err, errlen, "%s answered with an unusable refresh_token", url);
		goto out;
	}
	t->access_token = xstrdup(access);
	t->refresh_token = dup_opt(o2_json_str(j, "refresh_token"));
	t->expires_in = o2_json_long(j, "expires_in", 0);
	res = O2_OK;
out:
	o2_json_free(j);
	o2_http_free(&r);
	return res;
}

char *o2_form_client(const struct o2 *o)
{
	char *form = NULL;

	o2_form_add(&form, "client_id", o->c->oauth2_client_id);
	if (o->client_secret != NULL)
		o2_form_add(&form, "client_secret", o->client_secret);
	return form;
}

void o2_oauth_error(const struct o2_tokens *t, char *out, size_t outlen)
{
	char show[300];
	size_t i;

	/* The provider's words, one printable line (they go to the log). */
	snprintf(show, sizeof(show), "%s%s%s", t->error ? t->error : "error",
	    t->error_description ? ": " : "", t->error_description ? t->error_description : "");
	for (i = 0; show[i] != '\0'; i++)
		if ((unsigned char)show[i] < ' ' || show[i] == 0x7f)
			show[i] = ' ';
	snprintf(out, outlen, "%s", show);
}

void o2_tokens_free(struct o2_tokens *t)
{
	o2_wipe(t->access_token);
	o2_wipe(t->refresh_token);
	free(t->error);
	free(t->error_description);
	memset(t, 0, sizeof(*t));
}
