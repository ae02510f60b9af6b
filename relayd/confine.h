/*
 * Confinement after start-up (issue 14, SPEC §5.5): once relayd runs as
 * the relay user it gives up what it will never need, so that a bug in the
 * code parsing hostile drop files or smarthost replies buys an attacker
 * little. See confine.c and relayd.8 (CONFINEMENT) for what is kept.
 */
#ifndef NULLRELAY_CONFINE_H
#define NULLRELAY_CONFINE_H

#include <stdbool.h>

#include "conf.h"

/* PR_SET_NO_NEW_PRIVS, then Landlock (filesystem), then a seccomp filter;
 * each missing from the kernel is logged once and skipped. Exits (log_fatalx)
 * only when the kernel offered a layer and applying it failed half-way. */
/* worker: the delivery worker, once it has run the secret commands
 * (Landlock applied whatever the configuration; logged at debug level). */
void confine_self(const struct conf *c, const char *conf_path, bool worker);

/* The mailbox process (mbox_proc.h): no_new_privs; Landlock to the mailbox
 * directory and read-only system files, no exec; seccomp: the deny-list,
 * execve, and sockets other than AF_UNIX. Logged at debug level. */
void confine_mbox(const struct conf *c);

#endif
