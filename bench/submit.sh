#!/usr/bin/env bash
# bench/submit.sh: submission rate. N_SUBMIT (500) sequential launches each of
#   nullrelay   ./sendmail -C CONF -t -i < msg2k.eml  into a scratch spool
#   floor       bench/floor.c: O_EXCL create, write, fsync, rename, fsync dir
#   floor-libs  the same floor linked (--no-as-needed) with every shared
#               library ./sendmail loads, so its exec + dynamic linking costs
#               what sendmail's does (only when sendmail needs more than libc)
#   floor-static the same floor linked -static-pie, when ./sendmail is
#               (make STATIC=1, the default): the like-for-like exec cost
#   nullmailer  its sendmail -t -i (-> nullmailer-inject -> nullmailer-queue)
#   dma         dma -t -i with DEFER (queued only, as sendmail is)
#   postfix     its sendmail -t -i (-> postdrop into maildrop/; master not
#               running, as relayd is not: queued only)
# all through the same bash loop (bench/loop.sh), the peers inside their
# mount namespaces (one namespace per block: the loop runs in it). The
# machine is shared (other jobs come and go), so the runs are split into
# BLOCKS (10) rounds taken in turn (nullrelay, floor, ..., postfix,
# nullrelay, ...): a burst of load falls on all alike. Each round gives a
# rate per program; the table has their median and spread, and the ratios
# nullrelay/peer are the medians of the per-round ratios (paired).
# Every spool is on the same file system.
. "$(dirname "$0")/lib.sh"
. "$W/peers.env"
BLOCKS=${BLOCKS:-10}

D=$W/submit
mkdir -p "$D" && chmod 755 "$D"
msg=$D/msg2k.eml
msg2k "$msg"
per=$((N_SUBMIT / BLOCKS))
n_total=$((per * BLOCKS))

s=$D/spool f=$D/floor fl=$D/floor-libs nm=$D/nm dm=$D/dma pf=$D/pf
bench_spool "$s" || exit 1
relay_conf "$D/relay.conf" "$s"
mkdir -p "$f/tmp" "$f/new" "$fl/tmp" "$fl/new"

# The shared libraries ./sendmail loads besides libc (and the vdso/ld.so).
libs=$(ldd "$SENDMAIL" | awk '$2 == "=>" { print $1 }' | grep -v '^libc\.so' | sed -n 's/^lib\([^.]*\)\.so.*/-l\1/p' | tr '\n' ' ')
use_fl=0 use_fs=0
if [ -n "$libs" ]; then
	# shellcheck disable=SC2086
	cc -std=c11 -D_GNU_SOURCE -O2 -o "$W/bin/floor-libs" "$BENCH/floor.c" -Wl,--no-as-needed $libs &&
		use_fl=1 || note "submit: cannot link the floor with $libs; floor-libs not measured"
elif ldd "$SENDMAIL" 2>&1 | grep -Eq 'statically linked|not a dynamic executable'; then
	# A static ./sendmail (make STATIC=1, the default) maps no ld.so and no
	# shared libc; the floor linked the same way is the like-for-like row.
	cc -std=c11 -D_GNU_SOURCE -O2 -static-pie -o "$W/bin/floor-static" "$BENCH/floor.c" &&
		use_fs=1 || note "submit: cannot link the floor with -static-pie; floor-static not measured"
else
	note "submit: ./sendmail loads no shared library but libc, like the floor: no floor-libs row"
fi

progs=(nullrelay floor)
[ $use_fl = 1 ] && progs+=(floor-libs)
[ $use_fs = 1 ] && progs+=(floor-static)
if is_root; then
	[ "$HAVE_NULLMAILER" = 1 ] && nm_setup "$nm" && progs+=(nullmailer)
	[ "${HAVE_DMA:-0}" = 1 ] && dma_setup "$dm" "$dm/spool" && progs+=(dma)
	[ "${HAVE_POSTFIX:-0}" = 1 ] && pf_setup "$pf" 9 && progs+=(postfix)
else
	note "submission: nullmailer, dma and postfix skipped (they need root for their mount namespaces)"
fi

# run PROG N: N submissions by PROG through bench/loop.sh; prints seconds.
run() {
	case $1 in
	nullrelay) "$BENCH/loop.sh" "$2" "$msg" "$SENDMAIL" -C "$D/relay.conf" -t -i ;;
	floor) "$BENCH/loop.sh" "$2" "$msg" "$W/bin/floor" "$f" ;;
	floor-libs) "$BENCH/loop.sh" "$2" "$msg" "$W/bin/floor-libs" "$fl" ;;
	floor-static) "$BENCH/loop.sh" "$2" "$msg" "$W/bin/floor-static" "$fl" ;;
	nullmailer) NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" "$BENCH/loop.sh" "$2" "$msg" /usr/sbin/sendmail -t -i ;;
	dma) "$BENCH/dma-ns.sh" "$dm" "$BENCH/loop.sh" "$2" "$msg" "$DMA" -t -i ;;
	# postdrop warns on each message that pickup is not there to be woken.
	postfix) pf_cmd "$pf" "$BENCH/loop.sh" "$2" "$msg" /usr/sbin/sendmail -t -i 2>> "$D/postfix.err" ;;
	esac
}
# count PROG: the messages PROG has queued.
count() {
	case $1 in
	nullrelay) count_files "$s/incoming/new" ;;
	floor) count_files "$f/new" ;;
	floor-libs | floor-static) count_files "$fl/new" ;;
	nullmailer) count_files "$nm/spool/nullmailer/queue" ;;
	dma) find "$dm/spool" -maxdepth 1 -name 'Q*' | wc -l ;;
	postfix) count_files "$pf/spool/maildrop" ;;
	esac
}

# One untimed submission each: page cache, first-use costs.
ok=()
for p in "${progs[@]}"; do
	if run "$p" 1 >/dev/null 2> "$D/$p.trial"; then ok+=("$p"); else note "submit: $p failed on a trial submission: $(tail -n 2 "$D/$p.trial" | tr '\n' ' ')"; fi
done
progs=("${ok[@]}")
[ "${progs[0]:-}" = nullrelay ] || { note "submit: ./sendmail failed; no submission figures"; exit 1; }

for ((b = 1; b <= BLOCKS; b++)); do
	line="submit round $b/$BLOCKS:"
	for p in "${progs[@]}"; do
		if t=$(run "$p" "$per"); then
			printf '%s\n' "$t" >> "$D/t.$p"
			line="$line $p ${t}s"
		else
			note "submit: $p failed in round $b"
			printf -- '-\n' >> "$D/t.$p"
		fi
	done
	say "$line"
done

label() {
	case $1 in
	nullrelay) echo "nullrelay ./sendmail -t -i" ;;
	floor) echo "floor (create,fsync,rename,fsync)" ;;
	floor-libs) echo "floor linked like sendmail ($libs)" ;;
	floor-static) echo "floor linked like sendmail (-static-pie)" ;;
	nullmailer) echo "nullmailer sendmail -t -i" ;;
	dma) echo "dma -t -i (DEFER)" ;;
	postfix) echo "postfix sendmail -t -i (postdrop)" ;;
	esac
}
peer_row submit hi "submit 2 KB, sequential (msgs/s)"
for p in "${progs[@]}"; do
	n=$(count "$p")
	[ "$n" = $((n_total + 1)) ] || note "submit: $p queued $n messages, expected $((n_total + 1))"
	mapfile -t ts < "$D/t.$p"
	rates=()
	for t in "${ts[@]}"; do rates+=("$(rate "$per" "$t")"); done
	read -r m lo hi k <<<"$(stats "${rates[@]}")"
	tot=$(printf '%s\n' "${ts[@]}" | awk '$1 != "-" { s += $1 } END { printf "%.3f", s }')
	result "submit.$p" "$m" msgs/s "submit 2 KB x$n_total: $(label "$p")" \
		"median of $k rounds of $per, $lo-$hi; $(awk -v t="$tot" -v n="$n_total" 'BEGIN { printf "%.2f ms each over all", 1000 * t / n }')"
	peer=$p
	[ "$p" = floor-libs ] && peer=floor_libs
	[ "$p" = floor-static ] && peer=floor_static
	peer_fig submit "$peer" msgs/s "${rates[@]}"
done
# Time per message, nullrelay / floor, paired per round.
pair() {
	paste -d ' ' "$D/t.nullrelay" "$D/t.$1" | awk '$1 != "-" && $2 != "-" && $2 > 0 { print $1 / $2 }'
}
read -r m lo hi k <<<"$(stats $(pair floor))"
result submit.time_over_floor "$(printf '%.2f' "$m")" x "submit: nullrelay time / floor time" "median of $k paired rounds, $(printf '%.2f-%.2f' "$lo" "$hi"); target <= 1.10"
if [ -s "$D/t.floor-libs" ]; then
	read -r m lo hi k <<<"$(stats $(pair floor-libs))"
	result submit.time_over_floor_libs "$(printf '%.2f' "$m")" x "submit: nullrelay time / floor-libs time" "median of $k paired rounds, $(printf '%.2f-%.2f' "$lo" "$hi"); same exec + shared libraries"
fi
if [ -s "$D/t.floor-static" ]; then
	read -r m lo hi k <<<"$(stats $(pair floor-static))"
	result submit.time_over_floor_static "$(printf '%.2f' "$m")" x "submit: nullrelay time / floor-static time" "median of $k paired rounds, $(printf '%.2f-%.2f' "$lo" "$hi"); both static-pie"
fi

cmd "# 1. submission: $BLOCKS rounds of $per per program, taken in turn; msg2k.eml = To: + Subject: + body, 2048 bytes"
cmd "build/tests/tools/mkspool SPOOL $(relay_user)   # CONF: spool = SPOOL, user = $(relay_user), smarthost = 127.0.0.1:9, tls = none"
cmd "bench/loop.sh $per msg2k.eml ./sendmail -C CONF -t -i"
cmd "bench/loop.sh $per msg2k.eml \$W/bin/floor DIR            # cc -O2 bench/floor.c"
[ $use_fl = 1 ] && cmd "bench/loop.sh $per msg2k.eml \$W/bin/floor-libs DIR       # cc -O2 bench/floor.c -Wl,--no-as-needed $libs"
[ $use_fs = 1 ] && cmd "bench/loop.sh $per msg2k.eml \$W/bin/floor-static DIR     # cc -O2 -static-pie bench/floor.c (./sendmail is static-pie)"
cmd "bench/nm-ns.sh NMDIR bench/loop.sh $per msg2k.eml /usr/sbin/sendmail -t -i   # nullmailer in a mount namespace"
cmd "bench/dma-ns.sh DMADIR bench/loop.sh $per msg2k.eml /usr/sbin/dma -t -i   # dma.conf: NULLCLIENT, SMARTHOST 127.0.0.1, PORT 9, DEFER, SPOOLDIR"
cmd "bench/pf-ns.sh PFDIR bench/loop.sh $per msg2k.eml /usr/sbin/sendmail -t -i   # postfix: main.cf from pf_setup (bench/lib.sh), master stopped"
exit 0
