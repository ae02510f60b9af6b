#!/usr/bin/env bash
# relayd speaks systemd's readiness protocol itself (relayd/sd_notify.c):
# READY=1 once started, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM, to a path socket and to an abstract one; without NOTIFY_SOCKET nothing changes.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-sdnotify || exit 0

# notify_start NAME SOCKET: a listener writing $T/NAME.jsonl.
notify_start() {
	rm -f "$T/$1.jsonl" "$T/$1.jsonl.ready"
	"$PY" "$TOP/tests/lib/notify_listen.py" "$2" "$T/$1.jsonl" &
	on_exit "kill $! 2>/dev/null"
	wait_for 5 test -e "$T/$1.jsonl.ready"
}
# got NAME ERE: a datagram matching ERE arrived.
got() { [ -s "$T/$1.jsonl" ] && "$PY" -c '
import json, re, sys
sys.exit(0 if any(re.search(sys.argv[2], json.loads(l)["msg"]) for l in open(sys.argv[1])) else 1)' "$T/$1.jsonl" "$2"; }
msgs() { "$PY" -c 'import json,sys; print(" | ".join(json.loads(l)["msg"].replace("\n", "\\n") for l in open(sys.argv[1])))' "$T/$1.jsonl" 2>/dev/null; }

for kind in path abstract; do
	relay_new "$kind"
	sh_start "sh-$kind" '{"ehlo":["PIPELINING"]}'
	relay_conf
	if [ $kind = path ]; then sock=$RD/notify.sock; else sock=@nullrelay-test-$$-$RANDOM; fi
	notify_start "$kind" "$sock"
	NOTIFY_SOCKET=$sock relayd_start
	check "$kind: READY=1 arrives once relayd has started" wait_for 5 got "$kind" '^READY=1$'
	check "$kind: READY=1 only after the control socket exists" test -S "$RS/relayd.sock"
	kill -HUP "$RELAYD_PID"
	check "$kind: SIGHUP sends RELOADING=1 with MONOTONIC_USEC" \
		wait_for 5 got "$kind" '^RELOADING=1\nMONOTONIC_USEC=[0-9]+$'
	check "$kind: ... then READY=1 again after the reload" wait_for 5 "$PY" -c '
import json, sys
m = [json.loads(l)["msg"] for l in open(sys.argv[1])]
i = next(i for i, x in enumerate(m) if x.startswith("RELOADING=1"))
sys.exit(0 if "READY=1" in m[i + 1:] else 1)' "$T/$kind.jsonl"
	check "$kind: the reload was done (log)" wait_for 3 log_has 'configuration reloaded'
	# Still delivering after the reload.
	submit -f s@example.org r@example.org < <(test_message "notify-$kind")
	check "$kind: mail still flows after the reload" wait_for 10 sh_has "sh-$kind"
	relayd_stop
	check "$kind: SIGTERM: relayd exits 0" [ $? = 0 ]
	check "$kind: ... and sent STOPPING=1 first" got "$kind" '^STOPPING=1$'
	echo "   datagrams: $(msgs "$kind")"
done

# Without NOTIFY_SOCKET relayd runs as before (nothing to send).
relay_new none
sh_start sh-none '{"ehlo":["PIPELINING"]}'
relay_conf
env -u NOTIFY_SOCKET "$RELAYD" -C "$RC" -f 2>>"$RL" &
RELAYD_PID=$!
on_exit "kill $RELAYD_PID 2>/dev/null"
wait_for 3 test -S "$RS/relayd.sock"
kill -HUP "$RELAYD_PID"
wait_for 3 log_has 'configuration reloaded'
relayd_stop
check "none: without NOTIFY_SOCKET relayd starts, reloads and stops cleanly (rc $?)" eval '! log_has "NOTIFY_SOCKET"'

# A socket nobody listens on: logged once, relayd keeps running.
relay_new deaf
sh_start sh-deaf '{"ehlo":["PIPELINING"]}'
relay_conf
NOTIFY_SOCKET=$RD/nobody.sock relayd_start
check "deaf: relayd keeps running when the notify socket is gone" kill -0 "$RELAYD_PID"
kill -HUP "$RELAYD_PID"; wait_for 3 log_has 'configuration reloaded'
check "deaf: the failure is logged once, not per message" [ "$(grep -c 'NOTIFY_SOCKET' "$RL")" = 1 ]
relayd_stop
