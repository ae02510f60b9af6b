/*
 * Local delivery of a bounce into an existing mbox (bounce_local = mbox).
 *
 * Only an existing mailbox is appended to: a regular file with one link,
 * owned by the user the bounce is for, opened O_NOFOLLOW (a symlink is
 * refused). The owner check matters because group `mail` can write any
 * file in /var/mail: without it a file another user planted at
 * /var/mail/USER would receive USER's bounce. Locking is what Debian's mail
 * readers (mutt, alpine, mailx, procmail, Postfix local) expect, both kinds:
 * a dot-lock PATH.lock created O_EXCL (retried, one older than
 * MBOX_STALE_LOCK seconds is removed as stale) and an fcntl write lock,
 * each waited for at most the lock wait. The message is written in mboxrd
 * form: a "From SENDER DATE" line (MAILER-DAEMON for the null sender,
 * asctime date), every line matching ^>*From  given one more '>', a blank
 * line after it; then fsync. Any failure truncates the mbox back to its
 * size before we started, so it is never left with half a message.
 *
 * Permissions without setuid/setgid: on Debian /var/mail is root:mail 2775
 * and each mbox is USER:mail 0660, so a process in group `mail` can append
 * to every mbox and create PATH.lock in /var/mail. relayd runs this in the
 * mailbox process only (mbox_proc.h), which keeps `mail` among the
 * supplementary groups of the relay user when relayd, started as root,
 * drops privileges (every other process drops it); started as an ordinary
 * user it has whatever that user has. Nothing else is needed. When
 * the mbox is missing or not writable, or the dot-lock cannot be made, this
 * fails and the caller falls back to bounce_local = keep, and says so in
 * the log.
 */
#ifndef NULLRELAY_MBOX_H
#define NULLRELAY_MBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MBOX_LOCK_WAIT_MS 10000	/* default wait for each lock */
#define MBOX_STALE_LOCK 300	/* seconds after which a dot-lock is stale */

/*
 * Append the message read from msg_fd at [off, off + len) to the mbox at
 * path, envelope_sender ("" = null sender) and t in its From_ line. The
 * mbox must be owned by expected_owner (the uid the bounce is for).
 * 0 delivered (durable), -1 not delivered and the mbox as it was: the
 * reason in err ("no mailbox", "locked", "is owned by uid N, not by USER",
 * permissions, I/O). The caller keeps the message and may retry later;
 * nothing here is a permanent failure.
 */
int mbox_deliver(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, char *err, size_t errlen);

/* The same with an explicit lock wait in milliseconds (tests). */
int mbox_deliver_wait(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, unsigned wait_ms, char *err,
    size_t errlen);

/* The same; *locked says whether it failed only because a lock (dot-lock
 * or fcntl) was still held after wait_ms: the mailbox process retries
 * those later (mbox_proc.h) instead of falling back to keep. */
int mbox_deliver_try(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, unsigned wait_ms, bool *locked, char *err,
    size_t errlen);

/* The From_ line date: asctime form in local time, "Sun Nov 22 12:00:00 2026"
 * (English names whatever the locale). out >= 32 bytes. */
void mbox_date(time_t t, char *out, size_t outlen);

#endif
