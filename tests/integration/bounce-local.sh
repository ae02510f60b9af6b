#!/usr/bin/env bash
# Bounces to local senders (SPEC §2 bounce_local, §7): mbox appends the
# report to /var/mail/USER of the submitting uid (through group mail), a
# missing mbox falls back to keep (logged), relay sends it to admin_addr
# through the smarthost, keep leaves the message in failed/.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/bounce.sh"
require_relay bounce-local || exit 0

REFUSE="{$EHLO_DSN,\"rcpt_replies\":{\"r@example.org\":\"550 5.1.1 <r@example.org>: no such user\"}}"

# mbox_read MBOX OUT [N]: prints the number of messages in MBOX (read with
# Python's mailbox module) and the From_ line of the N-th (1-based, default
# 1), whose bytes go to OUT.
mbox_read() {
	"$PY" - "$1" "$2" "${3:-1}" <<'PYEOF'
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
msgs = list(box)
print(len(msgs))
if len(msgs) >= int(sys.argv[3]):
    m = msgs[int(sys.argv[3]) - 1]
    open(sys.argv[2], "wb").write(m.as_bytes())
    print(m.get_from())
PYEOF
}

# 1. bounce_local = mbox, an existing /var/mail/nrtest1 (nrtest1:mail 0660).
if ! is_root; then
	skip "bounce_local mbox (needs root to make a user's mailbox)"
	skip "bounce_local mbox, missing mailbox falls back to keep (needs root)"
elif [ -e "/var/mail/$TEST_USER1" ] || [ -e "/var/mail/$TEST_USER2" ]; then
	skip "bounce_local mbox (/var/mail/$TEST_USER1 or $TEST_USER2 exists: not touching a real mailbox)"
elif ! getent group mail >/dev/null || [ ! -d /var/mail ]; then
	skip "bounce_local mbox (no group mail or no /var/mail)"
else
	MB=/var/mail/$TEST_USER1
	on_exit "rm -f '$MB' '$MB.lock'"
	install -m 0660 -o "$TEST_USER1" -g mail /dev/null "$MB"
	relay_new mbox
	sh_start sh-mbox "$REFUSE"
	relay_conf "bounce_local = mbox"
	SENDMAIL=$(public_sendmail) submit_as "$TEST_USER1" r@example.org < <(test_message mbox-subject)
	ID=$SUBMIT_ID
	relayd_once
	out=$(mbox_read "$MB" "$RD/first.eml")
	check "mbox: one report in /var/mail/$TEST_USER1 (read by mailbox.mbox)" [ "$(head -n 1 <<<"$out")" = 1 ]
	check "mbox: its From_ line names MAILER-DAEMON" eval "sed -n 2p <<<'$out' | grep -q '^MAILER-DAEMON '"
	[ -s "$RD/first.eml" ] && dsn_check mbox "$RD/first.eml" to="$TEST_USER1@relay.test" \
		action=failed status=5.1.1 rcpts=r@example.org remote_mta \
		"diag=550 5.1.1 <r@example.org>: no such user" orig=full subject=mbox-subject
	check "mbox: still owned by $TEST_USER1:mail 0660" \
		[ "$(stat -c '%U:%G %a' "$MB")" = "$TEST_USER1:mail 660" ]
	check "mbox: nothing sent to the smarthost" [ "$(sh_bounce_count sh-mbox)" = 0 ]
	check "mbox: logged relay=local status=sent" \
		log_has "to=<$TEST_USER1@relay.test>, relay=local, .*status=sent \(delivered to mailbox $MB\)"
	check "mbox: the original left the queue (not kept)" eval "! queued $ID && ! failed $ID && queue_empty"
	# Debian's mail reader: print message 1, then leave without saving.
	if mailx=$(debian_mailx); then
		before=$(sha256sum < "$MB")
		printf 'p 1\nx\n' | timeout 20 $mailx -N -f "$MB" > "$RD/mailx.out" 2>&1
		check "mbox: bsd-mailx (mail -f) opens it: one message" grep -q '1 message' "$RD/mailx.out"
		check "mbox: bsd-mailx shows the report" \
			grep -q '^Content-Type: multipart/report; report-type=delivery-status' "$RD/mailx.out"
		check "mbox: bsd-mailx shows it from MAILER-DAEMON" grep -q '^From: .*MAILER-DAEMON@' "$RD/mailx.out"
		check "mbox: reading left the mailbox unchanged" [ "$(sha256sum < "$MB")" = "$before" ]
	else
		skip "mbox: mail -f (bsd-mailx could not be downloaded)"
	fi

	# A delay warning for a local sender goes to the same mailbox.
	relay_new mboxdelay
	sh_start sh-mboxdelay "{$EHLO_DSN,\"rules\":[{\"stage\":\"RCPT\",\"rcpt\":\"r@example.org\",\"reply\":\"451 4.2.0 busy\"}]}"
	relay_conf "bounce_local = mbox" "delay_warning = 1s" "retry_min = 1s" "retry_max = 1s"
	SENDMAIL=$(public_sendmail) submit_as "$TEST_USER1" r@example.org < <(test_message mboxdelay)
	ID=$SUBMIT_ID
	relayd_once
	sleep 1.2
	relayd_once
	sleep 1.2
	relayd_once
	out=$(mbox_read "$MB" "$RD/second.eml" 2)
	check "mbox delay: one delay report appended (2 messages now)" [ "$(head -n 1 <<<"$out")" = 2 ]
	[ -s "$RD/second.eml" ] && dsn_check "mbox delay" "$RD/second.eml" action=delayed status=4.2.0 \
		rcpts=r@example.org will_retry orig=hdrs
	check "mbox delay: the message itself is still queued" queued "$ID"

	# 2. The same for a user without a mailbox: keep, and say why.
	relay_new nombox
	sh_start sh-nombox "$REFUSE"
	relay_conf "bounce_local = mbox"
	SENDMAIL=$(public_sendmail) submit_as "$TEST_USER2" r@example.org < <(test_message nombox)
	ID=$SUBMIT_ID
	relayd_once
	check "missing mbox: message kept in failed/" in_failed "$ID"
	check "missing mbox: the log says why and that it falls back to keep" \
		log_has "$ID: cannot deliver the non-delivery notification .*/var/mail/$TEST_USER2.*falling back to keep"
	check "missing mbox: nothing sent, no mailbox created" \
		eval "[ \$(sh_bounce_count sh-nombox) = 0 ] && [ ! -e /var/mail/$TEST_USER2 ]"
fi

# 3. bounce_local = relay: through the smarthost to admin_addr.
relay_new relay
sh_start sh-relay "$REFUSE"
relay_conf "admin_addr = admin@example.org" "bounce_local = relay"
submit r@example.org < <(test_message relay-subject)
ID=$SUBMIT_ID
relayd_once
check "relay: one report to admin_addr with MAIL FROM:<>" [ "$(sh_bounce_count sh-relay admin@example.org)" = 1 ]
check "relay: nothing else was sent" [ "$(sh_count sh-relay)" = 1 ]
B=$(sh_bounces sh-relay admin@example.org | head -n 1)
[ -n "$B" ] && dsn_check relay "$B" action=failed status=5.1.1 rcpts=r@example.org \
	remote_mta subject=relay-subject
check "relay: logged the notification, original gone" \
	eval "log_has '$ID: sender non-delivery notification: ' && ! queued $ID && ! failed $ID"

# 4. A sender at hostname or localhost is local too (bounce_local = keep).
for dom in relay.test localhost; do
	relay_new "keep-$dom"
	sh_start "sh-keep-$dom" "$REFUSE"
	relay_conf "bounce_local = keep"
	submit -f "someone@$dom" r@example.org < <(test_message "keep-$dom")
	ID=$SUBMIT_ID
	relayd_once
	check "keep: sender @$dom is local: kept in failed/, nothing sent" \
		eval "in_failed $ID && [ \$(sh_bounce_count sh-keep-$dom) = 0 ]"
done
