/* The metrics file: see metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "sched.h"
#include "util.h"

/* A Prometheus label value: backslash, quote and newline escaped. */
static int append_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if ((*s == '\\' || *s == '"') && buf_append(b, "\\", 1) == -1)
			return -1;
		if (*s == '\n' ? buf_appends(b, "\\n") == -1 : buf_append(b, s, 1) == -1)
			return -1;
	}
	return 0;
}

/* One gauge per smarthost: NAME{smarthost="h:p"} VALUE. */
static int host_gauge(struct buf *b, const char *name, const char *help,
    const struct metrics *m, const double *v)
{
	size_t i;

	if (buf_appendf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) == -1)
		return -1;
	for (i = 0; i < m->nhosts; i++) {
		if (buf_appendf(b, "%s{smarthost=\"", name) == -1 || append_label(b, m->hosts[i]) == -1 ||
		    buf_appendf(b, "\"} %.0f\n", v[i]) == -1)
			return -1;
	}
	return 0;
}

/* What relayd --health judges by, for alerting without running it. */
static int format_health(struct buf *b, const struct metrics *m)
{
	double auth[CONF_MAX_SMARTHOSTS];
	size_t i;

	for (i = 0; i < m->nhosts; i++)
		auth[i] = m->auth_failing[i] ? 1 : 0;
	if (host_gauge(b, "nullrelay_smarthost_auth_failing",
		"1 if the last session with the smarthost was refused at AUTH.", m, auth) == -1 ||
	    host_gauge(b, "nullrelay_smarthost_failing_since_timestamp_seconds",
		"Start of the smarthost's current run of failed sessions; 0 = not failing.", m,
		m->failing_since) == -1)
		return -1;
	return buf_appendf(b, "# HELP nullrelay_healthy 1 if relayd --health would exit 0.\n"
	    "# TYPE nullrelay_healthy gauge\nnullrelay_healthy %d\n", m->healthy ? 1 : 0);
}

static int format(struct buf *b, const struct metrics *m)
{
	size_t i;

	if (buf_appendf(b,
		"# HELP nullrelay_queue_messages Messages in the queue.\n"
		"# TYPE nullrelay_queue_messages gauge\n"
		"nullrelay_queue_messages %zu\n"
		"# HELP nullrelay_queue_oldest_age_seconds Age of the oldest queued message.\n"
		"# TYPE nullrelay_queue_oldest_age_seconds gauge\n"
		"nullrelay_queue_oldest_age_seconds %.1f\n"
		"# HELP nullrelay_messages_sent_total Recipients accepted by the smarthost.\n"
		"# TYPE nullrelay_messages_sent_total counter\n"
		"nullrelay_messages_sent_total %llu\n"
		"# HELP nullrelay_messages_deferred_total Recipients deferred for a retry.\n"
		"# TYPE nullrelay_messages_deferred_total counter\n"
		"nullrelay_messages_deferred_total %llu\n"
		"# HELP nullrelay_messages_bounced_total Recipients that failed for good.\n"
		"# TYPE nullrelay_messages_bounced_total counter\n"
		"nullrelay_messages_bounced_total %llu\n"
		"# HELP nullrelay_last_success_timestamp_seconds Last accepted delivery.\n"
		"# TYPE nullrelay_last_success_timestamp_seconds gauge\n"
		"nullrelay_last_success_timestamp_seconds %.0f\n"
		"# HELP nullrelay_smarthost_up 1 if the last session with the smarthost worked.\n"
		"# TYPE nullrelay_smarthost_up gauge\n",
		m->queue_messages, m->oldest_age, (unsigned long long)m->sent,
		(unsigned long long)m->deferred, (unsigned long long)m->bounced,
		m->last_success) == -1)
		return -1;
	for (i = 0; i < m->nhosts; i++) {
		if (buf_appends(b, "nullrelay_smarthost_up{smarthost=\"") == -1 ||
		    append_label(b, m->hosts[i]) == -1 ||
		    buf_appendf(b, "\"} %d\n", m->up[i] ? 1 : 0) == -1)
			return -1;
	}
	if (format_health(b, m) == -1)
		return -1;
	if (m->listening && buf_appendf(b,
		"# HELP nullrelay_listen_connections_total SMTP listener sessions started.\n"
		"# TYPE nullrelay_listen_connections_total counter\n"
		"nullrelay_listen_connections_total %llu\n"
		"# HELP nullrelay_listen_accepted_total Messages the SMTP listener queued.\n"
		"# TYPE nullrelay_listen_accepted_total counter\n"
		"nullrelay_listen_accepted_total %llu\n"
		"# HELP nullrelay_listen_refused_total Connections refused (listen_allow, limits).\n"
		"# TYPE nullrelay_listen_refused_total counter\n"
		"nullrelay_listen_refused_total %llu\n",
		(unsigned long long)m->listen.connections, (unsigned long long)m->listen.accepted,
		(unsigned long long)m->listen.refused) == -1)
		return -1;
	return 0;
}

int metrics_write(const char *path, const struct metrics *m)
{
	char tmp[4096];
	struct buf b;
	int fd, r = -1, saved;

	/* A fresh random name, created O_EXCL (mkstemp): the directory may be
	 * one others can write (e.g. a textfile collector), and a fixed name
	 * opened O_TRUNC would let them plant a link we then write through. */
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf_init(&b, 1024 * 1024);
	if (format(&b, m) == -1) {
		buf_free(&b);
		errno = EFBIG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd != -1) {
		/* No fsync: the file is rewritten often and nothing depends on it
		 * surviving a power loss. Readable by the scraper (mkstemp made
		 * it 0600). */
		bool ok = fchmod(fd, 0644) == 0 && io_write_all(fd, b.data, b.len) == 0;

		if (close(fd) == -1)
			ok = false;
		if (ok && rename(tmp, path) == 0)
			r = 0;
		saved = errno;
		if (r == -1)
			unlink(tmp);
		errno = saved;
	}
	buf_free(&b);
	return r;
}

/*
 * The parent's rewrite of the file: at most once a second, and once a
 * minute even when nothing happened (ages and health move).
 */
void metrics_tick(struct metrics *m, bool *dirty, double *at, const struct conf *c,
    const struct sched *s, const struct health *h)
{
	struct health_verdict v;
	struct health_queue q;
	double oldest;
	size_t i;

	if (c->metrics_file == NULL || time_monotonic() - *at < 1.0 ||
	    (!*dirty && time_monotonic() - *at < 60.0))
		return;
	m->queue_messages = sched_count(s) + h->unread;
	oldest = sched_oldest(s);
	m->oldest_age = oldest > 0 ? time_wall() - oldest : 0;
	m->nhosts = c->nsmarthosts;
	for (i = 0; i < c->nsmarthosts; i++) {
		snprintf(m->hosts[i], sizeof m->hosts[i], "%s:%u", c->smarthosts[i].host,
		    c->smarthosts[i].port);
		m->up[i] = sched_host_is_up(s, i);
		m->auth_failing[i] = h->h[i].state == HH_DOWN && h->h[i].auth;
		m->failing_since[i] = h->h[i].state == HH_DOWN ? h->h[i].since : 0;
	}
	health_now(h, s, c, &q, &v);
	m->healthy = health_ok(&v);
	if (metrics_write(c->metrics_file, m) == -1)
		log_warn("cannot write %s", c->metrics_file);
	*dirty = false;
	*at = time_monotonic();
}
