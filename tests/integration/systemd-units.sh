#!/usr/bin/env bash
# The systemd units (contrib/systemd): systemd-analyze verify accepts them
# without a warning, systemd-analyze security --offline=yes rates both
# services at most 2.0, the sysusers.d and tmpfiles.d entries make the
# account and the exact spool relayd wants (so it never needs to chmod or
# chown: the unit gives it CAP_SETGID alone and RestrictSUIDSGID), and
# relayd, started as the unit starts it (the relay user, group mail,
# ambient CAP_SETGID, no_new_privs), keeps group mail in its mailbox
# process only, ends with no capability, and delivers from that spool.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay systemd-units || exit 0
U=$TOP/contrib/systemd
command -v systemd-analyze >/dev/null || { skip "systemd units (systemd-analyze missing: scripts/install-deps)"; exit 0; }

# A scratch root holding systemd's own units, ours, and the binaries at the
# paths the units name, so verify checks the real files.
R=$T/root
mkdir -p "$R/usr/sbin" "$R/bin" "$R/lib/systemd/system"
cp -a /lib/systemd/system/. "$R/lib/systemd/system/" 2>/dev/null
cp "$RELAYD" "$R/usr/sbin/relayd"
cp /bin/kill "$R/bin/kill"
units="nullrelay.service nullrelay-once.service nullrelay.timer"
for u in $units; do cp "$U/$u" "$R/lib/systemd/system/$u"; done
for u in $units; do
	out=$(systemd-analyze verify --root="$R" --man=no "$R/lib/systemd/system/$u" 2>&1); rc=$?
	check "verify: $u passes with no warning (rc $rc)${out:+: $out}" [ $rc = 0 -a -z "$out" ]
done
# verify is not a rubber stamp: a missing binary and a misspelt key fail.
rm "$R/usr/sbin/relayd"
systemd-analyze verify --root="$R" --man=no "$R/lib/systemd/system/nullrelay.service" >/dev/null 2>&1
check "verify: fails when /usr/sbin/relayd is missing" [ $? != 0 ]
cp "$RELAYD" "$R/usr/sbin/relayd"

for u in nullrelay.service nullrelay-once.service; do
	out=$(systemd-analyze security --offline=yes "$U/$u" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
	echo "   $u: exposure $score"
	check "security: $u is rated at most 2.0 (got ${score:-nothing})" \
		awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
done
svc=$U/nullrelay.service
for k in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'ProtectSystem=strict' \
	'ReadWritePaths=/var/spool/nullrelay' 'ReadWritePaths=-/var/mail' 'NoNewPrivileges=yes' \
	'RestrictSUIDSGID=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'ProtectHome=yes' \
	'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' \
	'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes' 'UMask=0027' \
	'CapabilityBoundingSet=CAP_SETGID' 'AmbientCapabilities=CAP_SETGID' \
	'SystemCallFilter=setgroups capset' 'User=nullrelay'; do
	check "unit: nullrelay.service has $k" grep -qxF -- "$k" "$svc"
done
check "unit: nullrelay-once.service runs relayd --once" grep -qxF 'ExecStart=/usr/sbin/relayd --once' "$U/nullrelay-once.service"
check "unit: nullrelay.timer starts nullrelay-once.service" \
	eval 'grep -q "^OnUnitInactiveSec=" "$U/nullrelay.timer" && [ "$(systemd-analyze verify --root="$R" --man=no "$R/lib/systemd/system/nullrelay.timer" 2>&1)" = "" ] && grep -qx "Unit=nullrelay-once.service" "$U/nullrelay.timer"'

# sysusers.d: a system account with no shell and no home.
S=$T/sysroot
mkdir -p "$S/etc"
systemd-sysusers --root="$S" "$U/nullrelay.sysusers" >/dev/null 2>&1
check "sysusers.d: creates nullrelay, a system user without a login shell or home" \
	grep -Eq '^nullrelay:x:[0-9]{1,3}:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$S/etc/passwd"

# tmpfiles.d: the spool with relayd's owners and modes, exactly.
if ! is_root; then
	skip "tmpfiles.d: spool layout and relayd without capabilities (needs root)"
	exit 0
fi
ts=$T/tmpfiles-spool
sed "s|/var/spool/nullrelay|$ts|; s| nullrelay nullrelay | $RELAY_USER $(id -gn "$RELAY_USER") |" \
	"$U/nullrelay.tmpfiles" > "$T/tmpfiles.conf"
check "tmpfiles.d: the entries use /var/spool/nullrelay and nullrelay only" \
	eval '! grep -v "^#" "$U/nullrelay.tmpfiles" | grep . | grep -Ev "^d /var/spool/nullrelay[a-z/]* +[0-7]{4} nullrelay nullrelay -$"'
systemd-tmpfiles --create "$T/tmpfiles.conf"
check "tmpfiles.d: systemd-tmpfiles --create succeeds" [ $? = 0 ]
ref=$T/ref-spool
relay_new ref
"$RELAYD" -C "$RC" -f --once 2>/dev/null    # root: relayd builds the spool itself
layout() { (cd "$1" && find . -type d -printf '%p %m %u %g\n' | sort); }
check "tmpfiles.d: the same directories, modes and owners relayd makes as root" \
	diff <(layout "$ts") <(layout "$RS")
before=$(cd "$ts" && find . -type d -printf '%p %m %u %g\n' | sort)

# relayd as the unit starts it: the relay user from the start, group mail,
# CAP_SETGID alone (ambient), no_new_privs; it must drop group mail and
# every capability from all but its mailbox process, and deliver from that
# spool.
relay_new unit
sh_start sh-unit '{"ehlo":["PIPELINING"]}'
relay_conf "spool = $ts"
chmod 644 "$RC"
mailgid=$(getent group mail | cut -d: -f3)
setpriv --reuid "$RELAY_USER" --regid "$RELAY_USER" --groups "$mailgid" \
	--no-new-privs --bounding-set=-all,+setgid --inh-caps=-all,+setgid --ambient-caps=-all,+setgid \
	env NOTIFY_SOCKET= "$RELAYD" -C "$RC" -f 2>>"$RL" &
pid=$!
on_exit "kill $pid 2>/dev/null"
wait_for 5 test -S "$ts/relayd.sock"
st() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
nocaps() { [ "$(st "$1" CapEff)$(st "$1" CapPrm)$(st "$1" CapInh)$(st "$1" CapAmb)" = \
	"0000000000000000000000000000000000000000000000000000000000000000" ]; }
check "unit-like: relayd runs as $RELAY_USER, no_new_privs, no capability left (CapEff $(st $pid CapEff), CapAmb $(st $pid CapAmb))" \
	eval 'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid/status && nocaps $pid'
check "unit-like: the resident relayd dropped group mail (Groups: $(st $pid Groups))" \
	eval '! grep -qw -- "$mailgid" <<<"$(st $pid Groups)"'
mpid=$(ps -o pid=,comm= --ppid "$pid" | awk '$2 == "relayd-mbox" { print $1 }' | head -n 1)
check "unit-like: its mailbox process keeps group mail and no capability (pid ${mpid:-none}, Groups: $([ -n "$mpid" ] && st "$mpid" Groups))" \
	eval '[ -n "$mpid" ] && grep -qw -- "$mailgid" <<<"$(st $mpid Groups)" && nocaps $mpid'
test_message unit > "$RD/msg"; chmod 644 "$RD/msg"
setpriv --reuid "$TEST_USER1" --regid "$TEST_USER1" --init-groups env NULLRELAY_CONF="$RC" \
	"$(public_sendmail)" -f s@example.org r@example.org < "$RD/msg"
check "unit-like: a user's message is delivered from the tmpfiles.d spool" wait_for 10 sh_has sh-unit
kill -TERM $pid; wait $pid 2>/dev/null; sed "s/^/   log: /" "$RL"
after=$(cd "$ts" && find . -type d -printf '%p %m %u %g\n' | sort)
check "unit-like: relayd changed no owner or mode in the spool (no chmod, no chown needed)" \
	[ "$before" = "$after" ]
check "unit-like: no error in the log" eval '! grep -Ei "error|cannot|refus" "$RL"'
