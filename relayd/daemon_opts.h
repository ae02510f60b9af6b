/* How main.c starts the daemon (daemon.h); read by the parent's parts. */
#ifndef NULLRELAY_DAEMON_OPTS_H
#define NULLRELAY_DAEMON_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

struct listen_socks;

struct daemon_opts {
	bool once;		/* --once: deliver what is due, then exit */
	const char *conf_path;	/* for SIGHUP reloads */
	bool conf_must_exist;
	long relay_uid;		/* for conf_check_relay on reload */
	struct listen_socks *listen;	/* the SMTP listener's sockets (listen.h), or NULL */
	int mbox_fd;		/* the mailbox process (mbox_proc.h): its socket, pid */
	pid_t mbox_pid;
};

#endif
