/*
 * relayd's Postfix-style log lines (SPEC §8), so existing log tools read them:
 *   ID: from=<s>, size=N, nrcpt=N, uid=N
 *   ID: to=<r>, orig_to=<o>, relay=host[addr]:port, delay=1.2, tries=1,
 *       dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC)
 */
#ifndef NULLRELAY_RELAY_LOG_H
#define NULLRELAY_RELAY_LOG_H

#include <stddef.h>

#include "queue.h"

/* The pick-up line. */
void relay_log_pickup(const struct qmsg *m);

/*
 * The line for recipient i after an attempt: status word from its state
 * (sent, deferred, bounced), relay from rcpts[i].relay ("none" if NULL),
 * the reason from its last reply. now is the wall clock.
 */
void relay_log_rcpt(const struct qmsg *m, size_t i, double now);

/* Format "delay" as Postfix does: seconds with one decimal. */
void relay_log_delay(char *out, size_t outlen, double arrival, double now);

#endif
