/* The transaction a server collects: see smtp_txn.h. */
#include <stdlib.h>

#include "smtp_txn.h"

void smtp_txn_reset(struct smtp_txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->sender);
	t->rcpts = NULL;
	t->nrcpts = t->cap = 0;
	t->sender = NULL;
	t->body = SM_BODY_UNSET;
}
