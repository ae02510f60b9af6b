#!/usr/bin/env bash
# Built-in OAuth2 after the sign-in: the cached access token is used until
# near its expiry, then refreshed; a rotated refresh token is stored before
# use and survives a restart; many workers share one refresh; a token the
# smarthost refuses is replaced at once; the resident relayd never maps
# libcurl or json-c.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/oauth2.sh"
require_relay oauth2-refresh || exit 0
o2_bins || exit 0

# o2_device_login CASE: a complete device sign-in against server "auth".
o2_device_login() {
	o2_login "$T/$1.out"
	wait_for 10 grep -q 'enter ' "$T/$1.out" &&
	o2_hook auth /activate "user_code=$(sed -n 's/^  2\. enter  *//p' "$T/$1.out")" &&
	o2_wait_login
}
refresh_of() { sed -n 's/.*"refresh_token": *"\([^"]*\)".*/\1/p' "$RS/oauth2.json"; }
nrefresh() { o2_log auth "len(G('refresh_token', 'ok')) == $1"; }

o2_start auth '{"interval":1,"access_lifetime":4}'
relay_new refresh
o2_sh_start sh-refresh
o2_conf "concurrency = 4"
check "login" o2_device_login refresh
rt0=$(refresh_of)

# 1. A fresh access token is used as it is: no refresh.
submit -f s@example.org r@example.org < <(test_message one)
relayd_once
check "cached token: delivered" sh_has sh-refresh 1
check "cached token: no refresh request" nrefresh 0

# 2. Once near expiry: one refresh, rotated, stored, then the send.
sleep 4
submit -f s@example.org r@example.org < <(test_message two)
relayd_once
check "expired: delivered after a refresh" sh_has sh-refresh 2
check "expired: exactly one refresh_token grant, and it rotated" \
	o2_log auth "len(G('refresh_token', 'ok')) == 1 and G('refresh_token')[0]['rotated']"
rt1=$(refresh_of)
check "expired: the rotated refresh token replaced the old one in the token file" \
	eval "[ -n '$rt1' ] && [ '$rt1' != '$rt0' ]"
check "expired: the log says the token was refreshed and the rotated one stored" \
	eval "log_has 'nullrelay/oauth2: new access token for alice@example.org from $O2_URL/token \(refresh_token grant\)' && log_has 'rotated the refresh token; the new one is stored durably in $RS/oauth2.json'"
check "expired: the token file is still 0600, the relay user's" \
	eval "[ \"\$(stat -c '%a %U' '$RS/oauth2.json')\" = '600 $(relay_user)' ]"
check "expired: no temporary token file left" eval "! ls '$RS' | grep -q 'oauth2.json.tmp'"
check "expired: no token in the log" eval "! grep -qF -- '$rt1' '$RL' && ! grep -q 'at-[0-9]' '$RL'"

# 3. No stampede: six messages, four workers, one expired token: one refresh.
sleep 4
for i in 1 2 3 4 5 6; do submit -f s@example.org "r$i@example.org" < <(test_message "many$i"); done
relayd_once
check "stampede: all six delivered" sh_has sh-refresh 8
check "stampede: one refresh served every worker" nrefresh 2

# 4. The rotated token survives a restart of the daemon.
relayd_start
submit -f s@example.org r@example.org < <(test_message daemon1)
check "daemon: delivered" wait_for 15 sh_has sh-refresh 9
relayd_stop
sleep 4
relayd_start
submit -f s@example.org r@example.org < <(test_message daemon2)
check "restart: delivered with the refresh token stored before the restart" wait_for 15 sh_has sh-refresh 10
check "restart: the provider never saw a stale refresh token" o2_log auth "not G('refresh_token', 'invalid_grant')"

check "resident relayd maps neither libcurl nor json-c" \
	eval "! grep -Eq 'libcurl|libjson-c' /proc/$RELAYD_PID/maps"
relayd_stop

# 5. The smarthost refuses the cached access token (revoked early): relayd
# asks for a new one at once and delivers.
o2_script auth '{"interval":1,"access_lifetime":3600}'
sleep 4
submit -f s@example.org r@example.org < <(test_message long1)
relayd_once
check "revoked access token: first delivered" sh_has sh-refresh 11
o2_hook auth /revoke "access_only=1"
submit -f s@example.org r@example.org < <(test_message long2)
relayd_once
check "revoked access token: refreshed and delivered" sh_has sh-refresh 12
check "revoked access token: the log says the token was refused and a new one fetched" \
	log_has 'XOAUTH2 token refused .*fetching a new one'
check "the refresh token never reached the log" eval "! grep -qF -- \"\$(refresh_of)\" '$RL'"
