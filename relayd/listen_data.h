/*
 * The listener's DATA phase (SPEC §6.1): the message text up to the end
 * marker, dot-unstuffed, into a temporary file that submit_message then
 * queues exactly as sendmail's input.
 *
 * The end marker is CRLF "." CRLF and nothing else: a "." line after a bare
 * LF, or "." followed by a bare LF, is message text (SMTP smuggling: a
 * second message hidden in the first must never be split off). A bare LF
 * still ends a line of text, as sendmail input allows; the leading dot of a
 * line with more on it is removed (RFC 5321 §4.5.2), a lone "." that is not
 * the end is kept.
 */
#ifndef NULLRELAY_LISTEN_DATA_H
#define NULLRELAY_LISTEN_DATA_H

#include <stdint.h>
#include <time.h>

#include "listen_conn.h"

enum ld_result {
	LD_OK,
	LD_TOO_BIG,		/* over cap: the rest was read and thrown away */
	LD_WRITE_FAILED,	/* the temporary file (errno in *werr); rest thrown away */
	LD_CONN,		/* the connection failed: *st says how */
};

/*
 * Copy to fd. cap: most bytes kept (0 = none); each wait for the client is
 * bounded by block_secs and by session_end (a net_deadline value).
 */
enum ld_result data_copy(struct lconn *c, int fd, uint64_t cap, time_t block_secs,
    int64_t session_end, enum lc_status *st, int *werr);

/* An unlinked temporary file in dir (O_TMPFILE, else mkstemp + unlink). */
int data_tempfile(const char *dir);

#endif
