/*
 * sd_notify(3) without libsystemd (see sd_notify.h). NOTIFY_SOCKET is an
 * absolute path, or "@name" for the abstract namespace. Datagrams are sent
 * with MSG_NOSIGNAL and never block: systemd reads them at once, and a
 * missing reader must not hang the daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sd_notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;	/* 0: no NOTIFY_SOCKET, nothing to do */
static bool notify_warned;

void sd_notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n;

	notify_len = 0;
	if (s == NULL || s[0] == '\0')
		return;
	n = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%s is not a socket path; not telling systemd our state",
		    s[0] == '/' || s[0] == '@' ? "(too long)" : "(relative)");
	} else {
		memset(&notify_addr, 0, sizeof notify_addr);
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, s, n);
		/* Abstract socket: a leading NUL, and the length counts exactly. */
		if (s[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		    (s[0] == '@' ? 0 : 1));
	}
	(void)unsetenv("NOTIFY_SOCKET");
}

void sd_notify_send(const char *state)
{
	ssize_t r;
	int fd;

	if (notify_len == 0)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		r = -1;
	} else {
		r = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		    (const struct sockaddr *)&notify_addr, notify_len);
		close(fd);
	}
	if (r == -1 && !notify_warned) {
		notify_warned = true;
		log_warn("telling systemd \"%.20s\" through NOTIFY_SOCKET", state);
	}
}

void sd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		sd_notify_send("RELOADING=1");
		return;
	}
	/* Cannot truncate: 20 digits at most for the number. */
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	sd_notify_send(msg);
}
