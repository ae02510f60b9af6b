#!/usr/bin/env bash
# Built-in OAuth2 when things go wrong: a revoked refresh token (invalid_grant),
# a token endpoint that is down, slow or answers garbage: mail is deferred,
# never bounced, the log says why ("oauth2: ...") and what to do; after a new
# sign-in delivery resumes without a restart. The token endpoint through an
# https_proxy. Secret files of the wrong mode or owner, and contradictions,
# refused by relayd -n (78) and at delivery.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/oauth2.sh"
require_relay oauth2-failures || exit 0
o2_bins || exit 0

o2_device_login() {
	o2_login "$T/$1.out"
	wait_for 10 grep -q 'enter ' "$T/$1.out" &&
	o2_hook auth /activate "user_code=$(sed -n 's/^  2\. enter  *//p' "$T/$1.out")" &&
	o2_wait_login
}
# deferred_oauth2 CASE ID ERE: deferred with an "oauth2: ..." reason matching
# ERE, still queued, never bounced.
deferred_oauth2() {
	check "$1: deferred with an oauth2: reason ($3)" \
		log_has "$2: to=<r@example.org>, .*status=deferred \(.*oauth2: .*$3"
	check "$1: still queued, never bounced" eval "queued $2 && ! failed $2 && ! log_has 'status=bounced'"
}

o2_start auth '{"interval":1,"access_lifetime":2}'

# 1. The provider revokes the refresh token: deferred, the log says to sign in
# again; a new sign-in while relayd runs, and the mail goes out.
relay_new revoked
o2_sh_start sh-revoked
o2_conf
check "revoked: login" o2_device_login revoked1
o2_hook auth /revoke
sleep 2
submit -f s@example.org r@example.org < <(test_message revoked)
ID=$SUBMIT_ID
relayd_start
check "revoked: a delivery was tried" wait_for 10 log_has "$ID: to=<r@example.org>, .*status=deferred"
deferred_oauth2 revoked "$ID" 'refresh token was refused \(invalid_grant: .*\): run relayd --oauth2-login'
check "revoked: not delivered" eval "! sh_has sh-revoked"
"$SENDMAIL" -C "$RC" -bp > "$T/revoked.mailq" 2>&1
check "revoked: mailq shows the oauth2 reason and no token" \
	eval "grep -q 'oauth2: the refresh token was refused' '$T/revoked.mailq' && ! grep -Eq 'rt-[0-9]|at-[0-9]' '$T/revoked.mailq'"
check "revoked: new sign-in while relayd runs" o2_device_login revoked2
check "revoked: delivered without a restart" wait_for 20 sh_has sh-revoked
check "revoked: by the same relayd process" kill -0 "$RELAYD_PID"
relayd_stop

# 2. Not signed in at all.
relay_new nologin
o2_sh_start sh-nologin
o2_conf
"$RELAYD" -C "$RC" -n > "$T/nologin.n" 2>&1; rc=$?
check "not signed in: relayd -n exits 0 with a note to sign in" \
	eval "[ $rc = 0 ] && grep -q 'note: .*not signed in to OAuth2 yet.*relayd --oauth2-login' '$T/nologin.n'"
submit -f s@example.org r@example.org < <(test_message nologin)
relayd_once
deferred_oauth2 "not signed in" "$SUBMIT_ID" 'not signed in: no refresh token in .*run relayd --oauth2-login'

# 3. The token endpoint is down (503 page), answers garbage, is slow, or has
# gone away: deferred every time, and quickly.
relay_new down
o2_sh_start sh-down
o2_conf
check "down: login" o2_device_login down
sleep 2
o2_script auth '{"down":true}'
submit -f s@example.org r@example.org < <(test_message down)
ID=$SUBMIT_ID
relayd_once
deferred_oauth2 "503" "$ID" 'answered HTTP 503 with something that is not a JSON object'
o2_script auth '{"garbage":true}'
relayd_once --retry ALL >/dev/null 2>&1; "$RELAYD" -C "$RC" --retry ALL >/dev/null 2>&1
: > "$RL"; relayd_once
deferred_oauth2 "garbage" "$ID" 'answered HTTP 200 with something that is not a JSON object'
o2_script auth '{"slow":20}'
"$RELAYD" -C "$RC" --retry ALL >/dev/null 2>&1
: > "$RL"; start=$(date +%s); relayd_once; took=$(( $(date +%s) - start ))
deferred_oauth2 "slow" "$ID" 'token endpoint failed: .*(timed out|Timeout)'
check "slow: bounded by timeout_command (took ${took}s)" [ "$took" -lt 12 ]
o2_stop auth
wait_for 10 eval "! kill -0 $(cat "$T/auth/pid")"
"$RELAYD" -C "$RC" --retry ALL >/dev/null 2>&1
: > "$RL"; relayd_once
deferred_oauth2 "gone" "$ID" 'token endpoint failed: .*(refused|connect)'
check "down: nothing delivered, nothing bounced" eval "! sh_has sh-down && ! failed $ID"

# 4. Through an https_proxy (CONNECT, TLS end to end).
o2_start auth2 '{"interval":1,"access_lifetime":2}'
relay_new proxy
o2_sh_start sh-proxy
o2_conf
o2_login "$T/proxy-login.out"
wait_for 10 grep -q 'enter ' "$T/proxy-login.out"
o2_hook auth2 /activate "user_code=$(sed -n 's/^  2\. enter  *//p' "$T/proxy-login.out")"
check "proxy: login" o2_wait_login
mkdir -p "$T/proxy"
"$PY" "$PROXY_PY" --portfile "$T/proxy/port" --log "$T/proxy/log" --timeout-total 200 2>>"$T/proxy/stderr" &
on_exit "kill $! 2>/dev/null"
wait_for 5 test -s "$T/proxy/port"
sleep 2
submit -f s@example.org r@example.org < <(test_message proxy)
https_proxy=http://127.0.0.1:$(cat "$T/proxy/port") no_proxy= NO_PROXY= relayd_once
check "proxy: delivered after a refresh" eval "sh_has sh-proxy && o2_log auth2 \"G('refresh_token', 'ok')\""
check "proxy: the refresh went through the proxy (CONNECT 127.0.0.1:$O2_PORT)" \
	grep -qx "CONNECT 127.0.0.1:$O2_PORT" "$T/proxy/log"
: > "$T/proxy/log"
sleep 2
submit -f s@example.org r@example.org < <(test_message noproxy)
https_proxy=http://127.0.0.1:$(cat "$T/proxy/port") no_proxy=127.0.0.1 relayd_once
check "no_proxy: honoured (delivered, the proxy saw nothing)" \
	eval "sh_has sh-proxy 2 && [ ! -s '$T/proxy/log' ]"

# 5. Secret files: the token file and the client secret file, wrong mode or
# owner: relayd -n says 78 naming the file; delivery refuses them too.
relay_new perms
o2_sh_start sh-perms
secret_file "$RD/client.secret" "app-secret" 644
o2_conf "oauth2_client_secret_file = $RD/client.secret"
"$RELAYD" -C "$RC" -n > "$T/perms1" 2>&1; rc=$?
check "client secret 0644: relayd -n exits 78 naming it" \
	eval "[ $rc = 78 ] && grep -q 'oauth2_client_secret_file $RD/client.secret has mode 0644' '$T/perms1'"
chmod 600 "$RD/client.secret"
printf '{"refresh_token":"rt-x"}\n' > "$RS/oauth2.json"
chown "$(relay_user)" "$RS/oauth2.json"; chmod 640 "$RS/oauth2.json"
"$RELAYD" -C "$RC" -n > "$T/perms2" 2>&1; rc=$?
check "token file 0640: relayd -n exits 78 naming it" \
	eval "[ $rc = 78 ] && grep -q 'oauth2_token_file $RS/oauth2.json has mode 0640' '$T/perms2'"
if is_root; then
	chmod 600 "$RS/oauth2.json"; chown root "$RS/oauth2.json"
	"$RELAYD" -C "$RC" -n > "$T/perms3" 2>&1; rc=$?
	check "token file owned by root: relayd -n exits 78 naming the owner" \
		eval "[ $rc = 78 ] && grep -q 'oauth2_token_file $RS/oauth2.json is owned by uid 0' '$T/perms3'"
else
	skip "token file owned by another user (needs root)"
fi
chown "$(relay_user)" "$RS/oauth2.json"; chmod 600 "$RS/oauth2.json"
check "good modes: relayd -n exits 0" eval "\"\$RELAYD\" -C \"\$RC\" -n >/dev/null 2>&1"
relayd_start
chmod 644 "$RS/oauth2.json"
submit -f s@example.org r@example.org < <(test_message perms)
check "token file made 0644 while running: a delivery was tried" \
	wait_for 10 log_has "to=<r@example.org>, .*status=deferred"
ID=$(grep -Eo "$QID_RE: to=<r@example.org>, .*status=deferred" "$RL" | head -n 1 | cut -c1-16)
deferred_oauth2 "token file 0644 at delivery" "$ID" 'oauth2_token_file .* has mode 0644'
relayd_stop

# 6. Contradictions and bad values: 78 with file:line.
relay_new conf
SH_PORT=$(closed_port)
# refused WANT: relayd -n exits 78 and says WANT (a fixed string).
refused() {
	local rc
	"$RELAYD" -C "$RC" -n > "$T/conf.out" 2>&1; rc=$?
	[ "$rc" = 78 ] && grep -qF -- "$1" "$T/conf.out"
}
bad_conf() {
	local what=$1 want=$2; shift 2
	o2_conf "$@"
	check "config: $what: exit 78 with the reason" refused "$want"
}
bad_conf "auth_token_command with oauth2" "oauth2 and auth_token_command are both set" \
	"auth_token_command = /bin/echo tok"
relay_conf "auth_user = a@example.org" "oauth2 = generic" "oauth2_client_id = x" \
	"oauth2_token_url = http://127.0.0.1/token"
check "config: an http:// token URL: exit 78" refused 'bad value "http://127.0.0.1/token" for oauth2_token_url: expected an https:// URL'
bad_conf "unknown flow" 'expected device, authcode or client_credentials' "oauth2_flow = implicit"
bad_conf "client_credentials without a secret" "client_credentials needs oauth2_client_secret_file" \
	"oauth2_flow = client_credentials"
bad_conf "tenant with generic" "oauth2_tenant applies to oauth2 = microsoft only" "oauth2_tenant = contoso.com"
relay_conf "oauth2_client_id = x"
check "config: oauth2_* without oauth2: exit 78" refused "oauth2_client_id is set but oauth2 is not"
relay_conf "auth_user = a@example.org" "oauth2 = microsoft" "oauth2_client_id = x"
check "config: the microsoft preset alone is a complete configuration" \
	eval "\"\$RELAYD\" -C \"\$RC\" -n >/dev/null 2>&1"
relay_conf "auth_user = a@gmail.com" "oauth2 = google" "oauth2_client_id = x" \
	"oauth2_flow = client_credentials" "oauth2_client_secret_file = /nonexistent"
check "config: google has no client_credentials" refused "not offered by Google"
relay_conf "auth_user = a@example.org" "oauth2 = microsoft" "oauth2_client_id = x" \
	"oauth2_flow = client_credentials" "oauth2_client_secret_file = /nonexistent"
check "config: microsoft client_credentials needs a tenant id" refused "needs oauth2_tenant set to your tenant id"
