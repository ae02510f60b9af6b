/*
 * Helpers shared by the fuzz targets (linked into each of them).
 */
#ifndef NULLRELAY_FUZZLIB_H
#define NULLRELAY_FUZZLIB_H

#include <stddef.h>

/* The lowest free descriptor: if it differs before and after a call, the
 * call leaked one (libFuzzer's own descriptors do not move in between). */
int fuzz_lowest_free_fd(void);

/* How many "<LF>.<CR><LF>" (the end of a message's DATA) the bytes hold,
 * not overlapping: no SMTP server may queue more messages than that. */
size_t fuzz_count_ends(const unsigned char *d, size_t n);

#endif
