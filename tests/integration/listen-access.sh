#!/usr/bin/env bash
# Who may submit to the SMTP listener (SPEC §2, §6.1): listen_allow refuses
# other networks at connect with 554 (logged with the address), AUTH
# PLAIN/LOGIN against listen_auth_file (crypt(3) hashes) when it is set,
# STARTTLS with listen_tls_cert/key, the "client" line of a drop file
# believed only from the relay user, and relayd -n on the listener keys.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/listen.sh"
require_relay listen-access || exit 0

# 1. listen_allow: 127.0.0.2 only. 127.0.0.1 is refused, 127.0.0.2 served.
listen_setup allow "listen_allow = 127.0.0.2/32, 10.0.0.0/8"
out=$(smtpc reply 'send:EHLO x.test\r\n' reply)
check "allow: a client outside listen_allow gets 554 at connect ($(head -n 1 <<<"$out"))" \
	grep -q '^554 5\.7\.1 .*\[127\.0\.0\.1\]' <<<"$out"
check "allow: and nothing more (the connection is closed)" grep -q '^EOF$' <<<"$(sed -n 2p <<<"$out")"
check "allow: refusal logged with the client address" \
	log_has "listen: refused connection from \[127\.0\.0\.1\]: not in listen_allow"
out=$(smtpc --src 127.0.0.2 reply 'send:EHLO two.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n' replies:4 \
	'send:Subject: from .2\r\n\r\nhi\r\n.\r\nQUIT\r\n' replies:2)
check "allow: a client inside listen_allow (127.0.0.2) is served" grep -q '^250 2.0.0 Ok: queued as' <<<"$out"
wait_for 10 sh_has "$LSH"
check "allow: its Received: line names [127.0.0.2]" grep -q '^Received: from two.test (\[127.0.0.2\])' "$T/$LSH"/mail/conn-1-msg-1.eml
one_refused() { [ "$(relayd_metric nullrelay_listen_refused_total)" = 1 ]; }
check "allow: nullrelay_listen_refused_total = 1" wait_for 10 one_refused
relayd_stop

# 2. AUTH against listen_auth_file (loopback: offered without TLS).
hash_a=$(openssl passwd -6 -salt saltsalt 'alice secret')
hash_b=$(openssl passwd -5 'bob pw')
relay_new authpre
authf=$RD/listen-users
printf '# listener users\nalice:%s\n\nbob:%s\n' "$hash_a" "$hash_b" > "$authf"
chmod 640 "$authf"
is_root && chgrp "$(id -gn "$RELAY_USER")" "$authf"
listen_setup auth "listen_auth_file = $authf"
cp "$authf" "$RD/listen-users" 2>/dev/null
plain_ok=$(printf '\0alice\0alice secret' | base64 -w0)
plain_bad=$(printf '\0alice\0wrong' | base64 -w0)
out=$(smtpc reply 'send:EHLO a.test\r\n' reply 'send:MAIL FROM:<s@example.org>\r\n' reply \
	"send:AUTH PLAIN $plain_bad\\r\\n" reply "send:AUTH PLAIN $plain_ok\\r\\n" reply \
	'send:MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n' replies:3 \
	'send:Subject: authed\r\n\r\nhi\r\n.\r\nQUIT\r\n' replies:2)
check "auth: AUTH PLAIN LOGIN offered on loopback without TLS" grep -q '|AUTH PLAIN LOGIN|' <<<"$out"
check "auth: MAIL before AUTH gets 530 5.7.0" grep -q '^530 5\.7\.0' <<<"$(sed -n 3p <<<"$out")"
check "auth: a wrong password gets 535 5.7.8" grep -q '^535 5\.7\.8' <<<"$(sed -n 4p <<<"$out")"
check "auth: the right one gets 235 2.7.0" grep -q '^235 2\.7\.0' <<<"$(sed -n 5p <<<"$out")"
check "auth: then the message is queued" grep -q '^250 2\.0\.0 Ok: queued as' <<<"$(sed -n 9p <<<"$out")"
check "auth: failure logged with the client address and user" \
	log_has "listen: authentication failed for a\.test\[127\.0\.0\.1\] \(PLAIN, user alice\)"
check "auth: the password never reaches the log" bash -c '! grep -q "alice secret\|wrong" "$1"' _ "$RL"
wait_for 10 sh_has "$LSH"
check "auth: Received: says ESMTPA" grep -q '^Received: from a.test (\[127.0.0.1\]) by relay.test (nullrelay) with ESMTPA id' "$T/$LSH"/mail/conn-1-msg-1.eml
# AUTH LOGIN (bob, SHA-256 crypt) with smtplib; unknown user refused.
res=$("$PY" - "$LPORT" <<'PY'
import smtplib, sys
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port, local_hostname="py.test")
s.ehlo()
try:
    s.login("nobody", "bob pw")
    print("nobody accepted")
except smtplib.SMTPAuthenticationError as e:
    print("nobody refused", e.smtp_code)
s.quit()
s = smtplib.SMTP("127.0.0.1", port, local_hostname="py.test")
s.ehlo()
s.user, s.password = "bob", "bob pw"
code, _ = s.auth("LOGIN", s.auth_login)
print("login", code)
s.sendmail("bob@example.org", ["r@example.org"], "Subject: login\r\n\r\nhi\r\n")
print("sent")
s.quit()
PY
)
check "auth: an unknown user is refused with 535" grep -q '^nobody refused 535$' <<<"$res"
check "auth: AUTH LOGIN with a SHA-256 crypt hash works (smtplib)" grep -q '^login 235$' <<<"$res"
check "auth: and the message is accepted" grep -q '^sent$' <<<"$res"
out=$(smtpc reply 'send:EHLO g.test\r\n' reply "send:AUTH PLAIN $plain_bad\\r\\n" reply \
	"send:AUTH PLAIN $plain_bad\\r\\n" reply "send:AUTH PLAIN $plain_bad\\r\\n" reply reply)
check "auth: the third failure ends the session with 421" grep -q '^421 4\.7\.0' <<<"$(sed -n 5p <<<"$out")"
if command -v swaks >/dev/null; then
	swaks --server 127.0.0.1 --port "$LPORT" --helo swaks.test --from s@example.org \
		--to r@example.org --auth LOGIN --auth-user alice --auth-password 'alice secret' \
		> "$RD/swaks.out" 2>&1
	check "auth: swaks --auth LOGIN accepted" [ $? = 0 ]
fi
relayd_stop

# 3. STARTTLS with listen_tls_cert/key, AUTH over TLS.
if is_root; then chown "$RELAY_USER" "$CERTS/valid.key"; fi
listen_setup tls "listen_tls_cert = $CERTS/valid.pem" "listen_tls_key = $CERTS/valid.key" \
	"listen_auth_file = $authf"
res=$("$PY" - "$LPORT" "$CERTS/ca.pem" <<'PY'
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("localhost", port, local_hostname="tls.test")
code, ext = s.ehlo()
print("before", ext.decode().replace("\n", "|"))
ctx = ssl.create_default_context(cafile=ca)
s.starttls(context=ctx)
code, ext = s.ehlo()
print("after", ext.decode().replace("\n", "|"))
print("version", s.sock.version())
s.login("alice", "alice secret")
s.sendmail("alice@example.org", ["r@example.org"], "Subject: over tls\r\n\r\nhi\r\n")
print("sent")
s.quit()
PY
)
check "tls: STARTTLS offered before TLS" grep -q '^before .*|STARTTLS|' <<<"$res"
check "tls: not offered again after it" bash -c '! grep -q "^after .*STARTTLS" <<<"$1"' _ "$res"
check "tls: the handshake verifies against the test CA (TLS 1.2+)" grep -Eq '^version TLSv1\.[23]$' <<<"$res"
check "tls: AUTH and the message over TLS" grep -q '^sent$' <<<"$res"
wait_for 10 sh_has "$LSH"
check "tls: Received: says ESMTPSA" grep -q '^Received: from tls.test (\[127.0.0.1\]) by relay.test (nullrelay) with ESMTPSA id' "$T/$LSH"/mail/conn-1-msg-1.eml
# Commands pipelined behind STARTTLS (in clear) must not run after it.
out=$(smtpc --tls "$CERTS/ca.pem" reply 'send:EHLO i.test\r\n' reply 'send:STARTTLS\r\nNOOP\r\n' reply \
	starttls 'send:EHLO i.test\r\n' reply 'send:QUIT\r\n' reply)
check "tls: STARTTLS answers 220 2.0.0" grep -q '^220 2\.0\.0' <<<"$(sed -n 3p <<<"$out")"
check "tls: a NOOP injected before the handshake is discarded (first TLS reply is EHLO's)" \
	grep -q '^250 relay.test|' <<<"$(sed -n 4p <<<"$out")"
check "tls: the injection is logged" log_has "sent [0-9]+ bytes after STARTTLS before the handshake; discarded"
if command -v swaks >/dev/null; then
	swaks --server 127.0.0.1 --port "$LPORT" --helo swaks.test --from s@example.org \
		--to r@example.org --tls --tls-verify --tls-ca-path "$CERTS/ca.pem" --tls-sni localhost \
		--auth PLAIN --auth-user alice --auth-password 'alice secret' > "$RD/swaks-tls.out" 2>&1 ||
	swaks --server 127.0.0.1 --port "$LPORT" --helo swaks.test --from s@example.org \
		--to r@example.org --tls --auth PLAIN --auth-user alice --auth-password 'alice secret' \
		> "$RD/swaks-tls.out" 2>&1
	check "tls: swaks --tls --auth PLAIN accepted" [ $? = 0 ]
fi
if command -v msmtp >/dev/null; then
	printf 'Subject: msmtp tls\n\nhi\n' | msmtp --host=localhost --port="$LPORT" --domain=m.test \
		--tls=on --tls-starttls=on --tls-trust-file="$CERTS/ca.pem" --auth=plain --user=alice \
		--passwordeval="echo 'alice secret'" --from=alice@example.org r@example.org > "$RD/msmtp.out" 2>&1
	check "tls: msmtp with STARTTLS and AUTH PLAIN accepted" [ $? = 0 ]
fi
relayd_stop

# 4. A local user's drop file cannot claim to come from the listener.
if is_root; then
	listen_setup forge
	uid1=$(uid_of "$TEST_USER1")
	msgtext=$'Subject: forged\nFrom: f@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <f@example.org>\n\nforged\n'
	as_user "$TEST_USER1" "$PY" - "$RS" "$msgtext" <<'PY'
import os, sys
spool, msg = sys.argv[1], sys.argv[2].encode()
env = b"sender <f@example.org>\nrcpt <r@example.org>\nbody 7BIT\nclient ESMTPSA 192.0.2.1 trusted.example\n"
data = b"NULLRELAY-DROP 1\nlength %020d\n" % len(msg) + env + b"\n" + msg
name = "FFFFFFFFFFFF0001"
fd = os.open(os.path.join(spool, "incoming/tmp", name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
os.fchmod(fd, 0o640)
os.write(fd, data)
os.fsync(fd)
os.close(fd)
os.rename(os.path.join(spool, "incoming/tmp", name), os.path.join(spool, "incoming/new", name))
PY
	wait_for 10 sh_has "$LSH"
	f=$T/$LSH/mail/conn-1-msg-1.eml
	check "forge: the drop of uid $uid1 gets 'from userid $uid1', not the claimed client" \
		grep -q "^Received: by relay.test (nullrelay, from userid $uid1) id" "${f}"
	check "forge: the claimed client appears nowhere" bash -c '! grep -q "trusted.example\|192.0.2.1" "$1"' _ "$f"
	check "forge: the claim is logged" log_has "owned by uid $uid1 claims to come from the SMTP listener; ignoring the claim"
	check "forge: pick-up line names the uid" log_has "from=<f@example.org>, size=[0-9]+, nrcpt=1, uid=$uid1\$"
	relayd_stop
else
	skip "forge: needs root (a second user writes the drop file)"
fi

# 5. relayd -n on the listener keys.
relay_new conf
SH_PORT=2525
relay_conf
n_check() {
	local f=$RD/n.conf
	{ cat "$RC"; printf '%s\n' "$@"; } > "$f"
	"$RELAYD" -C "$f" -n > "$RD/n.out" 2>&1
	echo $? >> "$RD/n.out"
}
n_check "listen = localhost:25"
check "conf: listen = localhost:25 refused with 78 naming the line" bash -c \
	'grep -q "n.conf:[0-9]*: bad value \"localhost:25\" for listen" "$1" && tail -n 1 "$1" | grep -q "^78\$"' _ "$RD/n.out"
n_check "listen = 127.0.0.1"
check "conf: listen without a port refused" grep -q 'missing :port' "$RD/n.out"
n_check "listen = ::1:25"
check "conf: IPv6 without brackets refused" grep -q 'needs brackets' "$RD/n.out"
n_check "listen_allow = 10.0.0.0/33"
check "conf: a bad listen_allow prefix refused" grep -q 'bad value "10.0.0.0/33" for listen_allow' "$RD/n.out"
n_check "listen_max_rcpts = 0"
check "conf: listen_max_rcpts = 0 refused" grep -q 'bad value "0" for listen_max_rcpts' "$RD/n.out"
n_check "listen_tls_cert = $CERTS/valid.pem"
check "conf: listen_tls_cert without listen_tls_key refused" grep -q 'listen_tls_cert is set without listen_tls_key' "$RD/n.out"
printf 'alice:%s\nbroken line\n' "$hash_a" > "$RD/bad-users"
chmod 644 "$RD/bad-users"
n_check "listen_auth_file = $RD/bad-users"
check "conf: a bad listen_auth_file line refused with file:line" grep -q "bad-users:2: expected user:hash" "$RD/n.out"
chmod 666 "$RD/bad-users"
n_check "listen_auth_file = $RD/bad-users"
check "conf: a world-writable listen_auth_file refused" grep -q "writable by group or others" "$RD/n.out"
n_check "listen = 127.0.0.1:2525" "listen = [::1]:2525" "listen_allow = 127.0.0.0/8 ::1 192.168.0.0/16" \
	"listen_max_rcpts = 500" "listen_auth_file = $authf" "listen_tls_cert = $CERTS/valid.pem" "listen_tls_key = $CERTS/valid.key"
check "conf: a full listener configuration passes -n" grep -q 'configuration ok' "$RD/n.out"
