#!/usr/bin/env bash
# relayd removes partial drop files abandoned in incoming/tmp (a sendmail
# killed while writing) once they are 36 hours old, and nothing younger.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"

relay_new sweep
sh_start sh '{}'
relay_conf
old=$RS/incoming/tmp/00000000AAAAAAAA
young=$RS/incoming/tmp/00000000BBBBBBBB
printf 'NULLRELAY-DROP 1\npartial' > "$old"
printf 'NULLRELAY-DROP 1\npartial' > "$young"
touch -d '37 hours ago' "$old"
touch -d '35 hours ago' "$young"
relayd_once
check "a 37-hour-old partial file in incoming/tmp is removed" test ! -e "$old"
check "a 35-hour-old one is kept" test -e "$young"
check "the removal is logged" log_has 'removed abandoned incoming/tmp/00000000AAAAAAAA'
