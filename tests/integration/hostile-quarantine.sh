#!/usr/bin/env bash
# The quarantine is bounded (issue 14, quarantine.h): a user writing
# hostile drop files in a loop cannot fill the spool's disk with them. Past
# 1000 refused drop files the oldest are removed, each logged; relayd's own
# quarantined state files (accepted mail) are never removed.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-quarantine || exit 0

relay_parked quar
# relayd's own: a queue state file that does not parse (quarantined at start-up).
as_user "$(relay_user)" sh -c "printf 'not a state file\n' > '$RS/queue/0123456789ABCDEF.env'; printf 'x\n' > '$RS/queue/0123456789ABCDEF.msg'"
N=1030
as_user "$TEST_USER1" sh -c "cd '$RS/incoming/new' && i=0; while [ \$i -lt $N ]; do printf 'NULLRELAY-DROP 9\nlength 00000000000000000001\n\nx' > bad\$i; chmod 640 bad\$i; i=\$((i + 1)); done"
relayd_start
wait_for 30 eval "[ -z \"\$(ls '$RS/incoming/new')\" ]"
sleep 6	# the next trim
users=$(find "$RS/quarantine" -type f -user "$TEST_USER1" | wc -l)
check "quarantine: at most 1000 refused drop files kept (got $users of $N)" [ "$users" -le 1000 ]
check "quarantine: ... and not fewer than the bound needs (got $users)" [ "$users" -ge 990 ]
check "quarantine: each removal logged" log_has "quarantine full .*removed the oldest, quarantine/bad[0-9]+ \\(uid $(id -u "$TEST_USER1")"
check "quarantine: relayd's own quarantined state file is kept" \
	eval "ls '$RS/quarantine' | grep -q '^0123456789ABCDEF.env'"
relayd_stop
