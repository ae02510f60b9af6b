#!/usr/bin/env bash
# make deb (scripts/mkdeb): the package lintian accepts, installed on this
# machine with dpkg -i, used through /usr/sbin/sendmail with relayd started
# by hand from /usr/sbin/relayd (systemd is not PID 1 here), then purged,
# checking that the purge removed every file it brought or made.
# Root only. It replaces /usr/sbin/sendmail while it runs, so it refuses to
# run where an MTA or an earlier nullrelay install owns those paths, and it
# purges the package on every exit path (trap), leaving the machine as found.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay recipe-debian-package || exit 0
is_root || { skip "deb package: install and purge (needs root)"; exit 0; }
for t in dpkg-deb dpkg-shlibdeps lintian; do
	command -v $t >/dev/null || { fail "deb package: $t missing (scripts/install-deps installs it)"; exit 0; }
done
if dpkg-query -W -f='${Status}' nullrelay 2>/dev/null | grep -q 'installed'; then
	skip "deb package: nullrelay is already installed here; not touching it"; exit 0
fi
for p in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq /usr/bin/newaliases /etc/nullrelay /var/spool/nullrelay; do
	if [ -e "$p" ] || [ -L "$p" ]; then
		skip "deb package: $p exists (another MTA or a manual install); not replacing it"; exit 0
	fi
done

out=$(cd "$TOP" && scripts/mkdeb 2>"$T/mkdeb.err")
rc=$?
deb=$TOP/$out
check "make deb: scripts/mkdeb exits 0 and names the .deb ($out)" [ $rc = 0 -a -f "$deb" ]
[ -f "$deb" ] || { cat "$T/mkdeb.err"; exit 0; }
arch=$(dpkg --print-architecture)
check "make deb: named build/nullrelay_VERSION_${arch}.deb" eval '[[ $out =~ ^build/nullrelay_[0-9][0-9.]*_${arch}\.deb$ ]]'
ctl=$(dpkg-deb -f "$deb")
for f in 'Provides: mail-transport-agent' 'Conflicts: mail-transport-agent' 'Replaces: mail-transport-agent' 'Section: mail'; do
	check "control: $f" grep -qxF "$f" <<<"$ctl"
done
check "control: Depends on libssl3 and libbsd0 (dpkg-shlibdeps)" eval 'grep -q "^Depends: .*libbsd0.*libssl3" <<<"$ctl"'
check "control: /etc/nullrelay/relay.conf is a conffile" eval 'dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qxF /etc/nullrelay/relay.conf'
listing=$(dpkg-deb -c "$deb")
check "contents: no file is setuid or setgid" eval '! grep -E "^[-l]..[sS]|^[-l].....[sS]" <<<"$listing"'
check "contents: every file owned by root" eval '! grep -v " root/root " <<<"$listing"'

lint=$(lintian --fail-on error "$deb" 2>&1); rc=$?
grep -v 'running with root privileges' <<<"$lint" | sed 's/^/   lintian: /'
check "lintian: no errors (rc $rc)" eval '[ $rc = 0 ] && ! grep -q "^E: " <<<"$lint"'

# A process running the package's binary (other tests' relayd run from the tree).
pkg_relayd_running() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/relayd ] && return 0
	done
	return 1
}

# From here on the machine is changed: restore it on every exit.
PKG_RELAYD_PID=
deb_restore() {
	[ -n "$PKG_RELAYD_PID" ] && kill "$PKG_RELAYD_PID" 2>/dev/null && wait "$PKG_RELAYD_PID" 2>/dev/null
	PKG_RELAYD_PID=
	dpkg-query -W nullrelay >/dev/null 2>&1 && dpkg --purge nullrelay >/dev/null 2>&1
	return 0
}
on_exit deb_restore

dpkg -i "$deb" > "$T/install.out" 2>&1
rc=$?
sed 's/^/   dpkg: /' "$T/install.out"
check "install: dpkg -i exits 0" [ $rc = 0 ]
files=$(dpkg -L nullrelay)
for p in /usr/sbin/sendmail /usr/sbin/relayd /usr/share/man/man8/sendmail.8.gz /usr/share/man/man8/relayd.8.gz \
	/usr/share/man/man5/relay.conf.5.gz /etc/nullrelay/relay.conf /lib/systemd/system/nullrelay.service \
	/lib/systemd/system/nullrelay.timer /lib/systemd/system/nullrelay-once.service \
	/usr/lib/sysusers.d/nullrelay.conf /usr/lib/tmpfiles.d/nullrelay.conf \
	/usr/share/doc/nullrelay/copyright /usr/share/doc/nullrelay/changelog.gz; do
	check "install: $p" test -f "$p"
done
for p in /usr/lib/sendmail /usr/bin/mailq /usr/bin/newaliases; do
	check "install: $p -> /usr/sbin/sendmail" [ "$(readlink -f "$p")" = /usr/sbin/sendmail ]
done
check "install: man pages are gzipped man pages" eval 'zcat /usr/share/man/man8/relayd.8.gz | grep -q "^\.Dt RELAYD 8"'
check "install: the relay user exists" eval 'getent passwd nullrelay >/dev/null'
layout=$(find /var/spool/nullrelay -type d -printf '%p %m %u %g\n' | sort)
want="/var/spool/nullrelay 755 nullrelay nullrelay
/var/spool/nullrelay/failed 700 nullrelay nullrelay
/var/spool/nullrelay/incoming 755 nullrelay nullrelay
/var/spool/nullrelay/incoming/new 3733 nullrelay nullrelay
/var/spool/nullrelay/incoming/tmp 3733 nullrelay nullrelay
/var/spool/nullrelay/quarantine 700 nullrelay nullrelay
/var/spool/nullrelay/queue 700 nullrelay nullrelay"
check "install: postinst made the spool with relayd's modes" [ "$layout" = "$want" ]
check "install: the service is enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/nullrelay.service
check "install: ... but nothing started, and postinst says what to do" \
	eval '! pkg_relayd_running && grep -q "relay.conf needs a smarthost" "$T/install.out"'
check "install: the shipped relay.conf is refused by relayd -n for want of a smarthost" \
	eval '! relayd -n >/dev/null 2>&1'
man=--man=no
command -v man >/dev/null && man=--man=yes
out=$(systemd-analyze verify $man /lib/systemd/system/nullrelay.service /lib/systemd/system/nullrelay.timer /lib/systemd/system/nullrelay-once.service 2>&1)
check "install: systemd-analyze verify $man on the installed units${out:+: $out}" [ -z "$out" ]
check "install: sendmail without a smarthost still queues (mail waits for the config)" \
	eval 'test_message early | /usr/sbin/sendmail -f s@example.org early@example.org'

# Configure it as an administrator would, start relayd by hand as root
# (it drops to nullrelay), and mail through the installed paths.
RS=/var/spool/nullrelay RD=$T/pkg RL=$T/pkg/relayd.log
mkdir -p "$RD"; : > "$RL"
sh_start sh-pkg '{"ehlo":["PIPELINING","8BITMIME"]}'
cat > /etc/nullrelay/relay.conf <<CONF
smarthost = 127.0.0.1:$SH_PORT
tls = none
hostname = pkg.test
retry_min = 1s
rescan_interval = 1s
CONF
check "configured: relayd -n accepts it" eval 'relayd -n >/dev/null'
/usr/sbin/relayd -f 2>>"$RL" &
PKG_RELAYD_PID=$!
wait_for 5 test -S /var/spool/nullrelay/relayd.sock
check "configured: /usr/sbin/relayd runs as nullrelay" \
	eval '[ "$(awk "/^Uid:/ {print \$3}" /proc/$PKG_RELAYD_PID/status)" = "$(id -u nullrelay)" ]'
test_message pkg-user > "$RD/msg"; chmod 644 "$RD/msg"
as_user "$TEST_USER1" /usr/sbin/sendmail -f s@example.org r@example.org < "$RD/msg"
check "configured: $TEST_USER1's /usr/sbin/sendmail exits 0" [ $? = 0 ]
printf 'To: t@example.org\nSubject: via -t\n\nbody\n' | /usr/lib/sendmail -t
check "configured: root's /usr/lib/sendmail -t exits 0" [ $? = 0 ]
check "configured: the smarthost received all three (the early one too)" wait_for 15 sh_has sh-pkg 3
check "configured: $TEST_USER1's message carries Received: ... from userid $(id -u "$TEST_USER1")" \
	eval 'grep -l "Subject: pkg-user" "$T/sh-pkg/mail/"*.eml | xargs grep -q "^Received: by pkg\.test (nullrelay, from userid $(id -u "$TEST_USER1"))"'
check "configured: mailq (/usr/bin/mailq) says the queue is empty" eval '[ "$(/usr/bin/mailq 2>&1)" = "Mail queue is empty" ]'
check "configured: newaliases exits 0" /usr/bin/newaliases
wait_for 3 log_has 'status=sent'
check "configured: delivery log lines" eval '[ "$(grep -c "status=sent" "$RL")" = 3 ]'
kill -TERM "$PKG_RELAYD_PID"; wait "$PKG_RELAYD_PID"; rc=$?
PKG_RELAYD_PID=
check "configured: relayd stops on SIGTERM (rc $rc)" [ $rc = 0 ]

# Reinstalling keeps the administrator's relay.conf (a conffile).
dpkg -i "$deb" > "$T/reinstall.out" 2>&1
check "reinstall: exits 0 and keeps the edited relay.conf" \
	eval '[ $? = 0 ] && grep -q "^hostname = pkg.test" /etc/nullrelay/relay.conf'

# Purge: every file the package brought or made is gone.
echo secret > /etc/nullrelay/password
dpkg --purge nullrelay > "$T/purge.out" 2>&1
check "purge: dpkg --purge exits 0" [ $? = 0 ]
check "purge: the package is gone from dpkg's database" eval '! dpkg-query -W -f="\${Status}" nullrelay 2>/dev/null | grep -q .'
left=
while read -r f; do
	case $f in /.|/etc|/lib|/lib/systemd|/lib/systemd/system|/usr|/usr/*/|/usr/bin|/usr/sbin|/usr/lib|/usr/share|/usr/share/doc|/usr/share/man|/usr/share/man/man?|/usr/lib/sysusers.d|/usr/lib/tmpfiles.d) continue ;; esac
	if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done <<<"$files"
check "purge: every file of the package removed${left:+ (left:$left)}" [ -z "$left" ]
check "purge: /etc/nullrelay (config and secret) removed" [ ! -e /etc/nullrelay ]
check "purge: the spool removed" [ ! -e /var/spool/nullrelay ]
check "purge: the enablement symlink and deb-systemd-helper state removed" \
	eval '[ ! -e /etc/systemd/system/multi-user.target.wants/nullrelay.service ] && ! grep -rqs nullrelay /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked'
check "purge: /usr/sbin/sendmail is gone again (the machine as found)" [ ! -e /usr/sbin/sendmail ]
