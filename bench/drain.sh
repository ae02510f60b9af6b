#!/usr/bin/env bash
# bench/drain.sh: delivery throughput. N_DRAIN (10 000) queued 2 KB messages,
# then the time until the queue is empty:
#   A. ./relayd/relayd -f --once -> Postfix's smtp-sink on 127.0.0.1, tls = none
#   B. the same over STARTTLS + AUTH PLAIN -> bench/tls_sink.py (verified
#      chain and host name: tls_ca_file = the bench CA)
#   C. nullmailer-send (Debian's nullmailer, in a mount namespace, see
#      nm-ns.sh) -> the same smtp-sink, remotes "127.0.0.1 smtp --port=PORT"
# Connections are counted by the sinks (smtp-sink -c "sess=", tls_sink.py
# "sess="). Each relayd run is bounded by DRAIN_TIMEOUT (240) seconds, the
# nullmailer run by NM_DRAIN_TIMEOUT (30: nullmailer-send makes one
# connection and one process per message, so its rate is steady and a full
# 10 000 would take most of the bench's time budget): a run still going then
# is stopped (SIGTERM) and its rate is what it delivered by then.
#
# The queue is filled by the real submission programs, SEED (200) messages
# each, then copied byte for byte under fresh names up to N_DRAIN
# (bench/replicate.py) and synced once: submitting 10 000 messages one by
# one with fsync would take minutes on this disk.
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
SEED=${SEED:-200}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-240}
NM_DRAIN_TIMEOUT=${NM_DRAIN_TIMEOUT:-30}
D=$W/drain
mkdir -p "$D" && chmod 755 "$D"
[ "$SEED" -le "$N_DRAIN" ] || SEED=$N_DRAIN
msg=$D/msg2k.eml
msg2k "$msg"

# Seed drop files, made by ./sendmail (one spool, reused as the template).
tmpl=$D/template
bench_spool "$tmpl" || exit 1
relay_conf "$D/seed.conf" "$tmpl"
for ((i = 0; i < SEED; i++)); do
	"$SENDMAIL" -C "$D/seed.conf" -t -i < "$msg" || { note "drain: ./sendmail failed while seeding"; exit 1; }
done

# fill_spool SPOOL: a fresh spool holding N_DRAIN drop files.
fill_spool() {
	rm -rf "$1"
	bench_spool "$1" &&
	"$PY" "$BENCH/replicate.py" "$tmpl/incoming/new" "$1/incoming/new" "$N_DRAIN" --names hex16 >/dev/null
}

# dma: a template queue made by dma itself (DEFER), replicated per run.
DMA_DRAIN_TIMEOUT=${DMA_DRAIN_TIMEOUT:-120}
use_dma=0
if [ "${HAVE_DMA:-0}" = 1 ] && is_root; then
	dma_setup "$D/dma-tmpl" "$D/dma-tmpl/spool" &&
	"$BENCH/dma-ns.sh" "$D/dma-tmpl" "$BENCH/loop.sh" "$SEED" "$msg" "$DMA" -t -i >/dev/null &&
	use_dma=1 || note "drain: dma could not queue its seed messages; dma drains skipped"
elif [ "${HAVE_DMA:-0}" = 1 ]; then
	note "drain: dma needs root (mount namespace); dma drains skipped"
fi

# dma_drain TAG PORT SINKCOUNT [DMA.CONF LINES...]: fill a dma spool with
# N_DRAIN messages, run `dma -q` (it forks one process and one connection
# per message and returns), wait until no Q file is left or
# DMA_DRAIN_TIMEOUT. Sets DR_T, DR_SENT, DR_SESS, DR_LEFT.
dma_drain() {
	local tag=$1 port=$2 count=$3 m0 s0 t0 q; shift 3
	q=$D/$tag/spool
	rm -rf "$D/$tag"
	dma_setup "$D/$tag" "$q" "$port" "$@" || return 1
	"$PY" "$BENCH/replicate_dma.py" "$D/dma-tmpl/spool" "$q" "$N_DRAIN" >/dev/null || return 1
	m0=$($count mesg) s0=$($count sess)
	t0=$EPOCHREALTIME
	"$BENCH/dma-ns.sh" "$D/$tag" "$DMA" -q > "$D/$tag.log" 2>&1
	while [ -n "$(find "$q" -maxdepth 1 -name 'Q*' -print -quit)" ] &&
		[ "${EPOCHREALTIME%.*}" -lt $((${t0%.*} + DMA_DRAIN_TIMEOUT)) ]; do
		sleep 0.25
	done
	DR_T=$(elapsed "$t0")
	sleep 0.5
	DR_SENT=$(($($count mesg) - m0)) DR_SESS=$(($($count sess) - s0))
	DR_LEFT=$(find "$q" -maxdepth 1 -name 'Q*' | wc -l)
	# dma -q's own children still running after the bound would load the
	# next measurements: they are ours (this exact binary), ended by PID.
	local p pids=()
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$DMA" ] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -eq 0 ] || { kill -TERM "${pids[@]}" 2>/dev/null; sleep 1; }
	say "$tag: ${DR_T}s, sent $DR_SENT, $DR_SESS connections, $DR_LEFT left"
	[ "$DR_LEFT" = 0 ] || note "$tag: dma still had $DR_LEFT of $N_DRAIN queued after ${DMA_DRAIN_TIMEOUT}s; its rate is over what it sent"
}

# relayd_drain TAG CONF SPOOL SINKCOUNT: run relayd --once, bounded; sets
# DR_T (seconds in all), DR_TPICK (until incoming/new/ was empty: relayd
# --once picks everything up before it sends), DR_SENT, DR_SESS (from the
# sink's counters before/after), DR_LEFT (files left in incoming/new + queue).
relayd_drain() {
	local tag=$1 conf=$2 s=$3 count=$4 m0 s0 pid end
	m0=$($count mesg) s0=$($count sess)
	local t0=$EPOCHREALTIME
	"$RELAYD" -C "$conf" -f --once 2> "$D/$tag.log" &
	pid=$!
	# Polled every 0.25 s: listing 10 000 names is not free.
	end=$((${t0%.*} + DRAIN_TIMEOUT))
	DR_TPICK=
	while _alive "$pid" && [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
		if [ -z "$DR_TPICK" ] && is_empty "$s/incoming/new"; then
			DR_TPICK=$(elapsed "$t0")
		fi
		sleep 0.25
	done
	if _alive "$pid"; then
		note "$tag: relayd --once still running after ${DRAIN_TIMEOUT}s: stopped (SIGTERM); rate = delivered so far"
		kill -TERM "$pid"
	fi
	DR_T=$(elapsed "$t0")
	[ -n "$DR_TPICK" ] || DR_TPICK=$DR_T
	wait_until 10 eval "! _alive $pid" || kill -KILL "$pid"
	wait "$pid"
	DR_RC=$?
	sleep 0.3
	DR_SENT=$(($($count mesg) - m0)) DR_SESS=$(($($count sess) - s0))
	DR_LEFT=$(($(count_files "$s/incoming/new") + $(find "$s/queue" -name '*.msg' 2>/dev/null | wc -l)))
	DR_TSEND=$(awk -v a="$DR_T" -v b="$DR_TPICK" 'BEGIN { printf "%.3f\n", a - b }')
	say "$tag: ${DR_T}s (pick-up ${DR_TPICK}s), sent $DR_SENT, $DR_SESS connections, $DR_LEFT left, exit $DR_RC"
	[ "$DR_RC" = 0 ] || note "$tag: relayd --once exited $DR_RC: $(grep -v 'status=sent' "$D/$tag.log" | tail -n 3 | tr '\n' ' ')"
	[ "$DR_LEFT" = 0 ] || note "$tag: $DR_LEFT messages left in the spool"
	[ "$DR_SENT" -le "$N_DRAIN" ] || note "$tag: the sink counted $DR_SENT messages for $N_DRAIN queued"
}

cmd "# 3. drain: $N_DRAIN x 2 KB queued; $SEED made by the submission program, the rest byte-identical copies under fresh names (bench/replicate.py), then sync"

# A. relayd -> smtp-sink, no TLS.
if [ "$HAVE_SMTP_SINK" = 1 ]; then
	sink_start "$D/sink" || exit 1
	s=$D/spool-plain
	fill_spool "$s" || { note "drain: cannot fill the spool"; exit 1; }
	relay_conf "$D/plain.conf" "$s" "smarthost = 127.0.0.1:$SINK_PORT" "tls = none" "concurrency = 4"
	say "drain A: relayd -> smtp-sink, $N_DRAIN messages"
	relayd_drain relayd-plain "$D/plain.conf" "$s" sink_stat
	r=$(rate "$DR_SENT" "$DR_T")
	result drain.relayd "$r" msgs/s "drain $N_DRAIN: relayd --once -> smtp-sink, in all" "${DR_T}s, $DR_SENT sent, $DR_SESS SMTP connections"
	result drain.relayd_pickup "$(rate "$N_DRAIN" "$DR_TPICK")" msgs/s "  of which pick-up (until incoming/new/ empty)" "${DR_TPICK}s (copy into queue/ with fsync)"
	result drain.relayd_send "$(rate "$DR_SENT" "$DR_TSEND")" msgs/s "  of which sending (after pick-up)" "${DR_TSEND}s"
	result drain.relayd_conns "$DR_SESS" conns "drain: relayd SMTP connections (smtp-sink sess=)" "concurrency = 4"
	cmd "$SINK_CMD &"
	cmd "./relayd/relayd -C CONF -f --once   # CONF: spool = SPOOL, user = $(relay_user), smarthost = 127.0.0.1:PORT, tls = none, concurrency = 4"
	rm -rf "$s"
	if [ $use_dma = 1 ]; then
		say "drain A2: dma -q -> smtp-sink, $N_DRAIN messages"
		dma_drain dma-plain "$SINK_PORT" sink_stat
		r=$(rate "$DR_SENT" "$DR_T")
		result drain.dma "$r" msgs/s "drain $N_DRAIN: dma -q -> smtp-sink, in all" "${DR_T}s, $DR_SENT sent, $DR_SESS SMTP connections"
		result drain.ratio_dma "$(ratio "$(getres drain.relayd)" "$r")" x "drain: ratio relayd / dma (plain, same sink)" "target >= 4"
		cmd "bench/dma-ns.sh DMADIR /usr/sbin/dma -q   # dma.conf: NULLCLIENT, SMARTHOST 127.0.0.1, PORT PORT, INSECURE, SPOOLDIR; time until no Q file is left"
	fi
else
	note "drain: no smtp-sink (postfix package): relayd and nullmailer drains skipped"
fi

# B. relayd -> tls_sink.py, STARTTLS + AUTH PLAIN.
certs=$D/certs
mkdir -p "$certs"
if openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/ca.key" \
		-subj "/CN=nullrelay bench CA" -days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$certs/ca.pem" 2>/dev/null &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/sink.key" \
		-subj /CN=localhost -out "$certs/sink.csr" 2>/dev/null &&
	printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$certs/sink.ext" &&
	openssl x509 -req -in "$certs/sink.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
		-days 2 -sha256 -extfile "$certs/sink.ext" -out "$certs/sink.pem" 2>/dev/null; then
	chmod 644 "$certs/ca.pem" "$certs/sink.pem"
	pwfile=$D/password
	printf 'bench-secret\n' > "$pwfile"
	chown "$(relay_user)" "$pwfile" && chmod 600 "$pwfile"
	tls_port=$(free_port)
	timeout 600 "$PY" "$BENCH/tls_sink.py" --port "$tls_port" --cert "$certs/sink.pem" --key "$certs/sink.key" \
		--user bench --password bench-secret --stats "$D/tls.stats" --timeout-total 590 2> "$D/tls_sink.err" &
	tls_pid=$!
	tls_stat() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$D/tls.stats" 2>/dev/null | grep . || echo 0; }
	if wait_until 10 eval "ss -Hltn 'sport = :$tls_port' | grep -q LISTEN"; then
		s=$D/spool-tls
		fill_spool "$s" || { note "drain: cannot fill the spool"; exit 1; }
		relay_conf "$D/tls.conf" "$s" "smarthost = 127.0.0.1:$tls_port" "tls = starttls" \
			"tls_ca_file = $certs/ca.pem" "auth_user = bench" "auth_password_file = $pwfile" "concurrency = 4"
		say "drain B: relayd -> tls_sink.py (STARTTLS + AUTH), $N_DRAIN messages"
		relayd_drain relayd-tls "$D/tls.conf" "$s" tls_stat
		r=$(rate "$DR_SENT" "$DR_T")
		r2=$(rate "$DR_SENT" "$DR_TSEND")
		result drain.relayd_tls "$r" msgs/s "drain $N_DRAIN: relayd --once -> STARTTLS+AUTH, in all" "${DR_T}s, $DR_SENT sent, $DR_SESS connections, $(tls_stat auth) AUTH ok, $(tls_stat fail) refused"
		result drain.relayd_tls_pickup "$(rate "$N_DRAIN" "$DR_TPICK")" msgs/s "  of which pick-up (until incoming/new/ empty)" "${DR_TPICK}s"
		result drain.relayd_tls_send "$r2" msgs/s "  of which sending over TLS (after pick-up)" "${DR_TSEND}s; sink: bench/tls_sink.py (Python)"
		result drain.relayd_tls_conns "$DR_SESS" conns "drain: relayd SMTP connections over TLS (sink count)" ""
		result drain.ratio_tls "$(ratio "$r2" "$(getres drain.relayd_send)")" x "drain: sending rate TLS+AUTH / no TLS" "sinks differ: Python vs C"
		cmd "timeout 600 /usr/bin/python3 bench/tls_sink.py --port PORT --cert sink.pem --key sink.key --user bench --password bench-secret --stats FILE &"
		cmd "./relayd/relayd -C CONF -f --once   # CONF: ... tls = starttls, tls_ca_file = ca.pem, auth_user = bench, auth_password_file = FILE (0600, $(relay_user)), concurrency = 4"
		rm -rf "$s"
		if [ $use_dma = 1 ]; then
			printf 'bench|127.0.0.1:bench-secret\n' > "$D/dma-auth.conf"
			chown root:mail "$D/dma-auth.conf" && chmod 640 "$D/dma-auth.conf"
			say "drain B2: dma -q -> tls_sink.py (STARTTLS + AUTH), $N_DRAIN messages"
			dma_drain dma-tls "$tls_port" tls_stat SECURETRANSFER STARTTLS "AUTHPATH $D/dma-auth.conf"
			r=$(rate "$DR_SENT" "$DR_T")
			result drain.dma_tls "$r" msgs/s "drain $N_DRAIN: dma -q -> STARTTLS+AUTH, in all" "${DR_T}s, $DR_SENT sent, $DR_SESS connections (dma does not verify the certificate)"
			result drain.ratio_dma_tls "$(ratio "$(getres drain.relayd_tls)" "$r")" x "drain: ratio relayd / dma (STARTTLS+AUTH, same sink)" "target >= 3"
			cmd "bench/dma-ns.sh DMADIR /usr/sbin/dma -q   # dma.conf adds SECURETRANSFER, STARTTLS, AUTHPATH (bench|127.0.0.1:bench-secret)"
		fi
	else
		note "drain B: tls_sink.py did not start: $(tail -n 3 "$D/tls_sink.err" | tr '\n' ' ')"
	fi
	stop_pid "$tls_pid"
else
	note "drain B: openssl could not make the test certificates; TLS drain skipped"
fi

# C. nullmailer-send -> smtp-sink.
if [ "$HAVE_SMTP_SINK" = 1 ] && [ "$HAVE_NULLMAILER" = 1 ]; then
	if ! is_root; then
		note "drain C: nullmailer needs root (mount namespace); skipped"
	else
		nm=$D/nm
		nmt=$D/nm-template
		nm_setup "$nmt"
		if NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nmt" "$BENCH/loop.sh" "$SEED" "$msg" /usr/sbin/sendmail -t -i >/dev/null; then
			nm_setup "$nm" "127.0.0.1 smtp --port=$SINK_PORT"
			"$PY" "$BENCH/replicate.py" "$nmt/spool/nullmailer/queue" "$nm/spool/nullmailer/queue" "$N_DRAIN" --names nullmailer >/dev/null
			q=$nm/spool/nullmailer/queue
			m0=$(sink_stat mesg) s0=$(sink_stat sess)
			say "drain C: nullmailer-send -> smtp-sink, $N_DRAIN messages"
			t0=$EPOCHREALTIME
			NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" timeout 600 /usr/sbin/nullmailer-send > "$D/nullmailer-send.log" 2>&1 &
			nmpid=$!
			partial=
			# Polled every 0.25 s: listing the queue is not free.
			while ! is_empty "$q" && [ "${EPOCHREALTIME%.*}" -lt $((${t0%.*} + NM_DRAIN_TIMEOUT)) ]; do
				sleep 0.25
			done
			is_empty "$q" || partial=1
			t=$(elapsed "$t0")
			stop_pid "$nmpid"
			sleep 0.3
			sent=$(($(sink_stat mesg) - m0)) sess=$(($(sink_stat sess) - s0))
			left=$(count_files "$q") failed=$(count_files "$nm/spool/nullmailer/failed")
			say "nullmailer: ${t}s, sent $sent, $sess connections, $left left, $failed failed"
			[ "$failed" = 0 ] || note "drain C: nullmailer moved $failed messages to failed/: $(tail -n 2 "$D/nullmailer-send.log" | tr '\n' ' ')"
			r=$(rate "$sent" "$t")
			[ -z "$partial" ] || note "drain C: nullmailer-send stopped by design after ${NM_DRAIN_TIMEOUT}s with $left of $N_DRAIN still queued; its rate is over the $sent it sent (one connection and one process per message, so the rate is steady)"
			result drain.nullmailer "$r" msgs/s "drain $N_DRAIN: nullmailer-send -> smtp-sink (no TLS)" "${t}s, $sent sent, $sess SMTP connections${partial:+, stopped at ${NM_DRAIN_TIMEOUT}s}"
			result drain.nullmailer_conns "$sess" conns "drain: nullmailer SMTP connections (smtp-sink sess=)" ""
			result drain.ratio_nullmailer "$(ratio "$(getres drain.relayd)" "$r")" x "drain: ratio relayd in all / nullmailer (same sink)" "> 1: relayd faster"
			result drain.ratio_nullmailer_send "$(ratio "$(getres drain.relayd_send)" "$r")" x "drain: ratio relayd sending / nullmailer" "nullmailer's queue needs no pick-up"
			cmd "bench/nm-ns.sh NMDIR timeout 600 /usr/sbin/nullmailer-send   # /etc/nullmailer/remotes: 127.0.0.1 smtp --port=PORT; stopped by PID when queue/ is empty"
		else
			note "drain C: nullmailer's sendmail failed while seeding; skipped"
		fi
	fi
fi
[ "$HAVE_SMTP_SINK" = 1 ] && stop_pid "$SINK_PID"
cmd "time = from start until relayd --once exits (its queue/ and incoming/new/ are then checked empty) or until nullmailer's queue/ is empty"
exit 0
