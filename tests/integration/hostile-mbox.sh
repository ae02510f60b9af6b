#!/usr/bin/env bash
# Audit finding (issue 14): a mailbox bounce ran in relayd's event loop and
# waited up to 10 s + 10 s for the mailbox locks, so a user holding an fcntl
# lock on their own mbox (and causing bounces) stalled pick-up, delivery and
# the control socket for everyone. Now relayd waits at most a moment
# (BQ_MBOX_WAIT_MS) and, the mailbox still locked, keeps the bounce in
# failed/ (bounce_local's fallback), logged.
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
sh_start sh '{"rcpt_replies": {"bad@example.org": "550 5.1.1 no such user"}}'
relay_conf "bounce_local = mbox"
mkdir -m 1777 "$RD/w"
# nrtest2 holds an fcntl write lock on its own mailbox for 30 s.
as_user "$TEST_USER2" "$PY" -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").write("locked\n")
time.sleep(30)
' "$MB" "$RD/w/locked" &
LOCKER=$!
on_exit "kill $LOCKER 2>/dev/null"
wait_for 5 test -s "$RD/w/locked"
relayd_start
SM=$(public_sendmail)
# Its bounce (a local sender: no -f) goes to the locked mailbox ...
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" bad@example.org < <(test_message tobounce)
wait_for 10 log_has "to=<bad@example.org>, .*status=bounced"
t0=$(date +%s%N)
# ... while nrtest1's mail must still flow and root's mailq answer.
as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" -f other@example.org ok@example.org \
	< <(test_message flows)
"$SENDMAIL" -C "$RC" -bp > "$RD/mq.out" 2>&1; rc=$?
mq_ms=$(ms_since "$t0")
wait_for 15 log_has "to=<ok@example.org>, .*status=sent"
sent_ms=$(ms_since "$t0")
check "locked mbox: root's mailq answered at once (rc $rc, $mq_ms ms)" eval "[ $rc = 0 ] && [ $mq_ms -lt 2000 ]"
check "locked mbox: another user's message went out within $sent_ms ms (< 4000)" \
	eval "log_has 'to=<ok@example.org>, .*status=sent' && [ $sent_ms -lt 4000 ]"
wait_for 5 log_has "falling back to keep"
check "locked mbox: the bounce fell back to keep, saying the mailbox is locked" \
	log_has "cannot deliver the non-delivery notification .* mailbox is locked.*falling back to keep"
check "locked mbox: ... and stays in failed/, visible to mailq" eval "[ -n \"\$(ls '$RS/failed')\" ]"
kill "$LOCKER" 2>/dev/null
relayd_stop
