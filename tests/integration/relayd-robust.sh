#!/usr/bin/env bash
# relayd against a failing disk and hostile names (review F2, F10, F11):
# - an fsync error on queue/ while a drop file is picked up loses nothing:
#   the drop stays and is picked up again at the next scan (SPEC §5.6);
# - a file name in the spool cannot forge a log line (SPEC §8: one line per
#   event; others' tools trust "status=sent" lines);
# - relayd never dumps core (SPEC §2: secrets never appear in core files).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-robust || exit 0
# The shim needs dynamic programs (a static build's are in $BUILD/dyn).
SENDMAIL=$(shim_bin "$SENDMAIL") RELAYD=$(shim_bin "$RELAYD")

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","SIZE 10000000"]'

# 1. F2: the first fsync of queue/ fails (EIO) once, in the pick-up commit.
if command -v cc >/dev/null && cc -shared -fPIC -o "$T/fsyncfail.so" "$TOP/tests/lib/fsyncfail.c" 2>"$T/cc.err"; then
	relay_new fsync
	sh_start sh-fsync "{$EHLO}"
	relay_conf "rescan_interval = 1s"
	# Inside the spool: relayd is confined to it (Landlock).
	mkdir -m 1777 "$RS/mark"
	test_message fsync > "$RD/msg"
	submit -f s@example.org r@example.org < "$RD/msg"
	ID=$SUBMIT_ID
	# Under `make sanitize` the ASan runtime must come first in the
	# preload list, or it refuses to start.
	asan=$(ldd "$RELAYD" 2>/dev/null | awk '/libasan/ { print $3 }')
	LD_PRELOAD="${asan:+$asan }$T/fsyncfail.so" FSYNCFAIL_ONCE=$RS/mark/failed \
		relayd_start
	wait_for 10 sh_has sh-fsync
	wait_for 3 log_has "$ID: to=<r@example.org>, .*status=sent"
	check "fsync EIO: the shim did fail the fsync of queue/ after a state commit's rename" test -s "$RS/mark/failed"
	check "fsync EIO: the failed pick-up is logged" log_has "$ID: not queued yet: .*Input/output error"
	check "fsync EIO: the message is still delivered (picked up again at the next scan)" \
		log_has "$ID: to=<r@example.org>, .*status=sent"
	check "fsync EIO: exactly one copy reached the smarthost" [ "$(sh_count sh-fsync)" = 1 ]
	check "fsync EIO: ... byte for byte" eml_matches sh-fsync 1 "$ID" "$(id -u)" "$RD/msg"
	check "fsync EIO: the drop file was never removed as \"already queued\"" \
		eval "! log_has 'already queued'"
	check "fsync EIO: nothing left in queue/ or incoming/new" gone "$ID"
	check "fsync EIO: nothing quarantined" [ -z "$(ls -A "$RS/quarantine")" ]
	relayd_stop
else
	skip "fsync EIO (cannot build the LD_PRELOAD shim: $(head -n 1 "$T/cc.err"))"
fi

# 2. F10: names holding a newline and a forged delivery line.
relay_new names
sh_start sh-names "{$EHLO}"
relay_conf
FORGED='AAAAAAAAAAAAAAAA: to=<boss@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=0.1, tries=1, dsn=2.0.0, status=sent (250 ok)'
nl=$'\n'
printf 'not a drop file\n' > "$RS/incoming/new/x${nl}${FORGED}"
ln -s /etc/passwd "$RS/incoming/new/y${nl}${FORGED}"
printf 'half\n' > "$RS/incoming/tmp/z${nl}${FORGED}"
touch -d '3 days ago' "$RS/incoming/tmp/z${nl}${FORGED}"
if is_root; then chown "$TEST_USER1" "$RS/incoming/new/x${nl}${FORGED}" "$RS/incoming/tmp/z${nl}${FORGED}"; fi
relayd_once
check "hostile names: relayd --once handled them (quarantined, removed, swept)" \
	eval "[ -z \"\$(ls -A '$RS/incoming/new')\" ] && [ -z \"\$(ls -A '$RS/incoming/tmp')\" ] && [ -n \"\$(ls -A '$RS/quarantine')\" ]"
check "hostile names: no log line starts with the forged text" \
	eval "! grep -q '^AAAAAAAAAAAAAAAA: ' '$RL'"
check "hostile names: no delivery line for the forged recipient" \
	eval "! log_deliveries | grep -q boss@example.org"
check "hostile names: every log line is one of relayd's (time stamp, ident)" \
	eval "! grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8} nullrelay/relayd: ' '$RL' | grep -q ."
check "hostile names: the quarantined name is logged escaped (\\x0a)" \
	log_has 'x\\x0aAAAAAAAAAAAAAAAA:\\x20to=<boss@example\.org>.*quarantined'
check "hostile names: the refused symlink is logged escaped" \
	log_has 'y\\x0aAAAAAAAAAAAAAAAA:\\x20.*removed from incoming/new'
check "hostile names: the swept tmp file is logged escaped" \
	log_has 'removed abandoned incoming/tmp/z\\x0aAAAAAAAAAAAAAAAA:\\x20'

# 3. F11: no core dumps, whatever the user's limits.
relay_new core
sh_start sh-core "{$EHLO}"
relay_conf
( ulimit -c unlimited 2>/dev/null || ulimit -c 1024; relayd_start; echo "$RELAYD_PID" > "$RD/pid"; wait ) &
on_exit "kill \$(cat '$RD/pid' 2>/dev/null) 2>/dev/null"
wait_for 5 test -s "$RD/pid"
PID=$(cat "$RD/pid")
wait_for 3 test -S "$RS/relayd.sock"
check "no core: the daemon's core file size limit is 0 0" \
	grep -Eq '^Max core file size[[:space:]]+0[[:space:]]+0[[:space:]]' "/proc/$PID/limits"
if is_root; then
	# Not dumpable: its /proc files belong to root although it runs as the relay user.
	check "no core: the daemon is not dumpable (/proc/PID/environ owned by root, process by $RELAY_USER)" \
		eval "[ \"\$(stat -c %U /proc/$PID/environ)\" = root ] && grep -Eq \"^Uid:[[:space:]]+\$(id -u $RELAY_USER)[[:space:]]\" /proc/$PID/status"
else
	skip "no core: dumpable flag (needs root to tell)"
fi
kill -TERM "$PID" 2>/dev/null
wait_for 10 eval "! kill -0 $PID"
check "no core: the daemon stops on SIGTERM" eval "! kill -0 $PID 2>/dev/null"
