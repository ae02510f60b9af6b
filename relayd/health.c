/* Is mail flowing: see health.h. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "sched.h"
#include "ctl_mailq.h"
#include "ctl_proto.h"
#include "spool_qlist.h"
#include "spool.h"

#define OAUTH2_PREFIX "oauth2:"

static const char *const status_names[] = {
	[HS_OK] = "ok", [HS_NOT_RUNNING] = "not_running", [HS_UNREACHABLE] = "smarthost_unreachable",
	[HS_AUTH] = "auth_refused", [HS_OAUTH2] = "oauth2_refused", [HS_STALE] = "queue_stale",
	[HS_UNKNOWN] = "unknown",
};

void health_reset(struct health *h, const struct conf *c, double now)
{
	double last = h->last_success;
	size_t i;

	memset(h, 0, sizeof(*h));
	h->last_success = last;
	h->started = now;
	h->nhosts = c->nsmarthosts;
	for (i = 0; i < c->nsmarthosts; i++)
		snprintf(h->names[i], sizeof h->names[i], "%s:%u", c->smarthosts[i].host,
		    c->smarthosts[i].port);
}

void health_host_up(struct health *h, size_t i)
{
	if (i >= h->nhosts)
		return;
	memset(&h->h[i], 0, sizeof h->h[i]);
	h->h[i].state = HH_UP;
}

void health_host_down(struct health *h, size_t i, bool auth, const char *reason, double now)
{
	struct health_host *x;

	if (i >= h->nhosts)
		return;
	x = &h->h[i];
	if (x->state != HH_DOWN)
		x->since = now;
	x->state = HH_DOWN;
	x->auth = auth;
	strlcpy(x->reason, reason != NULL && reason[0] != '\0' ? reason : "no reason given",
	    sizeof x->reason);
}

void health_delivered(struct health *h, double now)
{
	h->last_success = now;
}

static void iso_time(double t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)tt);
}

/* The built-in OAuth2's failure: "oauth2: ..." as the reason, or after a
 * prefix such as "cannot get the AUTH secret for H: ". The text after it. */
static const char *oauth2_reason(const char *reason)
{
	const char *p = reason;

	while ((p = strstr(p, OAUTH2_PREFIX)) != NULL) {
		if (p == reason || p[-1] == ' ')
			return p + strlen(OAUTH2_PREFIX) + strspn(p + strlen(OAUTH2_PREFIX), " ");
		p++;
	}
	return NULL;
}

/* Rule 2 of health.h: the failing smarthost to name, or NULL when some
 * smarthost's last session worked (or none was tried yet). An AUTH failure
 * is named before an unreachable host: it needs the operator. */
static const struct health_host *failing(const struct health *h, size_t *which)
{
	const struct health_host *pick = NULL;
	size_t i;

	for (i = 0; i < h->nhosts; i++) {
		if (h->h[i].state == HH_UP)
			return NULL;
		if (h->h[i].state == HH_DOWN && (pick == NULL || (h->h[i].auth && !pick->auth))) {
			pick = &h->h[i];
			*which = i;
		}
	}
	return pick;
}

void health_judge(const struct health *h, const struct health_queue *q, time_t retry_max,
    double now, struct health_verdict *v)
{
	double window = retry_max > HEALTH_MIN_WINDOW ? (double)retry_max : HEALTH_MIN_WINDOW;
	const struct health_host *x;
	char t[32];
	size_t i = 0;

	memset(v, 0, sizeof(*v));
	if (q->messages == 0) {
		v->status = HS_OK;
		snprintf(v->line, sizeof v->line, "ok: queue empty");
		return;
	}
	if ((x = failing(h, &i)) != NULL) {
		const char *r = x->auth ? oauth2_reason(x->reason) : NULL;

		if (r != NULL) {
			v->status = HS_OAUTH2;
			snprintf(v->line, sizeof v->line, "OAuth2 refused: %s; run relayd --oauth2-login",
			    r);
		} else if (x->auth) {
			v->status = HS_AUTH;
			snprintf(v->line, sizeof v->line, "authentication refused by %s: %s",
			    h->names[i], x->reason);
		} else {
			iso_time(x->since, t, sizeof t);
			v->status = HS_UNREACHABLE;
			snprintf(v->line, sizeof v->line, "smarthost unreachable since %s: %s: %s", t,
			    h->names[i], x->reason);
		}
		return;
	}
	if (h->last_success > 0 && now - h->last_success <= window) {
		iso_time(h->last_success, t, sizeof t);
		v->status = HS_OK;
		snprintf(v->line, sizeof v->line, "ok: %zu queued, last delivery %s", q->messages, t);
		return;
	}
	if (q->oldest_arrival > 0 && now - q->oldest_arrival > window) {
		long hours = (long)((now - q->oldest_arrival) / 3600);

		iso_time(q->oldest_arrival, t, sizeof t);
		v->status = HS_STALE;
		snprintf(v->line, sizeof v->line, "oldest message %ld hour%s old (queued %s), "
		    "%zu queued, no delivery in the last %ld minutes", hours, hours == 1 ? "" : "s",
		    t, q->messages, (long)(window / 60));
		return;
	}
	v->status = HS_OK;
	snprintf(v->line, sizeof v->line, "ok: %zu queued, none failing yet", q->messages);
}

bool health_ok(const struct health_verdict *v)
{
	return v->status == HS_OK;
}

static int json_time(struct buf *out, const char *key, double t)
{
	char s[32];

	if (t <= 0)
		return buf_appendf(out, ",\"%s\":null", key);
	iso_time(t, s, sizeof s);
	return buf_appendf(out, ",\"%s\":%.0f,\"%s_iso\":\"%s\"", key, t, key, s);
}

static int json_hosts(const struct health *h, struct buf *out)
{
	static const char *const st[] = { "unknown", "up", "down" };
	int r = buf_appends(out, ",\"smarthosts\":[");

	for (size_t i = 0; i < h->nhosts && r == 0; i++) {
		const struct health_host *x = &h->h[i];

		r = buf_appendf(out, "%s{\"smarthost\":", i > 0 ? "," : "");
		if (r == 0)
			r = qlist_json_append_str(out, h->names[i]);
		if (r == 0)
			r = buf_appendf(out, ",\"state\":\"%s\",\"auth_failing\":%s", st[x->state],
			    x->state == HH_DOWN && x->auth ? "true" : "false");
		if (r == 0 && x->state == HH_DOWN) {
			r = json_time(out, "failing_since", x->since);
			if (r == 0)
				r = buf_appends(out, ",\"last_error\":");
			if (r == 0)
				r = qlist_json_append_str(out, x->reason);
		}
		if (r == 0)
			r = buf_appends(out, "}");
	}
	return r == 0 ? buf_appends(out, "]") : r;
}

int health_format(const struct health *h, const struct health_queue *q,
    const struct health_verdict *v, double now, bool json, struct buf *out)
{
	int r;

	if (!json)
		return buf_appendf(out, "%s\n", v->line);
	r = buf_appendf(out, "{\"healthy\":%s,\"status\":\"%s\",\"reason\":",
	    health_ok(v) ? "true" : "false", status_names[v->status]);
	if (r == 0)
		r = qlist_json_append_str(out, v->line);
	if (r == 0)
		r = buf_appendf(out, ",\"running\":%s", v->status == HS_NOT_RUNNING ? "false" : "true");
	if (r == 0 && h != NULL && q != NULL) {
		r = buf_appendf(out, ",\"pid\":%ld,\"queue_messages\":%zu,\"oldest_age_seconds\":%.0f",
		    (long)getpid(), q->messages,
		    q->oldest_arrival > 0 ? now - q->oldest_arrival : 0.0);
		if (r == 0)
			r = json_time(out, "last_success", h->last_success);
		if (r == 0)
			r = json_hosts(h, out);
	}
	return r == 0 ? buf_appends(out, "}\n") : r;
}

int health_fail(enum health_status st, const char *line, bool json)
{
	struct health_verdict v;
	struct buf out;

	memset(&v, 0, sizeof v);
	v.status = st;
	strlcpy(v.line, line, sizeof v.line);
	buf_init(&out, 64 * 1024);
	health_format(NULL, NULL, &v, 0, json, &out);
	fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	buf_free(&out);
	return 1;
}

/* The client side: one request, the daemon's verdict printed as it came. */
int health_client(const struct conf *c, bool json)
{
	struct health_verdict v;
	char err[1024];
	struct buf out;
	int rc;

	buf_init(&out, 256 * 1024);
	rc = ctl_request_buf(c->spool, json ? CTL_HEALTH " " CTL_ARG_JSON : CTL_HEALTH, &out, err,
	    sizeof err);
	if (rc == 0 && out.len > 0 && !CTL_IS(out.data, CTL_ERR)) {
		bool ok = json ? strncmp(out.data, "{\"healthy\":true,", 16) == 0 :
		    strncmp(out.data, "ok:", 3) == 0;

		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return fflush(stdout) == 0 && ok ? 0 : 1;
	}
	if (rc == EX_UNAVAILABLE && strncmp(err, "relayd is not running", 21) == 0) {
		snprintf(v.line, sizeof v.line, "not running: no relayd answers on %s/%s", c->spool,
		    SPOOL_SOCKET);
		buf_free(&out);
		return health_fail(HS_NOT_RUNNING, v.line, json);
	}
	snprintf(v.line, sizeof v.line, "cannot ask relayd: %.900s",
	    rc == 0 ? (out.data != NULL ? out.data : "empty reply") : err);
	v.line[strcspn(v.line, "\n")] = '\0';
	buf_free(&out);
	return health_fail(HS_UNKNOWN, v.line, json);
}

void health_now(const struct health *h, const struct sched *s, const struct conf *c,
    struct health_queue *q, struct health_verdict *v)
{
	q->messages = sched_count(s) + h->unread;
	q->oldest_arrival = sched_oldest(s);
	health_judge(h, q, c->retry_max, time_wall(), v);
}
