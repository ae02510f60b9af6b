#!/usr/bin/env bash
# sendmail's failures (SPEC §3 exit codes, §4, §9): the right sysexits code,
# exactly one line on stderr naming the cause, never 75, and nothing partial
# in the spool. Also the no-op modes and the quoted-printable re-encoding of
# over-long lines.
. "$(dirname "$0")/../lib/common.sh"
sendmail_setup sendmail-errors "smarthost = smtp.example.org" || exit 0
mk_spool "$SP" || { fail "sendmail-errors: mkspool"; exit 0; }
printf '%s\n' 'From: a@example.org' 'To: b@example.org' 'Subject: t' '' 'body' > "$T/in"

ALL_RCS=()

# Files anywhere under SPOOL/incoming (tmp or new): must stay empty.
spool_files() { find "$1/incoming" -type f | wc -l; }

# expect NAME RC [SPOOL]: check the result of the command just run
# (rc in $RC, stderr in $T/err).
expect() {
	local name=$1 want=$2 sp=${3:-$SP} lines
	ALL_RCS+=("$RC")
	check "$name: exit $want (got $RC)" [ "$RC" = "$want" ]
	check "$name: never 75" [ "$RC" != 75 ]
	lines=$(wc -l < "$T/err")
	if [ "$want" != 0 ]; then
		if [ "$lines" = 1 ]; then
			pass "$name: exactly one stderr line"
		else
			fail "$name: exactly one stderr line (got $lines)"
			sed 's/^/    /' "$T/err" | head -n 5
		fi
	fi
	if [ -d "$sp/incoming" ]; then
		check "$name: nothing left in the spool" [ "$(spool_files "$sp")" = 0 ]
	fi
}

# sm ARGS...: run sendmail with our config, stdin from $T/in.
sm() {
	"$SENDMAIL" -C "$CONF" "$@" < "$T/in" > "$T/out" 2> "$T/err"
	RC=$?
}

# ---- spool missing: 73, stderr names the path ----------------------------
NOSPOOL_CONF=$T/nospool.conf
write_conf "$NOSPOOL_CONF" "spool = $T/no-such-spool" "hostname = host.example.net"
"$SENDMAIL" -C "$NOSPOOL_CONF" b@example.org < "$T/in" > "$T/out" 2> "$T/err"
RC=$?
expect "spool missing" 73
check "spool missing: stderr names $T/no-such-spool" grep -qF "$T/no-such-spool" "$T/err"
check "spool missing: sendmail did not create it" [ ! -e "$T/no-such-spool" ]

# ---- unreadable stdin: 66 -------------------------------------------------
"$SENDMAIL" -C "$CONF" b@example.org <&- > "$T/out" 2> "$T/err"
RC=$?
expect "closed stdin" 66
"$SENDMAIL" -C "$CONF" b@example.org < "$T" > "$T/out" 2> "$T/err"
RC=$?
expect "stdin is a directory" 66

# ---- over max_message_size: 77, nothing queued ----------------------------
SMALL_CONF=$T/small.conf
write_conf "$SMALL_CONF" "spool = $SP" "hostname = host.example.net" "max_message_size = 1k"
{ printf '%s\n' 'From: a@example.org' 'To: b@example.org' 'Subject: big' ''
  for i in $(seq 1 100); do echo "line $i of a message that is too large for the limit"; done
} > "$T/big"
"$SENDMAIL" -C "$SMALL_CONF" b@example.org < "$T/big" > "$T/out" 2> "$T/err"
RC=$?
expect "over max_message_size" 77

# ---- configuration errors: 78 ----------------------------------------------
BAD_CONF=$T/bad.conf
write_conf "$BAD_CONF" "spool = $SP" "hostname = host.example.net" "bogus_key = 1"
"$SENDMAIL" -C "$BAD_CONF" b@example.org < "$T/in" > "$T/out" 2> "$T/err"
RC=$?
expect "unknown config key" 78
check "unknown config key: stderr has FILE:LINE" grep -qF "$BAD_CONF:3" "$T/err"
write_conf "$BAD_CONF" "# size" "max_message_size = lots" "spool = $SP"
NULLRELAY_CONF=$BAD_CONF "$SENDMAIL" b@example.org < "$T/in" > "$T/out" 2> "$T/err"
RC=$?
expect "bad value via NULLRELAY_CONF" 78
check "bad value: stderr has FILE:LINE" grep -qF "$BAD_CONF:2" "$T/err"
"$SENDMAIL" -C /nonexistent/relay.conf b@example.org < "$T/in" > "$T/out" 2> "$T/err"
RC=$?
expect "-C /nonexistent" 78
check "-C /nonexistent: stderr names the file" grep -qF /nonexistent/relay.conf "$T/err"

# ---- usage errors: 64 -----------------------------------------------------
sm -Z b@example.org
expect "unknown flag -Z" 64
check "unknown flag: stderr names -Z" grep -q -- '-Z' "$T/err"
sm
expect "no recipients" 64
printf '%s\n' 'From: a@example.org' 'Subject: no recipients' '' 'body' > "$T/nor"
"$SENDMAIL" -C "$CONF" -t < "$T/nor" > "$T/out" 2> "$T/err"
RC=$?
expect "-t without any recipient header" 64
sm -f a@example.org -f c@example.org b@example.org
expect "second -f" 64
sm -f a@example.org -r a@example.org b@example.org
expect "-f then -r" 64
sm -bt
expect "-bt" 64
sm -f
expect "-f without a value" 64
sm -B 9BIT b@example.org
expect "-B 9BIT" 64
sm -q b@example.org
expect "-q followed by a word (a recipient with -q)" 64
sm -bp b@example.org
expect "recipients with -bp" 64

# ---- malformed addresses: 65 ---------------------------------------------
sm $'a@example.org\r\nRCPT TO:<evil@example.org>'
expect "recipient with CR LF" 65
sm $'a@example.org\nRCPT TO:<evil@example.org>'
expect "recipient with LF" 65
sm -f $'a@example.org\r\nRCPT TO:<evil@example.org>' b@example.org
expect "sender with CR LF" 65
sm 'a@example.org>, <evil@example.org'
expect "recipient with <> tricks" 65
printf '%s\n' 'From: a@example.org' 'To: <b@example.org' 'Subject: t' '' 'body' > "$T/badto"
"$SENDMAIL" -C "$CONF" -t < "$T/badto" > "$T/out" 2> "$T/err"
RC=$?
expect "-t with an unbalanced To:" 65

# ---- full disk: 74, nothing partial ----------------------------------------
if ! is_root; then
	skip "full disk (needs root to mount a tmpfs)"
elif mkdir -p "$T/full" && mount -t tmpfs -o size=1m,mode=0755 nrtest-full "$T/full" 2> /dev/null; then
	on_exit "umount '$T/full'"
	FULL_CONF=$T/full.conf
	write_conf "$FULL_CONF" "spool = $T/full/spool" "hostname = host.example.net"
	if mk_spool "$T/full/spool"; then
		{ printf '%s\n' 'From: a@example.org' 'To: b@example.org' 'Subject: big' ''
		  "$PY" -c 'import sys
for i in range(40000): sys.stdout.write("line %06d of a message larger than the disk\n" % i)'
		} > "$T/2m"
		"$SENDMAIL" -C "$FULL_CONF" b@example.org < "$T/2m" > "$T/out" 2> "$T/err"
		RC=$?
		expect "full disk" 74 "$T/full/spool"
	else
		fail "full disk: mkspool on the tmpfs"
	fi
else
	skip "full disk (cannot mount a tmpfs here)"
fi

# ---- never 75 -------------------------------------------------------------
seen75=no
for rc in "${ALL_RCS[@]}"; do [ "$rc" = 75 ] && seen75=yes; done
check "no error case exited 75 (${#ALL_RCS[@]} cases)" [ "$seen75" = no ]

# ---- no-ops: exit 0, nothing queued, no port opened -----------------------
ln -s "$SENDMAIL" "$T/newaliases"
can_strace=no
strace -f -o /dev/null true 2> /dev/null && can_strace=yes
# A listening socket a sendmail process (or a child it left behind) holds:
# other programs on the machine may open and close ports meanwhile.
our_ports() { ss -Hltnup 2> /dev/null | grep -E '"(sendmail|newaliases)"'; }
noop() {
	local name=$1; shift
	if [ $can_strace = yes ]; then
		timeout 10 strace -f -qq -e trace=bind,listen -o "$T/trace" "$@" \
			< /dev/null > "$T/out" 2> "$T/err"
	else
		timeout 10 "$@" < /dev/null > "$T/out" 2> "$T/err"
	fi
	RC=$?
	check "$name: exit 0 (got $RC)" [ "$RC" = 0 ]
	check "$name: nothing queued" [ "$(spool_files "$SP")" = 0 ]
	if [ $can_strace = yes ]; then
		check "$name: no bind() or listen()" not grep -qE '^[0-9]+ +(bind|listen)\(' "$T/trace"
	fi
	check "$name: no listening port held by sendmail" [ -z "$(our_ports)" ]
}
noop "-bi" "$SENDMAIL" -C "$CONF" -bi
noop "-I" "$SENDMAIL" -C "$CONF" -I
noop "newaliases (argv[0])" env NULLRELAY_CONF="$CONF" "$T/newaliases"
noop "-bd" "$SENDMAIL" -C "$CONF" -bd
noop "-bd -q30m" "$SENDMAIL" -C "$CONF" -bd -q30m
noop "-q1h" "$SENDMAIL" -C "$CONF" -q1h

# ---- a 2000-octet line: quoted-printable, decodes back --------------------
"$PY" - "$T/long.in" "$T/long.body" <<'EOF'
import sys
body = []
for i in range(1000):
    if i == 499:
        body.append(('x=y ' * 500)[:1999] + 'Z')       # 2000 octets, '=' and spaces
    else:
        body.append('line %d: plain text' % i)
body = ('\n'.join(body) + '\n').encode()
head = b'From: a@example.org\nTo: b@example.org\nSubject: long line\n\n'
open(sys.argv[1], 'wb').write(head + body)
open(sys.argv[2], 'wb').write(body)
EOF
"$SENDMAIL" -C "$CONF" -i b@example.org < "$T/long.in" > "$T/out" 2> "$T/err"
RC=$?
check "long line: exit 0 (got $RC: $(head -c 200 "$T/err"))" [ "$RC" = 0 ]
if DROP=$(only_drop "$SP"); then
	drop_message "$DROP" > "$T/long.msg"
	"$PY" - "$T/long.msg" "$T/long.body" > "$T/long.res" <<'EOF'
import quopri, sys
msg = open(sys.argv[1], 'rb').read()
want = open(sys.argv[2], 'rb').read()
head, _, body = msg.partition(b'\n\n')
fields = {l.split(b':', 1)[0].lower(): l.split(b':', 1)[1].strip()
          for l in head.split(b'\n') if b':' in l and l[:1] not in b' \t'}
print('cte', fields.get(b'content-transfer-encoding', b'').lower() == b'quoted-printable')
print('mime', fields.get(b'mime-version', b'') == b'1.0')
print('ctype', fields.get(b'content-type', b'').lower().startswith(b'text/plain'))
print('short', max(len(l) for l in msg.split(b'\n')) <= 998)
print('decodes', quopri.decodestring(body) == want)
EOF
	check "long line: Content-Transfer-Encoding: quoted-printable" grep -qx 'cte True' "$T/long.res"
	check "long line: MIME-Version: 1.0" grep -qx 'mime True' "$T/long.res"
	check "long line: Content-Type text/plain" grep -qx 'ctype True' "$T/long.res"
	check "long line: every stored line at most 998 octets" grep -qx 'short True' "$T/long.res"
	check "long line: the body decodes back to the original, byte for byte" \
		grep -qx 'decodes True' "$T/long.res"
	rm -f "$DROP"
else
	fail "long line: exactly one drop file"
fi

# ---- NUL and bare CR: delivered exactly (by an encoding) or refused -------
printf 'From: a@example.org\nTo: b@example.org\nSubject: nul\n\nbefore\0after\nbare\rcr\n' > "$T/nul.in"
"$SENDMAIL" -C "$CONF" b@example.org < "$T/nul.in" > "$T/out" 2> "$T/err"
RC=$?
if [ "$RC" = 65 ]; then
	pass "NUL/bare CR: refused with 65"
	check "NUL/bare CR: nothing queued" [ "$(spool_files "$SP")" = 0 ]
	check "NUL/bare CR: one stderr line" [ "$(wc -l < "$T/err")" = 1 ]
elif [ "$RC" = 0 ] && DROP=$(only_drop "$SP"); then
	drop_message "$DROP" > "$T/nul.msg"
	check "NUL/bare CR: queued with no NUL or CR stored" \
		"$PY" -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(b"\0" in d or b"\r" in d)' \
		"$T/nul.msg"
	check "NUL/bare CR: the body decodes back to the original" "$PY" -c '
import quopri, base64, sys
head, _, body = open(sys.argv[1], "rb").read().partition(b"\n\n")
h = head.lower()
dec = base64.b64decode(body) if b"transfer-encoding: base64" in h else quopri.decodestring(body)
sys.exit(dec.replace(b"\r\n", b"\n") not in (b"before\0after\nbare\rcr\n",))' "$T/nul.msg"
	rm -f "$DROP"
else
	fail "NUL/bare CR: exit 0 with the message intact, or 65 (got $RC)"
fi
exit 0
