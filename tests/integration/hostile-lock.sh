#!/usr/bin/env bash
# Audit finding (issue 14, high): another local user must not be able to
# keep relayd from starting by holding SPOOL/relayd.lock. The lock is mode
# 0600 (relay user only); a lock file left 0644 by an older relayd, which a
# user opened and flocks, is replaced, and relayd starts anyway.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-lock || exit 0

relay_new lock
sh_start sh '{"default": "accept"}'
relay_conf
# 1. As nrtest1: the lock relayd makes cannot be opened at all.
relayd_start
check "lock: the lock file is mode 0600, owned by $(relay_user)" \
	eval "[ \"\$(stat -c '%a %U' '$RS/relayd.lock')\" = '600 $(relay_user)' ]"
as_user "$TEST_USER1" flock -n -x "$RS/relayd.lock" true 2>"$RD/flock.err"; rc=$?
check "lock: $TEST_USER1 cannot open relayd.lock (rc $rc: $(head -c 80 "$RD/flock.err"))" \
	grep -q "Permission denied" "$RD/flock.err"
relayd_stop

# 2. A 0644 lock left by an older relayd, held by nrtest1 in flock(1)
# before relayd starts: relayd still starts and delivers.
rm -f "$RS/relayd.lock"
install -m 0644 -o "$(relay_user)" /dev/null "$RS/relayd.lock"
as_user "$TEST_USER1" flock -x "$RS/relayd.lock" sleep 30 &
HOLD=$!
on_exit "kill $HOLD 2>/dev/null"
sleep 0.5
relayd_start
submit -f s@example.org r@example.org < <(test_message lockheld)
ID=$SUBMIT_ID
wait_for 8 log_has "$ID: to=<r@example.org>, .*status=sent"
check "lock held by $TEST_USER1 on an old 0644 lock: relayd started and delivered" \
	log_has "$ID: to=<r@example.org>, .*status=sent"
check "lock held by $TEST_USER1: relayd did not wait for it" \
	eval "! grep -q 'waiting for the other relayd' '$RL'"
check "lock: replaced by a 0600 file" \
	eval "[ \"\$(stat -c '%a' '$RS/relayd.lock')\" = 600 ]"
relayd_stop
kill "$HOLD" 2>/dev/null
