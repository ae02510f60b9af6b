#!/usr/bin/env bash
# A resend (Resent-* fields, as mutt's bounce or `formail -R` make them):
# SPEC §4 says missing Date:, Message-ID: and From: are added, and a message
# without them is invalid per RFC 5322 whether it is resent or not. So the
# plain fields are added when missing, the Resent- ones too, and none that is
# present is added again. Checked byte by byte on what the real ./sendmail
# writes into the spool (generated Date/Message-ID values masked).
. "$(dirname "$0")/../lib/common.sh"

sendmail_setup sendmail-resent "smarthost = smtp.example.org:587" || exit 0
export NULLRELAY_CONF=$CONF
DATE_RE='(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}'

# Generated values -> DATE / <ID>; the callers' own (year 2001, @example.org)
# stay as they are, so a duplicate or a changed field shows.
mask() {
	sed -E -e "/ 2001 /!s/^(Resent-)?Date: $DATE_RE\$/\\1Date: DATE/" \
		-e 's/^(Resent-)?Message-ID: <[^<>@ ]+@host\.example\.net>$/\1Message-ID: <ID>/' "$1"
}

# run_case NAME ARGS... (message on stdin): exit 0, one drop file; sets MSG.
run_case() {
	local name=$1 rc drop; shift
	rm -rf "$SP"
	mk_spool "$SP" >/dev/null || { fail "$name: mkspool"; return 1; }
	"$SENDMAIL" "$@" > "$T/out" 2> "$T/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name: sendmail exited $rc: $(head -c 300 "$T/err")"
		return 1
	fi
	drop=$(only_drop "$SP") || { fail "$name: exactly one drop file"; return 1; }
	MSG=$T/$name.msg
	drop_message "$drop" > "$MSG"
	drop_envelope "$drop" | grep -E '^(sender|rcpt) ' > "$T/$name.env"
	return 0
}

# compare NAME WHAT GOT WANT
compare() {
	if cmp -s "$3" "$4"; then
		pass "$1: $2"
	else
		fail "$1: $2"
		diff -u "$4" "$3" | sed 's/^/    /' | head -n 40
	fi
}

# ---- A resend with nothing but Resent-To: all six are added ---------------
if run_case bare -t -i -F 'Alice Example' -f alice@example.org <<'EOF'
Resent-To: bob@example.org
To: carol@example.org
Subject: resend me

Body.
EOF
then
	printf '%s\n' 'Resent-From: Alice Example <alice@example.org>' \
		'Resent-Message-ID: <ID>' 'Resent-Date: DATE' 'Resent-To: bob@example.org' \
		'To: carol@example.org' 'Subject: resend me' \
		'From: Alice Example <alice@example.org>' 'Message-ID: <ID>' 'Date: DATE' '' \
		'Body.' > "$T/want"
	compare bare "Resent-From/-Message-ID/-Date before the block, From/Message-ID/Date at the end" \
		<(mask "$MSG") "$T/want"
	check "bare: generated Date and Resent-Date are RFC 5322 dates" \
		[ "$(grep -cE "^(Resent-)?Date: $DATE_RE\$" "$MSG")" = 2 ]
	check "bare: generated Message-ID and Resent-Message-ID name the host" \
		[ "$(grep -cE '^(Resent-)?Message-ID: <[^<>@ ]+@host\.example\.net>$' "$MSG")" = 2 ]
	printf '%s\n' 'sender <alice@example.org>' 'rcpt <bob@example.org>' > "$T/want.env"
	compare bare "-t takes only Resent-To" "$T/bare.env" "$T/want.env"
fi

# ---- Plain fields present: only the Resent- ones are added (as before) ----
if run_case plain -i -f alice@example.org bob@example.org <<'EOF'
From: Carol <carol@example.org>
Date: Mon, 1 Jan 2001 00:00:00 +0000
Message-ID: <orig@example.org>
Subject: forwarded
Resent-To: bob@example.org

Body.
EOF
then
	printf '%s\n' 'From: Carol <carol@example.org>' 'Date: Mon, 1 Jan 2001 00:00:00 +0000' \
		'Message-ID: <orig@example.org>' 'Subject: forwarded' \
		'Resent-From: alice@example.org' 'Resent-Message-ID: <ID>' 'Resent-Date: DATE' \
		'Resent-To: bob@example.org' '' 'Body.' > "$T/want"
	compare plain "From/Date/Message-ID kept once, Resent- ones added" \
		<(mask "$MSG") "$T/want"
fi

# ---- Some of each: only what is missing, nothing twice --------------------
if run_case mixed -i -f alice@example.org bob@example.org <<'EOF'
Resent-From: Dave <dave@example.org>
Resent-Date: Tue, 2 Jan 2001 00:00:00 +0000
Resent-To: bob@example.org
Date: Mon, 1 Jan 2001 00:00:00 +0000
Subject: half

Body.
EOF
then
	printf '%s\n' 'Resent-Message-ID: <ID>' 'Resent-From: Dave <dave@example.org>' \
		'Resent-Date: Tue, 2 Jan 2001 00:00:00 +0000' 'Resent-To: bob@example.org' \
		'Date: Mon, 1 Jan 2001 00:00:00 +0000' 'Subject: half' \
		'From: alice@example.org' 'Message-ID: <ID>' '' 'Body.' > "$T/want"
	compare mixed "Resent-Message-ID, From and Message-ID added; present ones untouched" \
		<(mask "$MSG") "$T/want"
fi

# ---- Resent-Bcc alone (removed from what is sent) still makes a resend ----
if run_case bcc-only -t -i -f alice@example.org <<'EOF'
Resent-Bcc: hidden@example.org
Subject: quiet

Body.
EOF
then
	printf '%s\n' 'Subject: quiet' 'Resent-From: alice@example.org' 'Resent-Message-ID: <ID>' \
		'Resent-Date: DATE' 'From: alice@example.org' 'Message-ID: <ID>' 'Date: DATE' '' \
		'Body.' > "$T/want"
	compare bcc-only "Resent-Bcc removed, Resent- and plain fields added" \
		<(mask "$MSG") "$T/want"
	check "bcc-only: the hidden recipient is in the envelope only" \
		eval 'grep -qx "rcpt <hidden@example.org>" "$T/bcc-only.env" && ! grep -q hidden "$MSG"'
fi
