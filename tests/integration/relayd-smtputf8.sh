#!/usr/bin/env bash
# SMTPUTF8 per recipient (RFC 6531 §3.4; issue 8): to a smarthost that does
# not offer SMTPUTF8, only the recipients whose address needs it fail (5.6.7,
# one bounce listing only them); the others are sent without the SMTPUTF8
# parameter. A UTF-8 sender fails the whole message, and the report says why.
# UTF-8 in headers alone does not need SMTPUTF8 (README: decisions).
# Through ./sendmail, ./relayd/relayd and the fake smarthost.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/bounce.sh"
require_relay relayd-smtputf8 || exit 0

NO_UTF8='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","SIZE 10000000","DSN"]'
J=$'j\303\274rgen@example.org'	# jürgen@example.org
S=$'s\303\274@example.org'	# sü@example.org

# rcpts_of SH N: the RCPT TO addresses of the N-th accepted message.
rcpts_of() {
	"$PY" - "$T/$1" "$2" <<'EOF'
import json, os, re, sys
md = os.path.join(sys.argv[1], "mail")
names = sorted((n for n in os.listdir(md) if n.endswith(".json")),
               key=lambda x: tuple(int(p) for p in re.findall(r"\d+", x)))
j = json.load(open(os.path.join(md, names[int(sys.argv[2]) - 1])))
print(" ".join(r["addr"] for r in j["rcpts"]), "|", " ".join(j.get("mail_params") or []))
EOF
}
# The client's commands on the wire (all connections), one a line.
commands() { "$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("dir") == "C": print(e["line"])' "$T/$1/t.jsonl"; }

wire_has() { commands "$1" | grep -qF -- "$2"; }
not_in() { [[ $1 != *"$2"* ]]; }

# ---- 1. one UTF-8 recipient, one ASCII: the ASCII one is sent ------------
relay_new mixed
sh_start sh-mixed "{$NO_UTF8}"
relay_conf
test_message mixed-subject > "$RD/msg"
submit -f s@example.org "$J" plain@example.org < "$RD/msg"
ID=$SUBMIT_ID
relayd_once
check "mixed: the original went out once (plus the bounce)" \
	[ "$(sh_from_count sh-mixed s@example.org)" = 1 ]
got=$(rcpts_of sh-mixed 1)
check "mixed: sent to plain@ only ($got)" [ "${got%% |*}" = "<plain@example.org>" ]
check "mixed: MAIL FROM without SMTPUTF8 ($got)" not_in "$got" SMTPUTF8
check "mixed: no RCPT TO for the UTF-8 address on the wire" not wire_has sh-mixed "RCPT TO:<$J>"
check "mixed: plain@ logged as sent" log_has "$ID: to=<plain@example.org>, .*status=sent"
check "mixed: the UTF-8 recipient logged bounced with 5.6.7" \
	log_has "$ID: to=<$J>, .*dsn=5\.6\.7, status=bounced \(.*SMTPUTF8"
check "mixed: exactly one bounce, to the sender" [ "$(sh_bounce_count sh-mixed s@example.org)" = 1 ]
B=$(sh_bounces sh-mixed s@example.org | head -n 1)
[ -n "$B" ] && dsn_check mixed "$B" to=s@example.org action=failed status=5.6.7 \
	"rcpts=$J" diag=SMTPUTF8 subject=mixed-subject
check "mixed: the original left the queue" eval "! queued $ID && ! failed $ID && queue_empty"

# ---- 1b. the same without PIPELINING, the UTF-8 ones first and last -------
relay_new nopipe
sh_start sh-nopipe '{"ehlo":["8BITMIME","ENHANCEDSTATUSCODES","DSN"]}'
relay_conf
K=$'k\303\266ln@example.org'
submit -f s@example.org "$J" a@example.org b@example.org "$K" < <(test_message nopipe)
ID=$SUBMIT_ID
relayd_once
got=$(rcpts_of sh-nopipe 1 2>/dev/null)
check "no pipelining: sent to a@ and b@ only ($got)" \
	[ "${got%% |*}" = "<a@example.org> <b@example.org>" ]
check "no pipelining: one bounce listing both UTF-8 recipients" \
	[ "$(sh_bounce_count sh-nopipe s@example.org)" = 1 ]
B=$(sh_bounces sh-nopipe s@example.org | head -n 1)
[ -n "$B" ] && dsn_check nopipe "$B" action=failed status=5.6.7 "rcpts=$J,$K"
check "no pipelining: queue empty" queue_empty

# ---- 2. every recipient needs SMTPUTF8: no transaction at all -------------
relay_new allutf8
sh_start sh-allutf8 "{$NO_UTF8}"
relay_conf
submit -f s@example.org "$J" < <(test_message allutf8)
ID=$SUBMIT_ID
relayd_once
check "all UTF-8: the original was not sent" [ "$(sh_from_count sh-allutf8 s@example.org)" = 0 ]
check "all UTF-8: no MAIL FROM:<s@example.org> on the wire" \
	not wire_has sh-allutf8 "MAIL FROM:<s@example.org>"
check "all UTF-8: bounced with 5.6.7" log_has "$ID: to=<$J>, .*dsn=5\.6\.7, status=bounced"
check "all UTF-8: one bounce to the sender" [ "$(sh_bounce_count sh-allutf8 s@example.org)" = 1 ]

# ---- 3. a UTF-8 sender: the whole message fails, and the report says why --
relay_new sender
sh_start sh-sender "{$NO_UTF8}"
relay_conf "admin_addr = admin@example.org"
submit -f "$S" plain@example.org other@example.org < <(test_message sender-subject)
ID=$SUBMIT_ID
relayd_once
relayd_once
for r in plain@example.org other@example.org; do
	check "UTF-8 sender: no RCPT TO:<$r> on the wire" not wire_has sh-sender "RCPT TO:<$r>"
done
for r in plain@example.org other@example.org; do
	check "UTF-8 sender: $r logged bounced with 5.6.7, naming the sender" \
		log_has "$ID: to=<$r>, .*dsn=5\.6\.7, status=bounced \(.*sender.*SMTPUTF8"
done
# The report cannot reach a UTF-8 sender through this smarthost: it goes to
# admin_addr (SPEC §7), with the reason in it.
check "UTF-8 sender: the report reached admin_addr" wait_for 10 eval \
	'relayd_once; [ "$(sh_bounce_count sh-sender admin@example.org)" -ge 1 ]'
B=$(sh_bounces sh-sender admin@example.org | head -n 1)
if [ -n "$B" ]; then
	check "UTF-8 sender: the report says the sender needs SMTPUTF8" \
		grep -qiE 'sender.*SMTPUTF8|SMTPUTF8.*sender' "$B"
fi

# ---- 4. UTF-8 only in headers: sent, without SMTPUTF8 ---------------------
relay_new hdr
sh_start sh-hdr "{$NO_UTF8}"
relay_conf
printf 'From: J\303\274rgen <s@example.org>\nTo: plain@example.org\nSubject: Gr\303\274\303\237e\n\nK\303\266ln\n' > "$RD/msg"
submit -f s@example.org plain@example.org < "$RD/msg"
ID=$SUBMIT_ID
relayd_once
check "UTF-8 headers: sent" log_has "$ID: to=<plain@example.org>, .*status=sent"
got=$(rcpts_of sh-hdr 1 2>/dev/null)
check "UTF-8 headers: without SMTPUTF8, with BODY=8BITMIME ($got)" \
	eval 'not_in "$got" SMTPUTF8 && [[ $got == *BODY=8BITMIME* ]]'

# ---- 5. control: a smarthost with SMTPUTF8 gets both in one transaction ---
relay_new both
sh_start sh-both "{$EHLO_DSN}"
relay_conf
submit -f s@example.org "$J" plain@example.org < <(test_message both)
ID=$SUBMIT_ID
relayd_once
got=$(rcpts_of sh-both 1 2>/dev/null)
check "SMTPUTF8 offered: both recipients in one transaction ($got)" \
	[ "${got%% |*}" = "<$J> <plain@example.org>" ]
check "SMTPUTF8 offered: MAIL FROM with SMTPUTF8" eval '[[ $got == *SMTPUTF8* ]]'
check "SMTPUTF8 offered: no bounce" [ "$(sh_bounce_count sh-both)" = 0 ]
