#!/usr/bin/env bash
# The operator's queue tools: relayd --delete/--hold/--release/--retry/
# --requeue ID...|ALL, through the running daemon's control socket and on
# the files with relayd stopped; refused (77) for other users.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay mailq-admin || exit 0

picked_id() {
	grep -E "$QID_RE: from=<$1>" "$RL" | tail -n 1 | grep -Eo "$QID_RE: from" | cut -c1-16
}
mq() { "$SENDMAIL" -C "$RC" -bp "$@"; }
adm() { "$RELAYD" -C "$RC" "$@"; }
DEFER='{"rules":[{"stage":"MAIL","reply":"451 4.3.0 try later"}]}'
ACCEPT='{}'
# queue one message from SENDER and wait for its first (deferred) attempt
queue_one() {
	submit -f "$1" "rcpt-$1" < <(test_message "$1")
	wait_for 10 log_has "to=<rcpt-$1>.*status=deferred"
	picked_id "$1"
}
# the same, with relayd stopped: one --once run defers it
queue_once() {
	submit -f "$1" "rcpt-$1" < <(test_message "$1")
	relayd_once
	picked_id "$1"
}
owner_ok() { [ "$(stat -c %U "$RS/queue/$1.env")" = "$(relay_user)" ]; }

# ---- relayd running ----
relay_new run
sh_start sh-run "$DEFER"
relay_conf "retry_min = 1h" "retry_max = 2h"
relayd_start
A=$(queue_one a@example.org)
B=$(queue_one b@example.org)

out=$(adm --delete "$A"); rc=$?
check "running: --delete exits 0 and says so" [ "$rc" = 0 -a "$out" = "$A: removed" ]
check "running: --delete removed the files" eval '! ls "$RS/queue" | grep -q "$A"'
check "running: --delete logged 'ID: removed'" log_has "$A: removed"
check "running: mailq no longer lists it" eval '! mq | grep -q "^$A"'
err=$(adm --delete 0123456789ABCDEF 2>&1 >/dev/null); rc=$?
check "running: unknown id: 66, naming it" eval '[ "$rc" = 66 ] && grep -q 0123456789ABCDEF <<<"$err"'

check "running: --hold" eval '[ "$(adm --hold "$B")" = "$B: held" ]'
check "running: mailq marks it with !" eval 'mq | grep -Eq "^$B! "'
check "running: JSON queue_name hold" eval 'mq -j | "$PY" -c "import json,sys; assert json.loads(sys.stdin.readline())[\"queue_name\"] == \"hold\""'
# Accept B; the later messages (C, D, E) are deferred at RCPT, also on a
# connection kept open from B's delivery.
sh_script sh-run '{"rcpt_replies":{"rcpt-c@example.org":"451 4.3.0 later","rcpt-d@example.org":"451 4.3.0 later","rcpt-e@example.org":"451 4.3.0 later"}}'
# The worker keeps its (deferring) connection a few seconds: wait for its QUIT
# so the next attempt meets the new script.
wait_for 15 shq sh-run '"QUIT" in [l.upper() for l in C(1)]'
"$SENDMAIL" -C "$RC" -q
sleep 2
check "running: a held message is not attempted after sendmail -q" [ "$(sh_count sh-run)" = 0 ]
check "running: --release" eval '[ "$(adm --release "$B")" = "$B: released" ]'
check "running: --retry" eval 'adm --retry "$B" >/dev/null'
check "running: released and retried: delivered" wait_for 10 sh_has sh-run 1
check "running: and gone from the queue" wait_for 5 eval '! ls "$RS/queue" | grep -q "$B"'

# ALL
C=$(queue_one c@example.org)
D=$(queue_one d@example.org)
out=$(adm --hold ALL)
check "running: --hold ALL holds every message" eval '[ "$(mq | grep -Ec "^$QID_RE! ")" = 2 ]'
out=$(adm --delete ALL); rc=$?
check "running: --delete ALL empties the queue" eval '[ "$rc" = 0 ] && [ "$(mq)" = "Mail queue is empty" ]'

if is_root; then
	PUB=$(public_sendmail)
	cp "$RELAYD" "$T/pub/relayd"; chmod 755 "$T/pub/relayd"
	E=$(queue_one e@example.org)
	err=$(as_user nrtest1 "$T/pub/relayd" -C "$RC" --delete "$E" 2>&1); rc=$?
	check "running: another user is refused with 77" [ "$rc" = 77 ]
	check "running: with a clear message" grep -q "permission denied" <<<"$err"
	check "running: and the message is still there" [ -e "$RS/queue/$E.env" ]
else
	skip "other users refused (needs root)"
fi
relayd_stop

# ---- relayd stopped: the files directly ----
relay_new off
sh_start sh-off "$DEFER"
relay_conf "retry_min = 1s" "retry_max = 1s"
F=$(queue_once f@example.org)
G=$(queue_once g@example.org)
check "stopped: --hold" eval '[ "$(adm --hold "$F")" = "$F: held" ]'
check "stopped: the state file says held" grep -qx held "$RS/queue/$F.env"
check "stopped: the file keeps its owner" owner_ok "$F"
check "stopped: mailq marks it with !" eval 'mq | grep -Eq "^$F! "'
sh_script sh-off "$ACCEPT"
sleep 1.2
relayd_once
check "stopped: a held message is not attempted by relayd --once" eval '[ -e "$RS/queue/$F.msg" ] && [ "$(sh_count sh-off)" = 1 ]'
check "stopped: --release" eval '[ "$(adm --release "$F")" = "$F: released" ]'
check "stopped: --retry" eval '[ "$(adm --retry "$F")" = "$F: will be retried now" ]'
check "stopped: next attempt reset to now" grep -qx "next 0" "$RS/queue/$F.env"
relayd_once
check "stopped: released and retried: delivered" eval '[ "$(sh_count sh-off)" = 2 ] && [ ! -e "$RS/queue/$F.msg" ]'

sh_script sh-off "$DEFER"
H=$(queue_once h@example.org)
out=$(adm --delete "$H" 0123456789ABCDEF 2>"$RD/err"); rc=$?
check "stopped: --delete removes the files" eval '[ "$out" = "$H: removed" ] && [ ! -e "$RS/queue/$H.msg" ] && [ ! -e "$RS/queue/$H.env" ]'
check "stopped: a missing id gives 66 and is named" eval '[ "$rc" = 66 ] && grep -q 0123456789ABCDEF "$RD/err"'

# requeue from failed/: a failed message as relayd leaves it (made by hand
# from a deferred one: status failed with the 5xx reply).
fail_it() {
	mv "$RS/queue/$1.msg" "$RS/queue/$1.env" "$RS/failed/"
	sed -i -e 's/^status 0 deferred$/status 0 failed/' \
		-e 's/^last-reply 0 .*/last-reply 0 550 5.1.1 550 5.1.1 no such user/' "$RS/failed/$1.env"
}
I=$(queue_once i@example.org)
fail_it "$I"
check "stopped: --hold refuses a failed/ message" eval '! adm --hold "$I" 2>/dev/null'
check "stopped: --requeue" eval '[ "$(adm --requeue "$I")" = "$I: requeued" ]'
check "stopped: requeue moved it back with its recipient pending, tries reset" \
	eval '[ -e "$RS/queue/$I.msg" ] && [ ! -e "$RS/failed/$I.env" ] && ! grep -q "^status 0" "$RS/queue/$I.env" && grep -qx "tries 0" "$RS/queue/$I.env"'
check "stopped: requeued file keeps its owner" owner_ok "$I"
sh_script sh-off "$ACCEPT"
n=$(sh_count sh-off)
relayd_once
check "stopped: requeued message delivered once the smarthost is fixed" [ "$(sh_count sh-off)" = $((n + 1)) ]

# requeue with relayd running
sh_script sh-off "$DEFER"
J=$(queue_once j@example.org)
fail_it "$J"
sh_script sh-off "$ACCEPT"
n=$(sh_count sh-off)
relayd_start
check "running: --requeue" eval '[ "$(adm --requeue "$J")" = "$J: requeued" ]'
check "running: requeued message delivered" wait_for 10 sh_has sh-off $((n + 1))
relayd_stop

if is_root; then
	err=$(as_user nrtest1 "$T/pub/relayd" -C "$RC" --hold ALL 2>&1); rc=$?
	check "stopped: another user is refused with 77" [ "$rc" = 77 ]
fi
