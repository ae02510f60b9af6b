#!/usr/bin/env bash
# bench/listen.sh [N]: messages/s accepted by relayd's SMTP listener (each one
# durable in the spool before its 250) side by side with sequential ./sendmail
# submissions of the same 2 KB message into the same spool. One run, no
# assertion: a figure for the notes, not a test. Delivery is kept out of the
# way (the smarthost is a closed port, retry_min = 1h).
#   sendmail   N sequential launches of ./sendmail -C CONF -t -i < msg
#   listen x1  one smtplib connection, N messages one after the other
#   listen x4  four connections in parallel, N messages in all
# Run as root (relayd drops to the user nullrelay) or as the spool's owner.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-500}
PY=/usr/bin/python3
W=$(mktemp -d /var/tmp/nullrelay-listen-bench.XXXXXX) || exit 1
chmod 755 "$W"
trap 'kill $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
user=$(id -un)
[ "$(id -u)" = 0 ] && user=nullrelay
"$TOP/build/tests/tools/mkspool" "$W/spool" "$user" >/dev/null || exit 1
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LPORT=$(port) DEAD=$(port)
cat > "$W/relay.conf" <<CONF
spool = $W/spool
user = $user
hostname = bench.test
smarthost = 127.0.0.1:$DEAD
tls = none
retry_min = 1h
retry_max = 1h
listen = 127.0.0.1:$LPORT
CONF
chmod 644 "$W/relay.conf"
"$PY" - "$W/msg" <<'PY'
import sys
body = "".join("line %04d of a two kilobyte benchmark message, plain text.....\n" % i for i in range(30))
open(sys.argv[1], "w").write("From: bench@example.org\nTo: sink@example.org\nSubject: bench\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <bench@example.org>\n\n" + body)
PY
"$TOP/relayd/relayd" -C "$W/relay.conf" -f 2>"$W/relayd.log" &
RPID=$!
for _ in $(seq 50); do grep -q "listen: accepting" "$W/relayd.log" && break; sleep 0.1; done

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f msg/s (%d in %.2fs)", n / (b - a), n, b - a }'; }

t0=$(now)
for ((i = 0; i < N; i++)); do "$TOP/sendmail" -C "$W/relay.conf" -t -i < "$W/msg" || exit 1; done
t1=$(now)
echo "sendmail   sequential:   $(rate "$N" "$t0" "$t1")"

cat > "$W/client.py" <<'PY'
import smtplib, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
msg = open(path, "rb").read().replace(b"\n", b"\r\n")
s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
for _ in range(n):
    s.sendmail("bench@example.org", ["sink@example.org"], msg)
s.quit()
PY
t0=$(now)
"$PY" "$W/client.py" "$LPORT" "$N" "$W/msg" || exit 1
t1=$(now)
echo "listener   1 connection: $(rate "$N" "$t0" "$t1")"
t0=$(now)
pids=()
for _ in 1 2 3 4; do "$PY" "$W/client.py" "$LPORT" $((N / 4)) "$W/msg" & pids+=($!); done
wait "${pids[@]}"
t1=$(now)
echo "listener   4 connections: $(rate $((N / 4 * 4)) "$t0" "$t1")"
echo "(2 KB message; $(nproc) CPUs; spool on $(df -T "$W" | awk 'NR==2 {print $2}'); each 250 after fsync of the drop file and its directory)"
