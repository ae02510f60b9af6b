#!/usr/bin/env bash
# relayd TLS: STARTTLS (then EHLO again), implicit TLS, SNI, certificate
# verification (untrusted, wrong host, expired are refused and the mail is
# deferred, never bounced), tls_verify = no, fingerprint pins, client
# certificates, STARTTLS faults and downgrade.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-tls || exit 0

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","STARTTLS","SIZE 1000000"]'

# tls_case NAME CERT [smarthost args] -- [conf lines]: set up a case with a
# STARTTLS smarthost using CERT, relayd pointed at it by name (localhost).
tls_case() {
	local name=$1 cert=$2; shift 2
	local sargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	relay_new "$name"
	sh_start "sh-$name" "{$EHLO}" --tls "$cert" "${sargs[@]+"${sargs[@]}"}"
	relay_conf "smarthost = localhost:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" "$@"
	test_message "$name" > "$RD/msg"
	submit -f s@example.org r@example.org < "$RD/msg"
	ID=$SUBMIT_ID
	relayd_once
}

# refused NAME WHY-RE: the message was not sent, is deferred and still queued.
refused() {
	local n=$1 re=$2
	check "$n: no MAIL command sent" shq "sh-$n" 'not any(l.upper().startswith("MAIL") for l in C())'
	check "$n: deferred (log status=deferred)" log_has "$ID: to=<r@example.org>, .*status=deferred"
	check "$n: never bounced" eval "! log_has status=bounced && ! failed $ID"
	check "$n: still queued" queued "$ID"
	check "$n: the log says why ($re)" grep -Eiq -- "$re" "$RL"
}

# 1. STARTTLS with a valid certificate: EHLO, STARTTLS, EHLO again; SNI.
tls_case starttls valid
check "starttls: delivered" sh_has sh-starttls
check "starttls: EHLO, STARTTLS, then EHLO again" \
	shq sh-starttls '[l.split(" ")[0].upper() for l in C(1)][:3] == ["EHLO", "STARTTLS", "EHLO"]'
check "starttls: the message went over TLS" shq sh-starttls 'mails[0]["side"]["tls"]'
check "starttls: SNI is the smarthost name (localhost)" shq sh-starttls 'mails[0]["side"]["sni"] == "localhost"'
check "starttls: body intact" eml_matches sh-starttls 1 "$ID" "$(id -u)" "$RD/msg"
check "starttls: relay= names localhost" log_has "$ID: to=<r@example.org>, relay=localhost\[(127\.0\.0\.1|::1)\]:$SH_PORT, .*status=sent"

# 2. Implicit TLS (tls = smtps).
relay_new smtps
sh_start sh-smtps "{$EHLO}" --tls valid --implicit-tls
relay_conf "smarthost = localhost:$SH_PORT" "tls = smtps" "tls_ca_file = $CERTS/ca.pem"
submit -f s@example.org r@example.org < <(test_message smtps)
ID=$SUBMIT_ID
relayd_once
check "smtps: delivered over implicit TLS" shq sh-smtps 'mails and mails[0]["side"]["tls"]'
check "smtps: no STARTTLS command" shq sh-smtps '"STARTTLS" not in [l.upper() for l in C()]'
check "smtps: SNI is localhost" shq sh-smtps 'mails[0]["side"]["sni"] == "localhost"'

# 3. An IP-literal smarthost gets no SNI (RFC 6066 §3); the certificate's
# IP SAN is checked instead.
relay_new ipsni
sh_start sh-ipsni "{$EHLO}" --tls valid
relay_conf "smarthost = 127.0.0.1:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem"
submit -f s@example.org r@example.org < <(test_message ipsni)
relayd_once
check "ip-literal: delivered (certificate IP SAN verified)" sh_has sh-ipsni
check "ip-literal: no SNI sent" shq sh-ipsni 'ev("tls") and ev("tls")[0]["sni"] is None'

# 4. Verification failures: deferred, never bounced.
tls_case untrusted untrusted
refused untrusted 'certif|verif|trust|issuer'
tls_case wronghost wrong
refused wronghost 'certif|verif|host|name|mismatch'
tls_case expired expired
refused expired 'certif|verif|expire'
# And a later try, once the smarthost has a good certificate, delivers.
sh_stop sh-expired
sh_start sh-expired2 "{$EHLO}" --tls valid
sed -i "s/^smarthost = .*/smarthost = localhost:$SH_PORT/" "$RC"
check "expired: delivered once the smarthost is fixed (after retry)" deliver_until 10 sh-expired2

# 5. tls_verify = no accepts an untrusted certificate.
tls_case noverify untrusted -- "tls_verify = no"
check "tls_verify=no: an untrusted certificate is accepted" sh_has sh-noverify

# 6. Fingerprint pins: right (lower case with colons) and wrong.
fpr=$(sed 's/^sha256://' "$CERTS/valid.sha256" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
tls_case pinok valid -- "tls_fingerprint = sha256:$fpr"
check "fingerprint: the right pin (lower case, colons) delivers" sh_has sh-pinok
tls_case pinbad valid -- "tls_fingerprint = $(cat "$CERTS/wrong.sha256")"
refused pinbad 'fingerprint|pin|certif'

# 7. Client certificate (the key readable by the relay user only).
install -m 600 -o "$(relay_user)" "$CERTS/client.key" "$T/client.key"
tls_case clientcert valid --client-ca -- "tls_client_cert = $CERTS/client.pem" "tls_client_key = $T/client.key"
check "client cert: delivered and the server saw CN=nullrelay-client" \
	shq sh-clientcert 'mails and mails[0]["side"]["client_cert"] == "nullrelay-client"'

# 8. STARTTLS not offered: no downgrade to plain text.
relay_new nostarttls
sh_start sh-nostarttls '{"ehlo":["PIPELINING","8BITMIME","AUTH PLAIN LOGIN"]}' --tls valid
relay_conf "smarthost = localhost:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem"
submit -f s@example.org r@example.org < <(test_message nostarttls)
ID=$SUBMIT_ID
relayd_once
refused nostarttls 'STARTTLS|TLS'

# 9. STARTTLS accepted but the handshake fails (garbage / closed).
for f in garbage tls_close; do
	tls_case "hs-$f" valid -- 
	: # the first run above delivered; redo with the fault for a new message
	sh_script "sh-hs-$f" "{$EHLO,\"rules\":[{\"stage\":\"STARTTLS\",\"reply\":\"$f\"}]}"
	submit -f s@example.org r@example.org < <(test_message "hs2-$f")
	ID=$SUBMIT_ID
	relayd_once
	check "handshake $f: deferred" log_has "$ID: to=<r@example.org>, .*status=deferred"
	check "handshake $f: still queued, not bounced" eval "queued $ID && ! failed $ID"
done

# 10. STARTTLS reply injection: plaintext after "220" must be discarded, not
# read as the reply to the EHLO sent under TLS (CVE-2011-0411 class).
tls_case inject valid
sh_script sh-inject "{$EHLO,\"rules\":[{\"stage\":\"STARTTLS\",\"reply\":\"inject\"}]}"
test_message inject2 > "$RD/msg2"
submit -f s@example.org r@example.org < "$RD/msg2"
ID=$SUBMIT_ID
relayd_once
n=$(sh_count sh-inject)
if [ "$n" = 2 ]; then
	check "injection: delivered intact over TLS after discarding the injected reply" \
		shq sh-inject 'mails[1]["side"]["tls"] and [l.split(" ")[0].upper() for l in C(mails[1]["conn"])][:3] == ["EHLO", "STARTTLS", "EHLO"]'
else
	check "injection: refused as a protocol error: deferred, still queued" eval "queued $ID && ! failed $ID"
fi
