/*
 * A delivery worker's main (deliver.c): one smarthost connection, many
 * messages. The pool and the protocol with the parent are worker.h.
 */
#ifndef NULLRELAY_DELIVER_H
#define NULLRELAY_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <time.h>

#include "conf.h"
#include "queue.h"

/*
 * The worker process: connect (smarthosts in order, skipping those whose
 * host_until[i] is in the future), deliver first_id, then more as the
 * parent hands them out. Never returns. SIGTERM is ignored here: the parent
 * says QUIT after the current transaction.
 */
noreturn void deliver_main(const struct conf *c, const struct spool_dirs *d, int sock,
    const char *first_id, const time_t *host_until, size_t nhosts);

#endif
