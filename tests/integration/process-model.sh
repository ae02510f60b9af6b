#!/usr/bin/env bash
# The process model (relayd.8 PROCESSES, docs/ARCHITECTURE.md section 2):
# the resident relayd never maps OpenSSL, even with TLS to the smarthost and
# STARTTLS on the listener configured; the delivery workers and the
# listener are nullrelay-smtp, exec'd by relayd, and they alone map it; a
# worker is confined (no_new_privs, seccomp) like the parent.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay process-model || exit 0
SMTP_BIN=$(dirname "$RELAYD")/nullrelay-smtp
[ -x "$SMTP_BIN" ] || { fail "process-model: $SMTP_BIN is not built"; exit 0; }

# children PID MODE: the nullrelay-smtp children of PID run as MODE
# (deliver or listen).
children() {
	ps -e -o pid=,ppid=,args= | awk -v p="$1" -v m="$2" \
		'$2 == p && $3 ~ /nullrelay-smtp$/ && (" " $0 " ") ~ (" " m " ") { print $1 }'
}
maps_ssl() { grep -q 'libssl' "/proc/$1/maps"; }

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","STARTTLS","AUTH PLAIN LOGIN","SIZE 1000000"]'
relay_new pm
sh_start sh-pm "{$EHLO, \"users\": {\"u\": \"pw\"}}" --tls valid
secret_file "$RD/pw" pw
LPORT=$(closed_port)
install -m 0600 "$CERTS/valid.key" "$RD/listen.key"
chown "$(relay_user)" "$RD/listen.key"
relay_conf "smarthost = localhost:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
	"auth_user = u" "auth_password_file = $RD/pw" \
	"listen = 127.0.0.1:$LPORT" "listen_tls_cert = $CERTS/valid.pem" \
	"listen_tls_key = $RD/listen.key"
check "relayd -n checks the listener's TLS files (through nullrelay-smtp)" \
	"$RELAYD" -C "$RC" -n
check "relayd is not linked with libssl (ldd)" eval "! ldd '$RELAYD' | grep -q libssl"
check "... nullrelay-smtp is" eval "ldd '$SMTP_BIN' | grep -q libssl"
relayd_start || sed "s/^/    /" "$RL"
submit -f s@example.org r@example.org < <(test_message pm)
wait_for 10 sh_has sh-pm
check "delivered over STARTTLS with AUTH" sh_has sh-pm
# The worker keeps its connection a few seconds for more mail.
W=$(children "$RELAYD_PID" deliver | head -n 1)
L=$(children "$RELAYD_PID" listen | head -n 1)
check "the resident relayd maps no libssl (/proc/PID/maps)" \
	eval "[ -r /proc/$RELAYD_PID/maps ] && ! maps_ssl $RELAYD_PID"
check "a delivery worker is nullrelay-smtp deliver, and maps libssl" eval "[ -n '$W' ] && maps_ssl '$W'"
check "the listener is nullrelay-smtp listen, and maps libssl" eval "[ -n '$L' ] && maps_ssl '$L'"
check "the worker runs with no_new_privs and a seccomp filter" \
	eval "[ -n '$W' ] && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$W/status && grep -q '^Seccomp:[[:space:]]*2' /proc/$W/status"
check "the worker's environment is relayd's, no secret in it" \
	eval "[ -n '$W' ] && ! tr '\0' '\n' < /proc/$W/environ | grep -q '=pw$'"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$RELAYD_PID/status")
echo "# process-model: resident relayd VmRSS ${rss} kB (TLS and a STARTTLS listener configured)"
# The listener accepts with STARTTLS offered (its TLS side works).
out=$("$PY" - "$LPORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.test")
print("STARTTLS" if s.has_extn("starttls") else "none")
s.quit()
PY
)
check "the listener offers STARTTLS (got $out)" [ "$out" = STARTTLS ]
relayd_stop
