#!/usr/bin/env bash
# Real callers of /usr/sbin/sendmail, with their exact argv and the kind of
# message they write (SPEC §3, §4): what lands in the spool is checked byte
# by byte. Header order is not part of SPEC, so headers are compared as a
# sorted set of exact fields; the body is compared exactly.
. "$(dirname "$0")/../lib/common.sh"
sendmail_setup sendmail-callers "smarthost = smtp.example.org:587" || exit 0
export NULLRELAY_CONF=$CONF

fresh_spool() {
	rm -rf "$SP"
	mk_spool "$SP" || { echo "mkspool failed" >&2; return 1; }
}

# canon FILE [MASKED,FIELDS]: the message with its header fields sorted
# (continuation lines kept with their field), Date and Message-ID values
# replaced, the named fields' values masked; the body untouched.
canon() {
	"$PY" - "$1" "${2:-}" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
mask = [m.lower() for m in sys.argv[2].split(',') if m]
if data.startswith(b'\n'):
    head, body = b'', data[1:]
else:
    i = data.find(b'\n\n')
    head, body = (data, b'') if i < 0 else (data[:i + 1], data[i + 2:])
fields = []
for line in head.split(b'\n')[:-1]:
    if line[:1] in (b' ', b'\t') and fields:
        fields[-1] += b'\n' + line
    else:
        fields.append(line)
out = []
for f in fields:
    name = f.split(b':', 1)[0]
    low = name.lower().decode('latin-1')
    if low == 'date':
        f = name + b': DATE'
    elif low == 'message-id':
        f = name + b': <ID>'
    elif low in mask:
        f = name + b': MASKED'
    out.append(f)
out.sort()
sys.stdout.buffer.write(b'\n'.join(out) + b'\n\n' + body)
EOF
}

# The sender and rcpt lines of a drop file's envelope, in order.
env_addrs() { drop_envelope "$1" | grep -E '^(sender|rcpt) '; }

# check_drop NAME DROP: the fixed lines of a drop file and its length.
check_drop_frame() {
	local name=$1 f=$2 want got
	check "$name: drop file magic" [ "$(head -n 1 "$f")" = "NULLRELAY-DROP 1" ]
	want=$(drop_message "$f" | wc -c)
	got=$(sed -n 2p "$f")
	check "$name: length line matches the message ($want bytes)" \
		[ "$got" = "$(printf 'length %020d' "$want")" ]
}

# compare NAME WHAT GOT WANT: cmp two files, show a diff on failure.
compare() {
	if cmp -s "$3" "$4"; then
		pass "$1: $2"
	else
		fail "$1: $2"
		diff -u "$4" "$3" | sed 's/^/    /' | head -n 40
	fi
}

# A generated header is well-formed (SPEC leaves the exact form open).
check_generated() {
	local name=$1 msg=$2
	check "$name: Date added once, RFC 5322 form" [ "$(grep -cE \
		'^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}$' \
		"$msg")" = 1 ]
	check "$name: Message-ID added once, <x@host.example.net>" \
		[ "$(grep -cE '^Message-ID: <[^<>@ ]+@host\.example\.net>$' "$msg")" = 1 ]
}

owner_is() { [ "$(stat -c %u "$1")" = "$2" ]; }

# run_case NAME ARGS... (stdin from $T/in): run sendmail, expect exit 0 and
# exactly one drop file; sets DROP and MSG.
run_case() {
	local name=$1; shift
	fresh_spool || { fail "$name: spool"; return 1; }
	"$SENDMAIL" "$@" < "$T/in" > "$T/out" 2> "$T/err"
	local rc=$?
	if [ $rc != 0 ]; then
		fail "$name: sendmail exited $rc: $(head -c 300 "$T/err")"
		return 1
	fi
	pass "$name: exit 0"
	DROP=$(only_drop "$SP") || { fail "$name: exactly one drop file"; return 1; }
	MSG=$T/$name.msg
	drop_message "$DROP" > "$MSG"
	check_drop_frame "$name" "$DROP"
	check "$name: drop file owned by uid $(id -u)" owner_is "$DROP" "$(id -u)"
	return 0
}

ME=$(id -un)
UID_NOW=$(id -u)

# ---- Debian cron: -FCronDaemon -i -B8BITMIME -oem root -------------------
printf '%s\n' 'From: root (Cron Daemon)' 'To: root' \
	'Subject: Cron <root@host> /usr/local/bin/backup' 'MIME-Version: 1.0' \
	'Content-Type: text/plain; charset=UTF-8' 'Content-Transfer-Encoding: 8bit' \
	'X-Cron-Env: <SHELL=/bin/sh>' 'X-Cron-Env: <HOME=/root>' \
	'X-Cron-Env: <PATH=/usr/bin:/bin>' 'X-Cron-Env: <LOGNAME=root>' '' \
	'Sauvegarde terminée: 3 fichiers, 0 erreur.' '.' 'Grüße ✓' 'fin' > "$T/in"
if run_case cron -FCronDaemon -i -B8BITMIME -oem root; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <root@example.net>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare cron "envelope sender and recipient" "$T/got.env" "$T/want.env"
	check "cron: envelope says body 8BITMIME" grep -qx 'body 8BITMIME' <(drop_envelope "$DROP")
	check "cron: sender marked local (sendmail qualified it)" \
		grep -qx 'local-sender' <(drop_envelope "$DROP")
	printf '%s\n' 'From: root@example.net (Cron Daemon)' 'To: root@example.net' \
		'Subject: Cron <root@host> /usr/local/bin/backup' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' 'Content-Transfer-Encoding: 8bit' \
		'X-Cron-Env: <SHELL=/bin/sh>' 'X-Cron-Env: <HOME=/root>' \
		'X-Cron-Env: <PATH=/usr/bin:/bin>' 'X-Cron-Env: <LOGNAME=root>' \
		'Date: x' 'Message-ID: <x>' '' \
		'Sauvegarde terminée: 3 fichiers, 0 erreur.' '.' 'Grüße ✓' 'fin' > "$T/want.msg"
	compare cron "message (From/To qualified in place, Date and Message-ID added, -i keeps '.', 8-bit body exact)" \
		<(canon "$MSG") <(canon "$T/want.msg")
	check_generated cron "$MSG"
	check "cron: no Received added by sendmail (relayd adds it)" not grep -q '^Received:' "$MSG"
	check "cron: nothing on stdout or stderr" [ ! -s "$T/out" -a ! -s "$T/err" ]
	mode=$(stat -c %a "$DROP")
	check "cron: drop file mode 640 (got $mode)" [ "$mode" = 640 ]
fi

# Same caller with admin_addr: local recipients go to the admin.
CONF2=$T/relay-admin.conf
write_conf "$CONF2" "spool = $SP" "hostname = host.example.net" \
	"default_domain = example.net" "admin_addr = ops@example.org" "smarthost = smtp.example.org"
if NULLRELAY_CONF=$CONF2 run_case cron-admin -FCronDaemon -i -B8BITMIME -oem root; then
	check "cron-admin: rcpt is admin_addr" \
		[ "$(drop_envelope "$DROP" | grep '^rcpt ')" = "rcpt <ops@example.org>" ]
fi

# ---- cronie: -FCronDaemon -i -odi -oem -oi -t -f user ---------------------
printf '%s\n' 'From: "(Cron Daemon)" <nrtest1>' 'To: nrtest1' \
	'Subject: Cron <nrtest1@host> echo hi' 'MIME-Version: 1.0' \
	'Content-Type: text/plain; charset="UTF-8"' 'Auto-Submitted: auto-generated' \
	'Precedence: bulk' 'X-Cron-Env: <XDG_SESSION_ID=1>' 'X-Cron-Env: <LANG=C.UTF-8>' '' \
	'hi' > "$T/in"
if run_case cronie -FCronDaemon -i -odi -oem -oi -t -f nrtest1; then
	printf '%s\n' 'sender <nrtest1@example.net>' 'rcpt <nrtest1@example.net>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare cronie "envelope: -f bare name qualified, rcpt from To: (-t)" "$T/got.env" "$T/want.env"
	check "cronie: -f with a bare name is a local sender" \
		grep -qx 'local-sender' <(drop_envelope "$DROP")
	printf '%s\n' 'From: "(Cron Daemon)" <nrtest1@example.net>' 'To: nrtest1@example.net' \
		'Subject: Cron <nrtest1@host> echo hi' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset="UTF-8"' 'Auto-Submitted: auto-generated' \
		'Precedence: bulk' 'X-Cron-Env: <XDG_SESSION_ID=1>' 'X-Cron-Env: <LANG=C.UTF-8>' \
		'Date: x' 'Message-ID: <x>' '' 'hi' > "$T/want.msg"
	compare cronie "message" <(canon "$MSG") <(canon "$T/want.msg")
	check_generated cronie "$MSG"
fi

# ---- anacron: -FAnacron -odi root (no -i: a lone "." ends the message) ----
printf '%s\n' 'From: Anacron <root>' 'To: root' 'Content-Type: text/plain; charset="UTF-8"' \
	"Subject: Anacron job 'cron.daily' on host" '' 'run-parts output' '.' \
	'THIS MUST NOT BE QUEUED' > "$T/in"
if run_case anacron -FAnacron -odi root; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <root@example.net>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare anacron "envelope" "$T/got.env" "$T/want.env"
	printf '%s\n' 'From: Anacron <root@example.net>' 'To: root@example.net' \
		'Content-Type: text/plain; charset="UTF-8"' \
		"Subject: Anacron job 'cron.daily' on host" 'Date: x' 'Message-ID: <x>' '' \
		'run-parts output' > "$T/want.msg"
	compare anacron "message ends at the lone '.'; what follows is not queued" \
		<(canon "$MSG") <(canon "$T/want.msg")
fi

# ---- PHP mail(): -t -i, CRLF line endings, no From/Date/Message-ID --------
printf 'To: customer@example.org\r\nSubject: Your order\r\nX-PHP-Originating-Script: 33:order.php\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nThank you.\r\n.\r\n..leading dots stay\r\nBye\r\n' > "$T/in"
if run_case php -t -i; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <customer@example.org>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare php "envelope" "$T/got.env" "$T/want.env"
	printf '%s\n' 'To: customer@example.org' 'Subject: Your order' \
		'X-PHP-Originating-Script: 33:order.php' 'Content-Type: text/plain; charset=UTF-8' \
		'Date: x' 'Message-ID: <x>' 'From: x' '' 'Thank you.' '.' '..leading dots stay' 'Bye' \
		> "$T/want.msg"
	compare php "message stored with LF, '..' not unstuffed, From/Date/Message-ID added" \
		<(canon "$MSG" from) <(canon "$T/want.msg" from)
	check "php: no CR left" not grep -q $'\r' "$MSG"
	check "php: generated From: names $ME@example.net" \
		grep -qE "^From: (.*<$ME@example\.net>|$ME@example\.net)\$" "$MSG"
	check_generated php "$MSG"
fi

# ---- PHPMailer: -oi -fwww@example.org -t ---------------------------------
cat > "$T/in" <<'EOF'
Date: Mon, 2 Mar 2026 10:00:00 +0100
To: Bob <bob@example.org>
Cc: carol@example.org
Bcc: secret@example.org
From: Web Shop <www@example.org>
Return-Path: <www@example.org>
Subject: Order confirmation
Message-ID: <abc123@www.example.org>
X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Length: 27

Your order has shipped.
.
EOF
if run_case phpmailer -oi -fwww@example.org -t; then
	printf '%s\n' 'sender <www@example.org>' 'rcpt <bob@example.org>' 'rcpt <carol@example.org>' \
		'rcpt <secret@example.org>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare phpmailer "envelope: To, Cc and Bcc recipients" "$T/got.env" "$T/want.env"
	check "phpmailer: -f with a full address is not a local sender" \
		not grep -qx 'local-sender' <(drop_envelope "$DROP")
	# Bcc, Return-Path and Content-Length removed; nothing added; order kept.
	grep -vE '^(Bcc|Return-Path|Content-Length):' "$T/in" > "$T/want.msg"
	compare phpmailer "message: Bcc/Return-Path/Content-Length removed, rest byte-exact" \
		"$MSG" "$T/want.msg"
fi

# ---- git send-email: -i a@example.org b@example.org -----------------------
cat > "$T/in" <<'EOF'
From: Dev Eloper <dev@example.org>
To: a@example.org
Cc: b@example.org, list@example.org
Subject: [PATCH 1/2] spool: fsync the directory
Date: Tue, 3 Mar 2026 09:15:02 +0000
Message-ID: <20260303091502.1234-1-dev@example.org>
X-Mailer: git-send-email 2.39.2
MIME-Version: 1.0
Content-Transfer-Encoding: 8bit

Signed-off-by: Dev Eloper <dev@example.org>
---
 spool/drop.c | 2 ++
 1 file changed, 2 insertions(+)

diff --git a/spool/drop.c b/spool/drop.c
--- a/spool/drop.c
+++ b/spool/drop.c
@@ -1,3 +1,5 @@
 .
+..
 -- 
2.39.2

EOF
if run_case git -i a@example.org b@example.org; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <a@example.org>' 'rcpt <b@example.org>' \
		> "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare git "envelope: only the command-line recipients" "$T/got.env" "$T/want.env"
	compare git "message byte-exact: nothing added or changed" "$MSG" "$T/in"
fi

# ---- mutt: -oem -oi -- a@example.org -------------------------------------
cat > "$T/in" <<'EOF'
Date: Wed, 4 Mar 2026 18:01:44 +0100
From: Alice <alice@example.org>
To: a@example.org
Subject: dots
Message-ID: <aZx9@laptop.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
User-Agent: Mutt/2.2.9 (2022-11-12)

.
..
. 
end
EOF
if run_case mutt -oem -oi -- a@example.org; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <a@example.org>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare mutt "envelope" "$T/got.env" "$T/want.env"
	compare mutt "message byte-exact (lone '.' kept with -oi)" "$MSG" "$T/in"
fi

# ---- logwatch: -t, several To: lines, From: Logwatch ---------------------
cat > "$T/in" <<'EOF'
To: root
To: admin@example.org, fail2ban
From: Logwatch
Subject: Logwatch for host (Linux)
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset="iso-8859-1"

 ################### Logwatch 7.8 (01/22/23) ####################
        Processing Initiated: Thu Mar  5 06:25:01 2026
 ###################### Logwatch End #########################
EOF
if run_case logwatch -t; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <root@example.net>' \
		'rcpt <admin@example.org>' 'rcpt <fail2ban@example.net>' > "$T/want.env"
	env_addrs "$DROP" > "$T/got.env"
	compare logwatch "envelope: every To: line, bare names qualified" "$T/got.env" "$T/want.env"
	cat > "$T/want.msg" <<'EOF'
To: root@example.net
To: admin@example.org, fail2ban@example.net
From: Logwatch@example.net
Subject: Logwatch for host (Linux)
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset="iso-8859-1"
Date: x
Message-ID: <x>

 ################### Logwatch 7.8 (01/22/23) ####################
        Processing Initiated: Thu Mar  5 06:25:01 2026
 ###################### Logwatch End #########################
EOF
	compare logwatch "message: bare names qualified in From/To" \
		<(canon "$MSG") <(canon "$T/want.msg")
	check_generated logwatch "$MSG"
fi

# ---- mbox "From " line, duplicates across -t and arguments ----------------
printf '%s\n' 'From someone@example.org Thu Mar  5 06:25:01 2026' 'To: a@example.org, a@EXAMPLE.ORG' \
	'Cc: b@example.org' 'Subject: x' '' 'body' > "$T/in"
if run_case mbox -t -i b@example.org c@example.org; then
	printf '%s\n' "sender <$ME@example.net>" 'rcpt <a@example.org>' 'rcpt <b@example.org>' \
		'rcpt <c@example.org>' | sort > "$T/want.env"
	env_addrs "$DROP" | sort > "$T/got.env"
	compare mbox "envelope: -t plus arguments, duplicates removed" "$T/got.env" "$T/want.env"
	check "mbox: leading 'From ' line dropped" not grep -q '^From ' "$MSG"
fi

# ---- sudo: -t under env -i as an unprivileged user with no home ----------
if ! is_root; then
	skip "sudo: -t as nrtest1 under env -i (needs root to switch user)"
elif ! id "$TEST_USER1" > /dev/null 2>&1; then
	skip "sudo: -t as $TEST_USER1 under env -i (user $TEST_USER1 missing)"
else
	cat > "$T/in" <<EOF
To: root
From: $TEST_USER1
Auto-Submitted: auto-generated
Subject: *** SECURITY information for host ***

host : Mar  5 06:25:01 : $TEST_USER1 : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls
EOF
	chmod 644 "$T/in"
	fresh_spool
	uid1=$(id -u "$TEST_USER1")
	(cd / && setpriv --reuid "$TEST_USER1" --regid "$TEST_USER1" --init-groups \
		env -i NULLRELAY_CONF="$CONF" "$SENDMAIL" -t < "$T/in" > "$T/out" 2> "$T/err")
	rc=$?
	if [ $rc = 0 ]; then
		pass "sudo: exit 0"
		DROP=$(only_drop "$SP") && {
			MSG=$T/sudo.msg
			drop_message "$DROP" > "$MSG"
			check_drop_frame sudo "$DROP"
			check "sudo: drop file owned by $TEST_USER1 ($uid1)" owner_is "$DROP" "$uid1"
			check "sudo: drop file mode 640" [ "$(stat -c %a "$DROP")" = 640 ]
			check "sudo: drop file group is the relay user's group" \
				[ "$(stat -c %G "$DROP")" = "$(id -gn "$RELAY_USER")" ]
			printf '%s\n' "sender <$TEST_USER1@example.net>" 'rcpt <root@example.net>' \
				> "$T/want.env"
			env_addrs "$DROP" > "$T/got.env"
			compare sudo "envelope: sender from the kernel's uid, not the environment" \
				"$T/got.env" "$T/want.env"
			printf '%s\n' 'To: root@example.net' "From: $TEST_USER1@example.net" \
				'Auto-Submitted: auto-generated' \
				'Subject: *** SECURITY information for host ***' 'Date: x' 'Message-ID: <x>' \
				'' "host : Mar  5 06:25:01 : $TEST_USER1 : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls" \
				> "$T/want.msg"
			compare sudo "message" <(canon "$MSG") <(canon "$T/want.msg")
		} || fail "sudo: exactly one drop file"
	else
		fail "sudo: sendmail exited $rc: $(head -c 300 "$T/err")"
	fi
fi
exit 0
