/*
 * A tiny unit-test harness. Each test binary calls CHECK*() and ends with
 * `return check_summary("name");`, which prints "name: N passed, N failed"
 * and returns non-zero if anything failed. tests/run adds the counts up.
 */
#ifndef NULLRELAY_CHECK_H
#define NULLRELAY_CHECK_H

#include <stdbool.h>
#include <stddef.h>

void check_true(bool ok, const char *file, int line, const char *expr);
void check_str(const char *got, const char *want, const char *file, int line, const char *expr);
void check_long(long got, long want, const char *file, int line, const char *expr);
void check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *file, int line, const char *expr);
int check_summary(const char *name);

#define CHECK(e) check_true((e), __FILE__, __LINE__, #e)
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__, #got)
#define CHECK_INT(got, want) check_long((long)(got), (long)(want), __FILE__, __LINE__, #got)
#define CHECK_MEM(got, gotlen, want, wantlen) \
	check_mem((got), (gotlen), (want), (wantlen), __FILE__, __LINE__, #got)

#endif
