/*
 * The systemd readiness protocol (sd_notify(3)), spoken directly: one
 * datagram per state change to the AF_UNIX socket named by NOTIFY_SOCKET.
 * No libsystemd: the protocol is a few lines, and relayd runs the same
 * with or without systemd (containers, supervisors, tests).
 */
#ifndef NULLRELAY_SD_NOTIFY_H
#define NULLRELAY_SD_NOTIFY_H

/* Read NOTIFY_SOCKET once and remove it from the environment, so no child
 * (workers, auth_password_command) inherits it and speaks for relayd. */
void sd_notify_init(void);

/* Send state (e.g. "READY=1"); silently nothing without NOTIFY_SOCKET.
 * A failure is logged once at most: it never stops relayd. */
void sd_notify_send(const char *state);

/* "RELOADING=1" with MONOTONIC_USEC (what systemd 253's notify-reload wants). */
void sd_notify_reloading(void);

#endif
