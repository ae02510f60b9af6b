#!/usr/bin/env bash
# sendmail's modes against recipients (SPEC §3): recipients or -t given with
# -bp, -bi or -q (and their argv[0] spellings mailq and newaliases, and the
# other no-op modes) are EX_USAGE with one line on stderr, and nothing is
# queued; the same modes without recipients succeed. Also -v: once the
# message is durable, one "ID: queued for <addr>" line per envelope recipient.
. "$(dirname "$0")/../lib/common.sh"

sendmail_setup sendmail-modes "smarthost = smtp.example.org" "admin_addr = admin@example.org" ||
	exit 0
mk_spool "$SP" || { fail "sendmail-modes: mkspool"; exit 0; }
printf '%s\n' 'From: a@example.org' 'To: b@example.org' 'Subject: t' '' 'body' > "$T/in"
ln -s "$SENDMAIL" "$T/mailq"
ln -s "$SENDMAIL" "$T/newaliases"

not_grep() { ! grep -q "$@"; }
spool_files() { find "$1/incoming" -type f | wc -l; }

# The table: expected exit code | program (sendmail, mailq, newaliases) | arguments.
# A relayd is not running, so plain -q (which asks relayd to flush) is only
# checked in its refusals.
TABLE=$(cat <<'EOF'
64|sendmail|-bp -t
64|sendmail|-bp b@example.org
64|sendmail|-bp -t b@example.org
64|sendmail|-q -t
64|sendmail|-q b@example.org
64|sendmail|-qRexample.org -t
64|sendmail|-qf b@example.org
64|sendmail|-bi b@example.org
64|sendmail|-bi -t
64|sendmail|-I -t
64|sendmail|-I b@example.org
64|sendmail|-q1h -t
64|sendmail|-q1h b@example.org
64|sendmail|-bd -t
64|sendmail|-t -bp
64|sendmail|-t -bi
64|mailq|b@example.org
64|mailq|-t
64|mailq|-v -t
64|newaliases|b@example.org
64|newaliases|-t
0|sendmail|-bp
0|sendmail|-bi
0|sendmail|-I
0|sendmail|-q1h
0|mailq|
0|mailq|-v
0|newaliases|
EOF
)

while IFS='|' read -r want prog args; do
	case $prog in
	sendmail) bin=$SENDMAIL ;;
	*) bin=$T/$prog ;;
	esac
	name="$prog $args"
	# shellcheck disable=SC2086
	NULLRELAY_CONF=$CONF "$bin" $args < "$T/in" > "$T/out" 2> "$T/err"
	rc=$?
	check "$name: exit $want (got $rc)" [ "$rc" = "$want" ]
	if [ "$want" != 0 ]; then
		lines=$(wc -l < "$T/err")
		if [ "$lines" = 1 ]; then
			pass "$name: exactly one stderr line"
		else
			fail "$name: exactly one stderr line (got $lines)"
			sed 's/^/    /' "$T/err" | head -n 5
		fi
		# The line names what was wrong: the recipient, or -t.
		case " $args " in
		*" -t "*) check "$name: stderr names -t" grep -qF -- '-t' "$T/err" ;;
		*) check "$name: stderr names the recipient" grep -qF 'b@example.org' "$T/err" ;;
		esac
	fi
	check "$name: nothing queued" [ "$(spool_files "$SP")" = 0 ]
done <<< "$TABLE"

# ---- -v: after the message is durable, the queue id and each recipient ----
"$SENDMAIL" -C "$CONF" -v 'Bob <b@example.org>, c@example.org' root b@example.org \
	< "$T/in" > "$T/out" 2> "$T/err"
rc=$?
check "-v: exit 0 (got $rc)" [ "$rc" = 0 ]
drop=$(only_drop "$SP")
id=$(basename "${drop:-none}")
check "-v: the drop file is durable in incoming/new" [ -n "$drop" ]
for a in b@example.org c@example.org admin@example.org; do
	check "-v: stderr says '$id: queued for <$a>'" grep -qxF "$id: queued for <$a>" "$T/err"
done
n=$(grep -c ': queued for <' "$T/err")
check "-v: one line per envelope recipient, duplicates once (got $n)" [ "$n" = 3 ]
check "-v: stdout stays empty" [ ! -s "$T/out" ]
rm -f "$drop"

"$SENDMAIL" -C "$CONF" -v -t < "$T/in" > "$T/out" 2> "$T/err"
rc=$?
check "-v -t: exit 0 (got $rc)" [ "$rc" = 0 ]
drop=$(only_drop "$SP")
id=$(basename "${drop:-none}")
check "-v -t: stderr says '$id: queued for <b@example.org>'" \
	grep -qxF "$id: queued for <b@example.org>" "$T/err"
rm -f "$drop"

"$SENDMAIL" -C "$CONF" b@example.org < "$T/in" > "$T/out" 2> "$T/err"
check "without -v: nothing on stderr" [ ! -s "$T/err" ]
drop=$(only_drop "$SP")
rm -f "$drop"

# A failed submission under -v says nothing was queued: only the one error line.
"$SENDMAIL" -C "$CONF" -v 'bad<>@x' < "$T/in" > "$T/out" 2> "$T/err"
rc=$?
check "-v with a bad address: exit 65 (got $rc)" [ "$rc" = 65 ]
check "-v with a bad address: no 'queued for' line" not_grep ': queued for' "$T/err"
check "-v with a bad address: nothing queued" [ "$(spool_files "$SP")" = 0 ]
