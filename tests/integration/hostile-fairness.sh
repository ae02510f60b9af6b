#!/usr/bin/env bash
# Fairness between local users (issue 14): the scheduler serves the
# submitters with due messages in turn (round robin by uid), so one user's
# backlog does not starve another user's one message, even under a
# rate_limit that makes the backlog take minutes.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-fairness || exit 0

relay_new fair
sh_start sh '{"default": "accept"}'
relay_conf "rate_limit = 5/1s" "concurrency = 1"
SM=$(public_sendmail)
NFLOOD=60
for i in $(seq 1 $NFLOOD); do
	as_user "$TEST_USER1" env NULLRELAY_CONF="$RC" "$SM" -f flood@example.org "f$i@example.org" \
		< <(test_message "flood$i") 2>>"$RD/sendmail.err"
done
sleep 1.1	# the other message arrives strictly later
as_user "$TEST_USER2" env NULLRELAY_CONF="$RC" "$SM" -f alone@example.org one@example.org \
	< <(test_message alone) 2>>"$RD/sendmail.err"
relayd_start
wait_for 15 log_has "to=<one@example.org>, .*status=sent"
pos=$(grep -E "$DELIVERY_RE" "$RL" | grep 'status=sent' | grep -n 'to=<one@example.org>' | cut -d: -f1)
total=$(grep -E "$DELIVERY_RE" "$RL" | grep -c 'status=sent')
check "fairness: $TEST_USER2's one message went out behind $TEST_USER1's $NFLOOD (position ${pos:-none} of $total sent)" \
	eval "[ -n '$pos' ] && [ '$pos' -le 3 ]"
relayd_stop
