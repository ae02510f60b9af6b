#!/usr/bin/env bash
# mailq lists messages still waiting in incoming/new (SPEC §8, §5.1): with
# relayd stopped, a submitted message is queued (sendmail exited 0) and must
# show up, as Postfix shows its maildrop queue: the drop file's name, size
# and mtime, the sender, each recipient "(waiting for pick-up)", queue_name
# "maildrop" in JSON. Files relayd would refuse are skipped, and mailq never
# removes or moves anything. Over relayd's socket an ordinary user sees only
# their own drop files (owner = submitter).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay mailq-maildrop || exit 0

mq() { "$SENDMAIL" -C "$RC" -bp "$@"; }
msg() { printf 'From: %s\nTo: x@example.net\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.org>\n\nHello.\n' "$1" "$2" "$2-$RANDOM$RANDOM"; }
if is_root; then
	PUB=$(public_sendmail)
	ln -sf "$PUB" "$T/pub/mailq"
	uq() { local u=$1; shift; as_user "$u" env NULLRELAY_CONF="$RC" "$T/pub/mailq" "$@"; }
	sub1() { as_user nrtest1 env NULLRELAY_CONF="$RC" "$PUB" "$@"; }
fi

# drops_json: {name: [size, mtime, owner]} of incoming/new, for the checks.
drops_json() {
	"$PY" -c '
import json, os, sys
d = sys.argv[1]
out = {}
for n in os.listdir(d):
    st = os.lstat(os.path.join(d, n))
    out[n] = [st.st_size, int(st.st_mtime), st.st_uid]
print(json.dumps(out))' "$RS/incoming/new"
}

# ---- relayd stopped: root and the relay user read the maildrop ------------
relay_new md
relay_conf "smarthost = 127.0.0.1:$(closed_port)"
submit -f alice@example.org bob@example.org carol@example.org < <(msg alice@example.org one)
A=$SUBMIT_ID
submit -f dave@example.org erin@example.org < <(msg dave@example.org two)
B=$SUBMIT_ID
N=3
if is_root; then
	sub1 -f nrtest1@example.org frank@example.org < <(msg nrtest1@example.org three)
	C=$(comm -13 <(printf '%s\n' "$A" "$B" | sort) <(ls "$RS/incoming/new" | sort) | head -n 1)
else
	submit -f nrtest1@example.org frank@example.org < <(msg nrtest1@example.org three)
	C=$SUBMIT_ID
fi
check "setup: three drop files waiting in incoming/new" \
	[ -n "$A" -a -n "$B" -a -n "$C" -a "$(ls "$RS/incoming/new" | wc -l)" = 3 ]
# Files relayd would refuse: skipped by mailq, and left where they are.
ln -s /etc/passwd "$RS/incoming/new/0123456789ABCDEF"
printf 'not a drop file\n' > "$RS/incoming/new/FEDCBA9876543210"
touch -d '2 hours ago' "$RS/incoming/new/FEDCBA9876543210"
printf 'x' > "$RS/incoming/new/not-an-id"
DJ=$(drops_json)

out=$(mq); rc=$?
printf '%s\n' "$out" > "$RD/mailq.out"
check "stopped: mailq exits 0" [ "$rc" = 0 ]
check "stopped: 'Mail queue is empty' absent" eval '! grep -q "Mail queue is empty" <<<"$out"'
check "stopped: header line" \
	[ "$(sed -n 1p <<<"$out")" = "-Queue ID-       --Size-- ----Arrival Time---- -Sender/Recipient-------" ]
for id in "$A" "$B" "$C"; do
	size=$(stat -c %s "$RS/incoming/new/$id")
	check "stopped: $id listed with the drop file's size $size" \
		grep -Eq "^$id +$size [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}  [a-z0-9]+@example\.org\$" <<<"$out"
done
check "stopped: each recipient under '(waiting for pick-up)'" \
	"$PY" -c '
import sys
lines = sys.stdin.read().splitlines()
w = [i for i, l in enumerate(lines) if l.strip() == "(waiting for pick-up)"]
assert len(w) == 4, lines
got = sorted(lines[i + 1].strip() for i in w)
assert got == ["bob@example.org", "carol@example.org", "erin@example.org", "frank@example.org"], got
assert all(lines[i].startswith(" " * 48) for i in w), lines' <<<"$out"
check "stopped: summary counts three requests" grep -Eq '^-- [0-9]+ Kbytes in 3 Requests\.$' <<<"$out"
check "stopped: refused files not listed" eval '! grep -Eq "0123456789ABCDEF|FEDCBA9876543210|not-an-id" <<<"$out"'

json=$(mq -j); rc=$?
printf '%s\n' "$json" > "$RD/mailq.json"
check "stopped: mailq -j: queue_name maildrop, id, size, mtime, sender, recipients" \
	"$PY" -c '
import json, sys
drops = json.loads(sys.argv[1])
want = {sys.argv[2]: ("alice@example.org", ["bob@example.org", "carol@example.org"]),
        sys.argv[3]: ("dave@example.org", ["erin@example.org"]),
        sys.argv[4]: ("nrtest1@example.org", ["frank@example.org"])}
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert sorted(o["queue_id"] for o in objs) == sorted(want), objs
for o in objs:
    size, mtime, uid = drops[o["queue_id"]]
    assert o["queue_name"] == "maildrop", o
    assert o["message_size"] == size and o["arrival_time"] == mtime, (o, size, mtime)
    s, r = want[o["queue_id"]]
    assert o["sender"] == s and [x["address"] for x in o["recipients"]] == r, o
' "$DJ" "$A" "$B" "$C" <<<"$json"
check "stopped: mailq removed and moved nothing" [ "$(drops_json)" = "$DJ" ]
check "stopped: nothing quarantined" [ -z "$(ls -A "$RS/quarantine")" ]

if is_root; then
	ou=$(uq "$RELAY_USER"); rc=$?
	check "stopped: the relay user lists all three" \
		eval '[ "$rc" = 0 ] && [ "$(grep -Ec "^($A|$B|$C) " <<<"$ou")" = 3 ] && ! grep -q "Mail queue is empty" <<<"$ou"'
	check "stopped: the relay user gets queue_name maildrop in JSON" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert len(objs) == 3 and {o["queue_name"] for o in objs} == {"maildrop"}, objs' < <(uq "$RELAY_USER" -j)
	uq nrtest1 >/dev/null 2>&1; rc=$?
	check "stopped: an ordinary user still gets 69 (cannot read the spool)" [ "$rc" = 69 ]
else
	skip "relay user and ordinary user with relayd stopped (needs root)"
fi
check "stopped: still nothing removed" [ "$(drops_json)" = "$DJ" ]
rm -f "$RS/incoming/new/0123456789ABCDEF" "$RS/incoming/new/FEDCBA9876543210" \
	"$RS/incoming/new/not-an-id"

# Picked up (relayd --once) then they are in queue/, no longer "maildrop",
# and each is listed once.
relayd_once
json=$(mq -j)
check "after pick-up: three messages, none in maildrop" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert len(objs) == 3 and "maildrop" not in {o["queue_name"] for o in objs}, objs' <<<"$json"

# A pick-up interrupted after queuing but before removing the drop file:
# the message is listed once, from queue/.
relay_new dup
relay_conf "smarthost = 127.0.0.1:$(closed_port)"
submit -f alice@example.org bob@example.org < <(msg alice@example.org dup)
D=$SUBMIT_ID
cp -p "$RS/incoming/new/$D" "$RD/drop.copy"
relayd_once
if [ -e "$RS/queue/$D.env" ]; then
	cp -p "$RD/drop.copy" "$RS/incoming/new/$D"
	json=$(mq -j)
	check "interrupted pick-up: listed once, not as maildrop" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert [o["queue_id"] for o in objs] == [sys.argv[1]] and objs[0]["queue_name"] != "maildrop", objs
' "$D" <<<"$json"
else
	skip "interrupted pick-up (relayd gave the message another id)"
fi

# ---- relayd running, pick-up blocked: LIST shows the maildrop ----------
# queue/ made read-only after start so relayd leaves the drop files in place.
if is_root; then
	relay_new live
	relay_conf "smarthost = 127.0.0.1:$(closed_port)" "rescan_interval = 1h"
	relayd_start
	chmod 0500 "$RS/queue"
	submit -f alice@example.org bob@example.org < <(msg alice@example.org live1)
	L1=$SUBMIT_ID
	sub1 -f nrtest1@example.org frank@example.org < <(msg nrtest1@example.org live2)
	L2=$(ls "$RS/incoming/new" | grep -v "^$L1\$" | head -n 1)
	sleep 0.5
	if [ "$(ls "$RS/incoming/new" | wc -l)" = 2 ] && [ -S "$RS/relayd.sock" ]; then
		oa=$(mq); rc=$?
		check "running: root's LIST shows both waiting messages" \
			eval '[ "$rc" = 0 ] && grep -q "^$L1 " <<<"$oa" && grep -q "^$L2 " <<<"$oa" && [ "$(grep -c "(waiting for pick-up)" <<<"$oa")" = 2 ]'
		o1=$(uq nrtest1); rc=$?
		check "running: nrtest1 sees only its own drop file" \
			eval '[ "$rc" = 0 ] && grep -q "^$L2 " <<<"$o1" && ! grep -Eq "$L1|alice|bob" <<<"$o1" && grep -q "in 1 Request\.$" <<<"$o1"'
		check "running: nrtest1's JSON says maildrop" "$PY" -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
assert [(o["queue_id"], o["queue_name"]) for o in objs] == [(sys.argv[1], "maildrop")], objs
' "$L2" < <(uq nrtest1 -j)
		o2=$(uq nrtest2); rc=$?
		check "running: nrtest2 sees neither" [ "$rc" = 0 -a "$o2" = "Mail queue is empty" ]
	else
		skip "relayd LIST with waiting drop files (relayd picked them up anyway)"
	fi
	chmod 0700 "$RS/queue"
	relayd_stop
else
	skip "relayd LIST per user (needs root)"
fi
