#!/usr/bin/env bash
# Audit findings (issue 14) about files others can plant:
# - metrics_file in a directory others may write (a textfile collector):
#   a symlink planted at the old fixed temporary name must neither be
#   followed nor stop the metrics (mkstemp names);
# - root's queue tools with relayd stopped act as the relay user: a symlink
#   the relay user put in place of SPOOL/queue is not followed with root's
#   rights.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_root_relay hostile-files || exit 0

relay_new metrics
sh_start sh '{"default": "accept"}'
MD=$RD/collector
mkdir -p "$MD" && chmod 1777 "$MD"
install -m 0644 -o "$(relay_user)" /dev/null "$RD/victim"
echo precious > "$RD/victim"
as_user "$TEST_USER1" ln -s "$RD/victim" "$MD/nr.prom.tmp"
relay_conf "metrics_file = $MD/nr.prom"
relayd_start
submit -f s@example.org r@example.org < <(test_message metrics)
wait_for 8 test -s "$MD/nr.prom"
check "metrics: written despite a symlink planted at the old temporary name" \
	grep -q '^nullrelay_' "$MD/nr.prom"
check "metrics: the symlink's target is untouched" [ "$(cat "$RD/victim")" = precious ]
check "metrics: the file is readable by the scraper (0644)" \
	[ "$(stat -c %a "$MD/nr.prom")" = 644 ]
check "metrics: no temporary file left over" \
	eval "[ \"\$(ls '$MD' | grep -v -e '^nr.prom\$' -e '^nr.prom.tmp\$' | wc -l)\" = 0 ]"
relayd_stop

relay_parked qadmin
ID=0123456789ABCDEF
mkdir -m 0700 "$RD/rootonly"
echo root-data > "$RD/rootonly/$ID.env"
echo root-data > "$RD/rootonly/$ID.msg"
as_user "$(relay_user)" sh -c "mv '$RS/queue' '$RS/queue.real' && ln -s '$RD/rootonly' '$RS/queue'"
"$RELAYD" -C "$RC" --delete "$ID" > "$RD/del.out" 2> "$RD/del.err"; rc=$?
check "qadmin: root's --delete through a planted queue symlink fails (rc $rc: $(head -c 100 "$RD/del.err"))" \
	[ "$rc" != 0 ]
check "qadmin: the root-only files behind the symlink are untouched" \
	eval "[ -e '$RD/rootonly/$ID.env' ] && [ -e '$RD/rootonly/$ID.msg' ]"
