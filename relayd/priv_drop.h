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
 * Started as the relay user already (the systemd unit: User=, group mail
 * in SupplementaryGroups=, CAP_SETGID as its one ambient capability): keep
 * only gid as a group and then give up every capability. Returns false,
 * changing nothing, without CAP_SETGID (a plain start as an ordinary user:
 * the processes then keep that user's groups). Exits on other failures.
 */
bool priv_drop_groups(gid_t gid);

/* Give up every capability, ambient ones too (which would otherwise pass
 * to the exec'd workers): the mailbox process of such a start, which keeps
 * its groups. Exits (log_fatalx) on failure. */
void priv_drop_caps(void);

/*
 * No core files, and no ptrace or /proc peeking by the same user: workers
 * hold the smarthost password or token (SPEC §2: secrets never appear in
 * core files). First thing in each program's main, and again after a
 * change of credentials (which resets "dumpable" to fs.suid_dumpable).
 */
void priv_no_core_dumps(void);

#endif
