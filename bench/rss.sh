#!/usr/bin/env bash
# bench/rss.sh: memory.
#  - peak RSS of ./sendmail -t -i for a BIG_SIZES message (100M 1G),
#    generated on the fly through a pipe, by /usr/bin/time -f %M (which
#    covers the process and the children it reaped), and the same for
#    nullmailer's sendmail (-> nullmailer-inject -> nullmailer-queue);
#  - relayd's VmRSS/VmHWM idle (daemon mode -f, after start-up), with
#    STARTTLS+AUTH configured idle and after a burst of N_RSS_BURST
#    messages to bench/tls_sink.py (rss.relayd.after_load), and while
#    it sends a 100 MB message to smtp-sink, for the main process and its
#    delivery workers (bench/memwatch.c polls /proc every 20 ms);
#  - relayd --once sending the same 100 MB message, under /usr/bin/time.
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
BIG_SIZES=${BIG_SIZES:-100M 1G}
D=$W/rss
mkdir -p "$D" && chmod 755 "$D"
LINE='line of text for the peak RSS measurement, 64 octets in all....'

# big SIZE: a message of SIZE bytes of body on stdout.
big() { printf 'To: sink@example.org\nSubject: big %s\n\n' "$1"; yes "$LINE" | head -c "$1"; }

use_nm=0
[ "$HAVE_NULLMAILER" = 1 ] && is_root && use_nm=1

cmd "# 2. peak RSS (kB from /usr/bin/time -f %M: the process and every child it reaped)"
for size in $BIG_SIZES; do
	s=$D/spool-$size
	bench_spool "$s" || exit 1
	relay_conf "$D/relay-$size.conf" "$s"
	t0=$(now)
	big "$size" | /usr/bin/time -f %M -o "$D/time-$size" "$SENDMAIL" -C "$D/relay-$size.conf" -t -i
	rc=${PIPESTATUS[1]}
	t=$(elapsed "$t0")
	if [ "$rc" = 0 ]; then
		kb=$(tail -n 1 "$D/time-$size")
		result "rss.sendmail.$size" "$(mb "$kb")" MB "peak RSS ./sendmail, $size message" "$kb kB, ${t}s, $(rate "$(numfmt --from=iec "$size")" "$t" | awk '{ printf "%.0f MB/s", $1 / 1048576 }')"
	else
		note "./sendmail -t -i of a $size message exited $rc: $(tail -n 3 "$D/time-$size" | tr '\n' ' ')"
	fi
	rm -rf "$s"
	if [ $use_nm = 1 ]; then
		nm=$D/nm-$size
		nm_setup "$nm"
		t0=$(now)
		big "$size" | NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" /usr/bin/time -f %M -o "$D/nmtime-$size" /usr/sbin/sendmail -t -i
		rc=${PIPESTATUS[1]}
		t=$(elapsed "$t0")
		if [ "$rc" = 0 ]; then
			kb2=$(tail -n 1 "$D/nmtime-$size")
			result "rss.nullmailer.$size" "$(mb "$kb2")" MB "peak RSS nullmailer sendmail, $size message" "$kb2 kB, ${t}s"
			result "rss.ratio.$size" "$(ratio "${kb:--}" "$kb2")" x "peak RSS ratio nullrelay / nullmailer, $size" "< 1: nullrelay smaller"
		else
			note "nullmailer's sendmail -t -i of a $size message exited $rc: $(tail -n 3 "$D/nmtime-$size" | tr '\n' ' ')"
		fi
		rm -rf "$nm"
	fi
	kb=
done
cmd "{ printf 'To: sink@example.org\\nSubject: big\\n\\n'; yes '$LINE' | head -c SIZE; } | /usr/bin/time -f %M ./sendmail -C CONF -t -i     # CONF adds max_message_size = 2G"
[ $use_nm = 1 ] && cmd "  (same pipe) | bench/nm-ns.sh NMDIR /usr/bin/time -f %M /usr/sbin/sendmail -t -i"

# relayd, daemon mode: idle, then a 100 MB message to smtp-sink.
if [ "$HAVE_SMTP_SINK" != 1 ]; then
	note "relayd RSS: no smtp-sink (postfix package) to send to; skipped"
	exit 0
fi
s=$D/spool-relayd
bench_spool "$s" || exit 1
sink_start "$D/sink" || exit 1
conf=$D/relayd.conf
relay_conf "$conf" "$s" "smarthost = 127.0.0.1:$SINK_PORT" "tls = none" "concurrency = 4"
timeout 300 "$RELAYD" -C "$conf" -f 2> "$D/relayd.log" &
rpid=$!
# timeout's child is relayd.
wait_until 5 eval '[ -n "$(ps -o pid= --ppid $rpid)" ]'
relayd_pid=$(ps -o pid= --ppid "$rpid" | tr -d ' ' | head -n 1)
if [ -z "$relayd_pid" ] || ! wait_until 5 test -S "$s/relayd.sock"; then
	note "relayd -f did not start: $(tail -n 3 "$D/relayd.log" | tr '\n' ' ')"
	stop_pid "$rpid"; stop_pid "$SINK_PID"
	exit 0
fi
sleep 1
idle_rss=$(vm VmRSS "$relayd_pid") idle_hwm=$(vm VmHWM "$relayd_pid")
kids=$(proc_tree "$relayd_pid" | tail -n +2 | wc -l)
kid_rss=0
for p in $(proc_tree "$relayd_pid" | tail -n +2); do kid_rss=$((kid_rss + $(vm VmRSS "$p"))); done
result rss.relayd.idle "$(mb "$idle_rss")" MB "relayd -f idle: VmRSS (main process)" "VmHWM $idle_hwm kB; $kids child process(es) idle, VmRSS $kid_rss kB in all"
# The same with TLS and AUTH configured (STARTTLS, verified): what a real
# install runs. Idle after start-up, then after a burst of N_RSS_BURST
# messages went through bench/tls_sink.py and the workers exited (the
# issue's figure: VmRSS of the resident process after load).
N_RSS_BURST=${N_RSS_BURST:-200}
st=$D/spool-tls
tc=$D/tls-certs
bench_spool "$st" || exit 1
mkdir -p "$tc"
if openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tc/sink.key" \
		-subj /CN=localhost -days 2 -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-out "$tc/sink.pem" 2>/dev/null; then
	chmod 644 "$tc/sink.pem"
	printf 'bench-secret\n' > "$D/tls-password"
	chown "$(relay_user)" "$D/tls-password" && chmod 600 "$D/tls-password"
	tport=$(free_port)
	timeout 300 "$PY" "$BENCH/tls_sink.py" --port "$tport" --cert "$tc/sink.pem" --key "$tc/sink.key" \
		--user bench --password bench-secret --stats "$D/tls.stats" --timeout-total 290 2> "$D/tls_sink.err" &
	tspid=$!
	tls_mesg() { sed -n 's/.*\bmesg=\([0-9]*\).*/\1/p' "$D/tls.stats" 2>/dev/null | grep . || echo 0; }
	relay_conf "$D/tls.conf" "$st" "smarthost = localhost:$tport" "tls = starttls" \
		"tls_ca_file = $tc/sink.pem" "auth_user = bench" "auth_password_file = $D/tls-password" \
		"concurrency = 4"
	"$RELAYD" -C "$D/tls.conf" -f 2> "$D/relayd-tls.log" &
	tpid=$!
	if wait_until 10 eval "ss -Hltn 'sport = :$tport' | grep -q LISTEN" &&
		wait_until 5 test -S "$st/relayd.sock"; then
		sleep 1
		result rss.relayd.idle_tls "$(mb "$(vm VmRSS "$tpid")")" MB "relayd -f idle, tls = starttls + AUTH: VmRSS" "VmHWM $(vm VmHWM "$tpid") kB; after start-up"
		msg2k "$D/burst.eml"
		for ((i = 0; i < N_RSS_BURST; i++)); do "$SENDMAIL" -C "$D/tls.conf" -t -i < "$D/burst.eml" || break; done
		# Delivered, and the workers (nullrelay-smtp) gone: only the
		# resident process is left (and its mailbox process, relayd-mbox,
		# which is idle whatever the load).
		if wait_until 120 eval '[ "$(tls_mesg)" -ge "$N_RSS_BURST" ]' &&
			wait_until 60 eval '! ps -o comm= --ppid "$tpid" | grep -qx nullrelay-smtp'; then
			sleep 1
			rss=$(vm VmRSS "$tpid")
			detail=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { n = ($6 == "" ? "anon" : $6); sub(/.*\//, "", n) }
				/^Rss:/ { r[n] += $2 } END { for (k in r) if (r[k] > 0) printf "%s %d, ", k, r[k] }' "/proc/$tpid/smaps" 2>/dev/null)
			result rss.relayd.after_load "$(mb "$rss")" MB "relayd -f after $N_RSS_BURST msgs over STARTTLS+AUTH: VmRSS" "VmHWM $(vm VmHWM "$tpid") kB; kB by mapping: ${detail%, }; target <= 2 MB"
		else
			note "relayd RSS after load: $(tls_mesg) of $N_RSS_BURST reached tls_sink.py, or workers still running: $(tail -n 3 "$D/relayd-tls.log" | tr '\n' ' ')"
		fi
	else
		note "relayd RSS with TLS: relayd or tls_sink.py did not start: $(tail -n 3 "$D/relayd-tls.log" "$D/tls_sink.err" | tr '\n' ' ')"
	fi
	stop_pid "$tpid"
	stop_pid "$tspid"
	cmd "./relayd/relayd -C CONF -f   # CONF: smarthost = localhost:PORT, tls = starttls, tls_ca_file, auth_user = bench, auth_password_file, concurrency = 4; bench/tls_sink.py on PORT"
	cmd "rss.relayd.after_load: $N_RSS_BURST x ./sendmail -t -i < 2 KB message, all at tls_sink.py, no worker left, 1 s; VmRSS of relayd; kB by mapping from /proc/PID/smaps"
else
	note "relayd RSS with TLS: openssl could not make a certificate; skipped"
fi
rm -rf "$st"

"$W/bin/memwatch" "$relayd_pid" 20 > "$D/memwatch.out" &
mw=$!
t0=$(now)
big 100M | "$SENDMAIL" -C "$conf" -t -i || note "relayd RSS: ./sendmail of the 100 MB message failed"
if wait_until 180 sink_has 1 && wait_until 30 eval '[ "$(count_files "$s/queue")" = 0 ]'; then
	t=$(elapsed "$t0")
	sleep 0.2
	kill "$mw"; wait "$mw"
	main_hwm=$(awk -v p="$relayd_pid" '$1 == p { print $3 }' "$D/memwatch.out")
	read -r wk_n wk_max wk_sum < <(awk -v p="$relayd_pid" '$1 != p { n++; s += $3; if ($3 > m) m = $3 } END { print n + 0, m + 0, s + 0 }' "$D/memwatch.out")
	result rss.relayd.main100M "$(mb "$main_hwm")" MB "relayd -f sending 100 MB: VmHWM main process" "submit+send ${t}s"
	result rss.relayd.worker100M "$(mb "$wk_max")" MB "relayd -f sending 100 MB: VmHWM largest child" "$wk_n child process(es) seen, VmHWM sum $wk_sum kB"
else
	kill "$mw" 2>/dev/null; wait "$mw" 2>/dev/null
	note "relayd RSS: the 100 MB message did not reach smtp-sink in time: $(tail -n 3 "$D/relayd.log" | tr '\n' ' ')"
fi
stop_pid "$rpid"
cmd "timeout 300 ./relayd/relayd -C CONF -f   # CONF: smarthost = 127.0.0.1:PORT, tls = none, concurrency = 4; $SINK_CMD"
cmd "VmRSS/VmHWM from /proc/PID/status 1 s after start-up; while sending: bench/memwatch PID 20 (relayd and every descendant)"

# The same message through relayd --once under /usr/bin/time.
rm -rf "$s"
bench_spool "$s" || exit 1
big 100M | "$SENDMAIL" -C "$conf" -t -i || note "relayd --once RSS: ./sendmail of the 100 MB message failed"
before=$(sink_stat mesg)
t0=$(now)
timeout 300 /usr/bin/time -f %M -o "$D/time-once" "$RELAYD" -C "$conf" -f --once 2>> "$D/relayd.log"
rc=$?
t=$(elapsed "$t0")
if [ $rc = 0 ] && [ "$(sink_stat mesg)" -gt "$before" ]; then
	kb=$(tail -n 1 "$D/time-once")
	result rss.relayd.once100M "$(mb "$kb")" MB "relayd --once sending 100 MB: peak RSS (time %M)" "${t}s (pick-up + send)"
else
	note "relayd --once with a 100 MB message: exit $rc, smtp-sink count $(sink_stat mesg) (was $before)"
fi
cmd "/usr/bin/time -f %M ./relayd/relayd -C CONF -f --once   # one queued 100 MB message"
stop_pid "$SINK_PID"
rm -rf "$s"
exit 0
