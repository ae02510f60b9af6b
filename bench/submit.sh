#!/usr/bin/env bash
# bench/submit.sh: submission rate. N_SUBMIT (1000) sequential launches of
#   ./sendmail -C CONF -t -i < msg2k.eml      into a scratch spool (mkspool)
#   floor DIR < msg2k.eml                     bench/floor.c: O_EXCL create,
#                                             write, fsync, rename, fsync dir
#   nullmailer's sendmail -t -i < msg2k.eml   (if root and unpacked)
#   dma -t -i < msg2k.eml                     (if root and unpacked; DEFER:
#                                             queued only, as sendmail is)
# all through the same bash loop (bench/loop.sh). The machine is shared (other
# jobs come and go), so the N_SUBMIT runs of each are split into BLOCKS
# blocks taken in turn (nullrelay, floor, nullmailer, nullrelay, ...): a
# burst of load falls on all three alike. Rate = N_SUBMIT / sum of blocks.
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

use_nm=0
if [ "$HAVE_NULLMAILER" = 1 ]; then
	if is_root; then use_nm=1; else note "nullmailer submission: skipped (needs root for its mount namespace)"; fi
fi

use_dma=0
if [ "${HAVE_DMA:-0}" = 1 ]; then
	if is_root; then use_dma=1; else note "dma submission: skipped (needs root for its mount namespace)"; fi
fi

s=$D/spool f=$D/floor nm=$D/nm dm=$D/dma
[ $use_dma = 1 ] && dma_setup "$dm" "$dm/spool"
bench_spool "$s" || exit 1
relay_conf "$D/relay.conf" "$s"
mkdir -p "$f/tmp" "$f/new"
[ $use_nm = 1 ] && nm_setup "$nm"
# One untimed submission each: page cache, first-use costs.
"$SENDMAIL" -C "$D/relay.conf" -t -i < "$msg" || { note "./sendmail failed on a trial submission: $("$SENDMAIL" -C "$D/relay.conf" -t -i < "$msg" 2>&1)"; exit 1; }
"$W/bin/floor" "$f" < "$msg" || exit 1
if [ $use_nm = 1 ] && ! NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" /usr/sbin/sendmail -t -i < "$msg"; then
	note "nullmailer's sendmail failed in its scratch prefix; not compared"
	use_nm=0
fi

if [ $use_dma = 1 ] && ! "$BENCH/dma-ns.sh" "$dm" "$DMA" -t -i < "$msg"; then
	note "dma failed in its scratch prefix; not compared"
	use_dma=0
fi

t_nr=0 t_fl=0 t_nm=0 t_dma=0
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'; }
for ((b = 1; b <= BLOCKS; b++)); do
	t=$("$BENCH/loop.sh" "$per" "$msg" "$SENDMAIL" -C "$D/relay.conf" -t -i) || { note "./sendmail loop failed"; exit 1; }
	t_nr=$(add "$t_nr" "$t")
	t=$("$BENCH/loop.sh" "$per" "$msg" "$W/bin/floor" "$f") || { note "floor loop failed"; exit 1; }
	t_fl=$(add "$t_fl" "$t")
	if [ $use_nm = 1 ]; then
		if t=$(NM_TREE=$NM_TREE "$BENCH/nm-ns.sh" "$nm" "$BENCH/loop.sh" "$per" "$msg" /usr/sbin/sendmail -t -i); then
			t_nm=$(add "$t_nm" "$t")
		else
			note "nullmailer submission failed in block $b; not compared"
			use_nm=0
		fi
	fi
	if [ $use_dma = 1 ]; then
		if t=$("$BENCH/dma-ns.sh" "$dm" "$BENCH/loop.sh" "$per" "$msg" "$DMA" -t -i); then
			t_dma=$(add "$t_dma" "$t")
		else
			note "dma submission failed in block $b; not compared"
			use_dma=0
		fi
	fi
	say "submit block $b/$BLOCKS: nullrelay ${t_nr}s floor ${t_fl}s nullmailer ${t_nm}s dma ${t_dma}s (cumulative)"
done

n=$(count_files "$s/incoming/new")
[ "$n" = $((n_total + 1)) ] || note "submission: $n drop files in nullrelay's spool, expected $((n_total + 1))"
n=$(count_files "$f/new")
[ "$n" = $((n_total + 1)) ] || note "submission: $n files in the floor's new/, expected $((n_total + 1))"
if [ $use_nm = 1 ]; then
	n=$(count_files "$nm/spool/nullmailer/queue")
	[ "$n" = $((n_total + 1)) ] || note "submission: $n files in nullmailer's queue, expected $((n_total + 1))"
fi
ms() { awk -v t="$1" -v n="$n_total" 'BEGIN { printf "%.2f ms each", 1000 * t / n }'; }

nr=$(rate "$n_total" "$t_nr")
fl=$(rate "$n_total" "$t_fl")
result submit.nullrelay "$nr" msgs/s "submit 2 KB x$n_total: nullrelay ./sendmail -t -i" "${t_nr}s, $(ms "$t_nr")"
result submit.floor "$fl" msgs/s "submit 2 KB x$n_total: floor (create,fsync,rename,fsync)" "${t_fl}s, $(ms "$t_fl")"
result submit.ratio_floor "$(ratio "$nr" "$fl")" x "submit: ratio nullrelay / floor" "1.00 = as fast as the floor"
if [ $use_nm = 1 ]; then
	nm_r=$(rate "$n_total" "$t_nm")
	result submit.nullmailer "$nm_r" msgs/s "submit 2 KB x$n_total: nullmailer sendmail -t -i" "${t_nm}s, $(ms "$t_nm")"
	result submit.ratio_nullmailer "$(ratio "$nr" "$nm_r")" x "submit: ratio nullrelay / nullmailer" "> 1: nullrelay faster"
fi
if [ $use_dma = 1 ]; then
	dma_r=$(rate "$n_total" "$t_dma")
	result submit.dma "$dma_r" msgs/s "submit 2 KB x$n_total: dma -t -i (DEFER)" "${t_dma}s, $(ms "$t_dma")"
	result submit.ratio_dma "$(ratio "$nr" "$dma_r")" x "submit: ratio nullrelay / dma" "> 1: nullrelay faster"
fi
result submit.floor_over_nullrelay "$(ratio "$fl" "$nr")" x "submit: nullrelay time / floor time" "target <= 1.10"

cmd "# 1. submission: $BLOCKS blocks of $per, taken in turn; msg2k.eml = To: + Subject: + body, 2048 bytes"
cmd "build/tests/tools/mkspool SPOOL $(relay_user)   # CONF: spool = SPOOL, user = $(relay_user), smarthost = 127.0.0.1:9, tls = none"
cmd "bench/loop.sh $per msg2k.eml ./sendmail -C CONF -t -i"
cmd "bench/loop.sh $per msg2k.eml \$W/bin/floor DIR            # cc -O2 bench/floor.c"
[ $use_nm = 1 ] && cmd "bench/nm-ns.sh NMDIR bench/loop.sh $per msg2k.eml /usr/sbin/sendmail -t -i   # nullmailer in a mount namespace"
[ $use_dma = 1 ] && cmd "bench/dma-ns.sh DMADIR bench/loop.sh $per msg2k.eml /usr/sbin/dma -t -i   # dma.conf: NULLCLIENT, SMARTHOST 127.0.0.1, PORT 9, DEFER, SPOOLDIR"
exit 0
