#!/usr/bin/env bash
# Confinement with auth_password_command set (issue 14, relayd.8
# CONFINEMENT): the parent skips Landlock (the command's needs cannot be
# known), and each delivery worker runs the command first, then confines
# itself. Shown through the real binaries:
#   - the command runs before confinement: it reads its password from a
#     file in /home, and the delivery authenticates with it;
#   - after confinement the worker cannot exec a program: a command run
#     again at AUTH time (its first run failed) is refused /bin/sh;
#   - after confinement the worker cannot open a file in /home or
#     /etc/shadow: the CA file it loads at each connection is a symbolic
#     link, turned to point there while the worker waits on a first
#     smarthost that stalls; the second smarthost's STARTTLS then fails to
#     load it, although the relay user's file modes allow the /home file
#     (the same switch to a copy in the spool works: the control).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay confine-command || exit 0
if ! is_root; then skip "confine-command: needs root (files in /home for the relay user)"; exit 0; fi
abi=$("$PY" -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))')
if [ "${abi:--1}" -lt 2 ]; then skip "confine-command: Landlock ABI $abi on $(uname -r): workers run unconfined by it"; exit 0; fi
RUSER=$(relay_user)

HOMEDIR=/home/nrtest-confcmd.$$
mkdir -p "$HOMEDIR" && chmod 755 "$HOMEDIR"
on_exit "rm -rf '$HOMEDIR'"
install -m 0600 -o "$RUSER" /dev/null "$HOMEDIR/pw"
echo cmdpw > "$HOMEDIR/pw"

relay_new cmd
mkdir -m 1777 "$RD/w"
install -m 0644 "$CERTS/ca.pem" "$HOMEDIR/ca.pem"
ln -s "$CERTS/ca.pem" "$RD/ca-link"
EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","STARTTLS","AUTH PLAIN LOGIN"]'
sh_start sh1 "{$EHLO, \"users\": {\"u\": \"cmdpw\"}}" --tls valid
P1=$SH_PORT
sh_start sh2 "{$EHLO, \"users\": {\"u\": \"cmdpw\"}, \"require_auth\": true}" --tls valid
P2=$SH_PORT
# The command prints the password from /home, except the first time (it
# fails once, so that the worker must run it again after confinement).
CMD="test -e $RD/w/ran && cat $HOMEDIR/pw || { : > $RD/w/ran; exit 1; }"
relay_conf "smarthost = localhost:$P2" "tls = starttls" "tls_ca_file = $RD/ca-link" \
	"auth_user = u" "auth_password_command = $CMD" "retry_min = 1s" "retry_max = 2s"
relayd_start || sed "s/^/    /" "$RL"
check "confine-command: the parent skips Landlock and says the workers apply it" \
	log_has "confinement: Landlock not applied: auth_password_command runs programs"

# 1. The first worker's command failed before confinement; run again at
# AUTH time, it cannot be: exec of /bin/sh is refused.
submit -f s@example.org first@example.org < <(test_message first)
wait_for 15 log_has "auth_password_command: cannot run /bin/sh"
check "confine-command: after confinement a worker cannot exec a program (/bin/sh)" \
	log_has "auth_password_command: cannot run /bin/sh: Permission denied"
# 2. The next worker's command works (it reads /home before confinement).
wait_for 20 log_has "to=<first@example.org>, .*status=sent"
check "confine-command: the retry authenticates with the command's password (read from /home)" \
	eval "log_has 'to=<first@example.org>, .*status=sent' && shq sh2 'any(e[\"user\"] == \"u\" and e[\"ok\"] for e in ev(\"auth\"))'"
relayd_stop

# 3. After confinement: a file in /home, then /etc/shadow, through the CA link.
check "confine-command: the relay user's file modes allow $HOMEDIR/ca.pem" \
	setpriv --reuid "$RUSER" --regid "$(id -g "$RUSER")" --clear-groups cat "$HOMEDIR/ca.pem" >/dev/null
sh_script sh1 "{$EHLO, \"rules\": [{\"stage\": \"GREETING\", \"reply\": \"stall\", \"seconds\": 4}]}"
relay_conf "smarthost = localhost:$P1" "smarthost = localhost:$P2" "tls = starttls" \
	"tls_ca_file = $RD/ca-link" "auth_user = u" "auth_password_command = cat $HOMEDIR/pw" \
	"retry_min = 1h" "retry_max = 2h"
relayd_start
# retarget N TARGET: once the worker waits on sh1's N-th stall, point the
# CA link at TARGET.
retarget() {
	wait_for 15 shq sh1 "len(ev('stall')) >= $1" && ln -sfn "$2" "$RD/ca-link"
}
submit -f s@example.org home@example.org < <(test_message home)
retarget 1 "$HOMEDIR/ca.pem"
wait_for 15 log_has "localhost:$P2 failed: .*ca-link"
check "confine-command: after confinement a worker cannot open a file in /home" \
	log_has "smarthost localhost:$P2 failed: .*cannot load CA certificates from $RD/ca-link"
check "confine-command: ... and the message is deferred, not lost" \
	eval "queued '$SUBMIT_ID' || log_has 'to=<home@example.org>, .*status=deferred'"
# /etc/shadow: the link points at the CA again for the next worker's
# confinement, then at /etc/shadow while it waits.
ln -sfn "$CERTS/ca.pem" "$RD/ca-link"
before=$(grep -c "localhost:$P2 failed: .*ca-link" "$RL")
"$SENDMAIL" -C "$RC" -q
retarget 2 /etc/shadow
wait_for 15 eval "[ \$(grep -c 'localhost:$P2 failed: .*ca-link' '$RL') -gt $before ]"
check "confine-command: after confinement a worker cannot open /etc/shadow" \
	eval "[ \$(grep -c 'localhost:$P2 failed: .*cannot load CA certificates from $RD/ca-link' '$RL') -gt $before ]"
# The control: retargeted the same way to a copy inside the spool (where
# relayd may read), the CA loads and the message goes out.
install -m 0644 -o "$RUSER" "$CERTS/ca.pem" "$RS/ca-copy.pem"
ln -sfn "$CERTS/ca.pem" "$RD/ca-link"
"$SENDMAIL" -C "$RC" -q
retarget 3 "$RS/ca-copy.pem"
wait_for 15 log_has "to=<home@example.org>, .*status=sent"
check "confine-command: control: the same switch to a file where relayd may read delivers" \
	log_has "to=<home@example.org>, .*status=sent"
check "confine-command: relayd still runs, nothing was bounced" \
	eval "kill -0 $RELAYD_PID && ! log_has 'status=bounced'"
relayd_stop
