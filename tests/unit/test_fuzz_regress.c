/*
 * Regression tests for what the fuzz targets found (tests/fuzz/README.md,
 * "Long runs"): each input is the minimised reproducer, kept also as
 * tests/fuzz/corpus/NAME/regress-*, and each test failed before its fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smtp_parse.h"

/*
 * fuzz_smtp_parse: a ':' inside a quoted local part was taken as the end of
 * a source route "@a,@b:", so the path handed on began inside the quotes
 * and held an unquoted '>' ("<@x\"a:b>c\"@d>" gave "b>c\"@d").
 */
static void test_route_colon_in_quotes(void)
{
	const char *rest = NULL;
	char *p;

	p = smtp_parse_path("<@x\"a:b>c\"@d>", &rest);
	CHECK(p != NULL);
	if (p != NULL)
		CHECK_STR(p, "@x\"a:b>c\"@d");
	CHECK(rest != NULL && *rest == '\0');
	free(p);
	/* A real source route is still dropped. */
	p = smtp_parse_path("<@a.example,@b.example:bob@example.org> X", &rest);
	CHECK(p != NULL);
	if (p != NULL)
		CHECK_STR(p, "bob@example.org");
	CHECK(rest != NULL && strcmp(rest, " X") == 0);
	free(p);
}

int main(void)
{
	test_route_colon_in_quotes();
	return check_summary("fuzz_regress");
}
