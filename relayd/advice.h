/*
 * What to do about a smarthost failure: the errors a person meets first
 * (a wrong name, a blocked port, a certificate for another name or from an
 * unknown CA, a refused password) each get one sentence of advice, added
 * to relayd's "smarthost H:P failed: ..." log line. The SPEC §8 delivery
 * lines (status=deferred) are left exactly as they are.
 */
#ifndef NULLRELAY_ADVICE_H
#define NULLRELAY_ADVICE_H

#include <stddef.h>

#include "conf.h"

/* Write "; what to do: ..." for the failure why (the reason relayd logs)
 * at smarthost sh into out, or "" when there is no specific advice.
 * Returns out. */
const char *advice_open_failure(const struct conf *c, const struct smarthost *sh,
    const char *why, char *out, size_t outlen);

#endif
