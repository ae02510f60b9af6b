#!/usr/bin/env bash
# SPEC §5.2-5.4 and §1: users cannot see, read, alter or delete each other's
# drop files; the drop file's owner (not what it says) is the submitter; the
# drop file is 0640 with the relay group even under umask 077; nothing is
# setuid or setgid. Needs root (to act as two users).
. "$(dirname "$0")/../lib/common.sh"

if ! is_root; then
	skip "spool multi-user isolation (needs root to act as $TEST_USER1 and $TEST_USER2)"
	exit 0
fi
for t in mkspool pickup-check drop-submit; do
	if [ ! -x "$TOOLS/$t" ]; then
		fail "test tool $TOOLS/$t is built (make units)"
		exit 0
	fi
done

U1=$TEST_USER1 U2=$TEST_USER2
UID1=$(id -u "$U1")
RELAY_GROUP=$(id -gn "$RELAY_USER")

# checke DESCRIPTION 'SHELL CONDITION': PASS if the condition holds.
checke() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }

# as USER CMD...: run CMD as USER (real and effective ids, its groups), umask 077.
as() {
	local u=$1; shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- \
		/bin/sh -c 'umask 077; exec "$@"' sh "$@"
}
# A tool the test users can run: $BUILD may sit under a private directory.
cp "$TOOLS/pickup-check" "$TOOLS/drop-submit" "$T/"
chmod 755 "$T/pickup-check" "$T/drop-submit"

SP=$T/spool
mk_spool "$SP" || { fail "mk_spool $SP"; exit 0; }
CONF=$T/relay.conf
write_conf "$CONF" "spool = $SP" "smarthost = 127.0.0.1:2525" "tls = none" \
	"hostname = test.example.org"

# ---- the spool layout mk_spool made -------------------------------------
check "incoming/new is 3733 $RELAY_USER:$RELAY_GROUP" \
	[ "$(stat -c '%a %U:%G' "$SP/incoming/new")" = "3733 $RELAY_USER:$RELAY_GROUP" ]
check "incoming/tmp is 3733 $RELAY_USER:$RELAY_GROUP" \
	[ "$(stat -c '%a %U:%G' "$SP/incoming/tmp")" = "3733 $RELAY_USER:$RELAY_GROUP" ]
check "queue is 0700 $RELAY_USER" [ "$(stat -c '%a %U' "$SP/queue")" = "700 $RELAY_USER" ]

# ---- submission through sendmail (SPEC §5) ------------------------------
msg() { printf 'Subject: %s\n\nhello from %s\n' "$1" "$1"; }
before=$(find "$SP/incoming/new" -type f | wc -l)
if [ -x "$SENDMAIL" ]; then
	msg one | as "$U1" "$SENDMAIL" -C "$CONF" -i rcpt@example.org
	check "$U1 submits with sendmail (exit 0)" [ $? = 0 ]
	msg two | as "$U2" "$SENDMAIL" -C "$CONF" -i rcpt@example.org
	check "$U2 submits with sendmail (exit 0)" [ $? = 0 ]
	msg forged | as "$U1" "$SENDMAIL" -C "$CONF" -i -f "$U2@example.org" rcpt@example.org
	check "$U1 submits with -f $U2@example.org (exit 0)" [ $? = 0 ]
	F1=$(grep -l 'hello from one' "$SP"/incoming/new/* 2>/dev/null | head -n 1)
	FF=$(grep -l 'hello from forged' "$SP"/incoming/new/* 2>/dev/null | head -n 1)
	checke "sendmail's drop file for $U1 is owned by $U1" \
		'[ -n "$F1" ] && [ "$(stat -c %U "$F1")" = "$U1" ]'
	checke "drop file is owned by $U1 even with -f $U2@example.org" \
		'[ -n "$FF" ] && [ "$(stat -c %U "$FF")" = "$U1" ]'
	checke "sendmail's drop file is 0640 group $RELAY_GROUP under umask 077" \
		'[ -n "$F1" ] && [ "$(stat -c "%a %G" "$F1")" = "640 $RELAY_GROUP" ]'
	if [ -n "$F1" ]; then
		out=$(as "$RELAY_USER" "$T/pickup-check" "$SP/incoming/new" "$(basename "$F1")")
		checke "relayd's checks accept sendmail's drop file and see uid $UID1" \
			'grep -qx "verdict OK" <<<"$out" && grep -qx "uid $UID1" <<<"$out"'
	fi
	check "nothing left in incoming/tmp after sendmail" \
		[ -z "$(find "$SP/incoming/tmp" -mindepth 1)" ]
else
	fail "sendmail is built ($SENDMAIL missing): sendmail submissions not tested"
fi

# ---- the same properties for drop files written without sendmail --------
# Through the spool API (what sendmail uses), as U1 and U2.
A=$(msg api1 | as "$U1" "$T/drop-submit" "$SP" "$U1@example.org" rcpt@example.org)
checke "$U1 queues through the spool API (exit 0)" "[ $? = 0 ] && [ -n \"\$A\" ]"
B=$(msg api2 | as "$U2" "$T/drop-submit" "$SP" "$U2@example.org" rcpt@example.org)
checke "$U2 queues through the spool API (exit 0)" "[ $? = 0 ] && [ -n \"\$B\" ]"
FA=$SP/incoming/new/$A
check "API drop file is owned by $U1, 0640, group $RELAY_GROUP under umask 077" \
	[ "$(stat -c '%U %a %G' "$FA" 2>/dev/null)" = "$U1 640 $RELAY_GROUP" ]

# By hand: U1 writes a file claiming uid 0 and renames it into new/.
HID=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n' | tr a-f A-F)
body='Subject: hand

forged
'
hdr="NULLRELAY-DROP 1
length $(printf '%020d' ${#body})
sender <root@example.org>
rcpt <victim@example.org>
claimed-uid 0
"
as "$U1" /bin/sh -c 'printf "%s\n%s" "$1" "$2" > "$3/incoming/tmp/$4" &&
	chmod 640 "$3/incoming/tmp/$4" && mv "$3/incoming/tmp/$4" "$3/incoming/new/$4"' \
	sh "$hdr" "$body" "$SP" "$HID"
check "$U1 can drop a hand-written file" [ -f "$SP/incoming/new/$HID" ]
check "hand-written drop file claiming uid 0 is owned by $U1" \
	[ "$(stat -c %U "$SP/incoming/new/$HID" 2>/dev/null)" = "$U1" ]
out=$(as "$RELAY_USER" "$T/pickup-check" "$SP/incoming/new" "$HID")
checke "pick-up reports st_uid $UID1, not the claimed 0" \
	'grep -qx "verdict OK" <<<"$out" && grep -qx "uid $UID1" <<<"$out" &&
	grep -qx "claimed-uid 0" <<<"$out"'

# ---- what U2 cannot do to U1's file -------------------------------------
N=$A
P=$SP/incoming/new/$N
sum=$(sha256sum "$P" | cut -d' ' -f1)
RENAME='import os,sys; os.rename(sys.argv[1], sys.argv[2])'
# A control: the owner itself can read it, so the refusals below are real.
checke "$U1 can read its own drop file (control)" 'as "$U1" cat "$P" >/dev/null 2>&1'
checke "$U2 cannot list incoming/new" '! as "$U2" ls "$SP/incoming/new" >/dev/null 2>&1'
checke "$U2 cannot list incoming/tmp" '! as "$U2" ls "$SP/incoming/tmp" >/dev/null 2>&1'
checke "$U2 cannot list queue/" '! as "$U2" ls "$SP/queue" >/dev/null 2>&1'
checke "$U2 cannot read $U1's drop file by name" '! as "$U2" cat "$P" >/dev/null 2>&1'
checke "$U2 cannot rename $U1's drop file" \
	'! as "$U2" "$PY" -c "$RENAME" "$P" "$SP/incoming/new/0000000000000000" 2>/dev/null'
# U2 makes its own file and tries to rename it over U1's.
as "$U2" /bin/sh -c 'echo evil > "$1"' sh "$SP/incoming/tmp/EVIL$$"
checke "$U2 cannot replace $U1's drop file with its own" \
	'! as "$U2" "$PY" -c "$RENAME" "$SP/incoming/tmp/EVIL$$" "$P" 2>/dev/null'
rm -f "$SP/incoming/tmp/EVIL$$"
checke "$U2 cannot delete $U1's drop file" '! as "$U2" rm -f "$P" 2>/dev/null'
LNREAD='ln "$1" "$2" 2>/dev/null && cat "$2"'
checke "$U2 cannot hard-link $U1's drop file and read it" \
	'! as "$U2" /bin/sh -c "$LNREAD" sh "$P" "$SP/incoming/tmp/LINK$$" >/dev/null 2>&1'
rm -f "$SP/incoming/tmp/LINK$$"
TRUNC=': > "$1"'
checke "$U2 cannot truncate $U1's drop file" '! as "$U2" /bin/sh -c "$TRUNC" sh "$P" 2>/dev/null'
checke "$U1's drop file is intact and still $U1's" \
	'[ "$(sha256sum "$P" | cut -d" " -f1)" = "$sum" ] && [ "$(stat -c %U "$P")" = "$U1" ]'

# ---- nothing setuid or setgid (SPEC §1, §5) -----------------------------
for b in "$SENDMAIL" "$RELAYD"; do
	if [ -e "$b" ]; then
		check "no setuid/setgid bit on $b" [ -z "$(find "$b" -perm /6000)" ]
	else
		fail "$b is built (cannot check it is not setuid/setgid)"
	fi
done
exit 0
