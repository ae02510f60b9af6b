#!/usr/bin/env bash
# bench/latency.sh: one message's submit -> sink latency, p50/p99 over
# N_LATENCY (200) messages each, the programs taken in turn message by
# message (bench/latency.py), all to one smtp-sink:
#   nullrelay   ./sendmail -t -i with relayd -f resident (it is woken by the
#               drop: inotify)
#   dma         dma -t -i (it delivers at submission: a child per message)
#   nullmailer  its sendmail -t -i with nullmailer-send resident (woken
#               through its trigger FIFO)
#   postfix     its sendmail -t -i with master resident (pickup is woken
#               through public/pickup)
# Then, with every daemon still resident after that load, the idle RSS of
# each: the daemon's main process, and all its processes summed (relayd's
# workers, Postfix's master, qmgr, pickup, smtp... left running).
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
N_LATENCY=${N_LATENCY:-200}
D=$W/latency
mkdir -p "$D" && chmod 755 "$D"
[ "$HAVE_SMTP_SINK" = 1 ] || { note "latency: no smtp-sink; skipped"; exit 0; }
msg=$D/msg2k.eml
msg2k "$msg"
sink_start "$D/sink" || exit 1

relay_conf "$D/lat.conf" "$D/spool" "smarthost = 127.0.0.1:$SINK_PORT" "tls = none"
bench_spool "$D/spool" || exit 1
"$RELAYD" -C "$D/lat.conf" -f 2> "$D/relayd.log" &
RPID=$!
wait_until 10 test -S "$D/spool/relayd.sock" || note "latency: relayd did not start: $(tail -n 2 "$D/relayd.log")"
progs=(-- nullrelay "$SENDMAIL" -C "$D/lat.conf" -t -i)
NMPID= PF_MPID=
if is_root; then
	if [ "${HAVE_DMA:-0}" = 1 ]; then
		dma_setup "$D/dma" "$D/dma/spool" "$SINK_PORT"
		progs+=(-- dma "$BENCH/dma-ns.sh" "$D/dma" "$DMA" -t -i)
	fi
	if [ "$HAVE_NULLMAILER" = 1 ]; then
		nm_setup "$D/nm" "127.0.0.1 smtp --port=$SINK_PORT"
		NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$D/nm" timeout 900 /usr/sbin/nullmailer-send > "$D/nullmailer-send.log" 2>&1 &
		NMPID=$!
		progs+=(-- nullmailer env NM_TREE="$NM_TREE" "$BENCH/nm-ns.sh" "$D/nm" /usr/sbin/sendmail -t -i)
	fi
	if [ "${HAVE_POSTFIX:-0}" = 1 ]; then
		pf_setup "$D/pf" "$SINK_PORT" && pf_start "$D/pf" &&
			progs+=(-- postfix env PF_TREE="$PF_TREE" "$BENCH/pf-ns.sh" "$D/pf" /usr/sbin/sendmail -t -i)
	fi
else
	note "latency: dma, nullmailer and postfix need root (mount namespaces); skipped"
fi
sleep 1
names=$(printf '%s\n' "${progs[@]}" | awk 'p { print; p = 0 } $0 == "--" { p = 1 }' | tr '\n' ' ')
say "latency: $N_LATENCY messages each, in turn: $names"
"$PY" "$BENCH/latency.py" "$SINK_DIR/sink.out" "$N_LATENCY" "$msg" "${progs[@]}" > "$D/latency.out" 2> "$D/latency.err" ||
	note "latency: bench/latency.py failed: $(tail -n 2 "$D/latency.err" | tr '\n' ' ')"
peer_row lat_p50 lo "latency submit->sink p50 (ms)"
peer_row lat_p99 lo "latency submit->sink p99 (ms)"
while read -r name _ p50 _ p99 _ mx; do
	peer_fig lat_p50 "$name" ms "$p50"
	peer_fig lat_p99 "$name" ms "$p99"
	result "latency.$name" "$p50" ms "latency submit->sink x$N_LATENCY: $name p50" "p50 $p50 p99 $p99 max $mx"
done < "$D/latency.out"

# Idle RSS after that load: 2 s without mail.
sleep 2
# tree_rss PID: "MAIN SUM N": VmRSS (kB) of PID, of PID and all its descendants, their count.
tree_rss() {
	local p main sum=0 n=0 v
	main=$(vm VmRSS "$1")
	for p in $(proc_tree "$1"); do
		v=$(vm VmRSS "$p")
		[ -n "$v" ] || continue
		sum=$((sum + v)) n=$((n + 1))
	done
	echo "${main:--} $sum $n"
}
# The daemon's own PID under its wrappers (timeout, unshare): the first
# descendant running that program.
exe_pid() {
	local p
	for p in $(proc_tree "$1"); do
		case $(readlink "/proc/$p/exe" 2>/dev/null) in */"$2") echo "$p"; return 0 ;; esac
	done
	return 1
}
peer_row idle_rss lo "daemon idle RSS, all processes (MB)"
idle() {
	local name=$1 pid=$2 main sum n
	[ -n "$pid" ] || return 0
	read -r main sum n <<<"$(tree_rss "$pid")"
	[ "$n" -gt 0 ] || { note "latency: $name's daemon is gone; no idle RSS"; return 0; }
	peer_fig idle_rss "$name" MB "$(mb "$sum")"
	result "idle.$name" "$(mb "$main")" MB "daemon idle after the latency run: $name main process" "all $n processes: $(mb "$sum") MB"
}
idle nullrelay "$RPID"
[ -z "$NMPID" ] || idle nullmailer "$(exe_pid "$NMPID" nullmailer-send)"
[ -z "${PF_MPID:-}" ] || idle postfix "$(exe_pid "$PF_MPID" master)"
stop_pid "$RPID"
stop_pid "$NMPID"
pf_stop
stop_pid "$SINK_PID"
cmd "# 5. latency: bench/latency.py SINKOUT $N_LATENCY msg2k.eml -- nullrelay ./sendmail -C CONF -t -i -- dma ... -- nullmailer ... -- postfix ...   # in turn, message by message"
cmd "   relayd -f resident; dma.conf without DEFER; nullmailer-send resident; postfix master resident; clock from the submission's start to smtp-sink's mesg counter +1"
cmd "   idle RSS: VmRSS from /proc of the daemon and its descendants, 2 s after the last message"
exit 0
