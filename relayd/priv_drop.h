/*
 * Dropping root once and for good (STYLE: setgroups, setresgid, setresuid,
 * then check that none of it can be undone). Shared by relayd's start-up
 * and by root's queue tools, which act on the spool as its owner so that
 * nothing the relay user could have planted there (a symlink in place of
 * queue/) is ever followed with root's rights.
 */
#ifndef NULLRELAY_PRIVDROP_H
#define NULLRELAY_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

/* Become uid/gid with no supplementary group but gid (and group `mail`
 * when mail_group: the mailbox process alone, mbox_proc.h). Exits
 * (log_fatalx) on any failure: running on with root half-dropped is worse. */
void priv_drop(uid_t uid, gid_t gid, bool mail_group);

/*
 * No core files, and no ptrace or /proc peeking by the same user: workers
 * hold the smarthost password or token (SPEC §2: secrets never appear in
 * core files). First thing in each program's main, and again after a
 * change of credentials (which resets "dumpable" to fs.suid_dumpable).
 */
void priv_no_core_dumps(void);

#endif
