/*
 * The children relayd forks that speak to it over a socket (pick-up runs,
 * delivery workers): one SOCK_SEQPACKET pair and one fork, and the signal
 * dispositions they share. A child is told when to stop by its parent, so
 * the signals a supervisor sends to the whole group are ignored there.
 */
#ifndef NULLRELAY_CHILD_H
#define NULLRELAY_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/*
 * socketpair(SOCK_SEQPACKET | SOCK_CLOEXEC) and fork. In the parent: the
 * child's pid, *sock its end of the pair. In the child: 0, *sock the
 * child's end (the parent's is closed). -1 (logged) if either failed;
 * nothing is left open then.
 */
pid_t child_fork(int *sock);

/* TERM, INT, HUP, USR1 and PIPE ignored: the parent decides when we stop. */
void child_ignore_signals(void);

/*
 * Before an exec: make fds[i] descriptor 3 + i, open across the exec (a
 * source may already sit at a target number). 0, or -1 (errno).
 */
int child_pass_fds(const int *fds, size_t n);

#endif
