#!/usr/bin/env bash
# The aliases file at submission (SPEC §2 `aliases`, §4 local recipients,
# Debian Policy 11.6): chains, loops, comments, continuation lines, names
# without case, command/file/:include: targets, the admin_addr fallback, a
# missing or unreadable or broken file, -bv, -t and -bs, through the real
# sendmail. What lands in the drop file's envelope is checked.
. "$(dirname "$0")/../lib/common.sh"

if [ ! -x "$SENDMAIL" ] || [ ! -x "$TOOLS/mkspool" ]; then
	fail "sendmail-aliases: $SENDMAIL or $TOOLS/mkspool not built"
	exit 0
fi

SP=$T/spool
AL=$T/aliases
CONF=$T/relay.conf
base=("spool = $SP" "hostname = host.example.net" "default_domain = example.net"
	"smarthost = smtp.example.org:587")
conf() { write_conf "$CONF" "${base[@]}" "$@"; }

cat > "$AL" <<'EOF'
# /etc/aliases as Debian ships it, and then some.
mailer-daemon: postmaster
postmaster: root
nobody: root
# root's mail goes to the operator
Root:	ops@example.org
team: alice@example.org,
	bob@example.org,
  # a comment inside an entry
    carol@example.org
loopa: loopb
loopb: loopc
loopc: loopa
self: self, copy@example.org
pipe: "|/usr/bin/procmail -d list"
file: /var/log/mail.archive, keep@example.org
inc: :include:/etc/mail/list
hosted: root@host.example.net, x@localhost
unmapped: someone
EOF
# d1 -> d2 -> ... -> d12: deeper than the limit of 10.
for i in $(seq 1 12); do echo "d$i: d$((i + 1))" >> "$AL"; done
chmod 644 "$AL"

msg() { printf 'From: me@example.org\nTo: %s\nSubject: t\n\nhi\n' "${1:-x@example.org}"; }

# rcpts_for ARGS...: submit (message on stdin), GOT = the envelope's rcpt
# and orcpt lines; ERR holds stderr, RC the exit status.
rcpts_for() {
	rm -rf "$SP"; mk_spool "$SP" >/dev/null
	"$SENDMAIL" -C "$CONF" "$@" > "$T/out" 2> "$T/err"
	RC=$?
	ERR=$(cat "$T/err")
	local d
	d=$(find "$SP/incoming/new" -type f | head -n 1)
	GOT=
	[ -n "$d" ] && GOT=$(drop_envelope "$d" | grep -E '^(rcpt|orcpt) ' | tr '\n' ' ' | sed 's/ $//')
	return 0
}
expect() {
	local name=$1 want=$2; shift 2
	local got
	msg > "$T/m1"; rcpts_for "$@" < "$T/m1"
	got=$GOT
	if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then
		pass "$name"
	else
		fail "$name: rc=$RC got [$got] want [$want] ${ERR:0:300}"
	fi
}
drops() { find "$SP/incoming/new" -type f | wc -l; }

conf "aliases = $AL"
expect "chain: mailer-daemon -> postmaster -> root -> ops" \
	"rcpt <ops@example.org> orcpt <mailer-daemon>" -i mailer-daemon
expect "names are matched without case (ROOT, file says Root)" \
	"rcpt <ops@example.org> orcpt <ROOT>" -i ROOT
expect "root@hostname is local" "rcpt <ops@example.org> orcpt <root@host.example.net>" \
	-i root@host.example.net
expect "root@localhost is local" "rcpt <ops@example.org> orcpt <root@LocalHost>" \
	-i root@LocalHost
expect "a remote root is not aliased" "rcpt <root@example.org>" -i root@example.org
expect "continuation lines and a comment inside an entry" \
	"rcpt <alice@example.org> orcpt <team> rcpt <bob@example.org> orcpt <team> rcpt <carol@example.org> orcpt <team>" \
	-i team
# x@localhost is not in the file: kept as it is, as without aliases.
expect "targets at hostname/localhost are followed again" \
	"rcpt <ops@example.org> orcpt <hosted> rcpt <x@localhost> orcpt <hosted>" -i hosted
expect "an unmapped name is qualified" "rcpt <stranger@example.net> orcpt <stranger>" -i stranger
expect "an alias to an unmapped local name: qualified" \
	"rcpt <someone@example.net> orcpt <unmapped>" -i unmapped
expect "a self-reference keeps a copy for the name itself" \
	"rcpt <self@example.net> orcpt <self> rcpt <copy@example.org> orcpt <self>" -i self
expect "a loop is broken where it closes (qualified)" "rcpt <loopa@example.net> orcpt <loopa>" -i loopa
check "the loop is reported on stderr" grep -q "alias loop through loopa" <<<"$ERR"
expect "nesting deeper than 10 stops there" "rcpt <d11@example.net> orcpt <d1>" -i d1
check "the depth limit is reported" grep -q "nested deeper than 10" <<<"$ERR"
expect "a command target is skipped (nothing left: qualified)" \
	"rcpt <pipe@example.net> orcpt <pipe>" -i pipe
check "the command target is named in the warning" \
	grep -q 'pipe: skipping the command target "|/usr/bin/procmail -d list"' <<<"$ERR"
expect "a file target is skipped, the address kept" "rcpt <keep@example.org> orcpt <file>" -i file
check "the file target is named in the warning" grep -q "skipping the file target /var/log/mail.archive" <<<"$ERR"
expect "an :include: target is skipped" "rcpt <inc@example.net> orcpt <inc>" -i inc
check "the :include: target is named in the warning" grep -q "skipping the :include: target" <<<"$ERR"
expect "duplicates after expansion are sent once" \
	"rcpt <ops@example.org> orcpt <root> rcpt <bob@example.org>" -i root postmaster bob@example.org Root

# admin_addr: the fallback for local names the file does not map.
conf "aliases = $AL" "admin_addr = admin@example.com"
expect "admin_addr: a mapped name still follows the file" "rcpt <ops@example.org> orcpt <postmaster>" -i postmaster
expect "admin_addr: an unmapped name goes to admin_addr" "rcpt <admin@example.com> orcpt <stranger>" -i stranger
expect "admin_addr: an alias to an unmapped local name goes to admin_addr" \
	"rcpt <admin@example.com> orcpt <unmapped>" -i unmapped
expect "admin_addr: a loop ends at admin_addr" "rcpt <admin@example.com> orcpt <loopb>" -i loopb
expect "admin_addr: only a command target: admin_addr" "rcpt <admin@example.com> orcpt <pipe>" -i pipe

# -t: recipients from the headers go through the same lookup.
conf "aliases = $AL"
printf 'From: cron@example.org\nTo: root\nCc: team, "Post" <postmaster@localhost>\nBcc: nobody\nSubject: t\n\nhi\n' > "$T/tmsg"
rcpts_for -i -t < "$T/tmsg"
got=$GOT
want="rcpt <ops@example.org> orcpt <root> rcpt <alice@example.org> orcpt <team> rcpt <bob@example.org> orcpt <team> rcpt <carol@example.org> orcpt <team>"
check "-t: To/Cc/Bcc local names expanded, duplicates once" [ "$RC" = 0 ] && [ "$got" = "$want" ] ||
	echo "    got [$got]"

# -bv prints the result of the lookup, one line per address it became.
"$SENDMAIL" -C "$CONF" -bv postmaster team stranger x@example.org > "$T/bv" 2> "$T/bverr"
check "-bv exits 0" [ $? = 0 ]
cat > "$T/bvwant" <<'EOF'
postmaster... deliverable: mailer relay, user ops@example.org
team... deliverable: mailer relay, user alice@example.org
team... deliverable: mailer relay, user bob@example.org
team... deliverable: mailer relay, user carol@example.org
stranger... deliverable: mailer relay, user stranger@example.net
x@example.org... deliverable: mailer relay, user x@example.org
EOF
check "-bv shows each address an alias became" cmp -s "$T/bv" "$T/bvwant" || diff "$T/bvwant" "$T/bv" | sed 's/^/    /'

# -bs: RCPT TO a local name is expanded at the end of DATA.
rm -rf "$SP"; mk_spool "$SP" >/dev/null
printf 'EHLO x\r\nMAIL FROM:<me@example.org>\r\nRCPT TO:<team>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n' |
	"$SENDMAIL" -C "$CONF" -bs > "$T/bs" 2>&1
d=$(find "$SP/incoming/new" -type f | head -n 1)
got=$([ -n "$d" ] && drop_envelope "$d" | grep -cE '^rcpt <(alice|bob|carol)@example.org>$')
check "-bs: RCPT TO:<team> is one RCPT and three envelope recipients" [ "${got:-0}" = 3 ]

# aliases = none: no lookup at all.
conf "aliases = none"
expect "aliases = none: root is only qualified" "rcpt <root@example.net> orcpt <root>" -i root

# A file named by the key that does not exist: a configuration error (78).
conf "aliases = $T/no-such-file"
msg > "$T/m1"; rcpts_for -i root < "$T/m1"
check "missing aliases file (key set): exit 78" [ "$RC" = 78 ]
check "missing aliases file: the message names the path" grep -q "cannot read the aliases file $T/no-such-file: No such file" <<<"$ERR"
check "missing aliases file: nothing queued" [ "$(drops)" = 0 ]
expect "missing aliases file: remote-only mail still goes" "rcpt <x@example.org>" -i x@example.org

# A syntax error: 78 naming file and line (a mapping for root may be what is broken).
printf 'postmaster: root\nroot ops@example.org\n' > "$T/bad"
chmod 644 "$T/bad"
conf "aliases = $T/bad"
msg > "$T/m1"; rcpts_for -i root < "$T/m1"
check "broken aliases file: exit 78" [ "$RC" = 78 ]
check "broken aliases file: names file and line" grep -q "aliases file $T/bad:2: expected \"name: address, ...\"" <<<"$ERR"
check "broken aliases file: nothing queued" [ "$(drops)" = 0 ]
"$SENDMAIL" -C "$CONF" -bv root > /dev/null 2> "$T/bverr"
check "broken aliases file: -bv exits 78 too" [ $? = 78 ]
printf 'a: b\na: c\n' > "$T/dup"; chmod 644 "$T/dup"
conf "aliases = $T/dup"
msg > "$T/m1"; rcpts_for -i a < "$T/m1"
check "duplicate alias: 78 naming both lines" grep -q "$T/dup:2: duplicate alias \"a\" (first on line 1)" <<<"$ERR"
printf '  root: x@example.org\n' > "$T/cont"; chmod 644 "$T/cont"
conf "aliases = $T/cont"
msg > "$T/m1"; rcpts_for -i root < "$T/m1"
check "a continuation line with nothing before it: 78" [ "$RC" = 78 ] && grep -q "$T/cont:1: continuation line" <<<"$ERR"

# An unreadable file: 78, and the reason. Root reads anything: run as a test user.
cp "$AL" "$T/secret-aliases"
chmod 600 "$T/secret-aliases"
conf "aliases = $T/secret-aliases"
if is_root; then
	id "$TEST_USER1" >/dev/null 2>&1 || { fail "no test user $TEST_USER1"; exit 0; }
	SM=$(public_sendmail)
	rm -rf "$SP"; mk_spool "$SP" >/dev/null
	msg | as_user "$TEST_USER1" env NULLRELAY_CONF="$CONF" "$SM" -i root > /dev/null 2> "$T/err"
	RC=$?
else
	chmod 000 "$T/secret-aliases"
	rm -rf "$SP"; mk_spool "$SP" >/dev/null
	msg | "$SENDMAIL" -C "$CONF" -i root > /dev/null 2> "$T/err"
	RC=$?
fi
check "unreadable aliases file: exit 78" [ "$RC" = 78 ]
check "unreadable aliases file: says Permission denied" grep -q "cannot read the aliases file $T/secret-aliases: Permission denied" "$T/err"
check "unreadable aliases file: nothing queued" [ "$(drops)" = 0 ]

# The default: /etc/aliases when it exists, nothing when it does not. In a
# private mount namespace with an empty /etc, so the host's file is untouched.
if is_root && command -v unshare >/dev/null; then
	conf
	for case in present absent; do
		rm -rf "$SP"; mk_spool "$SP" >/dev/null
		msg | unshare -m --propagation private sh -c '
			mount -t tmpfs tmpfs /etc || exit 99
			[ "$1" = present ] && printf "root: ops@example.org\n" > /etc/aliases
			exec "$2" -C "$3" -i root' sh "$case" "$SENDMAIL" "$CONF" 2> "$T/err"
		RC=$?
		d=$(find "$SP/incoming/new" -type f | head -n 1)
		got=$([ -n "$d" ] && drop_envelope "$d" | grep '^rcpt ')
		if [ "$case" = present ]; then
			check "default /etc/aliases is read when it exists" [ "$RC" = 0 ] && [ "$got" = "rcpt <ops@example.org>" ]
		else
			check "no /etc/aliases: root is qualified, exit 0" [ "$RC" = 0 ] && [ "$got" = "rcpt <root@example.net>" ]
		fi
	done
else
	skip "default /etc/aliases (needs root for a private mount namespace)"
fi
