#!/usr/bin/env bash
# Audit finding (issue 14): an ordinary user's `sendmail -q` reset every
# retry and the smarthost hold-down, without limit: a loop of them made
# relayd hammer a refusing smarthost. Now an ordinary user may flush at most
# once per retry_min and never resets the hold-down; root still may.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-flush || exit 0

relay_new flush
sh_start sh '{"rules":[{"stage":"GREETING","reply":"421 4.3.2 go away"}]}'
relay_conf "retry_min = 30s" "retry_max = 1h"
relayd_start
submit -f s@example.org r@example.org < <(test_message flush)
wait_for 10 log_has "status=deferred"
conns() { grep -c '"dir": *"S".*421 4.3.2' "$T/sh/t.jsonl" 2>/dev/null || echo 0; }
sleep 0.5
c0=$(conns)
SM=$(public_sendmail)
ok=0 refused=0
for i in $(seq 1 30); do
	as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" -q 2>>"$RD/q.err"; rc=$?
	case $rc in 0) ok=$((ok + 1)) ;; 69) refused=$((refused + 1)) ;; esac
done
sleep 2
c1=$(conns)
check "user flush: 30 flushes by $TEST_USER1: one accepted, 29 refused (got $ok, $refused)" \
	[ "$ok" = 1 -a "$refused" = 29 ]
check "user flush: the refusal says why" grep -q "at most once per 30 s (retry_min)" "$RD/q.err"
check "user flush: the smarthost saw no new connection: the hold-down stands ($c0 -> $c1)" \
	[ "$c1" = "$c0" ]
"$SENDMAIL" -C "$RC" -q; rc=$?
check "root flush: accepted (rc $rc)" [ "$rc" = 0 ]
wait_for 5 eval "[ \"\$(conns)\" -gt $c1 ]"
check "root flush: resets the hold-down: the smarthost is tried again ($c1 -> $(conns))" \
	[ "$(conns)" -gt "$c1" ]
relayd_stop
