#!/usr/bin/env bash
# Interoperability with a real MTA: Debian's Postfix as an authenticated
# STARTTLS smarthost on loopback (Cyrus SASL with a sasldb, PLAIN and LOGIN,
# smtpd_tls_auth_only), delivering into Maildirs. Messages are submitted with
# ./sendmail, sent by relayd --once, and must arrive byte for byte.
# Postfix is unpacked from its .deb into the temp dir and run as a private
# instance (tests/lib/postfix.sh), never installed.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/postfix.sh"

N="interop-postfix"
if ! is_root; then skip "$N (needs root: Postfix's daemon account and privileges)"; exit 0; fi
require_relay "$N" || exit 0
getent passwd "$TEST_USER1" >/dev/null || { fail "$N: user $TEST_USER1 missing (scripts/test-users)"; exit 0; }

pf_fetch "$T/pf"
case $? in
0) ;;
2) skip "$N ($PF_WHY)"; exit 0 ;;
*) fail "$N: $PF_WHY"; exit 0 ;;
esac

DOMAIN=example.test
PW='interop-Pa55 word'
make_certs "$CERTS" || { fail "$N: test certificates"; exit 0; }
PORT=$(closed_port)
pf_setup "$T/pf" "$PORT" "$CERTS/valid.pem" "$CERTS/valid.key" "$DOMAIN" "$TEST_USER1" &&
	pf_user alice "$PW" || { fail "$N: cannot set up the Postfix instance"; exit 0; }
for b in one two three four harness; do pf_mailbox "$b@$DOMAIN"; done
if ! pf_start; then
	fail "$N: Postfix did not start: $(tail -n 5 "$PF_LOG" "$PF_DIR/master.out" 2>/dev/null | tr '\n' ' ')"
	exit 0
fi
pass "$N: Postfix $PF_VERSION running on 127.0.0.1:$PORT (STARTTLS, AUTH PLAIN/LOGIN via Cyrus sasldb, Maildir delivery)"

# Files in the Maildir of mailbox $1.
mails() { find "$PF_VMAIL/$1@$DOMAIN/new" -type f 2>/dev/null; }
nmails() { mails "$1" | wc -l; }
has_mails() { [ "$(nmails "$1")" -ge "$2" ]; }

# The harness itself: swaks (a second SMTP client) gets through.
if command -v swaks >/dev/null; then
	timeout 30 swaks --silent 2 --server 127.0.0.1 --port "$PORT" --tls --tls-verify --tls-ca-path "$CERTS/ca.pem" \
		--auth PLAIN --auth-user "alice@$DOMAIN" --auth-password "$PW" --from s@example.org \
		--to "harness@$DOMAIN" --helo client.test >"$T/swaks.log" 2>&1
	check "$N: swaks delivers through Postfix with STARTTLS + AUTH (the harness works)" wait_for 10 has_mails harness 1
fi

relay_new relay
secret_file "$RD/pw" "$PW" 600
RELAY_RE="relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT"
relay_conf "smarthost = 127.0.0.1:$PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
	"auth_user = alice@$DOMAIN" "auth_password_file = $RD/pw"
check "$N: relayd -n accepts the config" eval "timeout 10 \"\$RELAYD\" -C \"\$RC\" -n >/dev/null 2>&1"

# hdr TO SUBJECT ID: complete headers, so sendmail adds nothing.
hdr() {
	printf 'From: Sender <sender@example.org>\nTo: %s\nSubject: %s\n' "$1" "$2"
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.org>\n' "$3"
}
{ hdr "one@$DOMAIN" "plain text" pf1; printf '\nHello,\n\nthis is plain text.\n-- \nSender\n'; } > "$RD/m1"
{ hdr "two@$DOMAIN" "dots" pf2
  printf '\n.starts with a dot\n..two dots\n.\n. space\n...\nend\n'; } > "$RD/m2"
{ hdr "three@$DOMAIN" $'Gr\303\274\303\237e aus K\303\266ln \342\202\254' pf3
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
  printf 'Gr\303\274\303\237e \342\200\224 \316\272\317\214\317\203\316\274\316\265 \346\227\245\346\234\254 \360\237\230\200\n\303\251\303\250\303\252\n'; } > "$RD/m3"
{ hdr "four@$DOMAIN" "2000 lines" pf4; echo
  for i in $(seq 2000); do printf 'body line %d of 2000\n' "$i"; done; } > "$RD/m4"
{ hdr "one@$DOMAIN" "long lines" pf5; echo
  printf '%0997d\n' 7; printf '%0998d\n' 8; printf '.%0997d\n' 9; printf 'x%0996dy\n' 0; echo end; } > "$RD/m5"
{ hdr "one@$DOMAIN, two@$DOMAIN" "two recipients" pf6; printf '\nFor both of you.\n'; } > "$RD/m6"

submit -f sender@example.org "one@$DOMAIN" < "$RD/m1"; id1=$SUBMIT_ID
submit -i -f sender@example.org "two@$DOMAIN" < "$RD/m2"; id2=$SUBMIT_ID
submit -f sender@example.org "three@$DOMAIN" < "$RD/m3"; id3=$SUBMIT_ID
submit -f sender@example.org "four@$DOMAIN" < "$RD/m4"; id4=$SUBMIT_ID
submit -i -f sender@example.org "one@$DOMAIN" < "$RD/m5"; id5=$SUBMIT_ID
submit -f sender@example.org "one@$DOMAIN" "two@$DOMAIN" < "$RD/m6"; id6=$SUBMIT_ID
ids="$id1 $id2 $id3 $id4 $id5 $id6"
check "$N: sendmail queued six messages" eval "[ \$(wc -w <<<'$ids') = 6 ]"
# What sendmail queued must be what we gave it (complete headers, lines
# within 998 octets): then "intact" below compares against the source.
for i in 1 2 3 4 5 6; do
	eval "id=\$id$i"
	[ -n "$id" ] && drop_message "$RS/incoming/new/$id" > "$RD/q$i" 2>/dev/null
done
queued_unchanged() {
	local i
	for i in 1 2 3 4 5 6; do cmp -s "$RD/m$i" "$RD/q$i" || { echo "message $i was changed by sendmail" >&2; return 1; }; done
}
check "$N: sendmail queued each message unchanged" queued_unchanged

relayd_once
for i in 1 2 3 4 5; do
	eval "id=\$id$i"
	check "$N: message $i: relayd logs status=sent via 127.0.0.1[127.0.0.1]:$PORT" \
		eval "grep -qE '$id: to=<[a-z]+@$DOMAIN>, $RELAY_RE, .*status=sent' '$RL'"
done
check "$N: message 6: status=sent for both recipients" \
	eval "[ \$(grep -cE '$id6: to=<(one|two)@$DOMAIN>, $RELAY_RE, .*status=sent' '$RL') = 2 ]"
all_gone() { local i; for i in $ids; do gone "$i" || return 1; done; }
check "$N: nothing left in relayd's queue" all_gone
check "$N: nothing deferred or bounced" eval "! grep -qE 'status=(deferred|bounced)' '$RL' && [ -z \"\$(ls '$RS/failed')\" ]"
all_in() { has_mails one 3 && has_mails two 2 && has_mails three 1 && has_mails four 1; }
check "$N: Postfix delivered seven copies into the Maildirs" wait_for 15 all_in

# intact MAILBOX SRC QID UID: a message in MAILBOX is, after the trace
# headers Postfix added (Return-Path, X-Original-To, Delivered-To and its
# own Received: with ESMTPSA, TLS and the authenticated sender), relayd's
# Received: line for QID and UID followed by SRC byte for byte (Postfix's
# Maildir stores LF line ends).
intact() {
	"$PY" - "$PF_VMAIL/$1@$DOMAIN/new" "$2" "$3" "$4" <<'PYEOF'
import os, re, sys
d, src, qid, uid = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3], sys.argv[4]
ours = re.compile(rb"Received: by relay\.test \(nullrelay, from userid " + uid.encode() +
                  rb"\)\s+id " + qid.encode() + rb";[^\n]*\n(?:[ \t][^\n]*\n)*")
why = []
for n in sorted(os.listdir(d)):
    data = open(os.path.join(d, n), "rb").read()
    pos, pf_received = 0, None
    while True:
        m = re.match(rb"(Return-Path|X-Original-To|Delivered-To|Received):[^\n]*\n(?:[ \t][^\n]*\n)*", data[pos:])
        if not m:
            break
        field = m.group(0)
        if field.startswith(b"Received:"):
            if b"by postfix.test (Postfix)" not in field:
                break
            pf_received = field
        pos += m.end()
    m = ours.match(data, pos)
    if not m:
        continue
    if pf_received is None:
        sys.exit("%s: no Received: from Postfix" % n)
    for want in (rb"with ESMTPSA ", rb"using TLSv1\.[23] ", rb"Authenticated sender: alice@example\.test"):
        if not re.search(want, pf_received):
            sys.exit("%s: Postfix's Received: lacks %r: %r" % (n, want, pf_received))
    rest = data[m.end():]
    if rest == src:
        sys.exit(0)
    i = next((k for k in range(min(len(rest), len(src))) if rest[k] != src[k]), min(len(rest), len(src)))
    sys.exit("%s: body differs at byte %d: got %r, want %r" % (n, i, rest[i:i + 60], src[i:i + 60]))
sys.exit("no message with relayd's Received: for %s in %s" % (qid, d))
PYEOF
}
uid=$(id -u)
check "$N: message 1 (plain text) arrived intact" intact one "$RD/m1" "$id1" "$uid"
check "$N: message 2 (leading dots, a lone dot) arrived intact" intact two "$RD/m2" "$id2" "$uid"
check "$N: message 3 (8-bit UTF-8 body and subject) arrived intact" intact three "$RD/m3" "$id3" "$uid"
check "$N: message 4 (2000 lines) arrived intact" intact four "$RD/m4" "$id4" "$uid"
check "$N: message 5 (lines of 997 and 998 octets) arrived intact" intact one "$RD/m5" "$id5" "$uid"
check "$N: message 6 arrived intact for recipient one" intact one "$RD/m6" "$id6" "$uid"
check "$N: message 6 arrived intact for recipient two" intact two "$RD/m6" "$id6" "$uid"

# Postfix's own log: each of relayd's messages came in over TLS with AUTH.
# The queue id Postfix gave a message is in relayd's log ("queued as X");
# the smtpd process that took it logged the TLS handshake and the SASL login.
# pf_session QID MECH: true if Postfix's QID was received in a session that
# established TLS and authenticated alice with MECH.
pf_session() {
	local pid
	pid=$(grep -E "postfix/smtpd\[[0-9]+\]: $1: client=localhost\[127\.0\.0\.1\], sasl_method=$2, sasl_username=alice@$DOMAIN\$" "$PF_LOG" |
		sed -E 's/.*postfix\/smtpd\[([0-9]+)\].*/\1/' | head -n 1)
	[ -n "$pid" ] && grep -qE "postfix/smtpd\[$pid\]: .*TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.[23]" "$PF_LOG"
}
# pf_qids ID: Postfix queue ids for relayd's message ID.
pf_qids() { grep -E "$1: to=<[^>]*>, $RELAY_RE, .*status=sent" "$RL" | grep -oE 'queued as [0-9A-Za-z]+' | sed 's/queued as //' | sort -u; }
all_plain() {
	local id q n=0
	for id in $ids; do
		for q in $(pf_qids "$id"); do pf_session "$q" PLAIN || { echo "no TLS+PLAIN session for $q ($id)" >&2; return 1; }; n=$((n + 1)); done
	done
	[ "$n" -ge 6 ] || { echo "only $n Postfix queue ids in relayd's log" >&2; return 1; }
}
check "$N: Postfix's log: every message came over TLS with sasl_method=PLAIN" all_plain

# AUTH LOGIN against Cyrus, when relayd is told to prefer it.
relay_conf "smarthost = 127.0.0.1:$PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
	"auth_user = alice@$DOMAIN" "auth_password_file = $RD/pw" "auth_mechanisms = login"
{ hdr "three@$DOMAIN" "auth login" pf7; printf '\nSent with AUTH LOGIN.\n'; } > "$RD/m7"
submit -f sender@example.org "three@$DOMAIN" < "$RD/m7"; id7=$SUBMIT_ID
relayd_once
check "$N: AUTH LOGIN: relayd logs status=sent" eval "grep -qE '$id7: to=<three@$DOMAIN>, $RELAY_RE, .*status=sent' '$RL'"
check "$N: AUTH LOGIN: arrived intact" wait_for 10 intact three "$RD/m7" "$id7" "$uid"
login_ok() { local q; q=$(pf_qids "$id7"); [ -n "$q" ] && pf_session "$q" LOGIN; }
check "$N: Postfix's log: TLS with sasl_method=LOGIN" login_ok

# A wrong password: Postfix answers 535; the message is deferred, never
# bounced, and stays queued; with the right password it goes out.
relay_conf "smarthost = 127.0.0.1:$PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
	"auth_user = alice@$DOMAIN" "auth_password_file = $RD/pw"
secret_file "$RD/pw" "wrong-password" 600
before=$(nmails four)
{ hdr "four@$DOMAIN" "wrong password" pf8; printf '\nRetried.\n'; } > "$RD/m8"
submit -f sender@example.org "four@$DOMAIN" < "$RD/m8"; id8=$SUBMIT_ID
relayd_once
check "$N: wrong password: relayd logs status=deferred" eval "log_has '$id8: to=<four@$DOMAIN>, .*status=deferred'"
check "$N: wrong password: never bounced, still queued" \
	eval "! log_has '$id8: .*status=bounced' && queued $id8 && [ -z \"\$(ls '$RS/failed')\" ]"
check "$N: wrong password: Postfix logged the failed AUTH and accepted nothing" \
	eval "grep -qE 'SASL (PLAIN|LOGIN) authentication failed' '$PF_LOG' && [ \$(nmails four) = $before ]"
secret_file "$RD/pw" "$PW" 600
retry_ok() { relayd_once; has_mails four $((before + 1)); }
check "$N: delivered once the password is right" wait_for 20 retry_ok
check "$N: the retried message arrived intact" wait_for 5 intact four "$RD/m8" "$id8" "$uid"

pgid=$PF_PID
pf_stop
# (Zombies of daemons master left are reaped by init shortly after.)
pf_all_gone() { ! ps -o stat= -g "$pgid" | grep -qv '^Z'; }
check "$N: Postfix stopped (no process of the instance left)" wait_for 5 pf_all_gone
