#!/usr/bin/env bash
# Confinement after start-up (issue 14, relayd.8 CONFINEMENT): relayd and
# what it runs are under PR_SET_NO_NEW_PRIVS, Landlock and a seccomp
# deny-list. The probe is an auth_password_command (run by a delivery
# worker, inheriting its confinement): what it could do is sent as the
# "password", which the fake smarthost records.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay confine || exit 0
if ! is_root; then skip "confine: needs root (a file in /home owned by the relay user)"; exit 0; fi
abi=$("$PY" -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))')
if [ "${abi:--1}" -lt 2 ]; then skip "confine: Landlock ABI $abi on $(uname -r): relayd runs unconfined by it"; exit 0; fi

HOMEDIR=/home/nrtest-confine.$$
mkdir -p "$HOMEDIR" && chmod 755 "$HOMEDIR"
on_exit "rm -rf '$HOMEDIR'"
install -m 0600 -o "$(relay_user)" /dev/null "$HOMEDIR/readable-by-relay"
echo home-secret > "$HOMEDIR/readable-by-relay"
cp /bin/true "$T/notallowed" && chmod 755 "$T/notallowed"
relay_new confine
sh_start sh '{"users": {"u": "x"}}'
probe="s=\$(cat /etc/shadow >/dev/null 2>&1 && echo open || echo denied); h=\$(cat $HOMEDIR/readable-by-relay >/dev/null 2>&1 && echo open || echo denied); x=\$($T/notallowed 2>/dev/null && echo ran || echo denied); t=\$(/bin/true && echo ran || echo denied); q=\$(cat $RC >/dev/null 2>&1 && echo open || echo denied); echo shadow=\$s,home=\$h,exec=\$x,bintrue=\$t,conf=\$q"
relay_conf "auth_user = u" "auth_password_command = $probe"
relayd_start
submit -f s@example.org r@example.org < <(test_message confine)
wait_for 10 eval "grep -q '\"event\": *\"auth\"' '$T/sh/t.jsonl'"
got=$(grep -o 'shadow=[a-z]*,home=[a-z]*,exec=[a-z]*,bintrue=[a-z]*,conf=[a-z]*' "$T/sh/t.jsonl" | head -n 1)
check "confine: relayd logged its confinement" log_has "confinement: no_new_privs, landlock, seccomp deny-list"
check "confine: a worker cannot open /etc/shadow ($got)" grep -q 'shadow=denied' <<<"$got"
check "confine: ... nor a file in /home that the file modes would let it read" grep -q 'home=denied' <<<"$got"
check "confine: ... nor exec a program outside the allowed directories" grep -q 'exec=denied' <<<"$got"
check "confine: ... while /bin/true (auth_password_command set) still runs" grep -q 'bintrue=ran' <<<"$got"
check "confine: ... and the configuration stays readable" grep -q 'conf=open' <<<"$got"
relayd_stop
