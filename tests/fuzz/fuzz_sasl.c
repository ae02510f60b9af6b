/*
 * The listener's SASL decoding (relayd/listen_auth.h, relayd/auth.h) on
 * arbitrary bytes: what a network client sends after AUTH PLAIN or AUTH
 * LOGIN, before it has proved anything. Two ways in:
 *   - the bytes as the client's base64 line (up to a NUL): auth_b64_decode
 *     as AUTH LOGIN uses it (a user name with a NUL inside is refused), and
 *     listen_sasl_plain;
 *   - the bytes as the decoded PLAIN message: encoded with auth_b64_encode,
 *     then through listen_sasl_plain, whose answer is known in advance
 *     (exactly two NULs, and an authzid empty or equal to the authcid).
 * Checks: decoding gives a NUL-terminated buffer of the stated length that
 * encodes back to the same bytes; only the base64 alphabet with padding at
 * the end is ever accepted; PLAIN accepts exactly the well-formed messages
 * and returns the authcid and password they hold, nothing on refusal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "listen_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_sasl: invariant broken: %s\n", what);
	abort();
}

static bool b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '+' || ch == '/';
}

/* What auth_b64_decode promises to accept: 4k characters of the alphabet,
 * with at most two '=' at the very end. */
static bool b64_form(const char *s)
{
	size_t n = strlen(s), i, pad = 0;

	if (n % 4 != 0)
		return false;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			return false;
	return true;
}

/* Decode s; check the buffer, and that it encodes back to itself. */
static unsigned char *decode_checked(const char *s, size_t *n)
{
	unsigned char *d = auth_b64_decode(s, n), *again;
	size_t n2 = 0;
	char *enc;

	if (d == NULL)
		return NULL;
	if (!b64_form(s))
		broken("accepted a string that is not base64");
	if (*n > strlen(s) / 4 * 3)
		broken("decoded more bytes than the text holds");
	if (d[*n] != '\0')
		broken("decoded buffer not NUL-terminated");
	if ((enc = auth_b64_encode(d, *n)) == NULL)
		broken("cannot encode what was decoded");
	again = auth_b64_decode(enc, &n2);
	if (again == NULL || n2 != *n || memcmp(again, d, *n) != 0)
		broken("decode(encode(decode(s))) differs from decode(s)");
	free(again);
	free(enc);
	return d;
}

/* The client's line, as cmd_auth hands it on. */
static void as_line(const char *s)
{
	unsigned char *d;
	char *user, *pass;
	size_t n = 0;

	/* AUTH LOGIN's user name and password. */
	if ((d = decode_checked(s, &n)) != NULL)
		free(d);
	if (listen_sasl_plain(s, &user, &pass) == 0) {
		if (user == NULL || pass == NULL)
			broken("PLAIN accepted without a user and password");
		auth_free(user);
		auth_free(pass);
	} else if (user != NULL || pass != NULL) {
		broken("PLAIN refused but returned something");
	}
}

/* The decoded PLAIN message itself: the answer is known. */
static void as_message(const uint8_t *data, size_t size)
{
	const uint8_t *nul1, *nul2;
	bool want;
	char *enc, *user, *pass;
	unsigned char *d;
	size_t n = 0;

	if ((enc = auth_b64_encode(data, size)) == NULL)
		broken("cannot encode the bytes");
	d = decode_checked(enc, &n);
	if (d == NULL || n != size || memcmp(d, data, size) != 0)
		broken("decode(encode(bytes)) differs from the bytes");
	free(d);

	nul1 = memchr(data, '\0', size);
	nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', size - (size_t)(nul1 + 1 - data)) : NULL;
	want = nul2 != NULL && memchr(nul2 + 1, '\0', size - (size_t)(nul2 + 1 - data)) == NULL &&
	    (nul1 == data || ((size_t)(nul1 - data) == (size_t)(nul2 - nul1 - 1) &&
	    memcmp(data, nul1 + 1, (size_t)(nul1 - data)) == 0));
	if (listen_sasl_plain(enc, &user, &pass) == 0) {
		if (!want)
			broken("PLAIN accepted a malformed message or someone else's authzid");
		if (strlen(user) != (size_t)(nul2 - nul1 - 1) ||
		    memcmp(user, nul1 + 1, strlen(user)) != 0)
			broken("PLAIN user is not the authcid");
		if (strlen(pass) != size - (size_t)(nul2 + 1 - data) ||
		    memcmp(pass, nul2 + 1, strlen(pass)) != 0)
			broken("PLAIN password is not the passwd field");
		auth_free(user);
		auth_free(pass);
	} else {
		if (want)
			broken("PLAIN refused a well-formed message");
		if (user != NULL || pass != NULL)
			broken("PLAIN refused but returned something");
	}
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *line = malloc(n + 1);

	/* An exact-size copy so ASan sees any read past the end. */
	if (line == NULL)
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';
	as_line(line);
	free(line);
	as_message(data, size);
	return 0;
}
