#!/usr/bin/env bash
# mailq (SPEC §8, §5.2): Postfix's text layout, `mailq -j` with postqueue -j
# field names, per-user privacy over relayd's socket, and the direct listing
# by root / the relay user while relayd is stopped.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay mailq-list || exit 0

# The id relayd gave the last message it picked up from SENDER.
picked_id() {
	grep -E "$QID_RE: from=<$1>" "$RL" | tail -n 1 | grep -Eo "$QID_RE: from" | cut -c1-16
}
mq() { "$SENDMAIL" -C "$RC" -bp "$@"; }

DEFER='{"rules":[{"stage":"MAIL","reply":"451 4.3.0 try \"again\" later\\now"}]}'
relay_new list
sh_start sh-list "$DEFER"
relay_conf "retry_min = 1h" "retry_max = 2h"
relayd_start

out=$(mq); rc=$?
check "empty queue: 'Mail queue is empty', exit 0" [ "$rc" = 0 -a "$out" = "Mail queue is empty" ]

submit -f alice@example.org bob@example.org carol@example.org < <(test_message one)
wait_for 10 log_has "to=<carol@example.org>.*status=deferred"
ID=$(picked_id alice@example.org)
out=$(mq); rc=$?
printf '%s\n' "$out" > "$RD/mailq.out"
size=$(stat -c %s "$RS/queue/$ID.msg" 2>/dev/null)
check "listing: exit 0" [ "$rc" = 0 ]
check "listing: Postfix header line" \
	[ "$(sed -n 1p <<<"$out")" = "-Queue ID-       --Size-- ----Arrival Time---- -Sender/Recipient-------" ]
check "listing: ID, size, arrival time, sender" \
	grep -Eq "^$ID +$size [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}  alice@example.org\$" <<<"$out"
check "listing: recipient with state, last reply and next attempt" \
	grep -Eq '^ +\(deferred: 451 4\.3\.0 try "again" later\\now; next attempt [A-Z][a-z]{2} .*\)$' <<<"$out"
check "listing: both recipients listed, indented" \
	[ "$(grep -Ec '^ +(bob|carol)@example\.org$' <<<"$out")" = 2 ]
check "listing: summary line" grep -Eq '^-- [0-9]+ Kbytes in 1 Request\.$' <<<"$out"

json=$(mq -j); rc=$?
printf '%s\n' "$json" > "$RD/mailq.json"
check "mailq -j: exit 0, one object per message, postqueue -j names" "$PY" -c '
import json, sys
qid, size = sys.argv[1], int(sys.argv[2])
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert len(objs) == 1, objs
o = objs[0]
assert o["queue_id"] == qid and o["queue_name"] == "deferred", o
assert isinstance(o["arrival_time"], int) and o["message_size"] == size, o
assert o["sender"] == "alice@example.org" and o["forced_expire"] is False, o
r = o["recipients"]
assert [x["address"] for x in r] == ["bob@example.org", "carol@example.org"], r
assert r[0]["delay_reason"] == "451 4.3.0 try \"again\" later\\now", r[0]
' "$ID" "$size" <<<"$json"
# Invoked as mailq (argv[0]), with NULLRELAY_CONF.
ln -s "$SENDMAIL" "$T/mailq"
out2=$(NULLRELAY_CONF=$RC "$T/mailq" 2>&1)
check "invoked as mailq: the same listing" grep -q "^$ID " <<<"$out2"

# Privacy: each user sees only their own message (SPEC §5.2).
if is_root; then
	PUB=$(public_sendmail)
	ln -sf "$PUB" "$T/pub/mailq"
	uq() { local u=$1; shift; as_user "$u" env NULLRELAY_CONF="$RC" "$T/pub/mailq" "$@"; }
	_submit_pub() { as_user "$1" env NULLRELAY_CONF="$RC" "$PUB" -f "$2" "$3" < <(test_message "$1"); }
	_submit_pub nrtest1 one@example.org secret1@example.net
	_submit_pub nrtest2 two@example.org secret2@example.net
	wait_for 10 log_has "to=<secret2@example.net>.*status=deferred"
	wait_for 10 log_has "to=<secret1@example.net>.*status=deferred"
	I1=$(picked_id one@example.org) I2=$(picked_id two@example.org)
	o1=$(uq nrtest1); rc1=$?
	o2=$(uq nrtest2 -j); rc2=$?
	check "privacy: nrtest1 sees its message" [ "$rc1" = 0 ] && grep -q "^$I1 " <<<"$o1"
	check "privacy: nrtest1 does not see nrtest2's or root's" \
		eval '! grep -Eq "$I2|secret2|$ID|alice|bob" <<<"$o1"'
	check "privacy: nrtest1's summary counts only its own" grep -q "in 1 Request\.$" <<<"$o1"
	check "privacy: nrtest2 (JSON) sees only its own" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert [o["queue_id"] for o in objs] == [sys.argv[1]], objs
assert "secret1" not in json.dumps(objs)
' "$I2" <<<"$o2"
	oa=$(mq)
	check "privacy: root sees all three" \
		eval 'grep -q "^$ID " <<<"$oa" && grep -q "^$I1 " <<<"$oa" && grep -q "^$I2 " <<<"$oa" && grep -q "in 3 Requests\.$" <<<"$oa"'
	check "privacy: the relay user sees all three" \
		eval '[ "$(uq "$RELAY_USER" | grep -Ec "^$QID_RE ")" = 3 ]'
else
	skip "mailq privacy between users (needs root)"
fi

# relayd stopped: root and the relay user read the spool directly.
relayd_stop
od=$(mq); rc=$?
check "relayd stopped: root still gets the listing" \
	eval '[ "$rc" = 0 ] && grep -q "^$ID " <<<"$od" && grep -q "bob@example.org" <<<"$od"'
jd=$(mq -j)
check "relayd stopped: JSON too" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert sys.argv[1] in [o["queue_id"] for o in objs]' "$ID" <<<"$jd"
if is_root; then
	check "relayd stopped: the relay user reads the spool" \
		eval '[ "$(uq "$RELAY_USER" | grep -Ec "^$QID_RE ")" = 3 ]'
	err=$(uq nrtest1 2>&1 >/dev/null); rc=$?
	check "relayd stopped: an ordinary user gets 69" [ "$rc" = 69 ]
	check "relayd stopped: and one line saying why" [ "$err" = "mailq: relayd is not running; only root and the relay user can read the queue directly" ]
else
	skip "ordinary user while relayd is stopped (needs root)"
fi

# A message in failed/ is listed with its failed recipients. Made by hand
# from the queued one: the state relayd writes for a 550 to RCPT.
mkdir -p "$RD/x"
mv "$RS/queue/$ID.msg" "$RS/queue/$ID.env" "$RS/failed/"
sed -i -e 's/^status 0 deferred$/status 0 failed/' \
	-e 's/^last-reply 0 .*/last-reply 0 550 5.1.1 550 5.1.1 no such user/' "$RS/failed/$ID.env"
of=$(mq)
check "failed/: listed, failed recipient with its reply" \
	grep -Eq '^ +\(failed: 550 5\.1\.1 no such user\)$' <<<"$of"
jf=$(mq -j)
check "failed/: JSON queue_name failed" "$PY" -c '
import json, sys
objs = {o["queue_id"]: o for o in map(json.loads, sys.stdin.read().splitlines())}
assert objs[sys.argv[1]]["queue_name"] == "failed", objs' "$ID" <<<"$jf"
