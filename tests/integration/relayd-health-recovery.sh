#!/usr/bin/env bash
# relayd --health and metrics_file count every queued message while the
# start-up recovery still reads state files in the background (issue 9:
# with 100 000 queued it takes many seconds, and meanwhile they counted only
# what had been read so far). 8000 queued, no queue/index: each answer,
# during the recovery and after it, says 8000.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-health-recovery || exit 0
N=8000

qm() {
	"$RELAYD" -C "$RC" --health -j 2>/dev/null |
		"$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["queue_messages"])' 2>/dev/null
}
prom() { sed -n 's/^nullrelay_queue_messages //p' "$RS/metrics.prom" 2>/dev/null; }

relay_parked recov "retry_min = 1h" "retry_max = 2h"
relay_conf "retry_min = 1h" "retry_max = 2h" "metrics_file = $RS/metrics.prom"
submit -f keep@example.org dest@example.org < <(test_message recov)
relayd_once
tmpl=$(ls "$RS/queue" | sed -n 's/\.env$//p' | head -n 1)
check "one message queued to copy" [ -n "$tmpl" ]
queue_copies "$tmpl" $((N - 1))
check "no queue/index: every state file is read by the recovery" [ ! -e "$RS/queue/index" ]
relayd_start
during=0 bad= pbad=
while ! log_has "queue: $N messages \\(0 from"; do
	v=$(qm)
	p=$(prom)
	log_has "queue: $N messages \\(0 from" || {
		during=$((during + 1))
		[ "$v" = "$N" ] || bad="$bad $v"
		[ -z "$p" ] || [ "$p" = "$N" ] || pbad="$pbad $p"
	}
	kill -0 "$RELAYD_PID" 2>/dev/null || break
done
check "the recovery ran in the background" log_has "reading $N more state files while serving"
if [ "$during" -gt 0 ]; then
	check "--health -j during the recovery ($during answers): $N queued each time" [ -z "$bad" ]
	check "metrics_file during the recovery: $N queued each time" [ -z "$pbad" ]
else
	skip "the recovery ended before --health could ask (a fast disk)"
fi
check "--health -j after the recovery: $N queued" [ "$(qm)" = "$N" ]
check "metrics_file after the recovery: $N queued" wait_for 5 eval '[ "$(prom)" = "$N" ]'
relayd_stop
