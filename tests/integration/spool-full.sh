#!/usr/bin/env bash
# A full spool disk at relayd's side (issue 14, SPEC §3 exit 74, §9): the
# spool on a small tmpfs, filled up. sendmail exits 74 with one line and
# leaves nothing; relayd cannot take a drop file into its queue nor write a
# bounce: it says so, loses nothing, and catches up by itself once space
# returns.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay spool-full || exit 0
if ! is_root; then skip "spool-full: needs root (mounts a tmpfs)"; exit 0; fi
relay_new full
MNT=$RD/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=2m,mode=0755 nrtest-spool "$MNT" 2>"$RD/mount.err"; then
	skip "spool-full: cannot mount a tmpfs ($(head -c 100 "$RD/mount.err"))"; exit 0
fi
on_exit "umount '$MNT' 2>/dev/null"
RS=$MNT/spool
mk_spool "$RS" >/dev/null
sh_start sh '{"rcpt_replies": {"bad@example.org": "550 5.1.1 no such user"}}'
relay_conf "bounce_local = relay" "admin_addr = admin@example.org"
submit -f s@example.org ok@example.org bad@example.org < <(test_message full1)
ID=$SUBMIT_ID
fill() { dd if=/dev/zero of="$MNT/filler" bs=16k 2>/dev/null; sync; }
fill
submit -f s@example.org ok@example.org < <(test_message refused); rc=$?
check "full disk: sendmail exits 74 (got $rc)" [ "$rc" = 74 ]
check "full disk: ... with one line naming the cause" \
	eval "[ \"\$(wc -l < '$RD/sendmail.err')\" = 1 ] && grep -q 'No space left on device' '$RD/sendmail.err'"
check "full disk: ... and leaves nothing in incoming/new but the first message" \
	[ "$(ls "$RS/incoming/new")" = "$ID" ]
relayd_start
sleep 3
check "full disk: relayd says it cannot take the message into its queue" \
	log_has "$ID: .*No space left on device"
check "full disk: the drop file is still there (nothing lost)" [ -e "$RS/incoming/new/$ID" ]
check "full disk: relayd still runs" kill -0 "$RELAYD_PID"
rm -f "$MNT/filler"
wait_for 15 log_has "$ID: to=<ok@example.org>, .*status=sent"
check "space back: the message went out by itself" log_has "$ID: to=<ok@example.org>, .*status=sent"
wait_for 10 eval "[ \"\$(sh_count sh)\" -ge 2 ]"
check "space back: ... and the bounce for bad@ reached the sender" \
	eval "grep -l 'multipart/report' '$T/sh'/mail/*.eml | xargs -r grep -l 's@example.org' | grep -q ."
# The bounce itself hits a full disk: the failure is kept, not lost.
submit -f s@example.org bad@example.org < <(test_message full2)
ID2=$SUBMIT_ID
wait_for 10 log_has "$ID2: from=<s@example.org>"
fill
wait_for 10 log_has "$ID2: to=<bad@example.org>, .*status=bounced"
sleep 2
rm -f "$MNT/filler"
"$SENDMAIL" -C "$RC" -q
wait_for 15 eval "grep -l 'multipart/report' '$T/sh'/mail/*.eml | xargs -r grep -l 'full2' | grep -q ."
check "bounce on a full disk: the report went out once space was back (or is kept in failed/)" \
	eval "grep -l 'multipart/report' '$T/sh'/mail/*.eml | xargs -r grep -l 'full2' | grep -q . || [ -n \"\$(ls '$RS/failed')\" ]"
relayd_stop
