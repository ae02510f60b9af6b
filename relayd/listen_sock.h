/*
 * The listener's sockets (listen.h: listen_open, listen_check), shared by
 * listen_sock.c, which makes them, and listen.c, which accepts on them.
 */
#ifndef NULLRELAY_LISTEN_SOCK_H
#define NULLRELAY_LISTEN_SOCK_H

#include <stddef.h>

#define LISTEN_MAX_SOCKS 16

struct listen_socks {
	int fd[LISTEN_MAX_SOCKS];
	char name[LISTEN_MAX_SOCKS][64];
	size_t n;
};

#endif
