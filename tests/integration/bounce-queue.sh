#!/usr/bin/env bash
# Bounces through the queue (SPEC §7), end to end through ./sendmail,
# ./relayd/relayd and the fake smarthost: a partial failure, a 5xx to MAIL,
# queue_lifetime expiry, -N never, null senders (never bounced: once to
# admin_addr, then failed/) and a bounce loop that must stay bounded.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/bounce.sh"
require_relay bounce-queue || exit 0

# 1. One of three recipients refused with 550.
relay_new partial
sh_start sh-partial "{$EHLO_DSN,\"rcpt_replies\":{\"bad@example.org\":\"550 5.1.1 <bad@example.org>: no such user\"}}"
relay_conf
test_message partial-subject > "$RD/msg"
submit -f s@example.org -V ENV-42 a@example.org bad@example.org c@example.org < "$RD/msg"
ID=$SUBMIT_ID
relayd_once
check "partial: the two good recipients delivered" \
	eval "[ \$(sh_from_count sh-partial s@example.org) = 1 ] && shq sh-partial 'True'"
check "partial: logged bad@ as bounced" log_has "$ID: to=<bad@example.org>, .*dsn=5\.1\.1, status=bounced"
check "partial: log names the notification" log_has "$ID: sender non-delivery notification: $QID_RE"
check "partial: exactly one bounce, to the sender, null reverse path" \
	[ "$(sh_bounce_count sh-partial s@example.org)" = 1 ]
B=$(sh_bounces sh-partial s@example.org | head -n 1)
[ -n "$B" ] && dsn_check partial "$B" to=s@example.org action=failed status=5.1.1 \
	rcpts=bad@example.org remote_mta "diag=smtp; 550 5.1.1 <bad@example.org>: no such user" \
	last_attempt orig=full subject=partial-subject envid=ENV-42
check "partial: the original left the queue (not in failed/)" eval "! queued $ID && ! failed $ID"
check "partial: queue empty after the bounce went out" queue_empty

# 2. 5xx to MAIL: the whole message bounces (the bounce's own MAIL passes).
relay_new mail550
sh_start sh-mail550 "{$EHLO_DSN,\"rules\":[{\"stage\":\"MAIL\",\"times\":1,\"reply\":\"550 5.7.1 sender rejected\"}]}"
relay_conf
submit -f s@example.org -R hdrs r1@example.org r2@example.org < <(test_message mail550)
ID=$SUBMIT_ID
relayd_once
check "MAIL 550: one bounce to the sender" [ "$(sh_bounce_count sh-mail550 s@example.org)" = 1 ]
B=$(sh_bounces sh-mail550 s@example.org | head -n 1)
[ -n "$B" ] && dsn_check "MAIL 550" "$B" action=failed status=5.7.1 \
	rcpts=r1@example.org,r2@example.org "diag=550 5.7.1 sender rejected" remote_mta orig=hdrs
check "MAIL 550: original gone, queue empty" eval "! queued $ID && ! failed $ID && queue_empty"

# 3. queue_lifetime expiry while the smarthost says 451.
relay_new expiry
sh_start sh-expiry "{$EHLO_DSN,\"rules\":[{\"stage\":\"RCPT\",\"rcpt\":\"r@example.org\",\"reply\":\"451 4.3.0 try later\"}]}"
relay_conf "queue_lifetime = 2s" "retry_min = 1s" "retry_max = 1s" "delay_warning = 0"
submit -f s@example.org r@example.org < <(test_message expiry)
ID=$SUBMIT_ID
end=$(( $(date +%s) + 15 ))
while [ "$(sh_bounce_count sh-expiry s@example.org)" = 0 ] && [ "$(date +%s)" -lt "$end" ]; do
	relayd_once
	sleep 0.5
done
check "expiry: bounced after queue_lifetime" log_has "$ID: to=<r@example.org>, .*status=bounced"
check "expiry: one bounce to the sender" [ "$(sh_bounce_count sh-expiry s@example.org)" = 1 ]
B=$(sh_bounces sh-expiry s@example.org | head -n 1)
[ -n "$B" ] && dsn_check expiry "$B" action=failed status=4. rcpts=r@example.org \
	"diag=delivery time expired" last_attempt orig=full
check "expiry: original gone, queue empty" eval "! queued $ID && ! failed $ID && queue_empty"

# 4. -N never: no bounce; the message stays visible in failed/.
relay_new never
sh_start sh-never "{$EHLO_DSN,\"rcpt_replies\":{\"bad@example.org\":\"550 5.1.1 no such user\"}}"
relay_conf
submit -f s@example.org -N never bad@example.org < <(test_message never)
ID=$SUBMIT_ID
relayd_once
relayd_once
check "-N never: logged bounced" log_has "$ID: to=<bad@example.org>, .*status=bounced"
check "-N never: no bounce sent" [ "$(sh_bounce_count sh-never)" = 0 ]
check "-N never: no notification made, NOTIFY named in the log" \
	eval "! log_has 'sender non-delivery notification:' && log_has '$ID: no non-delivery notification: .*NOTIFY'"
check "-N never: message kept in failed/" in_failed "$ID"

# 5. A null-sender message that fails: never bounced; once to admin_addr.
relay_new nullsender
sh_start sh-null "{$EHLO_DSN,\"rcpt_replies\":{\"bad@example.org\":\"550 5.1.1 no such user\"}}"
relay_conf "admin_addr = admin@example.org"
submit -f '<>' bad@example.org < <(test_message nullsender)
ID=$SUBMIT_ID
relayd_once
relayd_once
check "null sender: re-addressed to admin_addr (logged)" \
	log_has "$ID: undeliverable bounce to <bad@example.org> re-addressed to admin_addr <admin@example.org>"
check "null sender: delivered to admin_addr with MAIL FROM:<>" \
	[ "$(sh_bounce_count sh-null admin@example.org)" = 1 ]
check "null sender: no notification created" eval "! log_has 'sender non-delivery notification'"
check "null sender: only the one message ever queued" [ "$(created_count)" = 1 ]
check "null sender: gone after admin_addr took it" eval "! queued $ID && ! failed $ID"

relay_new nulladmin
sh_start sh-nulladmin "{$EHLO_DSN,\"rcpt_replies\":{\"bad@example.org\":\"550 5.1.1 no such user\"}}"
relay_conf
submit -f '<>' bad@example.org < <(test_message nulladmin)
ID=$SUBMIT_ID
relayd_once
relayd_once
check "null sender, no admin_addr: no mail sent" [ "$(sh_count sh-nulladmin)" = 0 ]
check "null sender, no admin_addr: kept in failed/, logged" \
	eval "in_failed $ID && log_has '$ID: undeliverable message with a null sender'"

# 6. A bounce loop: the sender and admin_addr both refuse. At most two
# messages may ever exist (the original and its bounce); the bounce ends
# in failed/ and nothing is left in the queue.
relay_new loop
sh_start sh-loop "{$EHLO_DSN,\"rcpt_replies\":{\"r@example.org\":\"550 5.1.1 no r\",\"s@example.org\":\"550 5.1.1 no s\",\"admin@example.org\":\"550 5.1.1 no admin\"}}"
relay_conf "admin_addr = admin@example.org"
submit -f s@example.org r@example.org < <(test_message loop)
ID=$SUBMIT_ID
for i in 1 2 3 4 5; do relayd_once; done
n=$(created_count)
check "loop: messages created stay bounded ($n <= 2)" [ "$n" -le 2 ]
BID=$(grep -oE "$ID: sender non-delivery notification: $QID_RE" "$RL" | head -n 1 | awk '{print $NF}')
check "loop: the bounce was made" [ -n "$BID" ]
check "loop: the bounce went to admin_addr once, then stopped" \
	eval "[ \$(grep -c '$BID: undeliverable bounce to <s@example.org> re-addressed' '$RL') = 1 ]"
check "loop: the last message ends in failed/" in_failed "$BID"
check "loop: the queue is empty" queue_empty
check "loop: no report about the bounce" eval "! log_has '$BID: sender non-delivery'"
check "loop: the bounce kept its redirect mark" grep -qx redirected "$RS/failed/$BID.env"

# 7. A crash after the failure was committed but before the parent made
# the bounce: start-up review makes it. (Simulated: a -N never message in
# failed/ put back into queue/ without its notify line.)
relay_new crash
sh_start sh-crash "{$EHLO_DSN,\"rcpt_replies\":{\"bad@example.org\":\"550 5.1.1 no such user\"}}"
relay_conf
submit -f s@example.org -N never bad@example.org < <(test_message crash)
ID=$SUBMIT_ID
relayd_once
if in_failed "$ID"; then
	mv "$RS/failed/$ID.msg" "$RS/queue/$ID.msg"
	grep -v '^notify ' "$RS/failed/$ID.env" > "$RD/env" && cat "$RD/env" > "$RS/failed/$ID.env"
	mv "$RS/failed/$ID.env" "$RS/queue/$ID.env"
	relayd_once
	check "crash before the bounce: made at start-up and sent" \
		eval "log_has '$ID: sender non-delivery notification: ' && [ \$(sh_bounce_count sh-crash s@example.org) = 1 ]"
	check "crash before the bounce: the original left the queue" eval "! queued $ID && ! failed $ID && queue_empty"
else
	fail "crash before the bounce: setup (the -N never message is not in failed/)"
fi
