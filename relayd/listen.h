/*
 * The SMTP listener's process (SPEC §6.1). main.c binds the sockets while
 * it may still be root (or takes them from systemd's socket activation);
 * daemon.c forks the listener beside its own loop, reads its counters and
 * restarts it after a reload or a crash. The listener accepts, refuses
 * clients outside listen_allow with 554, bounds connections in total and
 * per client address, and serves each accepted client in a child of its
 * own (listen_smtp.h): a slow or hostile client never holds up relayd's
 * pick-up, delivery or sendmail.
 */
#ifndef NULLRELAY_LISTEN_H
#define NULLRELAY_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>

#include "conf.h"
#include "metrics.h"

/* At most this many sessions at once, and from one client address. */
#define LISTEN_MAX_CONNECTIONS 100
#define LISTEN_MAX_PER_CLIENT 10

struct listen_socks;	/* listen_sock.h: listen_open */

/* What relayd -n and start-up check: listen_auth_file parses, the TLS
 * certificate and key load. 0 or -1 with err. In the listener program
 * (listen_check.c); relayd asks it through listen_parent_check, which
 * runs LISTEN_PROGRAM check-listen and returns its answer. */
int listen_check(const struct conf *c, char *err, size_t errlen);
int listen_parent_check(const struct conf *c, char *err, size_t errlen);

/* The program the listener runs in (helper_path.h). */
#define LISTEN_PROGRAM "nullrelay-smtp"

struct listener;

/* Before fork, the listener calls close_fds(arg) to shed the parent's
 * descriptors (signalfd, spool lock, workers, control socket). */
typedef void (*listen_close_fn)(void *arg);

/* Start the listener process; NULL when socks is NULL. */
struct listener *listen_start(const struct conf *c, struct listen_socks *socks,
    listen_close_fn close_fds, void *arg);
/* The descriptor to poll for counter events (-1 when not running). */
int listen_fd(const struct listener *l);
/* Read pending events into counts. */
void listen_read(struct listener *l, struct listen_counts *counts);
/* A child exited: true if it was the listener (it is restarted by
 * listen_tick, at once after listen_reload, else after a pause). */
bool listen_reaped(struct listener *l, pid_t pid, int status);
/* Restart the listener with c when due. */
void listen_tick(struct listener *l, const struct conf *c);
/* After SIGHUP: restart with the new configuration (sessions under way
 * finish with the old one). */
void listen_reload(struct listener *l);
/* SIGTERM: stop accepting; sessions finish their transaction. */
void listen_stop(struct listener *l);
/* In a child that must not hold the listener's descriptors. */
void listen_forget(struct listener *l);
void listen_free(struct listener *l);

/* The listener process's main, in LISTEN_PROGRAM: accept on socks, report
 * events on evfd, stop when parent is gone. */
noreturn void listen_master_main(const struct conf *c, const struct listen_socks *socks,
    int evfd, pid_t parent);

#endif
