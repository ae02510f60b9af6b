#!/usr/bin/env bash
# One relayd per spool (review F3, SPEC §5.6: a message is sent twice only
# if a crash falls between the smarthost's 250 and the local commit):
# SPOOL/relayd.lock is held by the daemon and inherited by its workers.
# - relayd --once beside a running daemon asks it to flush and exits 0;
# - with only a dead daemon's orphaned worker left, --once waits for it;
# - a second daemon waits (still stoppable by SIGTERM) and delivers nothing
#   until the first exits;
# - the queue tools acting on the files refuse while the lock is held;
# - relayd -n takes no lock.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-lock || exit 0

# A smarthost that takes DELAY seconds to answer the final dot (so a
# delivery is in flight for a while), then accepts. Every accepted message
# is $D/mail/N.eml; $D/dots counts the final dots received.
slow_start() {
	local d=$T/$1 delay=$2
	mkdir -p "$d/mail"
	"$PY" - "$d" "$delay" <<'PYEOF' 2>>"$d/stderr" &
import os, socket, sys, threading, time
d, delay = sys.argv[1], float(sys.argv[2])
lock = threading.Lock()
count = [0, 0]
def serve(c):
    f = c.makefile("rb")
    def say(s):
        c.sendall(s.encode() + b"\r\n")
    say("220 slow.test ESMTP")
    while True:
        line = f.readline()
        if not line:
            break
        verb = line.strip().split(b" ")[0].upper()
        if verb in (b"EHLO", b"HELO"):
            say("250-slow.test\r\n250 8BITMIME")
        elif verb == b"DATA":
            say("354 go ahead")
            body = b""
            while True:
                l = f.readline()
                if not l or l == b".\r\n":
                    break
                body += l
            with lock:
                count[0] += 1
                open(os.path.join(d, "dots"), "w").write("%d\n" % count[0])
            time.sleep(delay)
            with lock:
                count[1] += 1
                n = count[1]
            open(os.path.join(d, "mail", "%d.eml" % n), "wb").write(body)
            say("250 2.0.0 ok %d" % n)
        elif verb == b"QUIT":
            say("221 bye")
            break
        else:
            say("250 2.0.0 ok")
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(os.path.join(d, "port.tmp"), "w").write(str(s.getsockname()[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
	echo $! > "$d/pid"
	on_exit "kill $! 2>/dev/null"
	wait_for 5 test -s "$d/port" || { echo "slow smarthost did not start" >&2; return 1; }
	SH_PORT=$(cat "$d/port")
}
slow_count() { find "$T/$1/mail" -name '*.eml' | wc -l; }
slow_dots() { [ -s "$T/$1/dots" ] && [ "$(cat "$T/$1/dots")" -ge "${2:-1}" ]; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# The id of the last message picked up from s@example.org (a running
# daemon may take the drop file before submit sees it).
picked_id() {
	wait_for 5 log_has "$QID_RE: from=<s@example.org>"
	grep -Eo "$QID_RE: from=<s@example.org>" "$RL" | tail -n 1 | cut -c1-16
}
relay_conf_slow() { relay_conf "timeout_final_dot = 20s" "timeout_command = 20s" "$@"; }

# 1. relayd --once while the daemon is delivering (3 s wait for the dot).
relay_new once
slow_start slow-once 3
relay_conf_slow
relayd_start
submit -f s@example.org r@example.org < <(test_message once)
ID=$(picked_id)
wait_for 5 slow_dots slow-once
t0=$(date +%s%N)
timeout 30 "$RELAYD" -C "$RC" -f --once 2>>"$RD/once.log"; rc=$?
ms=$(ms_since "$t0")
check "once beside a daemon: relayd --once exits 0 (got $rc)" [ "$rc" = 0 ]
check "once beside a daemon: ... quickly, without waiting for the delivery (${ms} ms)" [ "$ms" -lt 2500 ]
check "once beside a daemon: it says it asked the daemon to flush" \
	grep -q "another relayd is running on $RS: asked it to flush the queue" "$RD/once.log"
wait_for 10 log_has "$ID: to=<r@example.org>, .*status=sent"
sleep 1
check "once beside a daemon: exactly one copy arrived (got $(slow_count slow-once))" [ "$(slow_count slow-once)" = 1 ]
check "once beside a daemon: the flush reached the daemon" log_has "flush requested by uid"
check "once beside a daemon: the lock file is SPOOL/relayd.lock, mode 0600, owned by $(relay_user)" \
	eval "[ \"\$(stat -c '%a %U' '$RS/relayd.lock')\" = '600 $(relay_user)' ]"
relayd_stop

# 2. The daemon dies (kill -9) mid-delivery: its orphaned worker keeps the
# lock, so --once waits for it and does not send a second copy.
relay_new orphan
slow_start slow-orphan 3
relay_conf_slow
relayd_start
submit -f s@example.org r@example.org < <(test_message orphan)
ID=$(picked_id)
wait_for 5 slow_dots slow-orphan
kill -KILL "$RELAYD_PID"; wait "$RELAYD_PID" 2>/dev/null; RELAYD_PID=
t0=$(date +%s%N)
timeout 30 "$RELAYD" -C "$RC" -f --once 2>>"$RD/once.log"; rc=$?
ms=$(ms_since "$t0")
check "orphaned worker: relayd --once exits 0 (got $rc)" [ "$rc" = 0 ]
check "orphaned worker: --once waited for the lock" \
	grep -q "waiting for the other relayd on $RS to exit" "$RD/once.log"
check "orphaned worker: ... until the worker was done (${ms} ms)" [ "$ms" -ge 1000 ]
sleep 0.5
check "orphaned worker: exactly one copy arrived (got $(slow_count slow-orphan))" [ "$(slow_count slow-orphan)" = 1 ]
check "orphaned worker: the message left the queue" eval "[ -n '$ID' ] && ! queued $ID"

# 3. Two daemons: the second waits, delivers nothing, and takes over when
# the first exits.
relay_new two
slow_start slow-two 0
relay_conf_slow
relayd_start
PID1=$RELAYD_PID
"$RELAYD" -C "$RC" -f 2>>"$RD/second.log" &
PID2=$!
on_exit "kill $PID2 2>/dev/null"
wait_for 5 grep -q "waiting for the other relayd on $RS to exit" "$RD/second.log"
check "two daemons: the second says it waits for the first" \
	grep -q "waiting for the other relayd on $RS to exit" "$RD/second.log"
check "two daemons: the second keeps waiting" kill -0 "$PID2"
kill -STOP "$PID1"
submit -f s@example.org r@example.org < <(test_message two)
ID=$SUBMIT_ID
sleep 2
check "two daemons: with the first stopped, the second picked up nothing" \
	eval "[ -n '$ID' ] && [ -e '$RS/incoming/new/$ID' ] && [ \"\$(slow_count slow-two)\" = 0 ]"
check "two daemons: the second logged nothing but its wait" \
	eval "! grep -v -e 'waiting for the other relayd' -e 'confinement: ' '$RD/second.log' | grep -q ."
kill -CONT "$PID1"
relayd_stop; rc=$?
check "two daemons: the first stops on SIGTERM (rc $rc)" [ "$rc" = 0 ]
wait_for 5 grep -q "is gone: starting" "$RD/second.log"
check "two daemons: the second starts once the first is gone" grep -q "is gone: starting" "$RD/second.log"
wait_for 5 eval "[ \"\$(slow_count slow-two)\" -ge 1 ]"
sleep 1
check "two daemons: the message was delivered exactly once (got $(slow_count slow-two))" [ "$(slow_count slow-two)" = 1 ]

# 4. While it holds the lock: a third daemon waits, and SIGTERM stops it.
"$RELAYD" -C "$RC" -f 2>>"$RD/third.log" &
PID3=$!
on_exit "kill $PID3 2>/dev/null"
wait_for 5 grep -q "waiting for the other relayd" "$RD/third.log"
kill -TERM "$PID3"
if wait_for 3 eval "! kill -0 $PID3 2>/dev/null || [ \"\$(ps -o stat= -p $PID3 | cut -c1)\" = Z ]"; then
	wait "$PID3"; rc=$?
	check "waiting daemon: SIGTERM stops it, exit 0 (got $rc)" [ "$rc" = 0 ]
else
	fail "waiting daemon: SIGTERM did not stop it within 3 s"
	kill -KILL "$PID3" 2>/dev/null
fi

# 5. The queue tools on the files, and relayd -n, while the lock is held.
# The second daemon is stopped; the lock is held by flock(1) instead.
kill -TERM "$PID2"; wait_for 10 eval "! kill -0 $PID2 2>/dev/null"; wait "$PID2" 2>/dev/null
flock -x "$RS/relayd.lock" sleep 4 &
FLOCK=$!
on_exit "kill $FLOCK 2>/dev/null"
sleep 0.3
"$RELAYD" -C "$RC" --hold ALL >"$RD/hold.out" 2>"$RD/hold.err"; rc=$?
check "queue tools: refused while relayd holds the spool (exit 75, got $rc)" [ "$rc" = 75 ]
check "queue tools: ... saying so" grep -q "relayd is busy on this spool; try again" "$RD/hold.err"
t0=$(date +%s%N)
timeout 10 "$RELAYD" -C "$RC" -n >/dev/null 2>&1; rc=$?
check "relayd -n takes no lock: exits 0 at once (got $rc, $(ms_since "$t0") ms)" \
	eval "[ $rc = 0 ] && [ $(ms_since "$t0") -lt 2000 ]"
wait "$FLOCK" 2>/dev/null
"$RELAYD" -C "$RC" --hold ALL >"$RD/hold.out" 2>"$RD/hold.err"; rc=$?
check "queue tools: work on the files once the lock is free (got $rc: $(head -n 1 "$RD/hold.err"))" \
	eval "[ $rc = 0 ] || [ $rc = 66 ]"
