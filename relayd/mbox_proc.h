/*
 * The mailbox process (issue 14, relayd.8 PROCESSES): the one part of
 * relayd that keeps group `mail`, and does nothing but append reports
 * (bounces, delay warnings) to /var/mail/USER (mbox.h) when the parent asks.
 *
 * relayd forks it at start-up while still root, before it opens anything
 * else (no listener socket, no spool descriptor, no secret read yet: its
 * address space holds the parsed configuration only), so no exec: a second
 * program would bring nothing but its own start-up. It drops to the relay
 * user KEEPING group mail (priv_drop), is made non-dumpable (the parent,
 * same uid, cannot ptrace it or open /proc/PID/fd), then confines itself
 * (confine_mbox: Landlock to the mailbox directory, read-only system files,
 * no exec; seccomp without network sockets or exec). The parent and every
 * other process drop group mail.
 *
 * The protocol, one SOCK_SEQPACKET datagram each way, one request at a time:
 *   parent -> child: struct mbox_proc_req + the report's descriptor
 *                    (SCM_RIGHTS; an unlinked file relayd wrote and fsynced)
 *   child -> parent: struct mbox_proc_rep for that seq
 * The child parses nothing else: the user name is checked to be one path
 * component, the report is copied with mboxrd quoting (mbox.c). Each lock
 * is waited for at most MBOX_PROC_WAIT_MS; a mailbox still locked is
 * answered MBOX_PROC_LOCKED, and the parent tries again later
 * (mbox_client.h). The child exits when the parent's end closes.
 */
#ifndef NULLRELAY_MBOX_PROC_H
#define NULLRELAY_MBOX_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

#define MBOX_PROC_NAME "relayd-mbox"	/* its comm (ps, /proc/PID/comm) */
#define MBOX_PROC_LOG_IDENT "nullrelay/relayd"	/* as relayd's own log lines */
#define MBOX_PROC_MAGIC 0x6e726d62u	/* "nrmb" */
#define MBOX_PROC_USER_MAX 256	/* a passwd name, NUL included */
#define MBOX_PROC_ERR_MAX 512
#define MBOX_PROC_WAIT_MS 2000	/* for each of the two locks */

enum mbox_proc_result {
	MBOX_PROC_OK = 0,	/* appended and fsynced */
	MBOX_PROC_LOCKED = 1,	/* a lock was still held: try again later */
	MBOX_PROC_FAILED = 2,	/* no mailbox, not writable, foreign owner, I/O */
};

struct mbox_proc_req {
	uint32_t magic;
	uint32_t seq;
	uint32_t uid;		/* the mailbox must belong to it */
	uint32_t pad;
	uint64_t size;		/* bytes of the report to copy */
	int64_t when;		/* the From_ line's date */
	char user[MBOX_PROC_USER_MAX];	/* the mailbox: MAILDIR/user */
};

struct mbox_proc_rep {
	uint32_t magic;
	uint32_t seq;
	int32_t result;		/* enum mbox_proc_result */
	uint32_t pad;
	char err[MBOX_PROC_ERR_MAX];	/* why, when not MBOX_PROC_OK */
};

/*
 * Fork the mailbox process (as root with drop: it becomes uid/gid plus group
 * mail; otherwise it keeps the caller's credentials). Returns the parent's
 * end of the socket pair, its pid in *pid; exits (log_fatalx) if the fork fails, at start-up.
 */
int mbox_proc_start(const struct conf *c, uid_t uid, gid_t gid, bool drop, pid_t *pid);

/* Is name usable as the file name of a mailbox (one path component)? */
bool mbox_proc_user_ok(const char *name);

#endif
