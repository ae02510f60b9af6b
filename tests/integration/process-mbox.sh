#!/usr/bin/env bash
# The mailbox process (relayd.8 PROCESSES, docs/ARCHITECTURE.md section 2):
# started as root, relayd forks one process that alone keeps group mail
# and writes bounces into /var/mail; the resident relayd, the delivery
# workers and the listener run as the relay user without it. Killing the
# mailbox process loses no report: the bounce stays queued, and the next
# start of relayd delivers it.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay process-mbox "group mail, /var/mail and the relay user" || exit 0
if [ -e "/var/mail/$TEST_USER1" ] || ! getent group mail >/dev/null || [ ! -d /var/mail ]; then
	skip "process-mbox: /var/mail/$TEST_USER1 exists, or no group mail or /var/mail"; exit 0
fi
MAILGID=$(getent group mail | cut -d: -f3)
RUSER=$(relay_user)
RUID=$(id -u "$RUSER") RGID=$(id -g "$RUSER")
MB=/var/mail/$TEST_USER1
on_exit "rm -f '$MB' '$MB.lock'"
install -m 0660 -o "$TEST_USER1" -g mail /dev/null "$MB"

# st PID FIELD: a line of /proc/PID/status, the field name removed.
st() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# no_mail PID: runs as the relay user (all uids and gids) with no group mail.
no_mail() {
	[ -r "/proc/$1/status" ] || return 1
	[ "$(st "$1" Uid)" = "$(printf '%s\t%s\t%s\t%s' $RUID $RUID $RUID $RUID)" ] &&
	[ "$(st "$1" Gid)" = "$(printf '%s\t%s\t%s\t%s' $RGID $RGID $RGID $RGID)" ] &&
	! grep -qw -- "$MAILGID" <<<"$(st "$1" Groups)"
}
# kids PID: the children of PID as "pid comm args".
kids() { ps -e -o pid=,ppid=,comm=,args= | awk -v p="$1" '$2 == p { $2 = ""; print }'; }
mbox_pid() { kids "$RELAYD_PID" | awk '$2 == "relayd-mbox" { print $1 }' | head -n 1; }

relay_new pm
sh_start sh '{"rcpt_replies": {"bad@example.org": "550 5.1.1 no such user"}}'
LPORT=$(closed_port)
relay_conf "bounce_local = mbox" "listen = 127.0.0.1:$LPORT" "retry_min = 1s" "retry_max = 2s"
relayd_start || sed "s/^/    /" "$RL"
submit -f s@example.org r@example.org < <(test_message pm)
wait_for 10 log_has "to=<r@example.org>, .*status=sent"
# The worker keeps its connection a few seconds for more mail.
W=$(kids "$RELAYD_PID" | awk '$2 == "nullrelay-smtp" && / deliver / { print $1 }' | head -n 1)
L=$(kids "$RELAYD_PID" | awk '$2 == "nullrelay-smtp" && / listen / { print $1 }' | head -n 1)
M=$(mbox_pid)
check "the resident relayd runs as $RUSER without group mail (Groups: $(st "$RELAYD_PID" Groups))" \
	no_mail "$RELAYD_PID"
check "a delivery worker runs as $RUSER without group mail (pid $W)" eval "[ -n '$W' ] && no_mail '$W'"
check "the listener runs as $RUSER without group mail (pid $L)" eval "[ -n '$L' ] && no_mail '$L'"
check "the mailbox process (relayd-mbox, pid $M) runs as $RUSER and keeps group mail ($(st "$M" Groups))" \
	eval "[ -n '$M' ] && [ \"\$(st $M Uid)\" = '$(printf '%s\t%s\t%s\t%s' $RUID $RUID $RUID $RUID)' ] && grep -qw -- '$MAILGID' <<<\"\$(st $M Groups)\""
check "the mailbox process is confined: no_new_privs, seccomp, not dumpable (/proc/PID owned by root)" \
	eval "[ -n '$M' ] && [ \"\$(st $M NoNewPrivs)\" = 1 ] && [ \"\$(st $M Seccomp)\" = 2 ] && [ \"\$(stat -c %U /proc/$M/environ)\" = root ]"

check "the mailbox process holds nothing but stdio and its socket to relayd ($(ls /proc/$M/fd 2>/dev/null | wc -l) descriptors)" \
	eval "[ -n '$M' ] && [ \$(ls /proc/$M/fd | wc -l) -le 4 ] && ! ls -l /proc/$M/fd | grep -q '$RS'"

# A bounce through the mailbox process, while relayd runs.
SM=$(public_sendmail)
as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" bad@example.org < <(test_message first)
wait_for 15 log_has "delivered to mailbox $MB"
check "a bounce reaches the local sender's mailbox through the mailbox process" \
	eval "log_has 'to=<$TEST_USER1@relay.test>, relay=local, .*status=sent \\(delivered to mailbox $MB\\)' && [ \$(grep -c '^From MAILER-DAEMON ' '$MB') = 1 ]"

# Kill it: the next bounce stays queued, nothing is lost.
kill -KILL "$M"
wait_for 10 log_has "the mailbox process .*killed by signal 9"
check "relayd notices the mailbox process died, says reports stay queued, and runs on" \
	eval "log_has 'the mailbox process .*killed by signal 9' && log_has 'reports to local mailboxes .* stay queued until relayd restarts' && kill -0 $RELAYD_PID"
as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" bad@example.org < <(test_message second)
wait_for 10 log_has "the mailbox process is not running: the non-delivery notification"
BID=$(grep -oE '[0-9A-F]{16}: the mailbox process is not running' "$RL" | tail -n 1 | cut -d: -f1)
check "with the mailbox process gone, the bounced message stays in the queue ($BID)" \
	eval "[ -n '$BID' ] && queued '$BID' && ! failed '$BID' && [ \$(grep -c '^From MAILER-DAEMON ' '$MB') = 1 ]"
timeout 20 "$SENDMAIL" -C "$RC" -bp > "$RD/mq.out" 2>&1
check "... visible to mailq" grep -q "$BID" "$RD/mq.out"
submit -f s@example.org r2@example.org < <(test_message after)
wait_for 10 log_has "to=<r2@example.org>, .*status=sent"
check "... and other mail still flows" log_has "to=<r2@example.org>, .*status=sent"
relayd_stop
relayd_start
wait_for 15 log_has "$BID: sender non-delivery notification"
check "the next start delivers the kept bounce to the mailbox" \
	eval "[ \$(grep -c '^From MAILER-DAEMON ' '$MB') = 2 ] && ! queued '$BID'"
relayd_stop
