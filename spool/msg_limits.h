/*
 * The line limit, defined once: RFC 5322 §2.1.1 and RFC 5321 §4.5.3.1.6
 * allow at most 998 octets on a line, not counting its CRLF. sendmail
 * re-encodes (or refuses) a body with a longer line, relayd quarantines a
 * drop file holding one and refuses to send one, and an envelope address
 * must fit within it (addr.h).
 */
#ifndef NULLRELAY_MSG_LIMITS_H
#define NULLRELAY_MSG_LIMITS_H

#define MSG_LINE_MAX 998

#endif
