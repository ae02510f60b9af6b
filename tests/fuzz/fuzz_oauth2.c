/*
 * The OAuth2 helper's parsers of what comes from outside (relayd/oauth2/):
 *   - the token endpoint's answer and the token file, both JSON objects
 *     (o2_json_parse, o2_json_str, o2_json_long, o2_json_free, and the
 *     "error: description" line o2_oauth_error makes of an OAuth error);
 *   - the sign-in answer: the request line a browser sends to the loopback
 *     redirect listener, or the address pasted on stdin (parse_answer,
 *     static in o2_authcode.c, which is included here for it), with
 *     o2_urldecode.
 * The bytes go to both, whole. Then a value built from them goes the other
 * way: o2_form_add percent-encodes it as "code" and "state", and
 * parse_answer must give back exactly that value.
 * Checks: a parsed answer is one JSON object; numbers from o2_json_long are
 * positive or the default; the error line is printable; parse_answer
 * says 0 exactly when it found a code or an error, and the round trip is
 * exact.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "o2_authcode.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_oauth2: invariant broken: %s\n", what);
	abort();
}

static void check_json(const char *body, size_t len)
{
	struct json_object *j = o2_json_parse(body, len);
	struct o2_tokens t;
	char line[256];
	const char *p;
	long n;

	if (j == NULL)
		return;
	if (!json_object_is_type(j, json_type_object))
		broken("o2_json_parse gave something but an object");
	n = o2_json_long(j, "expires_in", -7);
	if (n != -7 && n <= 0)
		broken("o2_json_long gave a number that is not positive");
	(void)o2_json_str(j, "access_token");
	(void)o2_json_str(j, "refresh_token");
	memset(&t, 0, sizeof t);
	if ((p = o2_json_str(j, "error")) != NULL) {
		t.error = xstrdup(p);
		if ((p = o2_json_str(j, "error_description")) != NULL)
			t.error_description = xstrdup(p);
		o2_oauth_error(&t, line, sizeof line);
		for (p = line; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				broken("control byte in the OAuth error line");
		o2_tokens_free(&t);
	}
	o2_json_free(j);
}

static void check_answer(const char *s)
{
	struct answer a;
	int rc = parse_answer(s, &a);

	if (rc == 0 && a.code == NULL && a.error == NULL)
		broken("parse_answer said yes without a code or an error");
	if (rc != 0 && (a.code != NULL || a.error != NULL))
		broken("parse_answer said no but found a code or an error");
	if (a.code != NULL && strstr(s, "code=") == NULL)
		broken("a code without \"code=\" in the text");
	answer_free(&a);
}

/* value percent-encoded into a redirect, then parsed back. */
static void round_trip(const char *value)
{
	char *form = NULL, *req;
	struct answer a;

	o2_form_add(&form, "state", "s1");
	o2_form_add(&form, "code", value);
	req = xasprintf("GET /cb?%s HTTP/1.1\r\n", form);
	if (parse_answer(req, &a) != 0 || a.code == NULL || a.state == NULL)
		broken("an encoded code was not found again");
	if (strcmp(a.code, value) != 0)
		broken("the code came back different");
	if (strcmp(a.state, "s1") != 0)
		broken("the state came back different");
	answer_free(&a);
	o2_wipe(req);
	o2_wipe(form);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	/* An exact-size copy so ASan sees any read past the end. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_json(s, size);
	check_answer(s);
	if (memchr(data, '\0', size) == NULL)
		round_trip(s);
	free(s);
	return 0;
}
