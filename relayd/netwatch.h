/*
 * "The network came back" (issue 10): a NETLINK_ROUTE socket subscribed to
 * link, address and route changes (IPv4 and IPv6). When a link comes up
 * (down or unknown before: its state is learnt at start), or the host gains
 * a global address, a default route, or a kernel prefix route, the daemon
 * retries deferred mail at once instead of
 * waiting for its backoff, and lifts the smarthost hold-downs: a laptop
 * that joins a network delivers within seconds, not at the next retry.
 *
 * Changes come in bursts (DHCP adds an address, then routes; IPv6 finishes
 * duplicate address detection later), so a retry waits NETWATCH_DEBOUNCE
 * seconds after the last change (at most NETWATCH_DEBOUNCE_MAX after the
 * first), and two retries are at least NETWATCH_MIN_INTERVAL apart, so a
 * flapping link cannot hammer the smarthost. Losing an address or a route
 * triggers nothing. Without netlink (another OS, a seccomp filter) relayd
 * says so once and keeps its ordinary schedule.
 */
#ifndef NULLRELAY_NETWATCH_H
#define NULLRELAY_NETWATCH_H

#include <stdbool.h>
#include <stddef.h>

#define NETWATCH_DEBOUNCE 2.0
#define NETWATCH_DEBOUNCE_MAX 10.0
#define NETWATCH_MIN_INTERVAL 10.0

struct netwatch;

/* NULL (logged once, with the reason) when netlink is unavailable. */
struct netwatch *netwatch_open(void);
void netwatch_close(struct netwatch *nw);
/* In a forked worker: close the socket. */
void netwatch_forget(struct netwatch *nw);
/* The descriptor to poll for POLLIN, or -1 (nw may be NULL). */
int netwatch_fd(const struct netwatch *nw);

/* Read what the kernel sent (now: monotonic seconds). */
void netwatch_read(struct netwatch *nw, double now);
/* When a pending retry is due (monotonic), or 0 if none is pending. */
double netwatch_due(const struct netwatch *nw);
/* true once a pending retry is due: why says which change ("new default
 * route via 192.0.2.1 dev wlan0"); the retry is then no longer pending. */
bool netwatch_take(struct netwatch *nw, double now, char *why, size_t whylen);

#endif
