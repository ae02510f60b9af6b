#!/usr/bin/env bash
# relayd --requeue of a message older than queue_lifetime gives it a fresh
# lifetime from now (as Postfix's postsuper -r does): it is delivered, not
# bounced at once. A requeue cut short by a crash is finished at the next
# start, never undone, and a stale failed/ID.env it leaves is removed.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay mailq-requeue || exit 0

picked_id() {
	grep -E "$QID_RE: from=<$1>" "$RL" | tail -n 1 | grep -Eo "$QID_RE: from" | cut -c1-16
}
adm() { "$RELAYD" -C "$RC" "$@"; }
DEFER='{"rules":[{"stage":"MAIL","reply":"451 4.3.0 try later"}]}'
ACCEPT='{}'
queue_once() {
	submit -f "$1" "rcpt-$1" < <(test_message "$1")
	relayd_once
	picked_id "$1"
}
# A failed message as relayd leaves it (made from a deferred one), arrived
# AGE seconds ago.
fail_it() {
	local old
	old=$(($(date +%s) - $2))
	mv "$RS/queue/$1.msg" "$RS/queue/$1.env" "$RS/failed/"
	sed -i -e 's/^status 0 deferred$/status 0 failed/' \
		-e 's/^last-reply 0 .*/last-reply 0 550 5.1.1 550 5.1.1 no such user/' \
		-e "s/^arrival .*/arrival $old.000/" "$RS/failed/$1.env"
}
arrival_of() { sed -n 's/^arrival \([0-9]*\).*/\1/p' "$1"; }

relay_new requeue
sh_start sh-rq "$DEFER"
relay_conf "retry_min = 1s" "retry_max = 1s" "queue_lifetime = 1d"

# 1. An old message (arrived 10 days ago, queue_lifetime 1 day).
A=$(queue_once a@example.org)
fail_it "$A" $((10 * 86400))
t0=$(date +%s)
check "old: --requeue says so" eval '[ "$(adm --requeue "$A")" = "$A: requeued" ]'
check "old: the requeued state has a fresh arrival time" \
	eval '[ "$(arrival_of "$RS/queue/$A.env")" -ge "$t0" ]'
check "old: nothing left in failed/" eval '[ ! -e "$RS/failed/$A.env" ] && [ ! -e "$RS/failed/$A.msg" ]'
sh_script sh-rq "$ACCEPT"
n=$(sh_count sh-rq)
: > "$RL"
relayd_once
check "old: delivered once, not expired" [ "$(sh_count sh-rq)" = $((n + 1)) ]
check "old: no expiry in the log" eval '! grep -q "delivery time expired" "$RL"'
check "old: no report queued for it" eval '! log_has "$A: sender non-delivery notification"'
check "old: gone from the queue" eval '[ ! -e "$RS/queue/$A.env" ]'

# 2. A requeue cut short after its first step (queue/ID.env committed, both
# files still in failed/), as a kill -9 of relayd --requeue would leave it.
sh_script sh-rq "$DEFER"
B=$(queue_once b@example.org)
fail_it "$B" 60
sed -e '/^status 0 /d' -e '/^last-reply 0 /d' -e '/^relay 0 /d' -e 's/^tries .*/tries 0/' -e 's/^next .*/next 0/' \
	"$RS/failed/$B.env" > "$RS/queue/$B.env"
chmod 600 "$RS/queue/$B.env"
if is_root; then chown "$(relay_user)" "$RS/queue/$B.env"; fi
sh_script sh-rq "$ACCEPT"
n=$(sh_count sh-rq)
: > "$RL"
relayd_once
check "cut short: the start finished the requeue" log_has "$B: finished the requeue out of failed/"
check "cut short: ... and delivered it" [ "$(sh_count sh-rq)" = $((n + 1)) ]
check "cut short: nothing left in failed/ or queue/" \
	eval '[ -z "$(ls "$RS/failed" | grep "$B")" ] && [ -z "$(ls "$RS/queue" | grep "$B")" ]'
check "cut short: nothing quarantined" eval '[ -z "$(ls "$RS/quarantine")" ]'

# 3. Cut short after its second step: the message is back in queue/, a
# stale failed/ID.env stays; the start removes it, so mailq never shows it.
sh_script sh-rq "$DEFER"
C=$(queue_once c@example.org)
sed -i 's/^next .*/next 0/' "$RS/queue/$C.env"
cp -p "$RS/queue/$C.env" "$RS/failed/$C.env"
sh_script sh-rq "$ACCEPT"
n=$(sh_count sh-rq)
relayd_once
check "stale: delivered" [ "$(sh_count sh-rq)" = $((n + 1)) ]
check "stale: the stale failed/ID.env was removed" eval '[ ! -e "$RS/failed/$C.env" ]'
check "stale: mailq shows an empty queue" eval '"$SENDMAIL" -C "$RC" -bp | grep -q "Mail queue is empty"'
