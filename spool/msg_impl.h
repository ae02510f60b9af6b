/*
 * What the msg_ files share among themselves and nobody else uses: field
 * helpers defined in msg_headers.c. sendmail and relayd include msg.h only.
 */
#ifndef NULLRELAY_MSG_IMPL_H
#define NULLRELAY_MSG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"
#include "util.h"

/* Field f is named name (any case). */
bool msg_name_is(const struct msg_field *f, const char *name);
/* A Resent-* field. */
bool msg_is_resent_name(const struct msg_field *f);
/* One of the address fields (From, Sender, Reply-To, To, Cc and their
 * Resent- forms): the fields whose bare names get qualified. */
bool msg_is_address_field(const struct msg_field *f);
/* Copy a field name for messages: printable, short. */
void msg_field_label(const struct msg_field *f, char *out, size_t outlen);
/* Put a field made by us (text allocated, taken over; name length known)
 * at `before` (-1: the end). 0, or -1 past MSG_HEADER_MAX (text freed). */
int msg_insert_field(struct msg_headers *h, char *text, size_t namelen, long before);
/* Replace field i's text with b's (taken over), keeping the byte count
 * right. 0, or -1 past MSG_HEADER_MAX (nothing changed). */
int msg_replace_text(struct msg_headers *h, size_t i, struct buf *b);

#endif
