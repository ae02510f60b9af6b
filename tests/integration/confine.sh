#!/usr/bin/env bash
# Confinement after start-up (issue 14, relayd.8 CONFINEMENT): relayd and
# its workers are under PR_SET_NO_NEW_PRIVS, Landlock and a seccomp
# deny-list. Probed through SIGHUP: the configuration is changed under a
# running relayd to name files it was not started with; the worker that
# then needs them is refused by the kernel, whatever the file modes say.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay confine || exit 0
if ! is_root; then skip "confine: needs root (a file in /home owned by the relay user)"; exit 0; fi
abi=$("$PY" -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))')
if [ "${abi:--1}" -lt 2 ]; then skip "confine: Landlock ABI $abi on $(uname -r): relayd runs unconfined by it"; exit 0; fi

HOMEDIR=/home/nrtest-confine.$$
mkdir -p "$HOMEDIR" && chmod 755 "$HOMEDIR"
on_exit "rm -rf '$HOMEDIR'"
# A secret the relay user may read by the file modes: only Landlock stops it.
install -m 0600 -o "$(relay_user)" /dev/null "$HOMEDIR/secret"
echo x > "$HOMEDIR/secret"
relay_new confine
install -m 0600 -o "$(relay_user)" /dev/null "$RS/ok.pw"
echo x > "$RS/ok.pw"
sh_start sh '{"users": {"u": "x"}}'
relay_conf "auth_user = u" "auth_password_file = $RS/ok.pw"
relayd_start
check "confine: relayd logged its confinement" log_has "confinement: no_new_privs, landlock, seccomp deny-list"
# (No delivery before the reloads: a worker's open, authenticated
# connection would be reused and read no secret. relayd-auth.sh shows
# confined delivery with auth_password_file.)

# 1. A secret in /home, readable by the relay user's file modes.
relay_conf "auth_user = u" "auth_password_file = $HOMEDIR/secret" "retry_min = 1h" "retry_max = 2h"
kill -HUP "$RELAYD_PID"
sleep 0.5
submit -f s@example.org home@example.org < <(test_message home)
wait_for 10 log_has "to=<home@example.org>, .*status=deferred|$HOMEDIR/secret.*Permission denied"
check "confine: a worker cannot open a file in /home the modes allow" \
	log_has "$HOMEDIR/secret.*Permission denied"
check "confine: ... the message is deferred, not lost" \
	eval "! log_has 'to=<home@example.org>, .*status=(sent|bounced)'"

# 2. /etc/shadow.
relay_conf "auth_user = u" "auth_password_file = /etc/shadow" "retry_min = 1h" "retry_max = 2h"
kill -HUP "$RELAYD_PID"
sleep 0.5
check "confine: /etc/shadow is not opened (refused)" \
	log_has "/etc/shadow.*(Permission denied|owned by|mode)"

# 3. Exec: a password command added by reload (relayd started without one,
# so nothing outside its own directory may be executed, /bin/sh included).
relay_conf "auth_user = u" "auth_password_command = echo x" "retry_min = 1s" "retry_max = 2s"
kill -HUP "$RELAYD_PID"
sleep 0.5
"$RELAYD" -C "$RC" --retry ALL >/dev/null 2>&1
submit -f s@example.org exec@example.org < <(test_message exec)
wait_for 10 log_has "auth_password_command.*(cannot run /bin/sh|Permission denied)"
check "confine: a worker cannot exec a program outside relayd's own directory (/bin/sh)" \
	log_has "auth_password_command.*(cannot run /bin/sh|Permission denied)"
check "confine: relayd still runs" kill -0 "$RELAYD_PID"
relayd_stop

# 4. Started with a secret command, Landlock is not applied (said once).
relay_new cmd
sh_start sh2 '{"users": {"u": "x"}}'
relay_conf "auth_user = u" "auth_password_command = echo x"
relayd_start
submit -f s@example.org r@example.org < <(test_message cmd)
wait_for 10 log_has "to=<r@example.org>, .*status=sent"
check "confine: with auth_password_command, Landlock is skipped and says why" \
	log_has "confinement: Landlock not applied: auth_password_command runs programs"
check "confine: ... no_new_privs and seccomp still on, and mail flows" \
	eval "log_has 'confinement: no_new_privs, seccomp deny-list' && log_has 'to=<r@example.org>, .*status=sent'"
relayd_stop
