/*
 * LD_PRELOAD shim for relayd-netwatch.sh: socket(AF_NETLINK, ...) fails with
 * EAFNOSUPPORT, as under systemd's RestrictAddressFamilies without
 * AF_NETLINK. Every other socket is created as usual.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (domain == AF_NETLINK) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "socket");
	return real(domain, type, protocol);
}
