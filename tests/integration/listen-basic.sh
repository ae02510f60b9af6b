#!/usr/bin/env bash
# The SMTP listener (SPEC §6.1) end to end through the real relayd: Python's
# smtplib, swaks and msmtp submit over loopback, the fake smarthost receives;
# EHLO extensions, the Received: line and log lines, PIPELINING, IPv6,
# SIZE, listen_max_rcpts, bad input, bounces and the metrics counters.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/listen.sh"
require_relay listen-basic || exit 0

DATE_RE='[A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}'

# 1. smtplib: a message through the listener reaches the smarthost.
listen_setup basic
out=$("$PY" - "$LPORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="grafana.test")
code, ext = s.ehlo("grafana.test")
print("EHLO", code, ext.decode().replace("\n", "|"))
msg = ("From: Grafana <grafana@example.org>\r\nTo: ops@example.org\r\n"
       "Bcc: hidden@example.org\r\nSubject: alert\r\n\r\nline one\r\n.leading dot\r\n")
s.mail("grafana@example.org")
s.rcpt("ops@example.org")
code, resp = s.data(msg)
print("DATA", code, resp.decode())
s.quit()
PY
)
ehlo=$(grep '^EHLO' <<<"$out")
check "basic: EHLO answers 250 with the host name" grep -q '^EHLO 250 relay.test|' <<<"$ehlo"
for kw in PIPELINING "SIZE 36700160" 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES; do
	check "basic: EHLO offers $kw" grep -q "|$kw\(|\|\$\)" <<<"$ehlo"
done
check "basic: no STARTTLS or AUTH offered when not configured" \
	bash -c '! grep -Eq "STARTTLS|AUTH" <<<"$1"' _ "$ehlo"
id=$(sed -nE 's/^DATA 250 2\.0\.0 Ok: queued as ([0-9A-F]{16})$/\1/p' <<<"$out")
check "basic: the final dot gets 250 2.0.0 with the queue id" [ -n "$id" ]
wait_for 10 sh_has "$LSH"
check "basic: the smarthost received the message" [ "$(sh_count "$LSH")" = 1 ]
eml=$(sh_mail "$LSH" 1)
first=$(head -n 1 <<<"$eml" | tr -d '\r')
check "basic: first line is the §6.1 Received: line ($first)" grep -Eq \
	"^Received: from grafana\.test \(\[127\.0\.0\.1\]\) by relay\.test \(nullrelay\) with ESMTP id $id; $DATE_RE\$" <<<"$first"
check "basic: no 'from userid' Received: line for listener mail" bash -c '! grep -q "from userid" <<<"$1"' _ "$eml"
check "basic: Bcc: removed, Date: and Message-ID: added (§4 fix-ups)" bash -c \
	'! grep -qi "^Bcc:" <<<"$1" && grep -q "^Date: " <<<"$1" && grep -q "^Message-ID: <.*@relay.test>" <<<"$1"' _ "$eml"
check "basic: dot-unstuffing and CRLF kept (.leading dot)" grep -q $'^\\.leading dot\r$' <<<"$eml"
check "basic: envelope from MAIL and RCPT" shq "$LSH" \
	'mails[0]["side"]["mail_from"] == "<grafana@example.org>" and [r["addr"] for r in mails[0]["side"]["rcpts"]] == ["<ops@example.org>"]'
check "basic: pick-up log line with client=HELO[IP] in place of uid=" \
	log_has "(^|[[:space:]])$id: from=<grafana@example.org>, size=[0-9]+, nrcpt=1, client=grafana\.test\[127\.0\.0\.1\]\$"
check "basic: delivery log line as for sendmail mail" \
	log_has "$id: to=<ops@example.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SH_PORT, delay=[0-9.]+, tries=1, dsn=2\.0\.0, status=sent"
check "basic: connect logged with the client address" log_has "listen: connect from \[127\.0\.0\.1\]"

# 2. swaks and msmtp, two real clients.
if command -v swaks >/dev/null; then
	swaks --server 127.0.0.1 --port "$LPORT" --helo swaks.test --from swaks@example.org \
		--to ops@example.org --header "Subject: from swaks" --body "swaks body" \
		> "$RD/swaks.out" 2>&1
	check "swaks: exits 0 (250 to the final dot)" [ $? = 0 ]
	wait_for 10 sh_has "$LSH" 2
	check "swaks: the message reached the smarthost" bash -c 'grep -q "Subject: from swaks" "$1"/mail/*.eml' _ "$T/$LSH"
else
	skip "swaks: not installed"
fi
if command -v msmtp >/dev/null; then
	printf 'Subject: from msmtp\nTo: ops@example.org\n\nmsmtp body\n' |
		msmtp --host=127.0.0.1 --port="$LPORT" --domain=msmtp.test --auth=off --tls=off \
			--from=msmtp@example.org ops@example.org > "$RD/msmtp.out" 2>&1
	check "msmtp: exits 0" [ $? = 0 ]
	wait_for 10 sh_has "$LSH" 3
	f=$(grep -l "Subject: from msmtp" "$T/$LSH"/mail/*.eml 2>/dev/null | head -n 1)
	check "msmtp: the message reached the smarthost with its Received: line" \
		grep -q "^Received: from msmtp.test (\[127.0.0.1\]) by relay.test (nullrelay) with ESMTP id" "${f:-/dev/null}"
else
	skip "msmtp: not installed (scripts/install-deps adds it)"
fi

# 3. PIPELINING: every command of two transactions in one write.
n0=$(sh_count "$LSH")
out=$(smtpc reply 'send:EHLO pipe.test\r\nMAIL FROM:<p1@example.org>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: p1\r\n\r\none\r\n.\r\nMAIL FROM:<p2@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\nSubject: p2\r\n\r\ntwo\r\n.\r\nQUIT\r\n' replies:11)
codes=$(awk '{print $1}' <<<"$out" | tr '\n' ' ')
check "pipelining: replies in order ($codes)" [ "$codes" = "220 250 250 250 250 354 250 250 250 354 250 221 " ]
wait_for 10 sh_has "$LSH" $((n0 + 2))
check "pipelining: both messages delivered" [ "$(sh_count "$LSH")" = $((n0 + 2)) ]

# 4. HELO (no extensions), RSET, NOOP, VRFY, unknown commands, bad input.
out=$(smtpc reply 'send:HELO plain.test\r\n' reply 'send:NOOP\r\n' reply 'send:VRFY x\r\n' reply \
	'send:FOO\r\n' reply 'send:DATA\r\n' reply 'send:RCPT TO:<a@example.org>\r\n' reply \
	'send:MAIL FROM:<bad<>@example.org>\r\n' reply 'send:MAIL FROM:<s@example.org> FOO=1\r\n' reply \
	'send:MAIL FROM:<s@example.org>\r\n' reply 'send:MAIL FROM:<t@example.org>\r\n' reply \
	'send:RCPT TO:<>\r\n' reply 'send:RCPT TO:<a@b> NOTIFY=NEVER\r\n' reply \
	'send:RSET\r\n' reply "send:$(printf 'X%.0s' $(seq 1 3000))\\r\\n" reply 'send:EHLO bad/name\r\n' reply \
	'send:QUIT\r\n' reply)
codes=$(awk '{print $1}' <<<"$out" | tr '\n' ' ')
check "bad input: HELO 250, NOOP 250, VRFY 252, unknown 500, DATA first 503, RCPT first 503, bad sender 501, unknown parameter 555, nested MAIL 503, empty RCPT 501, RCPT parameter 555, RSET 250, long line 500, bad EHLO name 501, then the tenth error ends the session with 421 ($codes)" \
	[ "$codes" = "220 250 250 252 500 503 503 501 555 250 503 501 555 250 500 501 421 " ]

# 5. A malformed message gets 5xx with a reason and nothing is queued.
n0=$(sh_count "$LSH")
long=$(printf 'X%.0s' $(seq 1 1200))
out=$(smtpc reply 'send:EHLO m.test\r\n' reply 'send:MAIL FROM:<s@example.org>\r\n' reply \
	'send:RCPT TO:<r@example.org>\r\n' reply 'send:DATA\r\n' reply \
	"send:Subject: $long\\r\\n\\r\\nbody\\r\\n.\\r\\n" reply 'send:QUIT\r\n' reply)
dot=$(sed -n 6p <<<"$out")
check "bad message: a header line over 998 octets gets 554 with the reason ($dot)" \
	grep -Eq '^554 5\.6\.0 .*(998|long)' <<<"$dot"
sleep 1.5
check "bad message: nothing queued" [ "$(sh_count "$LSH")" = "$n0" ] && check "bad message: spool empty" spool_empty

# 6. Metrics: connections and accepted messages counted.
wait_for 5 test -s "$RS/metrics.prom"
sessions_counted() { [ "$(relayd_metric nullrelay_listen_connections_total)" -ge 6 ]; }
wait_for 10 sessions_counted
check "metrics: nullrelay_listen_connections_total counts sessions ($(relayd_metric nullrelay_listen_connections_total))" \
	sessions_counted
check "metrics: nullrelay_listen_accepted_total = 5 ($(relayd_metric nullrelay_listen_accepted_total))" \
	[ "$(relayd_metric nullrelay_listen_accepted_total)" = 5 ]
check "metrics: nullrelay_listen_refused_total = 0" [ "$(relayd_metric nullrelay_listen_refused_total)" = 0 ]
relayd_stop
check "basic: relayd stops cleanly with the listener (exit 0)" [ $? = 0 ]

# 7. IPv6: listen = [::1]:PORT.
if "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	relay_new v6
	sh_start sh-v6 '{"ehlo":["PIPELINING"]}'
	LPORT=$(closed_port)
	relay_conf "listen = [::1]:$LPORT" "listen = 127.0.0.1:$LPORT"
	relayd_start
	wait_for 5 log_has "listen: accepting SMTP on \[::1\]:$LPORT, 127\.0\.0\.1:$LPORT"
	out=$(smtpc_at "$LPORT" --host ::1 reply 'send:EHLO six.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n' replies:4 \
		'send:Subject: v6\r\n\r\nhi\r\n.\r\nQUIT\r\n' replies:2)
	check "ipv6: accepted over [::1]" grep -q '^250 2.0.0 Ok: queued as' <<<"$out"
	wait_for 10 sh_has sh-v6
	check "ipv6: Received: names [::1]" grep -q '^Received: from six.test (\[::1\]) by relay.test (nullrelay) with ESMTP id' "$T/sh-v6/mail/conn-1-msg-1.eml"
	relayd_stop
else
	skip "ipv6: no ::1 on this machine"
fi

# 8. SIZE: declared and actual, listen_max_rcpts.
listen_setup size "max_message_size = 10k" "listen_max_rcpts = 3"
out=$(smtpc reply 'send:EHLO s.test\r\n' reply 'send:MAIL FROM:<s@example.org> SIZE=20000\r\n' reply \
	'send:MAIL FROM:<s@example.org> SIZE=5000\r\n' reply 'send:QUIT\r\n' reply)
check "size: EHLO announces SIZE 10240 (max_message_size)" grep -q '|SIZE 10240|' <<<"$out"
check "size: MAIL SIZE=20000 over the limit gets 552 5.3.4" grep -q '^552 5\.3\.4 ' <<<"$(sed -n 3p <<<"$out")"
check "size: MAIL SIZE=5000 accepted" grep -q '^250' <<<"$(sed -n 4p <<<"$out")"
big=$(head -c 15000 /dev/zero | tr '\0' 'a' | fold -w 70 | sed 's/$/\\r\\n/' | tr -d '\n')
out=$(smtpc reply 'send:EHLO s.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n' replies:4 \
	"send:Subject: big\\r\\n\\r\\n$big.\\r\\n" reply \
	'send:MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n' replies:3 \
	'send:Subject: small\r\n\r\nsmall\r\n.\r\nQUIT\r\n' replies:2)
check "size: 15 kB of data over max_message_size gets 552 5.3.4" grep -q '^552 5\.3\.4 ' <<<"$(sed -n 6p <<<"$out")"
check "size: the session goes on: the next message is queued" grep -q '^250 2\.0\.0 Ok: queued as' <<<"$(sed -n 10p <<<"$out")"
wait_for 10 sh_has "$LSH"
sleep 1
check "size: only the small message reached the smarthost" [ "$(sh_count "$LSH")" = 1 ]
out=$(smtpc reply 'send:EHLO r.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\nRCPT TO:<r3@example.org>\r\nRCPT TO:<r4@example.org>\r\nRCPT TO:<r5@example.org>\r\nDATA\r\n' replies:8 \
	'send:Subject: many\r\n\r\nmany\r\n.\r\nQUIT\r\n' replies:2)
codes=$(awk '{print $1}' <<<"$out" | tr '\n' ' ')
check "rcpts: listen_max_rcpts = 3: RCPT 4 and 5 get 452 4.5.3 ($codes)" \
	[ "$codes" = "220 250 250 250 250 250 452 452 354 250 221 " ]
wait_for 10 sh_has "$LSH" 2
check "rcpts: delivered to the first three only" shq "$LSH" \
	'[r["addr"] for r in mails[1]["side"]["rcpts"]] == ["<r1@example.org>", "<r2@example.org>", "<r3@example.org>"]'
check "rcpts: logged with the client" log_has "listen: .*\[127\.0\.0\.1\]: too many recipients"
relayd_stop

# 9. A bounce for listener mail goes to its envelope sender through the
# smarthost, even for a sender at localhost (which sendmail would keep).
relay_new bounce
sh_start sh-bounce '{"ehlo":["PIPELINING"],"rcpt_replies":{"nobody@example.org":"550 5.1.1 no such user"}}'
LPORT=$(closed_port)
relay_conf "listen = 127.0.0.1:$LPORT" "bounce_local = keep"
relayd_start
wait_for 5 log_has "listen: accepting SMTP on"
out=$(smtpc reply 'send:EHLO app.test\r\nMAIL FROM:<app@localhost>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n' replies:4 \
	'send:Subject: to nobody\r\n\r\nhi\r\n.\r\nQUIT\r\n' replies:2)
id=$(sed -nE 's/^250 2\.0\.0 Ok: queued as ([0-9A-F]{16})$/\1/p' <<<"$out")
wait_for 15 sh_has sh-bounce
check "bounce: the listener message was refused and a bounce sent through the smarthost" \
	shq sh-bounce 'any(m["side"]["mail_from"] == "<>" and [r["addr"] for r in m["side"]["rcpts"]] == ["<app@localhost>"] for m in mails)'
check "bounce: nothing kept in failed/ (bounce_local does not apply)" bash -c '[ -z "$(ls "$1/failed")" ]' _ "$RS"
relayd_stop
