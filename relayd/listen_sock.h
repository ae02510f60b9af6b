/*
 * The listener's sockets: made by listen_sock.c (listen_open, in main.c
 * while relayd may still be root), accepted on by listen.c.
 */
#ifndef NULLRELAY_LISTEN_SOCK_H
#define NULLRELAY_LISTEN_SOCK_H

#include <stddef.h>

#include "conf.h"

#define LISTEN_MAX_SOCKS 16

struct listen_socks {
	int fd[LISTEN_MAX_SOCKS];
	char name[LISTEN_MAX_SOCKS][64];
	size_t n;
};

/*
 * The listening sockets: those systemd passed (LISTEN_PID/LISTEN_FDS, the
 * sd_listen_fds protocol; the variables are then removed from the
 * environment and `listen` lines are not bound), else one per `listen`
 * line. 0 with *out NULL when there is nothing to listen on; -1 with err
 * (naming the address) when a socket cannot be bound.
 */
int listen_open(const struct conf *c, struct listen_socks **out, char *err, size_t errlen);

#endif
