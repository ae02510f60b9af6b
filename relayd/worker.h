/*
 * Delivery workers and the protocol between them and the parent, both
 * directions in one place. The parent (daemon.c) owns the schedule; each
 * worker is a child process holding one smarthost connection (deliver.c).
 * It sends the message it was started with, commits the message's state
 * file itself (fsynced, right after the smarthost's final reply and before
 * it asks for another: SPEC §5.6), reports, and waits for the next one.
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
#ifndef NULLRELAY_WORKER_H
#define NULLRELAY_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <sys/types.h>
#include <time.h>

#include "spool_queue.h"

#define WMSG_MAX 768
#define WORKER_MAX 64
/* How long a worker with nothing to do keeps its connection for more. */
#define WORKER_IDLE_SECONDS 5

enum wev_type { WEV_UP, WEV_DOWN, WEV_DONE, WEV_RELEASE };

struct worker_event {
	enum wev_type type;
	size_t host;		/* UP, DOWN */
	bool auth;		/* DOWN: at AUTH */
	char reason[WMSG_MAX];	/* DOWN */
	char id[QUEUE_ID_SIZE];		/* DONE, RELEASE */
	time_t next;
	bool final;
	unsigned sent, deferred, bounced;
	bool more;
};

/* Parse one worker datagram. 0 or -1 if malformed. */
int worker_event_parse(const char *msg, size_t len, struct worker_event *ev);

/* ---- the worker's side: 0, or -1 when the parent is gone ---- */

int worker_say_up(int sock, size_t host);
/* reason: control characters are sent as spaces, at most 600 bytes. */
int worker_say_down(int sock, size_t host, bool auth, const char *reason);
int worker_say_done(int sock, const char *id, time_t next, bool final, unsigned sent,
    unsigned deferred, unsigned bounced, bool more);
int worker_say_release(int sock, const char *id, bool more);
/* Wait for MSG or QUIT: true with id filled for MSG; false for QUIT,
 * nonsense or a parent gone. */
bool worker_ask(int sock, char id[QUEUE_ID_SIZE]);

/* ---- the parent's side ---- */

/* The worker program, exec'd for each worker (helper_path.h). */
#define WORKER_PROGRAM "nullrelay-smtp"

/*
 * In the child worker_spawn forked: exec WORKER_PROGRAM deliver with sock
 * as its descriptor 3 and the spool lock as 4 (so that an orphaned worker
 * still holds the spool), the configuration file (conf_path, or none: the
 * default), and the smarthost hold-downs host_until[0..n). Never returns
 * (exit 71 when the program cannot be run, logged).
 */
noreturn void worker_exec(int sock, int lockfd, const char *conf_path, const char *id,
    const time_t *host_until, size_t n);


enum wstate { W_BUSY, W_IDLE, W_QUITTING };

struct worker {
	pid_t pid;
	int fd;			/* -1 after end of file (the exit is reaped) */
	enum wstate st;
	char id[QUEUE_ID_SIZE];		/* the message it holds while busy */
	double idle_until;	/* monotonic */
};

struct worker_pool;

/* What the parent does with a report, and with the message a worker held
 * when it died without reporting it. */
typedef void (*worker_event_cb)(void *ctx, struct worker *w, const struct worker_event *ev);
typedef void (*worker_lost_cb)(void *ctx, const char *id);
/* In the child right after the fork: sock is its end. Never returns. */
typedef void (*worker_main_cb)(void *ctx, int sock, const char *id);

struct worker_pool *worker_pool_new(worker_event_cb on_event, worker_lost_cb on_lost,
    void *ctx);
void worker_pool_free(struct worker_pool *p);

size_t worker_count(const struct worker_pool *p);
struct worker *worker_at(struct worker_pool *p, size_t i);
/* Is a worker delivering id right now? */
bool worker_holds(const struct worker_pool *p, const char *id);
/* Is there a worker to give a message to, or room (max) to start one? */
bool worker_can_take(const struct worker_pool *p, size_t max);

/* Fork a worker for id; false if none could be started. */
bool worker_spawn(struct worker_pool *p, const char *id, worker_main_cb run, void *ctx);
/* MSG id to an idle worker (then busy), QUIT (then quitting). */
void worker_give(struct worker *w, const char *id);
void worker_quit(struct worker *w);
/* Read and act on every report w has sent. false at end of file. */
bool worker_read(struct worker_pool *p, struct worker *w);
/* pid exited (waitpid status): true if it was a worker. */
bool worker_reaped(struct worker_pool *p, pid_t pid, int status);
/* In a freshly forked child: close every worker's socket. */
void worker_close_all(struct worker_pool *p);

#endif
