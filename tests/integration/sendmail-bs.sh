#!/usr/bin/env bash
# sendmail -bs (SPEC §3): an SMTP dialogue on stdin/stdout, as Alpine uses it.
# A scripted client drives it through pipes; replies and what was queued are
# checked.
. "$(dirname "$0")/../lib/common.sh"
sendmail_setup sendmail-bs "smarthost = smtp.example.org" "max_message_size = 10k" || exit 0

fresh_spool() { rm -rf "$SP"; mk_spool "$SP"; }

# The client: reads a script on stdin, one step a line:
#   > TEXT     send TEXT and CRLF         >> TEXT  send TEXT and LF only
#   < CODE     read one (multi-line) reply, expect CODE (or its first digits)
#   > or >>    alone: an empty line
#   = RAW      send RAW as a Python bytes literal (e.g. b'x' * 1500 + b'\r\n')
#   close      close our end of stdin
# It prints the transcript (C:/S: lines), then "RESULT ok" or "RESULT bad
# step N: ...", then "EXIT rc" and sendmail's stderr as "ERR: ..." lines.
cat > "$T/client.py" <<'EOF'
import subprocess, sys
sendmail, conf = sys.argv[1], sys.argv[2]
p = subprocess.Popen([sendmail, '-C', conf, '-bs'], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = []
bad = None
def read_reply():
    lines = []
    while True:
        l = p.stdout.readline()
        if not l:
            return lines, None
        lines.append(l)
        out.append('S: ' + l.decode('utf-8', 'replace').rstrip('\r\n'))
        if len(l) < 4 or l[3:4] != b'-':
            return lines, l[:3].decode('ascii', 'replace')
for n, step in enumerate(sys.stdin.read().split('\n'), 1):
    if not step:
        continue
    try:
        if step in ('>', '>>'):
            p.stdin.write(b'\r\n' if step == '>' else b'\n'); p.stdin.flush()
            out.append('C: ')
        elif step.startswith('>> '):
            p.stdin.write(step[3:].encode() + b'\n'); p.stdin.flush()
            out.append('C: ' + step[3:])
        elif step.startswith('> '):
            p.stdin.write(step[2:].encode() + b'\r\n'); p.stdin.flush()
            out.append('C: ' + step[2:])
        elif step.startswith('= '):
            raw = eval(step[2:])
            p.stdin.write(raw); p.stdin.flush()
            out.append('C: (%d raw bytes)' % len(raw))
        elif step == 'close':
            p.stdin.close()
        elif step.startswith('< '):
            lines, code = read_reply()
            if code is None or not code.startswith(step[2:].strip()):
                bad = bad or 'step %d: wanted %s, got %s' % (n, step[2:5], code)
    except BrokenPipeError:
        bad = bad or 'step %d: broken pipe' % n
try:
    p.stdin.close()
except BrokenPipeError:
    pass
rest = p.stdout.read()
err = p.stderr.read()
rc = p.wait(timeout=30)
print('\n'.join(out))
if rest:
    print('S: (after the script) ' + rest.decode('utf-8', 'replace'))
print('RESULT ' + ('ok' if bad is None else 'bad ' + bad))
print('EXIT %d' % rc)
for l in err.decode('utf-8', 'replace').splitlines():
    print('ERR: ' + l)
EOF

# dialogue NAME: in a fresh spool, run the script on stdin; transcript in
# $T/NAME.log. A step "to-data" stands for the usual transaction up to the
# data: MAIL FROM:<alice@example.org>, RCPT TO:<bob@example.org>, DATA, each
# with its expected reply.
dialogue() {
	local name=$1
	fresh_spool
	expand_steps | timeout 60 "$PY" "$T/client.py" "$SENDMAIL" "$CONF" > "$T/$name.log" 2>&1
	if grep -qx 'RESULT ok' "$T/$name.log"; then
		pass "$name: every reply as expected"
	else
		fail "$name: replies ($(grep '^RESULT' "$T/$name.log"))"
		sed 's/^/    /' "$T/$name.log" | head -n 60
	fi
}
expand_steps() {
	local l
	while IFS= read -r l; do
		if [ "$l" = to-data ]; then
			printf '%s\n' '> MAIL FROM:<alice@example.org>' '< 250' \
				'> RCPT TO:<bob@example.org>' '< 250' '> DATA' '< 354'
		else
			printf '%s\n' "$l"
		fi
	done
}
exit_is() { grep -qx "EXIT $2" "$T/$1.log"; }
drops() { find "$SP/incoming/new" -type f | sort; }

# ---- one full session: greeting, EHLO, two messages, QUIT -----------------
dialogue session <<'EOF'
< 220
> EHLO client.example.org
< 250
> MAIL FROM:<alice@example.org> BODY=8BITMIME
< 250
> RCPT TO:<bob@example.org>
< 250
> RCPT TO:<root>
< 250
> DATA
< 354
> From: Alice <alice@example.org>
> To: bob@example.org, root
> Subject: via -bs
>
> ..a line that began with a dot
> ...two dots
> ..
> Grüße
> .
< 250
> MAIL FROM:<>
< 250
> RCPT TO:<carol@example.org>
< 250
> DATA
< 354
> Subject: second
>
> second message
> .
< 250
> QUIT
< 221
EOF
L=$T/session.log
check "session: greeting 220 names the hostname" grep -qE '^S: 220 host\.example\.net( |$)' "$L"
check "session: EHLO answers with the hostname" grep -qE '^S: 250-host\.example\.net' "$L"
check "session: EHLO advertises PIPELINING" grep -qE '^S: 250[- ]PIPELINING$' "$L"
check "session: EHLO advertises 8BITMIME" grep -qE '^S: 250[- ]8BITMIME$' "$L"
check "session: EHLO advertises SIZE 10240" grep -qE '^S: 250[- ]SIZE 10240$' "$L"
check "session: exit 0 after QUIT" exit_is session 0
mapfile -t D < <(drops)
if [ "${#D[@]}" = 2 ]; then
	pass "session: two messages queued"
	ids=$(grep -oE 'queued as [0-9A-F]{16}' "$L" | awk '{print $3}' | sort | tr '\n' ' ')
	names=$(for f in "${D[@]}"; do basename "$f"; done | sort | tr '\n' ' ')
	check "session: '250 ... queued as ID' names the drop files" [ "$ids" = "$names" ]
	first=$(grep -l '^sender <alice@example.org>$' "${D[@]}" | head -n 1)
	second=$(grep -l '^sender <>$' "${D[@]}" | head -n 1)
	if [ -n "$first" ]; then
		printf '%s\n' 'sender <alice@example.org>' 'rcpt <bob@example.org>' \
			'rcpt <root@example.net>' > "$T/want.env"
		drop_envelope "$first" | grep -E '^(sender|rcpt) ' > "$T/got.env"
		check "session: envelope from MAIL/RCPT (root qualified)" cmp -s "$T/got.env" "$T/want.env"
		check "session: BODY=8BITMIME recorded" grep -qx 'body 8BITMIME' <(drop_envelope "$first")
		drop_message "$first" | sed '1,/^$/d' > "$T/got.body"
		printf '%s\n' '.a line that began with a dot' '..two dots' '.' 'Grüße' > "$T/want.body"
		check "session: body dot-unstuffed, LF endings, byte-exact" cmp -s "$T/got.body" "$T/want.body"
		drop_message "$first" | sed '/^$/q' > "$T/got.head"
		check "session: header From/To kept, root qualified" grep -qx 'To: bob@example.org, root@example.net' "$T/got.head"
		check "session: Date added" grep -q '^Date: ' "$T/got.head"
		check "session: Message-ID added" grep -q '^Message-ID: <' "$T/got.head"
	else
		fail "session: a drop file with sender <alice@example.org>"
	fi
	if [ -n "$second" ]; then
		check "session: MAIL FROM:<> gives the null sender" \
			[ "$(drop_envelope "$second" | grep -E '^(sender|rcpt) ' | tr '\n' ' ')" = \
			"sender <> rcpt <carol@example.org> " ]
		check "session: second body" [ "$(drop_message "$second" | sed '1,/^$/d')" = "second message" ]
	else
		fail "session: a drop file with the null sender"
	fi
	check "session: drop files owned by the caller" \
		[ "$(stat -c %u "${D[@]}" | sort -u)" = "$(id -u)" ]
else
	fail "session: two messages queued (found ${#D[@]})"
fi

# ---- sequence errors and small commands --------------------------------------
dialogue commands <<'EOF'
< 220
> HELO client
< 250
> RCPT TO:<bob@example.org>
< 503
> DATA
< 503
> MAIL FROM:<alice@example.org>
< 250
> MAIL FROM:<alice@example.org>
< 503
> DATA
< 503
> RCPT TO:<a b c>
< 5
> RCPT TO:<bob@example.org
< 501
> RCPT TO:<>
< 501
> VRFY root
< 252
> NOOP
< 250
> HELP
< 214
> XYZZY
< 500
= b'NOOP ' + b'x' * 1500 + b'\r\n'
< 500
> NOOP
< 250
> RSET
< 250
> RCPT TO:<bob@example.org>
< 503
> quit
< 221
EOF
check "commands: nothing queued" [ -z "$(drops)" ]
check "commands: exit 0" exit_is commands 0

# ---- MAIL before EHLO (lenient), LF-only commands, pipelined commands -------
dialogue pipelined <<'EOF'
< 220
= b'MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.org>\nRCPT TO:<carol@example.org>\nDATA\n'
< 250
< 250
< 250
< 354
> Subject: lf
>
> one
> .
< 250
>> QUIT
< 221
EOF
mapfile -t D < <(drops)
if [ "${#D[@]}" = 1 ]; then
	check "pipelined: two recipients" [ "$(drop_envelope "${D[0]}" | grep -c '^rcpt ')" = 2 ]
	check "pipelined: body" [ "$(drop_message "${D[0]}" | sed '1,/^$/d')" = one ]
else
	fail "pipelined: one message queued (found ${#D[@]})"
fi

# ---- SMTP smuggling: only CRLF.CRLF ends DATA; a bare LF refuses it --------
# (issue 14) ".\n" inside the data must not end it and let what follows run
# as commands: the message is refused with 521 and the session ends, as
# Postfix does with smtpd_forbid_bare_newline; nothing is queued.
dialogue smuggle <<'EOF'
< 220
> EHLO c
< 250
to-data
= b'Subject: smuggle\r\n\r\nbody\r\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nx\r\n.\r\n'
< 521
EOF
check "smuggle: nothing queued" [ -z "$(drops)" ]
check "smuggle: nothing left in incoming/tmp" [ -z "$(find "$SP/incoming/tmp" -type f)" ]
check "smuggle: exit 65" exit_is smuggle 65
check "smuggle: the smuggled MAIL got no reply" bash -c "! sed -n '/raw bytes/,\$p' '$T/smuggle.log' | grep -q '^S: 250 2.1.0'"
check "smuggle: one stderr line naming the bare LF" grep -q '^ERR: .*bare LF in DATA' "$T/smuggle.log"

dialogue barelf <<'EOF'
< 220
to-data
> Subject: crlf head
>> a line ended by LF alone
< 521
EOF
check "barelf: a bare LF line in DATA: nothing queued" [ -z "$(find "$SP/incoming" -type f)" ]
check "barelf: exit 65" exit_is barelf 65

# ---- size limits: SIZE= at MAIL and the data itself --------------------------
dialogue size <<'EOF'
< 220
> EHLO c
< 250
> MAIL FROM:<alice@example.org> SIZE=50000
< 552
> MAIL FROM:<alice@example.org> SIZE=100
< 250
> RCPT TO:<bob@example.org>
< 250
> DATA
< 354
= b'Subject: big\r\n\r\n' + b'0123456789012345678901234567890123456789\r\n' * 600 + b'.\r\n'
< 552
to-data
> Subject: small
>
> fits
> .
< 250
> QUIT
< 221
EOF
mapfile -t D < <(drops)
check "size: only the small message queued" [ "${#D[@]}" = 1 ]
check "size: nothing left in incoming/tmp" [ -z "$(find "$SP/incoming/tmp" -type f)" ]

# ---- end of input inside DATA: nothing queued, one stderr line --------------
dialogue eof <<'EOF'
< 220
to-data
> Subject: cut
>
> half a message
close
EOF
check "eof: nothing queued" [ -z "$(find "$SP/incoming" -type f)" ]
check "eof: non-zero exit, never 75" bash -c "! grep -qE '^EXIT (0|75)$' '$T/eof.log'"
check "eof: one stderr line" [ "$(grep -c '^ERR: ' "$T/eof.log")" = 1 ]

# ---- end of input between commands: what got 250 stays queued --------------
dialogue noquit <<'EOF'
< 220
to-data
> Subject: kept
>
> kept
> .
< 250
close
EOF
check "noquit: the accepted message is queued" [ "$(drops | wc -l)" = 1 ]
check "noquit: exit 0" exit_is noquit 0
exit 0
