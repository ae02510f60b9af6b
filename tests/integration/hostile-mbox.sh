#!/usr/bin/env bash
# Audit finding (issue 14): a mailbox bounce ran in relayd's event loop and
# waited up to 10 s + 10 s for the mailbox locks, so a user holding an fcntl
# lock on their own mbox (and causing bounces) stalled pick-up, delivery and
# the control socket for everyone. Now the mailbox process (mbox_proc.h)
# does the waiting; relayd never waits for it: while the lock is held
# another user's mail goes out and mailq answers, the bounce stays queued
# (retried with a backoff), and it lands once the lock is released.
# And an operator's --retry of a message whose delay warning is in the
# mailbox process must wait (BUSY) for its answer: applied at once, the
# retried attempt was still running when the warning landed, so it was
# not recorded, and the review after that attempt sent a second one.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-mbox "a user's mailbox" || exit 0
if [ -e "/var/mail/$TEST_USER2" ] || ! getent group mail >/dev/null || [ ! -d /var/mail ]; then
	skip "hostile-mbox: /var/mail/$TEST_USER2 exists, or no group mail or /var/mail"; exit 0
fi
MB=/var/mail/$TEST_USER2
on_exit "rm -f '$MB' '$MB.lock'"
install -m 0660 -o "$TEST_USER2" -g mail /dev/null "$MB"

relay_new mbox
# later@: deferred twice at once, then every attempt stalls 8 s at RCPT.
sh_start sh '{"rcpt_replies": {"bad@example.org": "550 5.1.1 no such user"},
	"rules": [{"stage": "RCPT", "rcpt": "later@example.org", "times": 2, "reply": "451 4.3.0 try later"},
		{"stage": "RCPT", "rcpt": "later@example.org", "reply": "stall", "seconds": 8}]}'
relay_conf "bounce_local = mbox" "retry_min = 1s" "retry_max = 2s" "delay_warning = 1s"
mkdir -m 1777 "$RD/w"
# lock_mailbox TAG: nrtest2 holds an fcntl write lock on its own mailbox
# until told to stop (w/TAG.release), 60 s at most; sets LOCKER.
lock_mailbox() {
	as_user "$TEST_USER2" "$PY" -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").write("locked\n")
end = time.time() + 60
while time.time() < end and not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
' "$MB" "$RD/w/$1.locked" "$RD/w/$1.release" &
	LOCKER=$!
	on_exit "kill $LOCKER 2>/dev/null"
	wait_for 5 test -s "$RD/w/$1.locked"
}
lock_mailbox bounce
relayd_start
SM=$(public_sendmail)
# Its bounce (a local sender: no -f) goes to the locked mailbox ...
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" bad@example.org < <(test_message tobounce)
wait_for 10 log_has "to=<bad@example.org>, .*status=bounced"
BID=$(grep -oE '[0-9A-F]{16}: to=<bad@example.org>' "$RL" | head -n 1 | cut -d: -f1)
wait_for 15 log_has "$BID: cannot deliver the non-delivery notification .* yet: mailbox is locked"
check "locked mbox: the mailbox process found the mailbox locked; the bounce stays queued" \
	eval "log_has '$BID: cannot deliver the non-delivery notification .* yet: mailbox is locked.*stays queued' && queued '$BID'"
# ... while nrtest1's mail must still flow and root's mailq answer.
as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" -f other@example.org ok@example.org \
	< <(test_message flows)
timeout 20 "$SENDMAIL" -C "$RC" -bp > "$RD/mq.out" 2>&1; rc=$?
check "locked mbox: root's mailq answers while the lock is held (rc $rc), listing the bounced message" \
	eval "[ $rc = 0 ] && grep -q '$BID' '$RD/mq.out'"
wait_for 20 log_has "to=<ok@example.org>, .*status=sent"
check "locked mbox: another user's message went out while the lock was held" \
	eval "log_has 'to=<ok@example.org>, .*status=sent' && kill -0 $LOCKER && [ ! -e '$RD/w/bounce.release' ]"
check "locked mbox: ... and the bounce has not been written meanwhile" \
	eval "[ ! -s '$MB' ] && ! log_has 'delivered to mailbox $MB'"
check "locked mbox: relayd never went near the lock itself (no fallback to keep)" \
	eval "! log_has 'falling back to keep' && [ -z \"\$(ls '$RS/failed')\" ]"
# The lock goes away: the retry (backoff 1 s, 2 s) delivers the bounce.
: > "$RD/w/bounce.release"
wait "$LOCKER" 2>/dev/null
wait_for 20 log_has "delivered to mailbox $MB"
check "locked mbox: the bounce lands once the lock is released" \
	eval "log_has 'to=<$TEST_USER2@relay.test>, relay=local, .*status=sent \\(delivered to mailbox $MB\\)' && grep -q '^From MAILER-DAEMON ' '$MB'"
check "locked mbox: ... and the original left the queue" eval "! queued '$BID' && ! failed '$BID'"

# The delay warning of a deferred message waits in the mailbox process for
# a locked mailbox, and the operator retries the message meanwhile. Seeing
# the mailbox process wait reads /proc/PID/syscall: x86-64 numbers.
if [ "$(uname -m)" != x86_64 ]; then
	skip "delay/retry: needs x86-64 system call numbers to see the mailbox process wait"
else
lock_mailbox delay
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" later@example.org < <(test_message delayed)
wait_for 10 log_has "to=<later@example.org>, .*tries=2, .*status=deferred"
DID=$(grep -oE '[0-9A-F]{16}: to=<later@example.org>' "$RL" | head -n 1 | cut -d: -f1)
M=$(pgrep -P "$RELAYD_PID" -x relayd-mbox | head -n 1)
# The mailbox process sleeps between tries of the lock (mbox.c: fcntl_take)
# only while a report is in flight: nanosleep 35, clock_nanosleep 230. The
# warning is asked for after attempt 2, or after attempt 3 (8 s) if attempt
# 2 came within delay_warning of the arrival.
sleeping() { read -r nr _ < "/proc/$M/syscall" 2>/dev/null && { [ "$nr" = 35 ] || [ "$nr" = 230 ]; }; }
deferred() { grep -c "$DID: to=<later@example.org>, .*status=deferred" "$RL"; }
# What is checked is that the wait was seen: a second look may come after
# the mailbox process gave up this round (MBOX_PROC_WAIT_MS) and went back
# to waiting for requests.
wait_for 25 sleeping; seen=$?
N=$(deferred)
check "delay/retry: the delay warning of $DID is in the mailbox process, waiting for the lock (after $N attempts)" \
	test "$seen" = 0
"$RELAYD" -C "$RC" --retry "$DID" > "$RD/retry.out" 2>&1 &
RETRY=$!
sleep 0.2
: > "$RD/w/delay.release"
wait "$LOCKER" 2>/dev/null
wait "$RETRY"; rc=$?
check "delay/retry: relayd --retry $DID was applied (rc $rc: $(cat "$RD/retry.out"))" \
	eval "[ $rc = 0 ] && grep -q 'will be retried now' '$RD/retry.out'"
check "delay/retry: ... after waiting (BUSY) for the report: asked $(grep -c "RETRY $DID requested" "$RL") times" \
	eval "[ \$(grep -c 'RETRY $DID requested' '$RL') -ge 2 ]"
wait_for 10 log_has "$DID: sender delay notification"
# The retried attempt (N+1, at least the third: it stalls 8 s) ends in a
# review; that review is the one that would send a second warning.
wait_for 25 eval "[ \$(deferred) -gt $N ]"
sleep 2
check "delay/retry: exactly one delay warning for $DID ($(grep -c "$DID: sender delay notification" "$RL") in the log, $(deferred) attempts)" \
	eval "[ \$(deferred) -gt $N ] && [ \$(grep -c '$DID: sender delay notification' '$RL') = 1 ]"
check "delay/retry: ... and the mailbox holds the bounce and that one warning ($(grep -c '^From MAILER-DAEMON ' "$MB") reports)" \
	eval "[ \$(grep -c '^From MAILER-DAEMON ' '$MB') = 2 ]"
fi
relayd_stop
