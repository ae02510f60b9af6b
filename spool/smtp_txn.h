/*
 * The mail transaction a server is collecting (MAIL FROM, RCPT TO), shared
 * by the two SMTP servers: relayd's listener (listen_smtp.c) and sendmail
 * -bs (sm_bs.c).
 */
#ifndef NULLRELAY_SMTP_TXN_H
#define NULLRELAY_SMTP_TXN_H

#include <stddef.h>

#include "sm_options.h"

struct smtp_txn {
	char *sender;		/* "" = the null sender, NULL before MAIL */
	enum sm_body body;
	char **rcpts;
	size_t nrcpts, cap;
};

/* Free what the transaction holds and start afresh (RSET, after DATA). */
void smtp_txn_reset(struct smtp_txn *t);

#endif
