/*
 * relayd's main loop, once privileges are settled (main.c): start-up
 * recovery of the queue, pick-up, the schedule, the delivery workers, the
 * control socket, signals and the metrics file.
 */
#ifndef NULLRELAY_DAEMON_H
#define NULLRELAY_DAEMON_H

#include <stdbool.h>

#include "conf.h"
#include "daemon_opts.h"

/* Run until SIGTERM (or, with once, until nothing due is left). Takes over
 * *c (reloads replace it). Returns an exit code. */
int daemon_run(struct conf *c, const struct daemon_opts *o);

#endif
