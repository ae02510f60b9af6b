#!/usr/bin/env bash
# relayd --health [-j] (SPEC §8) through the real binaries: not running;
# running with an empty queue; smarthost unreachable with mail queued;
# AUTH refused by the fake smarthost; delivered again; the oldest message
# too old while the smarthost defers; -j is valid JSON with the same verdict;
# an ordinary user may ask; metrics_file carries the same facts.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-health || exit 0

# health [-j]: run relayd --health, OUT = its output, HRC = its exit status.
health() {
	OUT=$("$RELAYD" -C "$RC" --health "$@" 2>&1)
	HRC=$?
}
# json_is EXPR: the -j output parsed by Python, EXPR true of it (as j).
json_is() {
	printf '%s' "$OUT" | "$PY" -c 'import json,sys; j=json.loads(sys.stdin.read()); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
health_says() { health; [ "$HRC" = "$1" ] && grep -Eq -- "$2" <<<"$OUT"; }

PW='pw-H3alth'
AUTHSCRIPT="{\"ehlo\":[\"PIPELINING\",\"ENHANCEDSTATUSCODES\",\"AUTH PLAIN LOGIN\"],
 \"users\":{\"alice\":\"$PW\"},\"require_auth\":true,
 \"rcpt_replies\":{\"later@example.org\":\"451 4.3.0 try later\"}}"

# 1. Not running: 1, one line naming it; -j says the same.
relay_new down
SH_PORT=$(closed_port)
relay_conf
health
check "not running: exit 1" [ "$HRC" = 1 ]
check "not running: one line naming why ($OUT)" [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] && grep -q "^not running" <<<"$OUT"
health -j
check "not running: -j exit 1" [ "$HRC" = 1 ]
check "not running: -j is JSON with healthy false, status not_running" \
	json_is 'j["healthy"] is False and j["status"] == "not_running" and j["running"] is False'
# A stale socket file left by a killed relayd is "not running" too.
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$RS/relayd.sock"
health
check "stale socket file: not running, exit 1" [ "$HRC" = 1 ] && grep -q "^not running" <<<"$OUT"
rm -f "$RS/relayd.sock"

# 2. Running, empty queue: 0.
relay_new empty
sh_start sh-empty '{"ehlo":["PIPELINING"]}'
relay_conf "metrics_file = $RS/metrics.prom"
relayd_start
health
check "empty queue: exit 0 ($OUT)" [ "$HRC" = 0 ]
check "empty queue: says ok" grep -q "^ok: queue empty$" <<<"$OUT"
health -j
check "empty queue: -j valid JSON, healthy true, running, 0 messages" \
	json_is 'j["healthy"] is True and j["status"] == "ok" and j["running"] is True and j["queue_messages"] == 0'
if is_root; then
	OUT=$(as_user "$TEST_USER1" "$RELAYD" -C "$RC" --health 2>&1); HRC=$?
	check "an ordinary user may ask (exit 0 as $TEST_USER1: $OUT)" [ "$HRC" = 0 ]
else
	skip "--health as another user (needs root)"
fi
relayd_stop
health
check "after SIGTERM: not running again" [ "$HRC" = 1 ] && grep -q "^not running" <<<"$OUT"

# 3. Smarthost unreachable, one message queued: 1 "smarthost unreachable since T".
relay_new unreach
SH_PORT=$(closed_port)
relay_conf "retry_min = 1h" "retry_max = 1h" "metrics_file = $RS/metrics.prom"
submit -f s@example.org r@example.org < <(test_message unreach)
relayd_start
check "unreachable: relayd tried and failed" wait_for 10 log_has "smarthost 127\.0\.0\.1:$SH_PORT failed"
wait_for 5 health_says 1 "unreachable"
check "unreachable: exit 1, 'smarthost unreachable since <UTC time>: 127.0.0.1:$SH_PORT: ...' ($OUT)" \
	health_says 1 "^smarthost unreachable since [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: 127\.0\.0\.1:$SH_PORT: .+"
health -j
check "unreachable: -j status smarthost_unreachable, host down with failing_since" \
	json_is 'j["healthy"] is False and j["status"] == "smarthost_unreachable" and j["queue_messages"] == 1 and j["smarthosts"][0]["state"] == "down" and j["smarthosts"][0]["failing_since"] > 0 and not j["smarthosts"][0]["auth_failing"]'
check "unreachable: metrics nullrelay_healthy 0" wait_for 5 grep -qx "nullrelay_healthy 0" "$RS/metrics.prom"
check "unreachable: metrics failing_since set" \
	grep -Eq "^nullrelay_smarthost_failing_since_timestamp_seconds\{smarthost=\"127\.0\.0\.1:$SH_PORT\"\} [1-9][0-9]+$" "$RS/metrics.prom"
relayd_stop

# 4. AUTH refused (wrong password), then the password fixed: delivered, 0.
relay_new auth
sh_start sh-auth "$AUTHSCRIPT"
secret_file "$RD/pw" "wrong-password" 600
relay_conf "auth_user = alice" "auth_password_file = $RD/pw" "retry_min = 1h" "retry_max = 1h" \
	"metrics_file = $RS/metrics.prom"
submit -f s@example.org r@example.org < <(test_message auth)
id=$SUBMIT_ID
relayd_start
check "auth: relayd tried and was refused" wait_for 10 log_has "SASL authentication failed"
wait_for 5 health_says 1 "authentication"
check "auth: exit 1, 'authentication refused by 127.0.0.1:$SH_PORT: ...535...' ($OUT)" \
	health_says 1 "^authentication refused by 127\.0\.0\.1:$SH_PORT: .*535"
health -j
check "auth: -j status auth_refused, auth_failing true" \
	json_is 'j["healthy"] is False and j["status"] == "auth_refused" and j["smarthosts"][0]["auth_failing"] is True and "535" in j["smarthosts"][0]["last_error"]'
check "auth: metrics nullrelay_smarthost_auth_failing 1" \
	wait_for 5 grep -qx "nullrelay_smarthost_auth_failing{smarthost=\"127.0.0.1:$SH_PORT\"} 1" "$RS/metrics.prom"
check "auth: the password is not in the health output" eval "! grep -qF -- '$PW' <<<\"\$OUT\""
secret_file "$RD/pw" "$PW" 600
"$SENDMAIL" -C "$RC" -q
check "auth: after the fix and sendmail -q, delivered" wait_for 10 sh_has sh-auth
wait_for 5 health_says 0 "^ok"
check "delivered: exit 0" health_says 0 "^ok: queue empty$"
health -j
check "delivered: -j healthy, smarthost up, last_success set" \
	json_is 'j["healthy"] is True and j["smarthosts"][0]["state"] == "up" and j["last_success"] > 0'
check "delivered: metrics nullrelay_healthy 1, auth_failing 0" \
	wait_for 5 eval "grep -qx 'nullrelay_healthy 1' '$RS/metrics.prom' && grep -qx 'nullrelay_smarthost_auth_failing{smarthost=\"127.0.0.1:$SH_PORT\"} 0' '$RS/metrics.prom'"
# Mail queued but the last delivery was just now: still healthy.
submit -f s@example.org later@example.org < <(test_message later)
check "queued after a recent success: deferred" wait_for 10 log_has "to=<later@example.org>.*status=deferred"
check "queued after a recent success: exit 0 'ok: 1 queued, last delivery ...'" \
	wait_for 5 health_says 0 "^ok: 1 queued, last delivery [0-9-]+T"
relayd_stop

# 5. The oldest message too old while the smarthost takes the session but
# defers the recipient (no delivery in the window): 1 "oldest message N hours old".
relay_new stale
sh_start sh-stale '{"ehlo":["PIPELINING","ENHANCEDSTATUSCODES"],"rcpt_replies":{"r@example.org":"451 4.3.0 try later"}}'
relay_conf "retry_min = 1h" "retry_max = 1h"
submit -f s@example.org r@example.org < <(test_message stale)
id=$SUBMIT_ID
relayd_once
env=$RS/queue/$id.env
check "stale: deferred, still queued" [ -f "$env" ]
old=$(( $(date +%s) - 7300 ))
sed -i -E "s/^arrival [0-9]+\.[0-9]+$/arrival $old.000/" "$env"
check "stale: arrival moved two hours back" grep -qx "arrival $old.000" "$env"
"$SENDMAIL" -C "$RC" -q 2>/dev/null
relayd_start
"$SENDMAIL" -C "$RC" -q
check "stale: a new attempt was deferred again" wait_for 10 eval "[ \$(grep -c 'status=deferred' '$RL') -ge 2 ]"
check "stale: exit 1, 'oldest message 2 hours old'" \
	wait_for 5 health_says 1 "^oldest message 2 hours old"
health -j
check "stale: -j status queue_stale, oldest_age_seconds about 7300" \
	json_is 'j["status"] == "queue_stale" and 7290 <= j["oldest_age_seconds"] <= 7400 and j["smarthosts"][0]["state"] == "up"'
relayd_stop

# 6. Bad usage.
"$RELAYD" -C "$RC" -j > /dev/null 2>&1
check "-j without --health: usage error 64" [ $? = 64 ]
"$RELAYD" -C "$T/no-such.conf" --health > "$T/o" 2>&1
check "--health with a missing configuration: exit 1, one line" [ $? = 1 ] && [ "$(wc -l < "$T/o")" = 1 ]
