/* relayd --health's verdict (health.h): the rules in order, and the JSON. */
#include <string.h>

#include "check.h"
#include "health.h"

static struct conf two_hosts(void)
{
	static char a[] = "smtp.example.org", b[] = "backup.example.org";
	struct conf c;

	memset(&c, 0, sizeof c);
	c.nsmarthosts = 2;
	c.smarthosts[0].host = a;
	c.smarthosts[0].port = 587;
	c.smarthosts[1].host = b;
	c.smarthosts[1].port = 465;
	return c;
}

int main(void)
{
	struct conf c = two_hosts();
	struct health h;
	struct health_queue q = { 0 };
	struct health_verdict v;
	struct buf out;
	double now = 1800000000.0;

	memset(&h, 0, sizeof h);
	health_reset(&h, &c, now);

	/* 1. Empty queue: healthy whatever the hosts say. */
	health_host_down(&h, 0, false, "connect: refused", now - 60);
	health_host_down(&h, 1, false, "connect: refused", now - 30);
	health_judge(&h, &q, 3600, now, &v);
	CHECK(health_ok(&v));
	CHECK_STR(v.line, "ok: queue empty");

	/* 2. Mail queued, every host failing: unreachable since the first failure. */
	q.messages = 2;
	q.oldest_arrival = now - 120;
	health_judge(&h, &q, 3600, now, &v);
	CHECK_INT(v.status, HS_UNREACHABLE);
	CHECK_STR(v.line, "smarthost unreachable since 2027-01-15T07:59:00Z: smtp.example.org:587: "
	    "connect: refused");
	/* A later failure of the same host keeps the start of the run. */
	health_host_down(&h, 0, false, "timeout", now - 10);
	health_judge(&h, &q, 3600, now, &v);
	CHECK(strstr(v.line, "since 2027-01-15T07:59:00Z: smtp.example.org:587: timeout") != NULL);

	/* An AUTH failure is named before an unreachable host. */
	health_host_down(&h, 1, true, "535 5.7.8 bad credentials", now);
	health_judge(&h, &q, 3600, now, &v);
	CHECK_INT(v.status, HS_AUTH);
	CHECK_STR(v.line, "authentication refused by backup.example.org:465: 535 5.7.8 bad credentials");
	/* OAuth2 token failures (reason "oauth2: ...") say what to run. */
	health_host_down(&h, 1, true, "oauth2: invalid_grant (token revoked)", now);
	health_judge(&h, &q, 3600, now, &v);
	CHECK_INT(v.status, HS_OAUTH2);
	CHECK_STR(v.line, "OAuth2 refused: invalid_grant (token revoked); run relayd --oauth2-login");

	health_host_down(&h, 1, true, "cannot get the AUTH secret for b: oauth2: token endpoint "
	    "unreachable", now);
	health_judge(&h, &q, 3600, now, &v);
	CHECK_STR(v.line, "OAuth2 refused: token endpoint unreachable; run relayd --oauth2-login");
	/* Not at AUTH, or "oauth2:" inside a word: not OAuth2. */
	health_host_down(&h, 1, true, "535 5.7.8 xoauth2: no", now);
	health_judge(&h, &q, 3600, now, &v);
	CHECK_INT(v.status, HS_AUTH);

	/* One host up: not failing; no delivery yet but young mail: healthy. */
	health_host_up(&h, 1);
	health_judge(&h, &q, 3600, now, &v);
	CHECK(health_ok(&v));
	CHECK_STR(v.line, "ok: 2 queued, none failing yet");

	/* 4. Old mail, no delivery in the window (max(retry_max, 1h)). */
	q.oldest_arrival = now - 3 * 3600 - 5;
	health_judge(&h, &q, 600, now, &v);
	CHECK_INT(v.status, HS_STALE);
	CHECK(strncmp(v.line, "oldest message 3 hours old", 26) == 0);
	/* A longer retry_max widens the window. */
	health_judge(&h, &q, 4 * 3600, now, &v);
	CHECK(health_ok(&v));

	/* 3. A recent delivery: healthy even with old mail queued. */
	health_delivered(&h, now - 100);
	health_judge(&h, &q, 600, now, &v);
	CHECK(health_ok(&v));
	CHECK_STR(v.line, "ok: 2 queued, last delivery 2027-01-15T07:58:20Z");
	/* ... but not once it is older than the window. */
	health_judge(&h, &q, 600, now + 3600, &v);
	CHECK_INT(v.status, HS_STALE);

	/* A reload forgets the hosts, keeps the last delivery. */
	health_reset(&h, &c, now);
	CHECK_INT(h.h[1].state, HH_UNKNOWN);
	CHECK(h.last_success == now - 100);

	/* JSON: quotes escaped, facts present. */
	health_host_down(&h, 0, true, "said \"no\"", now);
	health_host_down(&h, 1, true, "said \"no\"", now);
	health_judge(&h, &q, 600, now, &v);
	buf_init(&out, 65536);
	CHECK_INT(health_format(&h, &q, &v, now, true, &out), 0);
	CHECK(strncmp(out.data, "{\"healthy\":false,\"status\":\"auth_refused\",", 41) == 0);
	CHECK(strstr(out.data, "\"last_error\":\"said \\\"no\\\"\"") != NULL);
	CHECK(strstr(out.data, "\"queue_messages\":2") != NULL);
	CHECK(out.data[out.len - 1] == '\n' && out.data[out.len - 2] == '}');
	buf_free(&out);
	return check_summary("test_health");
}
