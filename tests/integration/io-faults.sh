#!/usr/bin/env bash
# I/O fault injection (issue 14, SPEC §5.1, §5.6, §9): tests/lib/iofault.c
# fails the N-th write/pwrite/fsync/fdatasync/rename/link/unlink/open-for-
# writing with EIO, ENOSPC or EDQUOT (in turn), for every N along
# - one submission (sendmail as a test user): exit 0 and the message is
#   delivered, or 73/74 with one stderr line and nothing in incoming/new;
# - one relayd --once pick-up + send, and one pick-up + send + bounce:
#   after a second, fault-free run the message (and its bounce) arrived
#   (never lost, at most once more than once), nothing is left queued,
#   and a fault that kept the message from going out the first time is
#   named in the log.
# Each fault is one call: the next call succeeds, so "the fault clears".
# Also: short preads while relayd streams a body (the send buffer bound).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay io-faults || exit 0
# The shim needs dynamic programs (a static build's are in $BUILD/dyn).
SENDMAIL=$(shim_bin "$SENDMAIL") RELAYD=$(shim_bin "$RELAYD")
if ! command -v cc >/dev/null || ! cc -shared -fPIC -o "$T/iofault.so" "$TOP/tests/lib/iofault.c" 2>"$T/cc.err"; then
	skip "io-faults: cannot build the shim ($(head -c 200 "$T/cc.err"))"
	exit 0
fi
chmod 755 "$T/iofault.so"
asan=$(ldd "$RELAYD" 2>/dev/null | awk '/libasan/ { print $3 }')
PRELOAD="${asan:+$asan }$T/iofault.so"
ERRNOS=(EIO ENOSPC EDQUOT)
SUBMITTER=$( is_root && echo "$TEST_USER1" || id -un )
run_as() { if is_root; then as_user "$SUBMITTER" "$@"; else "$@"; fi; }
newcounter() { head -c 8 /dev/zero > "$T/counter"; chmod 666 "$T/counter"; }
count() { od -An -t u8 "$T/counter" | tr -d ' '; }
errtext() { case $1 in EIO) echo "Input/output error" ;; ENOSPC) echo "No space left on device" ;; EDQUOT) echo "Disk quota exceeded" ;; esac; }

# ---- 1. one submission ------------------------------------------------------
relay_new sub
sh_start sh-sub '{"default": "accept"}'
relay_conf
SM=$(public_sendmail)
newcounter
test_message sub0 > "$RD/msg0"
run_as env LD_PRELOAD="$PRELOAD" IOFAULT_COUNTER="$T/counter" IOFAULT_N=0 NULLRELAY_CONF="$RC" \
	"$SM" -f s@example.org r@example.org < "$RD/msg0"
CSUB=$(count)
check "submission: the shim counts the calls of one clean submission ($CSUB)" [ "$CSUB" -ge 5 ]
rm -f "$RS"/incoming/new/*
accepted=0 bad=0 partial=0 noline=0
for n in $(seq 1 "$CSUB"); do
	e=${ERRNOS[$(( n % 3 ))]}
	newcounter
	before=$(ls "$RS/incoming/new" | wc -l)
	test_message "sub$n" > "$RD/msg"
	run_as env LD_PRELOAD="$PRELOAD" IOFAULT_COUNTER="$T/counter" IOFAULT_N="$n" IOFAULT_ERRNO="$e" \
		NULLRELAY_CONF="$RC" "$SM" -f s@example.org r@example.org < "$RD/msg" 2>"$RD/err"
	rc=$?
	after=$(ls "$RS/incoming/new" | wc -l)
	case $rc in
	0) [ "$after" = $((before + 1)) ] || { bad=$((bad + 1)); echo "N=$n: exit 0 but $before -> $after drop files"; }
	   accepted=$((accepted + 1)) ;;
	73|74) [ "$after" = "$before" ] || { partial=$((partial + 1)); echo "N=$n: exit $rc left a drop file"; }
	   [ "$(wc -l < "$RD/err")" = 1 ] || { noline=$((noline + 1)); echo "N=$n: stderr: $(cat "$RD/err")"; } ;;
	*) bad=$((bad + 1)); echo "N=$n ($e): exit $rc: $(cat "$RD/err")" ;;
	esac
done
check "submission: $CSUB fault points, each exit 0 or 73/74 ($accepted accepted)" [ "$bad" = 0 ]
check "submission: a failed submission never leaves a drop file in incoming/new" [ "$partial" = 0 ]
check "submission: a failed submission prints one line on stderr" [ "$noline" = 0 ]
relayd_once
wait_for 10 eval "[ \"\$(sh_count sh-sub)\" -ge $accepted ]"
check "submission: every accepted message was delivered ($(sh_count sh-sub) of $accepted)" \
	[ "$(sh_count sh-sub)" = "$accepted" ]
check "submission: nothing left queued ($(ls "$RS/queue" "$RS/incoming/new" | tr '\n' ' '))" \
	eval "[ -z \"\$(find '$RS/queue' '$RS/incoming/new' -type f)\" ]"

# ---- 2./3. relayd: pick-up + send, and pick-up + send + bounce ---------------
# relay_case NAME RCPT...: CREL = calls of one clean --once run; then every N.
relay_case() {
	local name=$1; shift
	local n e lost=0 stuck=0 dup=0 silent=0 base copies bcopies quar=0 crel
	local port
	sh_start "sh-$name" '{"rcpt_replies": {"bad@example.org": "550 5.1.1 no such user"}}'
	port=$SH_PORT
	relay_new "$name-count"
	SH_PORT=$port
	relay_conf "bounce_local = relay" "admin_addr = admin@example.org"
	submit -f "s@example.org" "$@" < <(test_message "$name-0")
	newcounter
	LD_PRELOAD="$PRELOAD" IOFAULT_COUNTER="$T/counter" IOFAULT_N=0 relayd_once
	crel=$(count)
	check "$name: the shim counts the calls of one clean relayd --once ($crel)" [ "$crel" -ge 5 ]
	for n in $(seq 1 "$crel"); do
		e=${ERRNOS[$(( n % 3 ))]}
		relay_new "$name-$n"
		SH_PORT=$port
		relay_conf "bounce_local = relay" "admin_addr = admin@example.org"
		submit -f "s@example.org" "$@" < <(test_message "$name-$n")
		newcounter
		base=$(grep -lP "^Subject: $name-$n\r?\$" "$T/sh-$name"/mail/*.eml 2>/dev/null | wc -l)
		LD_PRELOAD="$PRELOAD" IOFAULT_COUNTER="$T/counter" IOFAULT_N="$n" IOFAULT_ERRNO="$e" \
			IOFAULT_LOG="$RS/iofault.log" relayd_once
		cp "$RL" "$RD/faulted.log"
		first=$(grep -lP "^Subject: $name-$n\r?\$" "$T/sh-$name"/mail/*.eml 2>/dev/null | wc -l)
		# The fault cleared: retry whatever it deferred, now.
		"$RELAYD" -C "$RC" --retry ALL >/dev/null 2>&1
		relayd_once
		copies=$(grep -lP "^Subject: $name-$n\r?\$" "$T/sh-$name"/mail/*.eml 2>/dev/null | xargs -r grep -L '^Content-Type: multipart/report' | wc -l)
		bcopies=$(grep -lP "^Subject: $name-$n\r?\$" "$T/sh-$name"/mail/*.eml 2>/dev/null | xargs -r grep -l '^Content-Type: multipart/report' | wc -l)
		if [ "$copies" -lt 1 ] || { [ "$name" = bounce ] && [ "$bcopies" -lt 1 ] && [ -z "$(ls "$RS/failed")" ]; }; then
			lost=$((lost + 1)); echo "N=$n ($e, $(cat "$RS/iofault.log" 2>/dev/null)): lost (copies $copies, bounces $bcopies)"
		fi
		[ "$copies" -gt 1 ] && { dup=$((dup + 1)); echo "N=$n ($e, $(cat "$RS/iofault.log" 2>/dev/null)): $copies copies"; }
		if [ -n "$(find "$RS/queue" "$RS/incoming/new" -type f)" ]; then
			stuck=$((stuck + 1)); echo "N=$n ($e, $(cat "$RS/iofault.log" 2>/dev/null)): still queued: $(find "$RS/queue" "$RS/incoming/new" -type f | tr '\n' ' ')"
			sed 's/^/    /' "$RL"
		fi
		[ -n "$(ls "$RS/quarantine")" ] && { quar=$((quar + 1)); echo "N=$n ($e): quarantined"; }
		# Went out only on the second run: the first run must say why.
		if [ "$first" = 0 ] && [ -s "$RS/iofault.log" ] && ! grep -q "$(errtext "$e")" "$RD/faulted.log"; then
			silent=$((silent + 1)); echo "N=$n ($e, $(cat "$RS/iofault.log")): not logged"
		fi
	done
	check "$name: $crel fault points: nothing lost" [ "$lost" = 0 ]
	check "$name: nothing left queued once the fault cleared" [ "$stuck" = 0 ]
	check "$name: nothing quarantined" [ "$quar" = 0 ]
	check "$name: a fault that delayed the message is logged" [ "$silent" = 0 ]
	echo "note: $name: $crel fault points, $dup delivered twice (fault after the smarthost's 250)"
	FAULT_POINTS=$((FAULT_POINTS + crel))
}
FAULT_POINTS=$CSUB
relay_case send r@example.org
relay_case bounce r@example.org bad@example.org
echo "note: io-faults: $FAULT_POINTS fault points in all"

# ---- 4. short preads while a dense body is streamed --------------------------
relay_new shortread
sh_start sh-short '{"default": "accept"}'
relay_conf
# Every other read stops at 32767 bytes of line feeds (65534 bytes out,
# just under the 64 KiB flush mark); the next is a full 64 KiB block of them
# (128 KiB out): the old send buffer (2 x 64 KiB + 8) overflowed.
{ printf 'From: s@example.org\nTo: r@example.org\nSubject: dense\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <dense@example.org>\n\n'; head -c 400000 /dev/zero | tr '\0' '\n'; printf '.\n..\nend\n'; } > "$RD/msg"
submit -i -f s@example.org r@example.org < "$RD/msg"
ID=$SUBMIT_ID
LD_PRELOAD="$PRELOAD" IOFAULT_SHORT_PREAD=32767 relayd_once
wait_for 5 sh_has sh-short
check "short preads: the dense message was delivered" log_has "$ID: to=<r@example.org>, .*status=sent"
check "short preads: ... byte for byte" eml_matches sh-short 1 "$ID" "$(id -u)" "$RD/msg"
