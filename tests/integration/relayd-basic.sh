#!/usr/bin/env bash
# relayd delivery basics through the real ./sendmail and ./relayd/relayd
# against the fake smarthost: byte-exact body, dot-stuffing, CRLF, the
# Received: line, ESMTP parameters only when offered, PIPELINING, log format.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-basic || exit 0

ALL='"PIPELINING","SIZE 10485760","8BITMIME","SMTPUTF8","DSN","ENHANCEDSTATUSCODES"'

# 1. Plain delivery, byte-exact, from another user when root.
relay_new plain
sh_start sh-plain "{\"ehlo\":[$ALL]}"
relay_conf
msg=$RD/msg
{
	printf 'From: Sender <sender@example.org>\nTo: rcpt@example.org\nSubject: dots\n'
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <dots@example.org>\n\n'
	printf 'first line\n.leading dot\n..two dots\n.\n...\n\nafter an empty line\n'
	printf ' leading space and trailing space \n\ttab\n'
	printf '%0990d\n' 7
	printf 'last line\n'
} > "$msg"
if is_root; then
	chmod 644 "$msg"
	submitter=$TEST_USER1
	submit_as "$submitter" -i -f sender@example.org rcpt@example.org < "$msg"
else
	submitter=$(id -un)
	submit -i -f sender@example.org rcpt@example.org < "$msg"
fi
rc=$?
check "basic: sendmail exits 0 and leaves one drop file" [ $rc = 0 -a -n "$SUBMIT_ID" ]
id=$SUBMIT_ID
relayd_once
check "basic: relayd --once exits 0" [ $? = 0 ]
check "basic: the smarthost accepted one message" [ "$(sh_count sh-plain)" = 1 ]
check "basic: delivered byte-exact (CRLF, dot-stuffing undone, Received: from userid $(uid_of "$submitter") first)" \
	eml_matches sh-plain 1 "$id" "$(uid_of "$submitter")" "$msg"
check "basic: no bare LF on the wire" shq sh-plain 'mails and mails[0]["side"]["bare_lf_lines"] == 0'
check "basic: envelope sender and recipient" \
	shq sh-plain 'mails[0]["side"]["mail_from"] == "<sender@example.org>" and [r["addr"] for r in mails[0]["side"]["rcpts"]] == ["<rcpt@example.org>"]'
check "basic: EHLO names hostname" shq sh-plain '"EHLO relay.test" in C(1)'
check "basic: QUIT at the end" shq sh-plain 'C(1)[-1] == "QUIT"'
check "basic: nothing left in the queue or drop directory" gone "$id"
check "basic: pick-up log line (SPEC §8) with uid=$(uid_of "$submitter")" \
	log_has "$id: from=<sender@example.org>, size=[0-9]+, nrcpt=1, uid=$(uid_of "$submitter")\$"
check "basic: delivery log line (SPEC §8)" \
	log_has "$id: to=<rcpt@example.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SH_PORT, delay=[0-9.]+, tries=1, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as FAKE1\)\$"
check "basic: pick-up line matches the SPEC regex" log_has "$PICKUP_RE"
bad=$(grep -E 'status=' "$RL" | grep -Ev -- "$DELIVERY_RE")
check "basic: every status= line matches the SPEC §8 format${bad:+: $bad}" [ -z "$bad" ]

# 2. SIZE, BODY=8BITMIME, SMTPUTF8 and DSN parameters when offered.
relay_new params
sh_start sh-params "{\"ehlo\":[$ALL]}"
relay_conf
printf 'From: s@example.org\nTo: r@example.org\nSubject: 8bit\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <8bit@example.org>\n\nGr\303\274\303\237e aus K\303\266ln\n' > "$RD/msg8"
submit -f s@example.org -N success,failure -R hdrs -V envid.1+2=3 r@example.org < "$RD/msg8"
relayd_once
check "params: delivered" sh_has sh-params
check "params: BODY=8BITMIME for an 8-bit body" shq sh-params '"BODY=8BITMIME" in [p.upper() for p in mails[0]["side"]["mail_params"]]'
check "params: SIZE= at least the message size" \
	shq sh-params 'any(p.upper().startswith("SIZE=") and int(p[5:]) >= len(mails[0]["eml"]) * 0.95 for p in mails[0]["side"]["mail_params"])'
check "params: RET=HDRS and ENVID=envid.1+2B2+3D3, xtext (DSN offered)" \
	shq sh-params '{"RET=HDRS", "ENVID=ENVID.1+2B2+3D3"} <= {p.upper() for p in mails[0]["side"]["mail_params"]}'
check "params: NOTIFY=SUCCESS,FAILURE on RCPT (DSN offered)" \
	shq sh-params 'any(p.upper() == "NOTIFY=SUCCESS,FAILURE" for p in mails[0]["side"]["rcpts"][0]["params"])'
check "params: 8-bit body arrives byte-exact" eml_matches sh-params 1 "$SUBMIT_ID" "$(id -u)" "$RD/msg8"

# Not offered: no SIZE, BODY, DSN or SMTPUTF8 parameters at all.
relay_new noparams
sh_start sh-noparams '{"ehlo":["ENHANCEDSTATUSCODES"]}'
relay_conf
test_message seven > "$RD/msg7"
submit -f s@example.org -N success -R full -V env2 r@example.org < "$RD/msg7"
relayd_once
check "noparams: delivered" sh_has sh-noparams
check "noparams: MAIL and RCPT carry no parameters when nothing is offered" \
	shq sh-noparams 'mails and not mails[0]["side"]["mail_params"] and not mails[0]["side"]["rcpts"][0]["params"]'
check "noparams: no command is pipelined without PIPELINING" \
	shq sh-noparams 'len({r["batch"] for r in t if r.get("dir") == "C" and "batch" in r}) == len([r for r in t if r.get("dir") == "C" and "batch" in r])'

# 3. SMTPUTF8 for a UTF-8 address.
relay_new utf8
sh_start sh-utf8 "{\"ehlo\":[$ALL]}"
relay_conf
printf 'From: s@example.org\nTo: j\303\266rg@example.org\nSubject: utf8\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <u8@example.org>\n\nhi\n' > "$RD/msgu"
submit -f s@example.org "j$(printf '\303\266')rg@example.org" < "$RD/msgu"
relayd_once
check "utf8: delivered" sh_has sh-utf8
check "utf8: MAIL carries SMTPUTF8 and the UTF-8 recipient" \
	shq sh-utf8 '"SMTPUTF8" in [p.upper() for p in mails[0]["side"]["mail_params"]] and mails[0]["side"]["rcpts"][0]["addr"] == "<j\u00f6rg@example.org>"'

# 4. PIPELINING: MAIL, every RCPT and DATA in one write.
relay_new pipe
sh_start sh-pipe "{\"ehlo\":[$ALL]}"
relay_conf
submit -f s@example.org a@example.org b@example.org c@example.org < <(test_message pipe)
relayd_once
check "pipelining: delivered to three recipients" shq sh-pipe 'mails and len(mails[0]["side"]["rcpts"]) == 3'
check "pipelining: MAIL, RCPTs and DATA sent in one batch" \
	shq sh-pipe 'len({r["batch"] for r in t if r.get("dir") == "C" and r["line"].split(" ")[0].upper() in ("MAIL", "RCPT", "DATA")}) == 1'

# 5. --once on an empty queue exits 0 at once and opens no connection.
relay_new empty
sh_start sh-empty '{}'
relay_conf
start=$(date +%s)
relayd_once
rc=$?
check "empty: relayd --once on an empty queue exits 0" [ $rc = 0 ]
check "empty: ... quickly, without connecting" [ $(( $(date +%s) - start )) -le 3 -a "$(shq sh-empty conns 2>/dev/null || echo 0)" = 0 ]
