#!/usr/bin/env bash
# Audit finding (issue 14): the control socket had 16 slots, no per-uid
# limit, kept idle clients 30 s (root's mailq waited behind them) and ran
# every request of a pipelined write (102 LISTs = 102 scans). Now: at most
# 4 connections per ordinary uid, 8 slots kept for root and the relay user,
# idle clients dropped after 5 s, one request per connection.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-control || exit 0

relay_parked ctl "retry_min = 1h" "retry_max = 2h"
relayd_start
cat > "$T/hog.py" <<'PYEOF'
import socket, sys, time
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
time.sleep(0.5)
t0 = time.time()
# How long until relayd hangs up on each idle connection (or refused it).
closed = {}
while len(closed) < n and time.time() - t0 < 15:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        s.settimeout(0.05)
        try:
            d = s.recv(100)
            if d == b"" or d.startswith(b"ERR busy"):
                closed[i] = (time.time() - t0, d[:40].decode())
        except socket.timeout:
            pass
with open(out, "w") as f:
    busy = sum(1 for v in closed.values() if v[1].startswith("ERR busy"))
    idle = [v[0] for v in closed.values() if not v[1].startswith("ERR busy")]
    f.write("%d %d %d %.1f\n" % (n, busy, len(idle), max(idle) if idle else -1))
PYEOF
chmod 644 "$T/hog.py"
mkdir -m 1777 "$RD/w"
as_user "$TEST_USER1" "$PY" "$T/hog.py" "$RS/relayd.sock" 40 "$RD/w/hog.out" &
HOG=$!
on_exit "kill $HOG 2>/dev/null"
sleep 0.3
t0=$(date +%s%N)
"$SENDMAIL" -C "$RC" -bp > "$RD/root.out" 2>&1; rc=$?
ms=$(ms_since "$t0")
check "40 idle connections by $TEST_USER1: root's mailq answers at once (rc $rc, $ms ms)" \
	eval "[ $rc = 0 ] && [ $ms -lt 1000 ] && grep -q 'Mail queue is empty' '$RD/root.out'"
SM=$(public_sendmail)
t0=$(date +%s%N)
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" -bp > "$RD/u2.out" 2>&1; rc=$?
ms=$(ms_since "$t0")
check "... and $TEST_USER2's mailq too (rc $rc, $ms ms)" eval "[ $rc = 0 ] && [ $ms -lt 1000 ]"
wait "$HOG"
n=0 busy=0 idle=0 maxidle=-1
read -r n busy idle maxidle < "$RD/w/hog.out"
check "per-uid cap: 36 of $TEST_USER1's 40 connections refused 'busy' (got $busy)" [ "$busy" = 36 ]
check "idle timeout: the 4 admitted idle connections were dropped within 7 s (got $idle, last at ${maxidle}s)" \
	eval "[ $idle = 4 ] && awk 'BEGIN { exit !($maxidle < 7) }'"

# 102 LISTs in one write: one listing, then the connection closes.
cat > "$T/pipe.py" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"LIST\n" * 102)
data = b""
s.settimeout(10)
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(data.count(b"Mail queue is empty"))
PYEOF
chmod 644 "$T/pipe.py"
got=$(as_user "$TEST_USER1" "$PY" "$T/pipe.py" "$RS/relayd.sock")
check "102 LISTs in one write: one listing, then the connection is closed (got $got)" [ "$got" = 1 ]
check "relayd still runs" kill -0 "$RELAYD_PID"
relayd_stop
