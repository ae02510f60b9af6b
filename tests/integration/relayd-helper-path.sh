#!/usr/bin/env bash
# relayd execs nullrelay-smtp for every delivery (helper_path.h). A relayd
# copied out of the build tree alone still finds the helper it was built
# with in that tree, and delivers; a helper there that another user could
# replace is never run.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-helper-path || exit 0

relay_new hp
sh_start sh-hp '{}'
relay_conf
mkdir -p "$T/alone"
chmod 755 "$T" "$T/alone"
cp "$RELAYD" "$T/alone/relayd"
REAL_RELAYD=$RELAYD

# 1. Alone, the build tree's helper is used.
submit -f a@example.org rcpt@example.org < <(test_message one)
RELAYD=$T/alone/relayd relayd_once
check "copied alone: delivered through the build tree's nullrelay-smtp" [ "$(sh_count sh-hp)" = 1 ]
check "copied alone: no 'program is missing' in the log" eval '! log_has "program is missing"'

# 2. A helper the others may write is not trusted: the message waits.
helper=$(dirname "$REAL_RELAYD")/nullrelay-smtp
mode=$(stat -c %a "$helper")
chmod o+w "$helper"
submit -f a@example.org rcpt@example.org < <(test_message two)
RELAYD=$T/alone/relayd relayd_once
chmod "$mode" "$helper"
check "world-writable helper: not run, nothing sent" [ "$(sh_count sh-hp)" = 1 ]
check "world-writable helper: the log says it is missing" log_has "nullrelay-smtp program is missing"
check "world-writable helper: the message is still queued" eval '[ -n "$(ls "$RS/queue" | grep "\.env$")" ]'

# 3. Beside its relayd (the normal case) it delivers what waited.
RELAYD=$REAL_RELAYD relayd_once
check "beside relayd: the waiting message is delivered" [ "$(sh_count sh-hp)" = 2 ]
