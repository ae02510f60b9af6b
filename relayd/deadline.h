/*
 * Deadlines for every wait of relayd's network code: the SMTP client
 * (net.c), its TLS (tls.c), the secret commands' pipes (auth.c) and the
 * listener's connections (listen_conn.c). A deadline is an absolute time in
 * CLOCK_MONOTONIC milliseconds, so a peer that trickles a byte at a time
 * cannot stretch a wait: each wait is bounded by what is left of it.
 */
#ifndef NULLRELAY_DEADLINE_H
#define NULLRELAY_DEADLINE_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

/* `seconds` from now; deadline_in(0) is now. */
int64_t deadline_in(time_t seconds);

/*
 * Wait until fd has one of `events` (poll(2)) or the deadline passes,
 * retrying after EINTR. 1 ready, 0 the deadline passed, -1 poll failed
 * (errno set). With stop not NULL, *stop is looked at before each wait
 * (a signal handler sets it and interrupts poll): -2 when it is set.
 */
int deadline_poll(int fd, short events, int64_t deadline, volatile sig_atomic_t *stop);

#endif
