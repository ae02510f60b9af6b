/*
 * The parent's answers to the control socket (control.h): sendmail -q,
 * mailq, the queue tools and relayd --health, acting on the daemon's state
 * (daemon_state.h).
 */
#ifndef NULLRELAY_CONTROL_HOOKS_H
#define NULLRELAY_CONTROL_HOOKS_H

#include "control.h"

struct daemon;

/* The hooks for control_open, with dm as their context. */
void control_hooks_fill(struct daemon *dm, struct control_hooks *h);

#endif
