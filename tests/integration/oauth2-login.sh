#!/usr/bin/env bash
# relayd --oauth2-login against the fake authorization server (HTTPS, the
# test CA): device flow (authorization_pending, slow_down, expired_token,
# access_denied), authcode + PKCE through the loopback redirect and through
# the pasted URL, client_credentials; then mail goes out with XOAUTH2 using
# the token the server issued.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/oauth2.sh"
require_relay oauth2-login || exit 0
o2_bins || exit 0

# sent_with_valid_token SH CASE: delivered, over XOAUTH2, with a token the
# fake provider issued; that token is nowhere in relayd's log.
sent_with_valid_token() {
	check "$2: delivered" sh_has "$1"
	check "$2: AUTH XOAUTH2 with a token the provider issued" \
		shq "$1" "mails and mails[0]['side']['auth']['mech'] == 'XOAUTH2' and any(e['ok'] and e['secret'].startswith('at-') for e in ev('auth'))"
	local tok
	tok=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' "$RS/oauth2.json")
	check "$2: no token in the logs" eval "[ -n '$tok' ] && ! grep -qF -- '$tok' '$RL' '$T/$2.out'"
}

# 1. Device flow: slow_down once, then authorization_pending until the person
# enters the code, then tokens.
o2_start auth '{"interval":1,"slow_down":1}'
relay_new device
o2_sh_start sh-device
o2_conf
o2_login "$T/device.out"
wait_for 10 grep -q 'enter ' "$T/device.out"
code=$(sed -n 's/^  2\. enter  *//p' "$T/device.out")
check "device: tells the person which URL to open" grep -q "open   $O2_URL/activate" "$T/device.out"
check "device: and which code to enter" eval "[[ '$code' =~ ^[0-9]{4}-[0-9]{4}$ ]]"
wait_for 15 o2_log auth "G('device_code', 'authorization_pending')"
o2_hook auth /activate "user_code=$code"
o2_wait_login; rc=$?
check "device: login exits 0" [ "$rc" = 0 ]
check "device: says the token is stored and no restart is needed" \
	eval "grep -q 'Signed in' '$T/device.out' && grep -q 'no restart' '$T/device.out'"
check "device: polled slow_down, then authorization_pending, then ok" \
	o2_log auth "[r['result'] for r in G('device_code')][:2] == ['slow_down', 'authorization_pending'] and G('device_code')[-1]['result'] == 'ok'"
check "device: slow_down made it wait 5 s more (RFC 8628 3.5)" \
	o2_log auth "G('device_code')[1]['t'] - G('device_code')[0]['t'] >= 5.5"
check "device: asked for no scope the config did not give" o2_log auth "L[0]['scope'] is None"
check "device: token file is 0600 and the relay user's" \
	eval "[ \"\$(stat -c '%a %U' '$RS/oauth2.json')\" = '600 $(relay_user)' ]"
check "device: token file holds a refresh token" grep -q '"refresh_token": *"rt-' "$RS/oauth2.json"
submit -f s@example.org r@example.org < <(test_message device)
relayd_once
sent_with_valid_token sh-device device

# 2. The code expires before the person acts: exit 1 with the provider's error.
o2_script auth '{"interval":1,"device_expires_in":2}'
relay_new expired
SH_PORT=$(closed_port)
o2_conf
o2_login "$T/expired.out"
o2_wait_login; rc=$?
check "expired_token: login exits 1" [ "$rc" = 1 ]
check "expired_token: says the code expired, with the provider's error" \
	eval "grep -q 'code expired' '$T/expired.out' && grep -q 'expired_token' '$T/expired.out'"
check "expired_token: no token file" test ! -e "$RS/oauth2.json"

# 3. The person declines.
o2_script auth '{"interval":1}'
relay_new denied
SH_PORT=$(closed_port)
o2_conf
o2_login "$T/denied.out"
wait_for 10 grep -q 'enter ' "$T/denied.out"
o2_hook auth /activate "user_code=$(sed -n 's/^  2\. enter  *//p' "$T/denied.out")&deny=1"
o2_wait_login; rc=$?
check "access_denied: login exits 1 with the provider's error" \
	eval "[ $rc = 1 ] && grep -q 'the provider said: access_denied: the user declined' '$T/denied.out'"

# 4. Authcode + PKCE, the browser comes back to the loopback listener.
relay_new authcode
o2_sh_start sh-authcode
o2_conf "oauth2_flow = authcode" "oauth2_scope = mail offline_access"
o2_login "$T/authcode.out" < /dev/null
wait_for 10 grep -q "^  $O2_URL/authorize?" "$T/authcode.out"
url=$(sed -n "s|^  \($O2_URL/authorize?.*\)|\1|p" "$T/authcode.out")
check "authcode: the URL asks for S256 PKCE and the configured scope" \
	eval "[[ '$url' == *code_challenge_method=S256* && '$url' == *scope=mail%20offline_access* && '$url' == *redirect_uri=http%3A%2F%2F127.0.0.1%3A* ]]"
check "authcode: the browser reaches relayd's loopback listener" \
	eval "o2_browser '$url' | grep -q 'reached relayd'"
o2_wait_login; rc=$?
check "authcode: login exits 0" [ "$rc" = 0 ]
check "authcode: the provider verified the S256 challenge" o2_log auth "G('authorization_code', 'ok') and G('authorization_code')[-1]['pkce'] == 'S256'"
submit -f s@example.org r@example.org < <(test_message authcode)
relayd_once
sent_with_valid_token sh-authcode authcode

# 5. Authcode on a headless host: the redirected URL pasted on stdin (after a
# line that is not one).
relay_new paste
o2_sh_start sh-paste
o2_conf "oauth2_flow = authcode"
mkfifo "$T/paste.in"
exec 7<> "$T/paste.in"	# a writer first, so that opening it to read does not block
o2_login "$T/paste.out" < "$T/paste.in" 7>&-
wait_for 10 grep -q "^  $O2_URL/authorize?" "$T/paste.out"
url=$(sed -n "s|^  \($O2_URL/authorize?.*\)|\1|p" "$T/paste.out")
loc=$(o2_browser "$url" --paste)
printf 'not a url\n%s\n' "$loc" >&7
exec 7>&-
o2_wait_login; rc=$?
check "paste: login exits 0 with the pasted URL" [ "$rc" = 0 ]
check "paste: a line that is not the URL gets a plain explanation" grep -q 'does not look like the address' "$T/paste.out"
check "paste: the page names the loopback address to copy" grep -q "ends on a page at http://127.0.0.1:" "$T/paste.out"
submit -f s@example.org r@example.org < <(test_message paste)
relayd_once
sent_with_valid_token sh-paste paste

# 6. client_credentials: no sign-in; --oauth2-login only checks the registration.
o2_script auth '{"client_secret":"s3cr3t-app"}'
relay_new app
o2_sh_start sh-app
secret_file "$RD/client.secret" "s3cr3t-app" 600
o2_conf "oauth2_flow = client_credentials" "oauth2_client_secret_file = $RD/client.secret" \
	"oauth2_scope = https://outlook.office365.com/.default"
submit -f s@example.org r@example.org < <(test_message app)
relayd_once
check "client_credentials: delivered without any login" sh_has sh-app
check "client_credentials: the grant carried the secret and the scope" \
	o2_log auth "G('client_credentials', 'ok') and G('client_credentials')[-1]['scope'] == 'https://outlook.office365.com/.default'"
check "client_credentials: the secret is not in the log" eval "! grep -q s3cr3t-app '$RL'"
o2_login "$T/app.out"
o2_wait_login; rc=$?
check "client_credentials: --oauth2-login says no sign-in is needed, exits 0" \
	eval "[ $rc = 0 ] && grep -q 'needs no sign-in' '$T/app.out' && grep -q 'registration works' '$T/app.out'"

# 7. --oauth2-login without oauth2: a configuration error.
relay_new nooauth
SH_PORT=$(closed_port)
relay_conf
"$RELAYD" -C "$RC" --oauth2-login > "$T/nooauth.out" 2>&1; rc=$?
check "no oauth2: --oauth2-login exits 78 naming the missing key" \
	eval "[ $rc = 78 ] && grep -q 'oauth2 is not set' '$T/nooauth.out'"
