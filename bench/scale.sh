#!/usr/bin/env bash
# bench/scale.sh: N_SCALE (100 000) messages queued in queue/ with the
# smarthost down (a closed port): relayd's start-up time (cold: until it
# serves, and until every state file was read in the background; warm: from
# queue/index after a clean stop), its RSS and CPU use while it waits,
# `mailq` for root (twice) and for a user with nothing queued, then the smarthost comes back (smtp-sink
# on that port, `sendmail -q`) and the time until all N_SCALE have arrived.
# These are nullrelay's own targets (no peer is run here); the submit -> sink
# latency is bench/latency.sh.
# The queue is made by copying one message relayd queued (its ID.msg and
# ID.env) under N_SCALE fresh ids: picking up 100 000 drop files one scan
# at a time would take the bench's whole budget on this disk.
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
N_SCALE=${N_SCALE:-100000}
D=$W/scale
mkdir -p "$D" && chmod 755 "$D"
[ "$HAVE_SMTP_SINK" = 1 ] || { note "scale: no smtp-sink; skipped"; exit 0; }
msg=$D/msg2k.eml
msg2k "$msg"
s=$D/spool
bench_spool "$s" || exit 1
port=$(free_port)
relay_conf "$D/relay.conf" "$s" "smarthost = 127.0.0.1:$port" "tls = none" "retry_min = 10m" "retry_max = 1h"
"$SENDMAIL" -C "$D/relay.conf" -t -i < "$msg" || { note "scale: sendmail failed"; exit 1; }
timeout 60 "$RELAYD" -C "$D/relay.conf" -f --once 2> "$D/once.log"
tmpl=$(ls "$s/queue" | sed -n 's/\.env$//p' | head -n 1)
[ -n "$tmpl" ] || { note "scale: relayd --once queued nothing: $(tail -n 2 "$D/once.log")"; exit 1; }
say "scale: copying queue/$tmpl to $N_SCALE ids"
"$PY" - "$s/queue" "$tmpl" "$N_SCALE" <<'PYEOF'
import os, secrets, sys
q, t, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = open(os.path.join(q, t + ".env"), "rb").read()
msg = open(os.path.join(q, t + ".msg"), "rb").read()
st = os.stat(os.path.join(q, t + ".env"))
for name in (t + ".env", t + ".msg"):
    os.unlink(os.path.join(q, name))
for i in range(n):
    new = "%016X" % secrets.randbits(64)
    for suffix, data in ((".msg", msg), (".env", env)):
        p = os.path.join(q, new + suffix)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, st.st_uid, st.st_gid)
        os.chmod(p, 0o600)
os.sync()
PYEOF

# start_relayd TAG: start relayd -f, wait for "started:"; sets PID, ST (s),
# T0 (when it was started).
start_relayd() {
	T0=$EPOCHREALTIME
	"$RELAYD" -C "$D/relay.conf" -f 2> "$D/$1.log" &
	PID=$!
	wait_until 120 grep -q 'started:' "$D/$1.log"
	ST=$(elapsed "$T0")
}
start_relayd cold
cold=$ST
# Steady state: every state file read ("queue: N messages (M from ..."),
# in the background after "started:". Only then is the stop clean with the
# whole queue in queue/index, so the next start is a warm one.
steady=-
wait_until 300 grep -q "queue: $N_SCALE messages (" "$D/cold.log" && steady=$(elapsed "$T0")
stop_pid "$PID"
start_relayd warm
warm=$ST
sleep 2
rss=$(vm VmRSS "$PID") hwm=$(vm VmHWM "$PID")
tk() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
c0=$(tk "$PID")
sleep 30
c1=$(tk "$PID")
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz * 2 }')
t0=$EPOCHREALTIME
lines=$("$SENDMAIL" -C "$D/relay.conf" -bp | wc -l)
mq=$(elapsed "$t0")
rss_after=$(vm VmRSS "$PID")
# Again: now every record is in relayd's cache (one fstatat per message).
t0=$EPOCHREALTIME
"$SENDMAIL" -C "$D/relay.conf" -bp > /dev/null
mq2=$(elapsed "$t0")
# An ordinary user with nothing queued, on the same flooded queue.
mqu=-
if is_root && id nobody > /dev/null 2>&1; then
	t0=$EPOCHREALTIME
	ulines=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$SENDMAIL" -C "$D/relay.conf" -bp 2>&1 | wc -l)
	mqu=$(elapsed "$t0")
fi
result scale.cold "$cold" s "scale $N_SCALE queued: relayd start, cold (no index)" "until 'started:' (state files read in the background); target <= 2 s"
result scale.steady "$steady" s "scale $N_SCALE queued: relayd start, cold, to steady state" "until every state file was read in the background (relayd serves meanwhile)"
result scale.warm "$warm" s "scale $N_SCALE queued: relayd start after a clean stop" "from queue/index: one readdir + one file; target <= 2 s"
result scale.rss "$(mb "$rss")" MB "scale $N_SCALE queued: relayd VmRSS while waiting" "VmHWM $(mb "$hwm") MB; target <= 64 MB"
result scale.cpu "$cpu" s/min "scale $N_SCALE queued: relayd CPU while waiting" "over 30 s, smarthost down; target <= 1"
result scale.mailq "$mq" s "scale $N_SCALE queued: mailq for root" "$lines lines; VmRSS after it $(mb "$rss_after") MB; target <= 2 s"
result scale.mailq2 "$mq2" s "scale $N_SCALE queued: mailq for root, again" "from relayd's records, one fstatat per message"
result scale.mailq_user "$mqu" s "scale $N_SCALE queued: mailq for a user with none of them" "${ulines:-?} lines; others' messages are skipped unread"
sink_start "$D/sink" "$port" || exit 1
t0=$EPOCHREALTIME
"$SENDMAIL" -C "$D/relay.conf" -q
wait_until 900 eval "[ -z \"\$(find '$s/queue' -name '*.env' -print -quit)\" ]"
dr=$(elapsed "$t0")
sleep 0.5
got=$(sink_stat mesg)
result scale.drain "$(rate "$got" "$dr")" msgs/s "scale: smarthost back, all $N_SCALE delivered" "${dr}s after sendmail -q, sink counted $got (want $N_SCALE)"
[ "$got" = "$N_SCALE" ] || note "scale: the sink counted $got messages for $N_SCALE queued"
stop_pid "$PID"
cmd "# 4. scale: $N_SCALE copies of one queued message in queue/ (ID.msg + ID.env under fresh ids); smarthost = 127.0.0.1:PORT (closed)"
cmd "./relayd/relayd -C CONF -f   # cold, until 'queue: N messages', then stopped (SIGTERM: writes queue/index), started again (warm); VmRSS from /proc; CPU from /proc/PID/stat over 30 s"
cmd "./sendmail -C CONF -bp | wc -l   # as root; then smtp-sink on PORT; ./sendmail -C CONF -q"

stop_pid "$SINK_PID"
exit 0
