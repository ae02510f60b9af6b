/* Postfix-style log lines: see relay_log.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "relay_log.h"

void relay_log_pickup(const struct qmsg *m)
{
	if (m->env.client_ip != NULL) {
		/* SPEC §6.1: the listener's client in place of the uid. */
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu, client=%s[%s]", m->id,
		    m->env.sender, (unsigned long long)m->size, m->env.nrcpts,
		    m->env.client_helo, m->env.client_ip);
		return;
	}
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu, uid=%lu", m->id, m->env.sender,
	    (unsigned long long)m->size, m->env.nrcpts, (unsigned long)m->uid);
}

void relay_log_delay(char *out, size_t outlen, double arrival, double now)
{
	double d = now - arrival;

	if (d < 0)
		d = 0;
	snprintf(out, outlen, "%.1f", d);
}

static const char *status_word(enum rcpt_state st)
{
	switch (st) {
	case RCPT_SENT:
		return "sent";
	case RCPT_FAILED:
		return "bounced";
	case RCPT_DEFERRED:
	case RCPT_PENDING:
		break;
	}
	return "deferred";
}

void relay_log_rcpt(const struct qmsg *m, size_t i, double now)
{
	const struct env_rcpt *r = &m->env.rcpts[i];
	const struct qrcpt *q = &m->rcpts[i];
	char delay[32];
	bool orig;
	const char *dsn = q->dsn[0] != '\0' ? q->dsn : (q->state == RCPT_SENT ? "2.0.0" : "4.0.0");

	/* Postfix adds orig_to= only when the original differs. */
	orig = r->orcpt != NULL && strcmp(r->orcpt, r->addr) != 0;
	relay_log_delay(delay, sizeof delay, m->arrival, now);
	log_info("%s: to=<%s>%s%s%s, relay=%s, delay=%s, tries=%u, dsn=%s, status=%s (%s)",
	    m->id, r->addr, orig ? ", orig_to=<" : "", orig ? r->orcpt : "", orig ? ">" : "",
	    q->relay != NULL ? q->relay : "none", delay, m->tries, dsn,
	    status_word(q->state), q->text != NULL ? q->text : "no reason recorded");
}
