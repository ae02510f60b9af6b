#!/usr/bin/env bash
# relayd against a misbehaving smarthost (SPEC §6 reply classes): 4xx and
# network failures defer, 5xx to MAIL/DATA/final dot bounce the message, 5xx to
# one RCPT bounces that recipient only, smarthost failures never bounce.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-faults || exit 0

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","SIZE 10000000"]'

# fault_case NAME RULES-JSON [EXTRA-SCRIPT-JSON]: smarthost with those rules,
# one message to r@example.org, one relayd --once run.
fault_case() {
	relay_new "$1"
	sh_start "sh-$1" "{$EHLO,\"rules\":$2${3:+,$3}}"
	relay_conf
	test_message "$1" > "$RD/msg"
	submit -f s@example.org r@example.org < "$RD/msg"
	ID=$SUBMIT_ID
	START=$(date +%s)
	relayd_once
	ELAPSED=$(( $(date +%s) - START ))
}

deferred() {
	check "$1: logged status=deferred" log_has "$ID: to=<r@example.org>, .*tries=1, dsn=4\.[0-9.]+, status=deferred"
	check "$1: still queued, not bounced" eval "queued $ID && ! failed $ID && ! log_has 'status=bounced'"
}
bounced() {
	check "$1: logged status=bounced dsn=5.x.x" log_has "$ID: to=<r@example.org>, .*dsn=5\.[0-9.]+, status=bounced"
	check "$1: out of the queue, bounced to the sender" \
		eval "! queued $ID && log_has '$ID: sender non-delivery notification: '"
}

# Smarthost failures: never bounce.
fault_case greet421 '[{"stage":"GREETING","reply":"421 4.3.2 service not available"}]'
deferred "421 greeting"
check "421 greeting: the reply is in the log" log_has "$ID: .*status=deferred \(.*421"
fault_case greet554 '[{"stage":"GREETING","reply":"554 5.3.2 go away"}]'
check "554 greeting: deferred, never bounced (a smarthost failure)" eval "queued $ID && ! failed $ID && ! log_has status=bounced"
fault_case greetstall '[{"stage":"GREETING","reply":"stall","seconds":30}]'
deferred "no greeting (timeout)"
check "no greeting: gave up within timeout_greeting (took ${ELAPSED}s)" [ "$ELAPSED" -le 10 ]
fault_case greetclose '[{"stage":"GREETING","reply":"close"}]'
deferred "connection closed at once"
fault_case helo5xx '[{"stage":"EHLO","reply":"554 5.7.1 no"},{"stage":"HELO","reply":"554 5.7.1 no"}]'
check "EHLO and HELO refused with 5xx: deferred, never bounced" eval "queued $ID && ! failed $ID"

relay_new refused
SH_PORT=$(closed_port)
relay_conf
submit -f s@example.org r@example.org < <(test_message refused)
ID=$SUBMIT_ID
relayd_once
deferred "connection refused"

# MAIL
fault_case mail451 '[{"stage":"MAIL","reply":"451 4.3.0 try later"}]'
deferred "4xx to MAIL"
fault_case mail550 '[{"stage":"MAIL","reply":"550 5.7.1 sender rejected"}]'
bounced "5xx to MAIL"
check "5xx to MAIL: the reply is in the log line" log_has "$ID: .*status=bounced \(550 5\.7\.1 sender rejected\)"

# RCPT: one of three refused; the others delivered.
relay_new rcpt550
sh_start sh-rcpt550 "{$EHLO,\"rcpt_replies\":{\"b@example.org\":\"550 5.1.1 no such user\"}}"
relay_conf
submit -f s@example.org a@example.org b@example.org c@example.org < <(test_message rcpt550)
ID=$SUBMIT_ID
relayd_once
check "RCPT 550 for one of three: the other two delivered" \
	shq sh-rcpt550 'len([m for m in mails if m["side"]["mail_from"] != "<>"]) == 1 and sorted(r["addr"] for r in mails[0]["side"]["rcpts"]) == ["<a@example.org>", "<c@example.org>"]'
check "RCPT 550: log bounced for b, sent for a and c" \
	eval "log_has '$ID: to=<b@example.org>, .*dsn=5\.1\.1, status=bounced \(550 5\.1\.1 no such user\)' && log_has '$ID: to=<a@example.org>, .*status=sent' && log_has '$ID: to=<c@example.org>, .*status=sent'"
check "RCPT 550: the message is not retried (not in the queue)" eval "! queued $ID"

# RCPT 4xx for one: that one deferred, the others delivered.
relay_new rcpt451
sh_start sh-rcpt451 "{$EHLO,\"rcpt_replies\":{\"b@example.org\":\"451 4.2.0 mailbox busy\"}}"
relay_conf
submit -f s@example.org a@example.org b@example.org < <(test_message rcpt451)
ID=$SUBMIT_ID
relayd_once
check "RCPT 451 for one of two: the other delivered, that one deferred and queued" \
	eval "shq sh-rcpt451 'len(mails) == 1 and len(mails[0][\"side\"][\"rcpts\"]) == 1' && log_has '$ID: to=<b@example.org>, .*status=deferred' && queued $ID"
sh_script sh-rcpt451 "{$EHLO}"
check "RCPT 451: on retry only the deferred recipient is sent" deliver_until 10 sh-rcpt451 2
check "RCPT 451: ... and the retry carries b only" shq sh-rcpt451 '[r["addr"] for r in mails[1]["side"]["rcpts"]] == ["<b@example.org>"]'

# 452 too many recipients: the rest go in a second transaction, same connection.
relay_new rcpt452
sh_start sh-rcpt452 "{$EHLO,\"max_rcpts\":2}"
relay_conf
submit -f s@example.org a@example.org b@example.org c@example.org d@example.org e@example.org < <(test_message rcpt452)
ID=$SUBMIT_ID
relayd_once
check "452 after 2 recipients: all five delivered" \
	shq sh-rcpt452 'sorted(r["addr"] for m in mails for r in m["side"]["rcpts"]) == ["<%s@example.org>" % c for c in "abcde"]'
check "452: in several transactions on one connection" shq sh-rcpt452 'len(mails) == 3 and len({m["conn"] for m in mails}) == 1'
check "452: every recipient logged sent" eval "[ \$(grep -cE '$ID: to=<[a-e]@example.org>, .*status=sent' '$RL') = 5 ]"

# DATA and the final dot.
fault_case data451 '[{"stage":"DATA","reply":"451 4.3.0 try later"}]'
deferred "4xx to DATA"
fault_case data554 '[{"stage":"DATA","reply":"554 5.5.0 no"}]'
bounced "5xx to DATA"
fault_case dot451 '[{"stage":"DOT","reply":"451 4.3.0 try later"}]'
deferred "4xx after the final dot"
fault_case dot554 '[{"stage":"DOT","reply":"554 5.7.1 rejected: spam"}]'
bounced "5xx after the final dot"

# Dropped mid-DATA: deferred, then delivered intact on retry.
relay_new dropdata
sh_start sh-dropdata "{$EHLO,\"rules\":[{\"stage\":\"DATA_BYTES\",\"bytes\":20000,\"times\":1}]}"
relay_conf
{ test_message dropdata; for i in $(seq 3000); do echo "line $i of a long message ......................."; done; } > "$RD/msg"
submit -f s@example.org r@example.org < "$RD/msg"
ID=$SUBMIT_ID
relayd_once
check "dropped mid-DATA: deferred" log_has "$ID: to=<r@example.org>, .*status=deferred"
check "dropped mid-DATA: delivered on retry" deliver_until 10 sh-dropdata
check "dropped mid-DATA: the retry is byte-exact" eml_matches sh-dropdata 1 "$ID" "$(id -u)" "$RD/msg"
check "dropped mid-DATA: log tries=2 status=sent" log_has "$ID: to=<r@example.org>, .*tries=2, .*status=sent"

# Stalls: timeouts, deferred.
fault_case stallmail '[{"stage":"MAIL","reply":"stall","seconds":30}]'
deferred "stall at MAIL"
check "stall at MAIL: gave up within timeout_command (took ${ELAPSED}s)" [ "$ELAPSED" -le 12 ]
fault_case stalldot '[{"stage":"DOT","reply":"stall","seconds":30}]'
deferred "stall after the final dot"
check "stall after the final dot: gave up within timeout_final_dot (took ${ELAPSED}s)" [ "$ELAPSED" -le 12 ]

# No 221 after QUIT: still delivered.
fault_case noquit '[{"stage":"QUIT","reply":"close"}]'
check "no 221 after QUIT: counted as sent" log_has "$ID: to=<r@example.org>, .*status=sent"
check "no 221 after QUIT: not queued again" eval "! queued $ID && [ \"\$(sh_count sh-noquit)\" = 1 ]"

# EHLO refused: HELO fallback.
fault_case ehlono '[]' '"ehlo_refused":true'
check "EHLO refused: HELO used and delivered" shq sh-ehlono 'mails and not mails[0]["side"]["ehlo"] and mails[0]["side"]["helo"] == "relay.test"'
check "EHLO refused: no ESMTP parameters after HELO" shq sh-ehlono 'not mails[0]["side"]["mail_params"]'
