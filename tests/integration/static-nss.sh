#!/usr/bin/env bash
# User look-ups of the static build (Makefile STATIC=1, spool/util_nss.h):
# sendmail and relayd are static-pie, glibc keeps to its built-in NSS
# modules, and an entry /etc/passwd does not have is asked of getent(1).
# A static glibc that dlopens libnss_systemd (Debian's nsswitch.conf names
# it after files) crashes: these cases crashed before util_nss.c.
#  1. sendmail as a uid without a passwd entry: queued, sender uidN;
#  2. a user only NSS beyond files knows (nobody, which nss-systemd makes up,
#     with /etc/passwd hidden in a mount namespace): sendmail names them as
#     getent does;
#  3. relayd (bounce_local = mbox) bouncing for a uid without a passwd
#     entry: it says so and keeps the bounce, and does not crash;
#  4. relayd bouncing to the mailbox of nobody, known beyond /etc/passwd
#     only: confined (Landlock), it may still run getent, and the report is
#     in /var/mail/nobody.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/bounce.sh"
require_root_relay static-nss "setpriv to a uid without a passwd entry" || exit 0
if file -L "$SENDMAIL" "$RELAYD" | grep -q 'dynamically linked'; then
	echo "# static-nss: a dynamic build (STATIC=0 or a sanitizer build): glibc's own NSS"
fi

# A uid nobody has.
NOUID=54321
while getent passwd "$NOUID" >/dev/null; do NOUID=$((NOUID + 1)); done
PUB=$(public_sendmail)

# 1.
relay_parked nouid
drop_sender() { sed -n 's/^sender <\(.*\)>$/\1/p' "$RS/incoming/new/$1"; }
before=$(ls "$RS/incoming/new")
setpriv --reuid="$NOUID" --regid="$NOUID" --clear-groups env NULLRELAY_CONF="$RC" \
	"$PUB" -t -i < <(printf 'To: r@example.org\nSubject: nouid\n\nHello.\n') 2> "$RD/err"
rc=$?
check "sendmail as uid $NOUID (no passwd entry) exits 0 (got $rc: $(head -c 200 "$RD/err"))" [ "$rc" = 0 ]
id=$(comm -13 <(printf '%s\n' "$before") <(ls "$RS/incoming/new") | head -n 1)
check "... and names the sender uid$NOUID@relay.test" \
	eval "[ -n '$id' ] && [ \"\$(drop_sender '$id')\" = 'uid$NOUID@relay.test' ]"

# 2.
NSHOW=$T/ns-getent
grep -v '^nobody:' /etc/passwd > "$T/passwd.nonobody"
chmod 644 "$T/passwd.nonobody"
if ! command -v unshare >/dev/null; then
	skip "static-nss: a user beyond /etc/passwd (no unshare)"
elif ! unshare -m sh -c "mount --bind '$T/passwd.nonobody' /etc/passwd && getent passwd 65534" > "$NSHOW" 2>/dev/null ||
	! grep -q '^nobody:' "$NSHOW"; then
	skip "static-nss: a user beyond /etc/passwd (no NSS module here knows nobody once /etc/passwd does not)"
else
	gecos=$(cut -d: -f5 "$NSHOW" | cut -d, -f1)
	relay_parked beyond
	before=$(ls "$RS/incoming/new")
	unshare -m sh -c "mount --bind '$T/passwd.nonobody' /etc/passwd &&
		setpriv --reuid=65534 --regid=65534 --clear-groups env NULLRELAY_CONF='$RC' '$PUB' -t -i" \
		< <(printf 'To: r@example.org\nSubject: beyond\n\nHello.\n') 2> "$RD/err"
	rc=$?
	check "sendmail as nobody, known beyond /etc/passwd only, exits 0 (got $rc: $(head -c 200 "$RD/err"))" [ "$rc" = 0 ]
	id=$(comm -13 <(printf '%s\n' "$before") <(ls "$RS/incoming/new") | head -n 1)
	check "... the envelope sender is nobody@relay.test, as getent says" \
		eval "[ -n '$id' ] && [ \"\$(drop_sender '$id')\" = nobody@relay.test ]"
	want="From: $gecos <nobody@relay.test>"
	[ -n "$gecos" ] || want="From: nobody@relay.test"
	check "... and the From: header is \"$want\"" \
		eval "[ -n '$id' ] && grep -qxF '$want' '$RS/incoming/new/$id'"
fi

# 3.
REFUSE="{$EHLO_DSN,\"rcpt_replies\":{\"r@example.org\":\"550 5.1.1 <r@example.org>: no such user\"}}"
relay_new bounce
sh_start sh-bounce "$REFUSE"
relay_conf "bounce_local = mbox"
setpriv --reuid="$NOUID" --regid="$NOUID" --clear-groups env NULLRELAY_CONF="$RC" \
	"$PUB" r@example.org < <(test_message nouid-bounce) 2>> "$RD/sendmail.err"
relayd_once
rc=$?
check "relayd --once bouncing for uid $NOUID exits 0 (got $rc)" [ "$rc" = 0 ]
check "... logs that uid $NOUID has no passwd entry and keeps the bounce" \
	log_has "uid $NOUID has no passwd entry; falling back to keep"
check "... the message is in failed/" eval "[ -n \"\$(ls '$RS/failed')\" ]"

# 4.
MB=/var/mail/nobody
if [ ! -s "$NSHOW" ] || ! grep -q '^nobody:' "$NSHOW"; then
	skip "static-nss: mbox bounce for a user beyond /etc/passwd (as in 2)"
elif [ -e "$MB" ] || ! getent group mail >/dev/null || [ ! -d /var/mail ]; then
	skip "static-nss: mbox bounce for nobody ($MB exists, or no group mail or /var/mail)"
else
	on_exit "rm -f '$MB' '$MB.lock'"
	install -m 0660 -o 65534 -g mail /dev/null "$MB"
	relay_new beyond-mbox
	sh_start sh-beyond "$REFUSE"
	relay_conf "bounce_local = mbox"
	unshare -m sh -c "mount --bind '$T/passwd.nonobody' /etc/passwd &&
		setpriv --reuid=65534 --regid=65534 --clear-groups env NULLRELAY_CONF='$RC' '$PUB' r@example.org" \
		< <(test_message beyond-bounce) 2>> "$RD/sendmail.err"
	unshare -m sh -c "mount --bind '$T/passwd.nonobody' /etc/passwd &&
		exec timeout 60 '$RELAYD' -C '$RC' -f --once" 2>> "$RL"
	rc=$?
	check "relayd --once, nobody beyond /etc/passwd, exits 0 (got $rc)" [ "$rc" = 0 ]
	check "... the report is in $MB" grep -q '^Subject: .*' "$MB"
	check "... logged relay=local status=sent" \
		log_has "to=<nobody@relay.test>, relay=local, .*status=sent \(delivered to mailbox $MB\)"
fi
