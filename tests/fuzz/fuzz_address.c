/*
 * addr_list_parse and addr_parse_sender on arbitrary bytes (header values and
 * -f arguments come from any local user). Beyond "no crash, no leak, no UB",
 * what comes out must be safe to put in an SMTP command and stable:
 * addr_spec has no CR, LF, NUL, other control byte or unquoted '<' '>', is at
 * most ADDR_MAX_LEN bytes, and parsing it again gives the same spec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *spec)
{
	fprintf(stderr, "fuzz_address: invariant broken: %s: \"%s\"\n", what, spec);
	abort();
}

/* No control byte anywhere; '<' and '>' only inside a quoted local part. */
static void check_bytes(const char *spec)
{
	const char *s;
	bool quoted = false;

	for (s = spec; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			broken("control byte in addr_spec", spec);
		if (quoted && c == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == '<' || c == '>'))
			broken("unquoted '<' or '>' in addr_spec", spec);
	}
	if (quoted)
		broken("unbalanced quote in addr_spec", spec);
}

static void check_addr(const struct addr *a, size_t inlen)
{
	struct addrlist again = { NULL, 0, 0 };
	char err[256], *spec, *spec2;
	size_t n;

	if (a->local == NULL)
		broken("NULL local part", "");
	spec = addr_spec(a);
	n = strlen(spec);
	if (n != strlen(a->local) + (a->domain != NULL ? 1 + strlen(a->domain) : 0))
		broken("NUL inside addr_spec", spec);
	if (n > ADDR_MAX_LEN)
		broken("addr_spec longer than ADDR_MAX_LEN", spec);
	if (a->qualify_at > inlen)
		broken("qualify_at beyond the input", spec);
	check_bytes(spec);

	if (addr_list_parse(spec, n, &again, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_address: re-parse failed: %s\n", err);
		broken("addr_spec does not parse again", spec);
	}
	if (again.n != 1)
		broken("addr_spec parses to other than one address", spec);
	spec2 = addr_spec(&again.v[0]);
	if (strcmp(spec, spec2) != 0) {
		fprintf(stderr, "fuzz_address: second parse gave \"%s\"\n", spec2);
		broken("addr_spec changes when parsed again", spec);
	}
	free(spec2);
	free(spec);
	addr_list_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist l = { NULL, 0, 0 };
	struct addr a;
	bool is_null;
	char err[256], *s;
	size_t i;

	/* An exact-size copy so ASan sees any read past the given length. */
	s = malloc(size ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	err[0] = '\0';
	if (addr_list_parse(s, size, &l, err, sizeof err) == 0) {
		for (i = 0; i < l.n; i++)
			check_addr(&l.v[i], size);
	} else {
		if (l.n != 0)
			broken("failed parse left addresses behind", "");
		if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0')
			broken("failed parse without a NUL-terminated reason", "");
	}
	addr_list_free(&l);
	free(s);

	/* The same bytes as a C string, as -f would pass them. */
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_parse_sender(s, &a, &is_null, err, sizeof err) == 0) {
		if (is_null) {
			if (a.local == NULL || a.local[0] != '\0' || a.domain != NULL)
				broken("null sender not \"\"", s);
		} else {
			check_addr(&a, strlen(s));
		}
	}
	addr_free(&a);
	free(s);
	return 0;
}
