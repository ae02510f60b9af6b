/*
 * Delivery status notifications (RFC 3464 / RFC 6522): the bounce and the
 * delay warning relayd sends back to a message's sender. Pure: the report
 * is streamed to a caller-supplied sink, the original message is read from
 * a file descriptor in bounded chunks, so memory stays flat whatever the
 * size of the original. Nothing here sends, queues or logs.
 *
 * The report (LF line endings, every line at most 998 octets):
 *
 *   Date, From: Mail Delivery System <MAILER-DAEMON@hostname>, To: <sender>,
 *   Subject, Message-ID, Auto-Submitted: auto-replied, MIME-Version,
 *   Content-Type: multipart/report; report-type=delivery-status; boundary=...
 *     1. text/plain          a short explanation in plain English
 *     2. message/delivery-status   Original-Envelope-Id, Reporting-MTA,
 *        Arrival-Date, X-Nullrelay-Queue-ID; per recipient Original-Recipient,
 *        Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
 *        Last-Attempt-Date, Will-Retry-Until (delay warnings)
 *     3. message/rfc822      the whole original, or text/rfc822-headers
 *        (its header section only) for RET=HDRS, an original over
 *        BOUNCE_FULL_MAX, and every delay warning.
 *
 * Everything we generate is 7-bit except where an address itself is UTF-8
 * (SMTPUTF8 mail); the attached original is copied as stored, and when it
 * holds 8-bit bytes the parts say "Content-Transfer-Encoding: 8bit" and
 * bounce_result.eight_bit tells the caller to send with BODY=8BITMIME.
 */
#ifndef NULLRELAY_BOUNCE_H
#define NULLRELAY_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "spool_envelope.h"

/* Above this many bytes the original is returned as headers only. */
#define BOUNCE_FULL_MAX 65536

enum bounce_kind { BOUNCE_FAILED, BOUNCE_DELAYED };

struct bounce_rcpt {
	const char *final_rcpt;	/* address as sent in RCPT TO (required) */
	const char *orcpt;	/* original recipient (DSN ORCPT) or NULL */
	const char *status;	/* enhanced status "5.1.1" / "4.4.1"; NULL or
				 * malformed → "5.0.0" (failed) / "4.0.0" */
	const char *remote_mta;	/* smarthost host name or NULL; a trailing
				 * "[addr]:port" (qrcpt.relay) is cut off */
	const char *diagnostic;	/* "550 5.1.1 <x>: no such user" → Diagnostic-
				 * Code "smtp; ..."; text not starting with
				 * a 3-digit reply code → "X-Nullrelay; ...";
				 * NULL = none. Non-ASCII → '?' */
	time_t last_attempt;	/* 0 = none */
};

struct bounce_info {
	enum bounce_kind kind;
	const char *hostname;	/* Reporting-MTA; From: MAILER-DAEMON@hostname */
	const char *queue_id;	/* the original's id (boundary, Message-ID) */
	const char *to;		/* the report's recipient: the original sender */
	time_t arrival;		/* Arrival-Date; 0 = omit */
	const char *envid;	/* Original-Envelope-Id or NULL */
	enum dsn_ret ret;	/* RET_HDRS → headers only */
	time_t will_retry_until;	/* BOUNCE_DELAYED: Will-Retry-Until; 0 = omit */
	time_t now;		/* Date: of the report; 0 = time(NULL) */
	const struct bounce_rcpt *rcpts;
	size_t nrcpts;		/* at least 1 */
};

/* What the caller needs to know to send or store the report. */
struct bounce_result {
	uint64_t size;		/* bytes emitted */
	bool headers_only;	/* the original was attached as headers only */
	bool eight_bit;		/* some part is 8bit: send with BODY=8BITMIME */
	bool utf8_addrs;	/* To: holds a UTF-8 address: needs SMTPUTF8 */
};

/*
 * The sink: consume n bytes, return 0, or -1 to abort (bounce_write then
 * fails with "output failed" and, if errno was set, its text).
 */
typedef int (*bounce_emit_fn)(void *ctx, const void *p, size_t n);

/*
 * Write the whole report for b to emit(ctx, ...). The original message is
 * read with pread from orig_fd at [off, off + len) exactly as stored (our
 * Received: line included). res may be NULL. 0, or -1 with the reason in
 * err (bad arguments, a read error or short original, or the sink failed).
 */
int bounce_write(const struct bounce_info *b, int orig_fd, off_t off, uint64_t len,
    bounce_emit_fn emit, void *ctx, struct bounce_result *res, char *err, size_t errlen);

/* A sink for bounce_write: ctx points to an int fd (io_write_all). */
int bounce_emit_fd(void *ctx, const void *p, size_t n);

#endif
