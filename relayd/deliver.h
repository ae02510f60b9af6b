/*
 * Delivery workers. The parent (daemon.c) owns the schedule; each worker is
 * a forked process holding one smarthost connection. It asks the parent for
 * the next due message over a SOCK_SEQPACKET socketpair, sends it, commits
 * the message's state file itself (fsynced, right after the smarthost's
 * final reply and before it asks for another: SPEC §5.6), then reports.
 *
 * Worker → parent, one datagram each:
 *   UP I                 smarthost I accepted our session
 *   DOWN I A REASON      smarthost I failed at connect/greeting/TLS (A = 0)
 *                        or AUTH (A = 1); REASON: the rest of the line
 *   DONE ID NEXT FINAL SENT DEFERRED BOUNCED MORE
 *                        ID was attempted and committed; NEXT = its next
 *                        attempt (epoch s), FINAL = 1 if it left the queue;
 *                        counts of recipients by outcome; MORE = 1 if the
 *                        worker wants another message on this connection
 *   RELEASE ID MORE      ID was not attempted (nothing changed on disk)
 * Parent → worker:
 *   MSG ID               send this one next
 *   QUIT                 close the connection (QUIT) and exit
 */
#ifndef NULLRELAY_DELIVER_H
#define NULLRELAY_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <time.h>

#include "conf.h"
#include "pickup.h"

#define WMSG_MAX 768

enum wev_type { WEV_UP, WEV_DOWN, WEV_DONE, WEV_RELEASE };

struct worker_event {
	enum wev_type type;
	size_t host;		/* UP, DOWN */
	bool auth;		/* DOWN: at AUTH */
	char reason[WMSG_MAX];	/* DOWN */
	char id[17];		/* DONE, RELEASE */
	time_t next;
	bool final;
	unsigned sent, deferred, bounced;
	bool more;
};

/* Parse one worker datagram. 0 or -1 if malformed. */
int deliver_event_parse(const char *msg, size_t len, struct worker_event *ev);

/*
 * The worker process: connect (smarthosts in order, skipping those whose
 * host_until[i] is in the future), deliver first_id, then more as the
 * parent hands them out. Never returns. SIGTERM is ignored here: the parent
 * says QUIT after the current transaction.
 */
noreturn void deliver_main(const struct conf *c, const struct spool_dirs *d, int sock,
    const char *first_id, const time_t *host_until, size_t nhosts);

#endif
