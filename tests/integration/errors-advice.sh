#!/usr/bin/env bash
# The errors a newcomer meets first, each triggered through the real
# binaries: the message must say what is wrong AND what to do. sendmail
# and relayd -n say it on stderr; a smarthost failure says it in relayd's
# "smarthost H:P failed: ...; what to do: ..." line, while the SPEC §8
# status=deferred line keeps its exact format and mail stays queued.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay errors-advice || exit 0

# 1. Spool missing: sendmail exits 73 naming the path and how to create it.
relay_new nospool
printf 'spool = %s/missing\nsmarthost = 127.0.0.1:25\n' "$RD" > "$RD/c.conf"
out=$(printf 'Subject: x\n\nx\n' | "$SENDMAIL" -C "$RD/c.conf" r@example.org 2>&1); rc=$?
check "spool missing: sendmail exits 73 (got $rc)" [ $rc = 73 ]
check "spool missing: names the path and says to start relayd as root once ($out)" \
	eval 'grep -qF "spool directory $RD/missing does not exist" <<<"$out" && grep -q "create it by starting relayd as root once" <<<"$out"'

# 2. Secret permissions: relayd -n exits 78 and prints the chown/chmod to run.
relay_new secret
relay_conf "smarthost = 127.0.0.1:2525" "auth_user = u" "auth_password_file = $RD/pw"
printf 'pw\n' > "$RD/pw"; chmod 644 "$RD/pw"
out=$("$RELAYD" -C "$RC" -n 2>&1); rc=$?
check "secret permissions: relayd -n exits 78 (got $rc)" [ $rc = 78 ]
check "secret permissions: says the mode is wrong and what it must be ($out)" \
	eval 'grep -q "has mode 0644 (must be 0600 or 0400)" <<<"$out"'
check "secret permissions: gives the command to fix it" \
	eval 'grep -qF "run: " <<<"$out" && grep -qF "chmod 600 $RD/pw" <<<"$out"'

# 2b. A symlinked password file: relayd -n and relayd's start-up refuse it as
# delivery would (one rule, spool/conf_secret.c; the link is never followed).
relay_new secretlink
secret_file "$RD/real-pw" pw
ln -s "$RD/real-pw" "$RD/pw"
relay_conf "smarthost = 127.0.0.1:2525" "auth_user = u" "auth_password_file = $RD/pw"
out=$("$RELAYD" -C "$RC" -n 2>&1); rc=$?
check "symlinked secret: relayd -n exits 78 (got $rc)" [ $rc = 78 ]
check "symlinked secret: says it is not a regular file ($out)" \
	eval 'grep -qF "auth_password_file $RD/pw is not a regular file" <<<"$out"'
out=$("$RELAYD" -C "$RC" -f --once 2>&1); rc=$?
check "symlinked secret: relayd --once refuses it too (got $rc)" [ $rc = 78 ]

# deferred_with NAME CONF-LINES...: submit one message, run relayd --once;
# ADV = relayd's "smarthost ... failed" line. Checks it stayed queued and
# the status= line kept the SPEC format.
deferred_with() {
	local name=$1; shift
	relay_conf "$@"
	submit -f s@example.org r@example.org < <(test_message "$name")
	relayd_once
	ADV=$(grep 'smarthost .* failed: ' "$RL" | head -n 1)
	echo "   $name: $ADV"
	check "$name: the message stays queued (never bounced for a smarthost failure)" queued "$SUBMIT_ID"
	check "$name: the status=deferred line keeps the SPEC §8 format" \
		eval 'grep -E -- "$DELIVERY_RE" "$RL" | grep -q "$SUBMIT_ID: .*status=deferred"'
	check "$name: the advice is not in the SPEC status= line" eval '! grep "status=" "$RL" | grep -q "what to do"'
}
advice_has() { grep -qF -- "$1" <<<"$ADV"; }

# 3. Wrong smarthost name.
relay_new badname
deferred_with badname "smarthost = smtp.no-such-host.invalid:587"
check "wrong name: says it cannot resolve the name" advice_has "cannot resolve smtp.no-such-host.invalid"
check "wrong name: says to check smarthost in the config file and DNS" \
	eval 'advice_has "what to do: check the spelling of smarthost = smtp.no-such-host.invalid in $RC" && advice_has "getent hosts smtp.no-such-host.invalid"'

# 4a. Port closed (a REJECTing firewall, a wrong port).
relay_new refused
port=$(closed_port)
deferred_with refused "smarthost = 127.0.0.1:$port"
check "port refused: says connection refused" advice_has "Connection refused"
check "port refused: says to check the port (587/465) and the smarthost" \
	advice_has "what to do: nothing accepts connections on port $port there: check the port in smarthost (587 for starttls, 465 for smtps)"

# 4b. Port blocked (a DROPping firewall): connect times out.
relay_new blocked
rm -f "$RD/bh.port"
"$PY" "$TOP/tests/lib/blackhole.py" "$RD/bh.port" &
on_exit "kill $! 2>/dev/null"
wait_for 5 test -s "$RD/bh.port"
deferred_with blocked "smarthost = 127.0.0.1:$(cat "$RD/bh.port")" "timeout_connect = 2s" "tls = starttls"
check "port blocked: says the connection timed out" advice_has "timed out"
check "port blocked: says the port looks blocked and to add a :465 smarthost line" \
	eval 'advice_has "looks blocked on this network" && advice_has "add a second smarthost line 127.0.0.1:465 (implicit TLS)"'

# 4c. A network that accepts the connection and then says nothing.
relay_new silent
sh_start sh-silent '{"rules":[{"stage":"GREETING","reply":"stall","seconds":10}]}'
deferred_with silent "timeout_greeting = 1s"
check "silent port: the greeting timeout gets the blocked-port advice" advice_has "looks blocked on this network"

# 5. Certificate for another name.
relay_new mismatch
sh_start sh-mm '{"ehlo":["STARTTLS"]}' --tls wrong
deferred_with mismatch "tls = starttls" "tls_ca_file = $CERTS/ca.pem" "smarthost = localhost:$SH_PORT"
check "certificate mismatch: says hostname mismatch" advice_has "certificate verify failed: hostname mismatch"
check "certificate mismatch: says to use the certificate's name, how to see it, or pin it" \
	eval 'advice_has "what to do: the certificate is not for \"localhost\": put the name it carries in smarthost" && advice_has "openssl s_client -connect localhost:$SH_PORT -starttls smtp" && advice_has "tls_fingerprint"'

# 5b. Certificate from a CA this host does not trust.
relay_new untrusted
sh_start sh-un '{"ehlo":["STARTTLS"]}' --tls untrusted
deferred_with untrusted "tls = starttls" "tls_ca_file = $CERTS/ca.pem" "smarthost = localhost:$SH_PORT"
check "untrusted certificate: says to set tls_ca_file or pin it" \
	eval 'advice_has "not signed by a CA this host trusts: set tls_ca_file" && advice_has "tls_fingerprint and tls_verify = no"'

# 6. Authentication refused.
relay_new auth
sh_start sh-auth '{"ehlo":["AUTH PLAIN LOGIN"],"users":{"alerts@example.org":"right"}}'
secret_file "$RD/pw" wrong-password
deferred_with auth "auth_user = alerts@example.org" "auth_password_file = $RD/pw"
check "authentication refused: says the server's 535" advice_has "SASL authentication failed; server 127.0.0.1[127.0.0.1]:$SH_PORT said: 535"
check "authentication refused: names the user and where the password comes from" \
	advice_has "what to do: the smarthost refused user \"alerts@example.org\" with this password: check auth_user and the password in auth_password_file $RD/pw"
check "authentication refused: the password is in no log line" eval '! grep -q wrong-password "$RL"'
