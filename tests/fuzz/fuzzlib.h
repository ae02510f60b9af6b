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

/* A fresh private directory "/dev/shm/nullrelay-fuzz-NAME.XXXXXX" (or
 * under /tmp without tmpfs) into buf; exits with a message on failure.
 * tmpfs because the code under test fsyncs what it writes, and on a disk
 * that round trip, not the code, would set the pace of the run. */
void fuzz_mkdtemp(char *buf, size_t size, const char *name);

#endif
