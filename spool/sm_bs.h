/*
 * sendmail -bs (SPEC §3): a minimal RFC 5321 server dialogue on stdin/stdout,
 * which Alpine uses by default. Each accepted message goes through the same
 * submit_message path as the command line, so fix-ups, limits and the spool
 * are identical; the submitter is still the kernel's uid.
 */
#ifndef NULLRELAY_BS_H
#define NULLRELAY_BS_H

struct conf;
struct submit_req;

/*
 * Serve one SMTP session: read commands from `in`, answer on `out`, until
 * QUIT or end of input. `base` supplies everything but the sender and the
 * recipients (conf, uid, login, -F, -N, -R, -V, -B); each transaction copies
 * it. Returns 0 after QUIT or a clean end of input (every message that got
 * a 250 is queued); EX_IOERR if reading or answering failed or the input
 * ended inside DATA, after printing the one stderr line ("sendmail: -bs: ...")
 * itself, so the caller prints nothing more. Ignores SIGPIPE.
 */
int bs_serve(const struct conf *c, const struct submit_req *base, int in, int out);

#endif
