#!/usr/bin/env bash
# Batched pick-up (relayd/pickup.c: one syncfs per batch, in a pick-up child):
# 1. kill -9 of relayd and all its children, again and again, during batched
#    pick-up and during sending, loses no message and sends none twice
#    beyond SPEC §5.6's window (at most one per connection in flight per kill);
# 2. pick-up takes drop files round robin by owner: one user's flood does not
#    starve another user's message (root only: needs two users);
# 3. a drop file whose length never matches is quarantined pickup_wait_max
#    after relayd first saw it, even while its owner keeps its mtime fresh.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-batch || exit 0

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","SIZE 10000000"]'
N=${BATCH_N:-2000}

# received_ids SH: the queue id in each accepted message's Received: line.
received_ids() {
	find "$T/$1/mail" -name '*.eml' -exec sed -s -n '1s/.* id \([0-9A-F]\{16\}\);.*/\1/p' {} + 2>/dev/null
}

# kill_all: SIGKILL relayd and every child it has, at once (a crash).
kill_all() {
	local pids
	pids="$RELAYD_PID $(ps -o pid= --ppid "$RELAYD_PID" 2>/dev/null | tr '\n' ' ')"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	wait "$RELAYD_PID" 2>/dev/null
	for p in $pids; do wait_for 5 _gone "$p"; done
	RELAYD_PID=
}

# 1. Crashes during batched pick-up and sending.
relay_new crash
sh_start sh-crash "{$EHLO}"
relay_conf "concurrency = 4"
seed=$T/seed
mkdir -p "$seed"
for i in $(seq 1 20); do
	submit -f s@example.org "r$i@example.org" < <(test_message "batch $i") || fail "crash: seeding sendmail failed"
done
mv "$RS/incoming/new/"* "$seed/"
"$PY" "$TOP/bench/replicate.py" "$seed" "$RS/incoming/new" "$N" --names hex16 >/dev/null
check "crash: $N drop files queued for pick-up" [ "$(ls "$RS/incoming/new" | wc -l)" = "$N" ]
kills=0 during_pickup=0 during_send=0
for delay in 0.02 0.1 0.05 0.3 0.15 0.6 0.25 1; do
	relayd_start
	sleep "$delay"
	left=$(ls "$RS/incoming/new" | wc -l) sent=$(sh_count sh-crash)
	kill_all
	kills=$((kills + 1))
	[ "$left" -gt 0 ] && during_pickup=$((during_pickup + 1))
	[ "$left" -lt "$N" ] && [ "$sent" -lt "$N" ] && during_send=$((during_send + 1))
done
echo "crash: $kills kills, $during_pickup with drop files left, $during_send while sending"
relayd_start
wait_for 60 eval "[ \$(received_ids sh-crash | sort -u | wc -l) -ge $N ] && [ -z \"\$(ls '$RS/queue')\" ]"
relayd_stop
total=$(sh_count sh-crash) distinct=$(received_ids sh-crash | sort -u | wc -l)
echo "crash: $total arrivals for $N messages; $(grep -c "pick-up not finished\|already queued" "$RL") pick-ups finished after a crash"
check "crash: at least one kill fell during pick-up" [ "$during_pickup" -ge 1 ]
check "crash: at least one kill fell while sending" [ "$during_send" -ge 1 ]
check "crash: all $N messages arrived (got $distinct distinct)" [ "$distinct" = "$N" ]
check "crash: duplicates only within SPEC 5.6's window: $total arrivals <= $N + 4 per kill" \
	[ "$total" -le $((N + 4 * kills)) ]
check "crash: queue/ and incoming/new are empty" \
	eval "[ -z \"\$(ls -A '$RS/queue')\" ] && [ -z \"\$(ls -A '$RS/incoming/new')\" ]"
check "crash: nothing quarantined" [ -z "$(ls -A "$RS/quarantine")" ]
check "crash: every message was picked up with one log line or found already queued" \
	[ "$(grep -Ec "$PICKUP_RE" "$RL")" -le "$N" ]

# 2. Fairness between owners.
if is_root; then
	relay_new fair
	relay_conf "smarthost = 127.0.0.1:$(closed_port)" "retry_min = 1h" "retry_max = 2h"
	fseed=$T/fseed
	mkdir -p "$fseed"
	submit_as "$TEST_USER1" -f a@example.org x@example.org < <(test_message flood)
	mv "$RS/incoming/new/$SUBMIT_ID" "$fseed/"
	"$PY" "$TOP/bench/replicate.py" "$fseed" "$RS/incoming/new" 1500 --names hex16 >/dev/null
	submit_as "$TEST_USER2" -f b@example.org y@example.org < <(test_message lonely)
	LONE=$SUBMIT_ID
	relayd_start
	wait_for 60 eval "[ -z \"\$(ls -A '$RS/incoming/new')\" ]"
	relayd_stop
	pos=$(grep -E "$PICKUP_RE" "$RL" | grep -n "$LONE: " | cut -d: -f1)
	check "fair: all 1501 picked up" [ "$(grep -Ec "$PICKUP_RE" "$RL")" = 1501 ]
	check "fair: the other user's one message is among the first two picked up (position ${pos:-none})" \
		[ -n "$pos" ] && [ "$pos" -le 2 ]
else
	skip "fair: pick-up round robin by owner (needs root for two users)"
fi

# 3. An incomplete drop file, its mtime kept fresh, is quarantined anyway.
relay_new wait
relay_conf "smarthost = 127.0.0.1:$(closed_port)" "pickup_wait_max = 3s"
submit -f s@example.org r@example.org < <(test_message incomplete)
BAD=$SUBMIT_ID
printf 'more bytes than the length line says\n' >> "$RS/incoming/new/$BAD"
( end=$((SECONDS + 15)); while [ $SECONDS -lt $end ] && [ -e "$RS/incoming/new/$BAD" ]; do
	touch "$RS/incoming/new/$BAD" 2>/dev/null; sleep 0.3; done ) &
toucher=$!
t0=$SECONDS
relayd_start
wait_for 15 test -e "$RS/quarantine/$BAD"
took=$((SECONDS - t0))
relayd_stop
kill "$toucher" 2>/dev/null; wait "$toucher" 2>/dev/null
check "wait: the incomplete file went to quarantine/ although its mtime stayed fresh" test -e "$RS/quarantine/$BAD"
check "wait: ... after pickup_wait_max, not at once (${took}s)" [ "$took" -ge 3 ]
check "wait: the log says why" log_has "$BAD: quarantined as quarantine/$BAD: still incomplete [0-9]+ s after it was first seen"
check "wait: it was not queued" eval "! queued $BAD"

# 4. A clean stop with a large queue writes queue/index; the next start
# schedules from it without reading every state file, and removes it; an
# offline queue edit (relayd --hold) removes it too.
relay_new index
relay_conf "smarthost = 127.0.0.1:$(closed_port)" "retry_min = 1h" "retry_max = 2h"
"$PY" "$TOP/bench/replicate.py" "$seed" "$RS/incoming/new" 1200 --names hex16 >/dev/null
relayd_start
wait_for 60 eval "[ -z \"\$(ls -A '$RS/incoming/new')\" ]"
relayd_stop
check "index: a clean stop with 1200 queued wrote queue/index" test -s "$RS/queue/index"
check "index: ... listing all 1200" eval "[ \"\$(tail -n 1 '$RS/queue/index')\" = 'end 1200' ]"
: > "$RL"
relayd_start
check "index: the start scheduled all 1200 from it" log_has "queue: 1200 messages \\(1200 from queue/index\\)"
check "index: ... and removed it at once" test ! -e "$RS/queue/index"
relayd_stop
one=$(ls "$RS/queue" | grep -m 1 '\.env$' | cut -c1-16)
timeout 30 "$RELAYD" -C "$RC" --hold "$one" >/dev/null 2>&1
check "index: an offline relayd --hold removed the index" test ! -e "$RS/queue/index"
: > "$RL"
relayd_start
check "index: the next start read the state files and kept the hold (1199 scheduled)" \
	log_has "queue: 1199 messages \\(0 from queue/index\\)"
relayd_stop
