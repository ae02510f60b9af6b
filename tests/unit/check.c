/* The unit-test harness: see check.h. */
#include <stdio.h>
#include <string.h>

#include "check.h"

static unsigned passed, failed;

static void record(bool ok, const char *file, int line, const char *expr, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s:%d: %s%s%s\n", file, line, expr, detail ? ": " : "",
	    detail ? detail : "");
}

void check_true(bool ok, const char *file, int line, const char *expr)
{
	record(ok, file, line, expr, NULL);
}

void check_str(const char *got, const char *want, const char *file, int line, const char *expr)
{
	char detail[1024];
	bool ok = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);

	snprintf(detail, sizeof detail, "got \"%s\", want \"%s\"", got ? got : "(null)",
	    want ? want : "(null)");
	record(ok, file, line, expr, ok ? NULL : detail);
}

void check_long(long got, long want, const char *file, int line, const char *expr)
{
	char detail[128];

	snprintf(detail, sizeof detail, "got %ld, want %ld", got, want);
	record(got == want, file, line, expr, got == want ? NULL : detail);
}

void check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *file, int line, const char *expr)
{
	char detail[128];
	bool ok = gotlen == wantlen && memcmp(got, want, gotlen) == 0;

	snprintf(detail, sizeof detail, "bytes differ (got %zu bytes, want %zu)", gotlen, wantlen);
	record(ok, file, line, expr, ok ? NULL : detail);
}

int check_summary(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, passed, failed);
	return failed != 0;
}
