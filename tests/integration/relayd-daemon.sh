#!/usr/bin/env bash
# relayd as a daemon: relayd -n, privilege drop, inotify pick-up, SIGHUP with
# a bad config, SIGTERM, hostile drop files.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-daemon || exit 0

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES"]'

# 1. relayd -n: 0 on a good file, 78 naming file:line on a bad one.
relay_new check
relay_conf "smarthost = 127.0.0.1:2525"
timeout 10 "$RELAYD" -C "$RC" -n >/dev/null 2>&1; rc=$?
check "relayd -n on a good config exits 0 (got $rc)" [ $rc = 0 ]
cp "$RC" "$RD/bad.conf"; echo "no_such_key = 1" >> "$RD/bad.conf"
out=$(timeout 10 "$RELAYD" -C "$RD/bad.conf" -n 2>&1); rc=$?
check "relayd -n on an unknown key exits 78 (got $rc)" [ $rc = 78 ]
check "relayd -n names file and line ($out)" grep -qF -- "$RD/bad.conf:$(wc -l < "$RD/bad.conf")" <<<"$out"
printf 'spool = %s\n' "$RS" > "$RD/nosh.conf"
timeout 10 "$RELAYD" -C "$RD/nosh.conf" -n >/dev/null 2>&1; rc=$?
check "relayd -n without a smarthost exits 78 (got $rc)" [ $rc = 78 ]
NULLRELAY_CONF=$RD/bad.conf timeout 10 "$RELAYD" -n >/dev/null 2>&1; rc=$?
check "NULLRELAY_CONF names the file for relayd (got $rc)" [ $rc = 78 ]

# 2. A running daemon: privilege drop, inotify pick-up, log lines.
relay_new daemon
sh_start sh-daemon "{$EHLO}"
relay_conf "rescan_interval = 1h"
relayd_start
check "daemon: relayd -f keeps running" kill -0 "$RELAYD_PID"
if is_root; then
	ru=$(id -u "$RELAY_USER") rg=$(id -g "$RELAY_USER")
	st=$(cat "/proc/$RELAYD_PID/status" 2>/dev/null)
	check "daemon: started as root, runs as $RELAY_USER (Uid: $ru x4)" \
		grep -Eq "^Uid:[[:space:]]+$ru[[:space:]]+$ru[[:space:]]+$ru[[:space:]]+$ru\$" <<<"$st"
	check "daemon: ... and Gid: $rg x4" grep -Eq "^Gid:[[:space:]]+$rg[[:space:]]+$rg[[:space:]]+$rg[[:space:]]+$rg\$" <<<"$st"
	check "daemon: no supplementary group is root" eval "! grep -Eq '^Groups:.*\\b0\\b' <<<\"\$st\""
	check "daemon: the spool belongs to the relay user" [ "$(stat -c %U "$RS/queue")" = "$RELAY_USER" ]
else
	skip "daemon: privilege drop (needs root)"
fi
t0=$(date +%s%N)
if is_root; then
	submit_as "$TEST_USER1" -f s@example.org r@example.org < <(test_message inotify); who=$(id -u "$TEST_USER1")
else
	submit -f s@example.org r@example.org < <(test_message inotify); who=$(id -u)
fi
ID=$SUBMIT_ID
wait_for 3 sh_has sh-daemon
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "daemon: a message submitted while running is picked up (inotify) and sent within 2 s (took ${ms} ms)" \
	eval "sh_has sh-daemon && [ $ms -le 2500 ]"
wait_for 2 log_has "$ID: to=<r@example.org>, .*status=sent"
check "daemon: pick-up log line with the submitter's uid=$who" log_has "$ID: from=<s@example.org>, size=[0-9]+, nrcpt=1, uid=$who\$"
check "daemon: delivery log line" log_has "$ID: to=<r@example.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SH_PORT, delay=[0-9.]+, tries=1, dsn=2\.[0-9.]+, status=sent \(250 "

# 3. SIGHUP with a bad config keeps running on the old one.
cp "$RC" "$RD/good.conf"
echo "this is not a config line" >> "$RC"
kill -HUP "$RELAYD_PID"
sleep 0.5
check "SIGHUP with a bad config: still running" kill -0 "$RELAYD_PID"
check "SIGHUP with a bad config: the error is logged" grep -Eiq "relay\.conf:[0-9]+" "$RL"
# (sendmail reads the config too: submit with the good copy)
RC=$RD/good.conf submit -f s@example.org r@example.org < <(test_message afterhup)
check "SIGHUP with a bad config: still delivers with the old one" wait_for 3 sh_has sh-daemon 2
cp "$RD/good.conf" "$RC"
kill -HUP "$RELAYD_PID"
sleep 0.3
check "SIGHUP with a good config: still running" kill -0 "$RELAYD_PID"

# 4. SIGTERM: a clean exit.
relayd_stop; rc=$?
check "SIGTERM: relayd exits 0 within 10 s (got $rc)" [ $rc = 0 ]
check "SIGTERM: no stale process" eval "! pgrep -f -- '$RELAYD -C $RC' >/dev/null"

# 5. Hostile drop files are refused or quarantined; a good message behind them still goes.
relay_new hostile
sh_start sh-hostile "{$EHLO}"
relay_conf
new=$RS/incoming/new
as=() ; is_root && as=(setpriv --reuid="$TEST_USER1" --regid="$TEST_USER1" --init-groups)
secret=$RD/secret; echo "TOP-SECRET-CONTENT" > "$secret"; chmod 600 "$secret"
"${as[@]+"${as[@]}"}" ln -s "$secret" "$new/A000000000000001"
"${as[@]+"${as[@]}"}" mkfifo "$new/A000000000000002"
"${as[@]+"${as[@]}"}" sh -c "printf 'garbage\n' > '$new/A000000000000003'"
# A hard link to a well-formed drop file written in incoming/tmp.
submit -f s@example.org hl@example.org < <(test_message hardlink)
good1=$SUBMIT_ID
"${as[@]+"${as[@]}"}" sh -c "printf 'NULLRELAY-DROP 1\nlength 00000000000000000016\nsender <x@example.org>\nrcpt <hl2@example.org>\n\nSubject: x\n\nhi!\n' > '$RS/incoming/tmp/A000000000000004' && ln '$RS/incoming/tmp/A000000000000004' '$new/A000000000000004'" 2>/dev/null
# Wrong length (claims more than is there), old enough not to be "still being written".
"${as[@]+"${as[@]}"}" sh -c "printf 'NULLRELAY-DROP 1\nlength 00000000000000009999\nsender <x@example.org>\nrcpt <len@example.org>\n\nshort\n' > '$new/A000000000000005' && touch -d '-1 hour' '$new/A000000000000005'"
submit -f s@example.org good@example.org < <(test_message good)
good2=$SUBMIT_ID
timeout 30 "$RELAYD" -C "$RC" -f --once 2>>"$RL"; rc=$?
check "hostile: relayd --once finishes (no stall on a FIFO) (rc $rc)" [ $rc != 124 ]
check "hostile: the good messages behind them are delivered" \
	shq sh-hostile 'sorted(r["addr"] for m in mails for r in m["side"]["rcpts"]) == ["<good@example.org>", "<hl@example.org>"]'
check "hostile: nothing of the symlink target was read or sent" eval "! grep -rq TOP-SECRET '$T/sh-hostile/mail' '$RS/queue' '$RS/quarantine' 2>/dev/null"
check "hostile: the hard-linked and short files were not sent" shq sh-hostile 'not any(r["addr"] in ("<hl2@example.org>", "<len@example.org>") for m in mails for r in m["side"]["rcpts"])'
left=$(ls "$new" 2>/dev/null | grep '^A00000000000000[1-5]' | tr '\n' ' ')
check "hostile: none of them is left in incoming/new (left: $left)" [ -z "$left" ]
check "hostile: the regular bad files are in quarantine/" \
	eval "ls '$RS/quarantine' | grep -q A000000000000003 && ls '$RS/quarantine' | grep -q A000000000000005"
check "hostile: the refusals are logged with a reason" eval "[ \$(grep -c 'A00000000000000[1-5]' '$RL') -ge 4 ]"
check "hostile: the symlink target is untouched" grep -q TOP-SECRET "$secret"
