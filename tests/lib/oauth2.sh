# Helpers for the OAuth2 integration tests (bash). Source after relay.sh.
#
#   o2_bins                      copy relayd, nullrelay-oauth2 and -smtp where the
#                                relay user can run them; sets RELAYD
#   o2_start NAME [JSON]         start tests/oauth2_server.py (HTTPS, the test CA)
#                                in $T/NAME; sets O2_PORT, O2_DIR, O2_URL
#   o2_script NAME JSON          change its script (read at every request)
#   o2_hook NAME PATH [FORM]     POST FORM to a test hook (/activate, /revoke)
#   o2_log NAME EXPR             true if EXPR holds over its request log L
#                                (a list of dicts), e.g. "len(L) == 2"
#   o2_sh_start SH               a fake smarthost accepting XOAUTH2/OAUTHBEARER
#                                only with an access token valid now at $O2_DIR
#   o2_conf [LINE...]            relay_conf with oauth2 = generic at the fake server
#   o2_login OUT [ARGS...]       relayd --oauth2-login in the background, output in
#                                OUT; sets LOGIN_PID
#   o2_browser URL [--paste]     act as the person's browser on the authorization
#                                URL: follow the provider's redirect to the loopback
#                                listener, or (--paste) print where it pointed
OAUTH2_PY=$TOP/tests/oauth2_server.py
PROXY_PY=$TOP/tests/connect_proxy.py

o2_bins() {
	local helper
	helper=$(dirname "$RELAYD")/nullrelay-oauth2
	[ -x "$helper" ] || { fail "oauth2: $helper is not built"; return 1; }
	# The relay user runs the helper after relayd dropped root; the source
	# tree may sit where it cannot enter (/root): run copies from $T.
	mkdir -p "$T/bin"
	cp "$RELAYD" "$helper" "$(dirname "$RELAYD")/nullrelay-smtp" "$T/bin/"
	chmod 755 "$T/bin" "$T/bin/relayd" "$T/bin/nullrelay-oauth2" "$T/bin/nullrelay-smtp"
	RELAYD=$T/bin/relayd
}

o2_start() {
	local name=$1 json=${2:-'{}'} d=$T/$1
	make_certs "$CERTS" >/dev/null
	mkdir -p "$d"
	printf '%s\n' "$json" > "$d/script.json"
	rm -f "$d/port"
	"$PY" "$OAUTH2_PY" --port 0 --portfile "$d/port" --cert "$CERTS/valid.pem" \
		--key "$CERTS/valid.key" --state "$d/state" --script "$d/script.json" \
		--timeout-total 300 2>>"$d/stderr" &
	echo $! > "$d/pid"
	on_exit "kill $! 2>/dev/null"
	wait_for 5 test -s "$d/port" || { echo "oauth2 server $name did not start" >&2; cat "$d/stderr" >&2; return 1; }
	O2_PORT=$(cat "$d/port") O2_DIR=$d/state O2_URL=https://127.0.0.1:$(cat "$d/port")
	chmod 755 "$d" "$d/state"
}
o2_stop() { kill "$(cat "$T/$1/pid")" 2>/dev/null; }
o2_script() {
	printf '%s\n' "$2" > "$T/$1/script.json.tmp" && mv "$T/$1/script.json.tmp" "$T/$1/script.json"
}

o2_hook() {
	"$PY" - "https://127.0.0.1:$(cat "$T/$1/port")$2" "${3:-}" "$CERTS/ca.pem" <<'PYEOF'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[3])
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")
with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
    sys.exit(0 if r.status == 200 else 1)
PYEOF
}

o2_log() {
	"$PY" - "$T/$1/state/log.jsonl" "$2" <<'PYEOF'
import json, sys
try:
    L = [json.loads(l) for l in open(sys.argv[1])]
except FileNotFoundError:
    L = []
def G(grant, result=None):
    return [r for r in L if r.get("grant") == grant and (result is None or r.get("result") == result)]
sys.exit(0 if eval(sys.argv[2]) else 1)
PYEOF
}

o2_sh_start() {
	sh_start "$1" "{\"ehlo\":[\"PIPELINING\",\"ENHANCEDSTATUSCODES\",\"AUTH XOAUTH2 OAUTHBEARER\"],
 \"tokens_file\":\"$O2_DIR/access.json\",\"require_auth\":true}"
}

o2_conf() {
	relay_conf "auth_user = alice@example.org" "oauth2 = generic" \
		"oauth2_client_id = nr-client" "oauth2_token_url = $O2_URL/token" \
		"oauth2_device_url = $O2_URL/device" "oauth2_auth_url = $O2_URL/authorize" \
		"oauth2_ca_file = $CERTS/ca.pem" "$@"
}

o2_login() {
	local out=$1; shift
	# <&0: an asynchronous command would otherwise get /dev/null as stdin.
	timeout 120 "$RELAYD" -C "$RC" --oauth2-login "$@" <&0 > "$out" 2>&1 &
	LOGIN_PID=$!
	on_exit "kill $LOGIN_PID 2>/dev/null"
}
# o2_wait_login: wait for the login to end; its exit status.
o2_wait_login() {
	wait "$LOGIN_PID"
}

o2_browser() {
	"$PY" - "$1" "${2:-}" "$CERTS/ca.pem" <<'PYEOF'
import http.client, ssl, sys, urllib.parse, urllib.request
url, mode, ca = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca), timeout=10)
c.request("GET", u.path + "?" + u.query)
r = c.getresponse()
loc = r.getheader("Location")
if r.status != 302 or not loc:
    sys.exit("authorize answered %d" % r.status)
if mode == "--paste":
    print(loc)
    sys.exit(0)
with urllib.request.urlopen(loc, timeout=10) as r2:
    sys.stdout.write(r2.read().decode())
PYEOF
}
