#!/usr/bin/env bash
# Audit findings (issue 14): one local user must not be able to make relayd
# (and everybody's mailq) burn CPU, nor put raw 8-bit / C1 bytes into root's
# mailq, the logs or mailq -j.
# - drop files with 10 000 recipients each: the duplicate check is hashed,
#   so pick-up and listing stay fast;
# - another user's LIST does not parse the flooder's files (their owner or
#   the remembered submitter is checked first);
# - a hand-written drop file with C1 controls or invalid UTF-8 in its
#   envelope is quarantined; mailq -j is always valid UTF-8.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-cpu || exit 0

relay_parked cpu "retry_min = 1h" "retry_max = 2h"
SM=$(public_sendmail)
RCPTS=()
for i in $(seq 1 10000); do RCPTS+=("user$i@example.org"); done
NFLOOD=6
t0=$(date +%s%N)
for n in $(seq 1 $NFLOOD); do
	as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" -f flood@example.org "${RCPTS[@]}" \
		< <(test_message "flood$n") 2>>"$RD/sendmail.err" || fail "flood: sendmail $n failed"
done
check "flood: $NFLOOD submissions of 10 000 recipients each took $(ms_since "$t0") ms (< 30000)" \
	[ "$(ms_since "$t0")" -lt 30000 ]
relayd_start
t0=$(date +%s%N)
wait_for 30 eval "[ \"\$(grep -c 'from=<flood@example.org>' '$RL')\" -ge $NFLOOD ]"
check "flood: relayd picked up all $NFLOOD within $(ms_since "$t0") ms (< 6000)" \
	eval "[ \"\$(grep -c 'from=<flood@example.org>' '$RL')\" -ge $NFLOOD ] && [ $(ms_since "$t0") -lt 6000 ]"
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" -f mine@example.org me@example.org \
	< <(test_message mine) 2>>"$RD/sendmail.err"
wait_for 10 log_has "from=<mine@example.org>"
# Root's listing parses everything once; then the other user's listings
# must not parse the flood again.
out=$("$SENDMAIL" -C "$RC" -bp | grep -c '^ *user[0-9]*@example.org$')
check "flood: root's mailq lists every flood recipient (got $out)" [ "$out" = $((NFLOOD * 10000)) ]
t0=$(date +%s%N)
for i in $(seq 1 20); do
	as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" -bp > "$RD/mq2.out" 2>&1
done
ms=$(ms_since "$t0")
check "flood: 20 mailq by $TEST_USER2 took $ms ms (< 10000; 68 s before the fix)" [ "$ms" -lt 10000 ]
check "flood: $TEST_USER2 sees only their own message" \
	eval "grep -q 'me@example.org' '$RD/mq2.out' && ! grep -q 'flood@' '$RD/mq2.out'"
relayd_stop

# Planted envelopes with a C1 control (CSI, 0x9b), an ESC and invalid UTF-8.
relay_parked bytes "retry_min = 1h" "retry_max = 2h"
plant() { # NAME SENDER-BYTES
	local body='Subject: x\n\nhi!\n'
	as_user "$TEST_USER1" sh -c "umask 027; printf 'NULLRELAY-DROP 1\nlength 00000000000000000016\nsender <$2>\nrcpt <r@example.org>\n\n$body' > '$RS/incoming/tmp/$1' && chmod 640 '$RS/incoming/tmp/$1' && mv '$RS/incoming/tmp/$1' '$RS/incoming/new/$1'"
}
plant B000000000000001 'a\302\233[2Jb@example.org'
plant B000000000000002 'a\033]0;owned\007b@example.org'
plant B000000000000003 'a\377\376b@example.org'
plant B000000000000004 'a\300\257b@example.org'
plant B000000000000005 'gr\303\274\303\237e@example.org'
relayd_start
wait_for 10 eval "[ -z \"\$(ls '$RS/incoming/new' | grep -v B000000000000005)\" ]"
sleep 1
for id in B000000000000001 B000000000000002 B000000000000003 B000000000000004; do
	check "bytes: $id (C1/ESC/invalid UTF-8 sender) quarantined, not queued" \
		eval "[ -e '$RS/quarantine/$id' ] && ! queued $id"
done
check "bytes: the valid UTF-8 sender was queued" log_has "B000000000000005: from=<grüße@example.org>"
check "bytes: no C1 (0x9b), ESC or 0xff byte reached the log" \
	eval "! LC_ALL=C grep -q \$'\\xc2\\x9b\\|\\x1b\\|\\xff' '$RL'"
"$SENDMAIL" -C "$RC" -bp -j > "$RD/mq.json" 2>&1; rc=$?
check "bytes: mailq -j exits 0 (got $rc)" [ "$rc" = 0 ]
check "bytes: mailq -j is valid UTF-8 JSON, one object a line" "$PY" -c '
import json, sys
for l in open(sys.argv[1], "rb").read().decode("utf-8").splitlines():
    json.loads(l)
' "$RD/mq.json"
relayd_stop
