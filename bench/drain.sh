#!/usr/bin/env bash
# bench/drain.sh: delivery throughput, every program in turn, DRAIN_ROUNDS (3)
# rounds. Each round, each program gets a fresh queue of N_DRAIN (10 000)
# 2 KB messages and the time until it has sent them is taken:
#   plain, to Postfix's smtp-sink on 127.0.0.1 (one sink for all):
#     nullrelay   ./relayd/relayd -f --once (tls = none, concurrency = 4):
#                 picks every drop file up from incoming/new, then sends
#     dma         dma -q (it forks one process and one connection per message)
#     nullmailer  nullmailer-send (one connection, one smtp process each)
#     postfix     master with the backlog in deferred/, then `postqueue -f`
#   STARTTLS + AUTH PLAIN, to bench/tls_sink.py (one sink for all), N_DRAIN_TLS
#   (3000) queued: nullrelay (verified chain and name: tls_ca_file = the bench
#   CA), dma (SECURETRANSFER STARTTLS), nullmailer (--starttls
#   --x509cafile), postfix (smtp_tls_security_level = encrypt, SASL).
# Connections are counted by the sinks (smtp-sink -c "sess=", tls_sink.py
# "sess="). relayd is bounded by DRAIN_TIMEOUT (240) seconds; the peers,
# whose rates are steady (a process or a connection per message; Postfix's
# qmgr at its default concurrency), by PEER_BOUND (12): a peer still going
# then is stopped and rated on what it delivered by then. The rate per round
# is messages the sink counted / seconds; the table has the median over the
# rounds, the spread, and the paired ratios.
#
# The queues are filled by the real submission programs, SEED (200) messages
# each, then copied byte for byte under fresh names up to N_DRAIN
# (bench/replicate*.py) and synced once: submitting 10 000 messages one by
# one with fsync would take minutes on this disk.
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
SEED=${SEED:-200}
DRAIN_ROUNDS=${DRAIN_ROUNDS:-3}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-240}
PEER_BOUND=${PEER_BOUND:-12}
N_DRAIN_TLS=${N_DRAIN_TLS:-3000}
D=$W/drain
mkdir -p "$D" && chmod 755 "$D"
[ "$SEED" -le "$N_DRAIN" ] || SEED=$N_DRAIN
msg=$D/msg2k.eml
msg2k "$msg"
[ "$HAVE_SMTP_SINK" = 1 ] || { note "drain: no smtp-sink (postfix package): drains skipped"; exit 0; }

# --- templates: SEED messages queued by each program's own submission path.
tmpl=$D/template
bench_spool "$tmpl" || exit 1
relay_conf "$D/seed.conf" "$tmpl"
"$BENCH/loop.sh" "$SEED" "$msg" "$SENDMAIL" -C "$D/seed.conf" -t -i >/dev/null ||
	{ note "drain: ./sendmail failed while seeding"; exit 1; }
peers=()
if is_root; then
	if [ "${HAVE_DMA:-0}" = 1 ]; then
		dma_setup "$D/dma-tmpl" "$D/dma-tmpl/spool" &&
		"$BENCH/dma-ns.sh" "$D/dma-tmpl" "$BENCH/loop.sh" "$SEED" "$msg" "$DMA" -t -i >/dev/null &&
		peers+=(dma) || note "drain: dma could not queue its seed messages; dma skipped"
	fi
	if [ "$HAVE_NULLMAILER" = 1 ]; then
		nm_setup "$D/nm-tmpl" &&
		NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$D/nm-tmpl" "$BENCH/loop.sh" "$SEED" "$msg" /usr/sbin/sendmail -t -i >/dev/null &&
		peers+=(nullmailer) || note "drain: nullmailer could not queue its seed messages; nullmailer skipped"
	fi
	if [ "${HAVE_POSTFIX:-0}" = 1 ]; then
		# Postfix queues them itself and, the transport held, defers them all.
		pft=$D/pf-tmpl
		pf_setup "$pft" 9 "defer_transports = smtp" && pf_start "$pft" &&
		pf_cmd "$pft" "$BENCH/loop.sh" "$SEED" "$msg" /usr/sbin/sendmail -t -i > /dev/null &&
		wait_until 60 eval "[ \"\$(find '$pft/spool/deferred' -type f | wc -l)\" -ge $SEED ]" &&
		peers+=(postfix) || note "drain: postfix could not defer its seed messages: $(tail -n 2 "$pft/maillog" | tr '\n' ' '); postfix skipped"
		pf_stop
	fi
else
	note "drain: dma, nullmailer and postfix need root (mount namespaces); skipped"
fi

# --- one drain of each kind. Each sets R_T (s), R_SENT, R_SESS, R_LEFT.
# sink counters: plain = smtp-sink, tls = tls_sink.py.
tls_stat() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$D/tls.stats" 2>/dev/null | grep . || echo 0; }
counter() { if [ "$1" = tls ]; then tls_stat "$2"; else sink_stat "$2"; fi; }
port_of() { if [ "$1" = tls ]; then echo "$tls_port"; else echo "$SINK_PORT"; fi; }
# settle KIND M0 S0: the sink's counts since M0/S0, after its last session ended.
settle() {
	sleep 0.5
	R_SENT=$(($(counter "$1" mesg) - $2)) R_SESS=$(($(counter "$1" sess) - $3))
}

drain_nullrelay() {
	local kind=$1 n=$2 tag=relayd-$1-$3 s=$D/spool-$1 m0 s0 t0 pid end conf=$D/relay-$1.conf
	rm -rf "$s"
	bench_spool "$s" &&
	"$PY" "$BENCH/replicate.py" "$tmpl/incoming/new" "$s/incoming/new" "$n" --names hex16 >/dev/null || return 1
	if [ "$kind" = tls ]; then
		relay_conf "$conf" "$s" "smarthost = 127.0.0.1:$tls_port" "tls = starttls" \
			"tls_ca_file = $certs/ca.pem" "auth_user = bench" "auth_password_file = $pwfile" "concurrency = 4"
	else
		relay_conf "$conf" "$s" "smarthost = 127.0.0.1:$SINK_PORT" "tls = none" "concurrency = 4"
	fi
	m0=$(counter "$kind" mesg) s0=$(counter "$kind" sess)
	t0=$EPOCHREALTIME
	"$RELAYD" -C "$conf" -f --once 2> "$D/$tag.log" &
	pid=$!
	# Polled every 0.25 s: listing 10 000 names is not free.
	end=$((${t0%.*} + DRAIN_TIMEOUT))
	R_TPICK=
	while _alive "$pid" && [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
		[ -n "$R_TPICK" ] || ! is_empty "$s/incoming/new" || R_TPICK=$(elapsed "$t0")
		sleep 0.25
	done
	if _alive "$pid"; then
		note "$tag: relayd --once still running after ${DRAIN_TIMEOUT}s: stopped (SIGTERM); rate = delivered so far"
		kill -TERM "$pid"
	fi
	R_T=$(elapsed "$t0")
	[ -n "$R_TPICK" ] || R_TPICK=$R_T
	wait_until 10 eval "! _alive $pid" || kill -KILL "$pid"
	wait "$pid"
	local rc=$?
	settle "$kind" "$m0" "$s0"
	R_LEFT=$(($(count_files "$s/incoming/new") + $(find "$s/queue" -name '*.msg' 2>/dev/null | wc -l)))
	[ "$rc" = 0 ] || note "$tag: relayd --once exited $rc: $(grep -v 'status=sent' "$D/$tag.log" | tail -n 3 | tr '\n' ' ')"
	[ "$R_LEFT" = 0 ] || note "$tag: $R_LEFT messages left in the spool"
	rm -rf "$s"
}

drain_dma() {
	local kind=$1 n=$2 tag=dma-$1-$3 m0 s0 t0 q=$D/dma-$1/spool extra=()
	[ "$kind" = tls ] && extra=(SECURETRANSFER STARTTLS "AUTHPATH $D/dma-auth.conf")
	rm -rf "$D/dma-$1"
	dma_setup "$D/dma-$1" "$q" "$(port_of "$kind")" "${extra[@]}" &&
	"$PY" "$BENCH/replicate_dma.py" "$D/dma-tmpl/spool" "$q" "$n" >/dev/null || return 1
	m0=$(counter "$kind" mesg) s0=$(counter "$kind" sess)
	t0=$EPOCHREALTIME
	"$BENCH/dma-ns.sh" "$D/dma-$1" "$DMA" -q > "$D/$tag.log" 2>&1
	while [ -n "$(find "$q" -maxdepth 1 -name 'Q*' -print -quit)" ] &&
		[ "${EPOCHREALTIME%.*}" -lt $((${t0%.*} + PEER_BOUND)) ]; do
		sleep 0.25
	done
	R_T=$(elapsed "$t0")
	# dma -q's children still running after the bound would load the next
	# measurements: they are ours (this exact binary), ended by PID.
	local p pids=()
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$DMA" ] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -eq 0 ] || { kill -TERM "${pids[@]}" 2>/dev/null; sleep 1; }
	settle "$kind" "$m0" "$s0"
	R_LEFT=$(find "$q" -maxdepth 1 -name 'Q*' | wc -l)
	rm -rf "$D/dma-$1"
}

drain_nullmailer() {
	local kind=$1 n=$2 tag=nullmailer-$1-$3 nm=$D/nm-$1 m0 s0 t0 pid q remote
	remote="127.0.0.1 smtp --port=$(port_of "$kind")"
	[ "$kind" = tls ] && remote="$remote --starttls --x509cafile=$certs/ca.pem --user=bench --pass=bench-secret"
	rm -rf "$nm"
	nm_setup "$nm" "$remote" && chmod 600 "$nm/etc/nullmailer/remotes" &&
	"$PY" "$BENCH/replicate.py" "$D/nm-tmpl/spool/nullmailer/queue" "$nm/spool/nullmailer/queue" "$n" --names nullmailer >/dev/null || return 1
	q=$nm/spool/nullmailer/queue
	m0=$(counter "$kind" mesg) s0=$(counter "$kind" sess)
	t0=$EPOCHREALTIME
	NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" timeout 600 /usr/sbin/nullmailer-send > "$D/$tag.log" 2>&1 &
	pid=$!
	while ! is_empty "$q" && [ "${EPOCHREALTIME%.*}" -lt $((${t0%.*} + PEER_BOUND)) ]; do
		sleep 0.25
	done
	R_T=$(elapsed "$t0")
	stop_pid "$pid"
	settle "$kind" "$m0" "$s0"
	R_LEFT=$(count_files "$q")
	local failed
	failed=$(count_files "$nm/spool/nullmailer/failed")
	[ "$failed" = 0 ] || note "$tag: nullmailer moved $failed messages to failed/: $(grep -v -i 'sent' "$D/$tag.log" | tail -n 2 | tr '\n' ' ')"
	rm -rf "$nm"
}

drain_postfix() {
	local kind=$1 n=$2 tag=postfix-$1-$3 pf=$D/pf-$1 m0 s0 t0 extra=()
	[ "$kind" = tls ] && extra=("smtp_tls_security_level = encrypt" "smtp_sasl_auth_enable = yes"
		"smtp_sasl_password_maps = static:bench:bench-secret" "smtp_sasl_security_options = noanonymous"
		"smtp_sasl_tls_security_options = noanonymous")
	rm -rf "$pf"
	pf_setup "$pf" "$(port_of "$kind")" "${extra[@]}" &&
	"$PY" "$BENCH/replicate_pf.py" "$pft/spool/deferred" "$pf/spool/deferred" "$n" >/dev/null &&
	pf_start "$pf" || return 1
	m0=$(counter "$kind" mesg) s0=$(counter "$kind" sess)
	t0=$EPOCHREALTIME
	pf_cmd "$pf" /usr/sbin/postqueue -f
	while [ "$(pf_count "$pf")" != 0 ] && [ "${EPOCHREALTIME%.*}" -lt $((${t0%.*} + PEER_BOUND)) ]; do
		sleep 0.25
	done
	R_T=$(elapsed "$t0")
	pf_stop
	settle "$kind" "$m0" "$s0"
	R_LEFT=$(pf_count "$pf")
	grep -q 'status=sent' "$pf/maillog" ||
		note "$tag: postfix sent nothing: $(grep -E 'warning|fatal|status=' "$pf/maillog" | tail -n 2 | tr '\n' ' ')"
	cp "$pf/maillog" "$D/$tag.maillog" 2>/dev/null
	rm -rf "$pf"
}

# run_rounds KIND N PROGRAM...: DRAIN_ROUNDS rounds, every program in turn;
# per program the rates (sent / s) in $D/KIND.rate.PROG, one line a round.
run_rounds() {
	local kind=$1 n=$2 r p; shift 2
	for ((r = 1; r <= DRAIN_ROUNDS; r++)); do
		for p in "$@"; do
			R_T= R_SENT=0 R_SESS=0 R_LEFT=$n R_TPICK=
			if "drain_$p" "$kind" "$n" "$r"; then
				printf '%s\n' "$(rate "$R_SENT" "$R_T")" >> "$D/$kind.rate.$p"
				printf '%s %s %s %s %s\n' "$R_T" "$R_SENT" "$R_SESS" "$R_LEFT" "${R_TPICK:--}" >> "$D/$kind.raw.$p"
				say "drain $kind round $r/$DRAIN_ROUNDS $p: ${R_T}s, sent $R_SENT of $n, $R_SESS connections, $R_LEFT left${R_TPICK:+, pick-up ${R_TPICK}s}"
				[ "$R_SENT" -le "$n" ] || note "drain $kind $p: the sink counted $R_SENT messages for $n queued"
			else
				note "drain $kind $p round $r: could not run (queue fill or start failed)"
				printf -- '-\n' >> "$D/$kind.rate.$p"
				printf -- '- 0 0 %s -\n' "$n" >> "$D/$kind.raw.$p"
			fi
		done
	done
}
# col FILE K: column K of FILE, one value a line.
col() { awk -v k="$2" '{ print $k }' "$1" 2>/dev/null; }
# report_kind KIND N FIG LABEL: the figures of one kind of drain.
report_kind() {
	local kind=$1 n=$2 fig=$3 lab=$4 p peer m lo hi k bounded
	peer_row "$fig" hi "$lab"
	for p in nullrelay "${peers[@]}"; do
		[ -s "$D/$kind.rate.$p" ] || continue
		mapfile -t rates < "$D/$kind.rate.$p"
		peer_fig "$fig" "$p" msgs/s "${rates[@]}"
		read -r m lo hi k <<<"$(stats "${rates[@]}")"
		bounded=$(awk -v n="$n" '$4 + 0 > 0 { b++ } END { print b + 0 }' "$D/$kind.raw.$p")
		result "drain.$kind.$p" "$m" msgs/s "drain $kind $n: $p" \
			"median of $k rounds, $lo-$hi; sent $(col "$D/$kind.raw.$p" 2 | tr '\n' ' ')in $(col "$D/$kind.raw.$p" 1 | tr '\n' ' ')s; conns $(col "$D/$kind.raw.$p" 3 | tr '\n' ' ')$([ "$bounded" = 0 ] || echo "; stopped at ${PEER_BOUND}s in $bounded")"
		[ "$bounded" = 0 ] || [ "$p" = nullrelay ] ||
			note "drain $kind: $p had not sent all $n after ${PEER_BOUND}s in $bounded of $k rounds; rated on what it sent by then"
	done
	if [ -s "$D/$kind.raw.nullrelay" ]; then
		local picks=() sends=()
		mapfile -t picks < <(awk -v n="$n" '$1 != "-" && $5 != "-" && $5 > 0 { printf "%.1f\n", n / $5 }' "$D/$kind.raw.nullrelay")
		mapfile -t sends < <(awk '$1 != "-" && $5 != "-" && $1 - $5 > 0 { printf "%.1f\n", $2 / ($1 - $5) }' "$D/$kind.raw.nullrelay")
		read -r m lo hi k <<<"$(stats "${picks[@]}")"
		result "drain.$kind.nullrelay_pickup" "$m" msgs/s "  nullrelay: of which pick-up (incoming/new/ empty)" "median of $k, $lo-$hi"
		read -r m lo hi k <<<"$(stats "${sends[@]}")"
		result "drain.$kind.nullrelay_send" "$m" msgs/s "  nullrelay: of which sending (after pick-up)" "median of $k, $lo-$hi"
	fi
}

# --- plain: one smtp-sink for every program.
sink_start "$D/sink" || exit 1
cmd "# 3. drain: $DRAIN_ROUNDS rounds, each program in turn, a fresh queue each: N x 2 KB, $SEED made by the program's own submission, the rest byte-identical copies under fresh names (bench/replicate*.py), then sync"
cmd "$SINK_CMD &"
run_rounds plain "$N_DRAIN" nullrelay "${peers[@]}"
stop_pid "$SINK_PID"
report_kind plain "$N_DRAIN" drain_plain "drain plain, $N_DRAIN queued (msgs/s)"
cmd "./relayd/relayd -C CONF -f --once   # CONF: spool = SPOOL, user = $(relay_user), smarthost = 127.0.0.1:PORT, tls = none, concurrency = 4"
cmd "bench/dma-ns.sh DMADIR /usr/sbin/dma -q   # dma.conf: NULLCLIENT, SMARTHOST 127.0.0.1, PORT PORT, INSECURE, SPOOLDIR; until no Q file is left"
cmd "bench/nm-ns.sh NMDIR timeout 600 /usr/sbin/nullmailer-send   # /etc/nullmailer/remotes: 127.0.0.1 smtp --port=PORT; stopped by PID when queue/ is empty"
cmd "bench/pf-ns.sh PFDIR /usr/lib/postfix/sbin/master -d; bench/pf-ns.sh PFDIR postqueue -f   # relayhost = [127.0.0.1]:PORT; until incoming/active/deferred are empty"

# --- STARTTLS + AUTH: one tls_sink.py for every program.
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
	printf 'bench|127.0.0.1:bench-secret\n' > "$D/dma-auth.conf"
	is_root && chown root:mail "$D/dma-auth.conf" && chmod 640 "$D/dma-auth.conf"
	tls_port=$(free_port)
	timeout 1200 "$PY" "$BENCH/tls_sink.py" --port "$tls_port" --cert "$certs/sink.pem" --key "$certs/sink.key" \
		--user bench --password bench-secret --stats "$D/tls.stats" --timeout-total 1190 2> "$D/tls_sink.err" &
	tls_pid=$!
	if wait_until 10 eval "ss -Hltn 'sport = :$tls_port' | grep -q LISTEN"; then
		run_rounds tls "$N_DRAIN_TLS" nullrelay "${peers[@]}"
		report_kind tls "$N_DRAIN_TLS" drain_tls "drain TLS+AUTH, $N_DRAIN_TLS queued (msgs/s)"
		result drain.tls.auth "$(tls_stat auth)" logins "drain tls: AUTH accepted by the sink, all programs" "$(tls_stat fail) refused; $(tls_stat sess) sessions"
		cmd "timeout 1200 /usr/bin/python3 bench/tls_sink.py --port PORT --cert sink.pem --key sink.key --user bench --password bench-secret --stats FILE &"
		cmd "./relayd/relayd -C CONF -f --once   # CONF: ... tls = starttls, tls_ca_file = ca.pem, auth_user = bench, auth_password_file = FILE (0600, $(relay_user)), concurrency = 4"
		cmd "bench/dma-ns.sh DMADIR /usr/sbin/dma -q   # dma.conf adds SECURETRANSFER, STARTTLS, AUTHPATH (bench|127.0.0.1:bench-secret); dma does not verify the certificate"
		cmd "bench/nm-ns.sh NMDIR nullmailer-send   # remotes: 127.0.0.1 smtp --port=PORT --starttls --x509cafile=ca.pem --user=bench --pass=..."
		cmd "postfix: main.cf adds smtp_tls_security_level = encrypt (no verification, as dma), smtp_sasl_auth_enable = yes, smtp_sasl_password_maps = static:bench:..."
	else
		note "drain tls: tls_sink.py did not start: $(tail -n 3 "$D/tls_sink.err" | tr '\n' ' ')"
	fi
	stop_pid "$tls_pid"
else
	note "drain tls: openssl could not make the test certificates; TLS drain skipped"
fi
cmd "time = from start until the queue is empty (relayd --once: until it exits, its queue/ and incoming/new/ then checked empty), or the peer's bound"
exit 0
