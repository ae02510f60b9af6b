/*
 * relayd's side of built-in OAuth2 (SPEC §2.1). The HTTPS and JSON work
 * (libcurl, json-c) lives in a separate program, nullrelay-oauth2
 * (relayd/oauth2/), so that neither library is ever mapped into the resident
 * relayd; this file only finds that program and says how to run it.
 */
#ifndef NULLRELAY_OAUTH2_CLIENT_H
#define NULLRELAY_OAUTH2_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define OAUTH2_HELPER_NAME "nullrelay-oauth2"

/*
 * The helper's path: OAUTH2_HELPER_NAME next to the running relayd (the
 * source tree: relayd/relayd and relayd/nullrelay-oauth2), else
 * ../lib/nullrelay/ from it (make install: PREFIX/sbin/relayd and
 * PREFIX/lib/nullrelay/nullrelay-oauth2). Found through /proc/self/exe,
 * never through PATH or the environment. Returns 0 with the path in out,
 * or -1 with the reason in err.
 */
int oauth2_client_helper(char *out, size_t outlen, char *err, size_t errlen);

/*
 * What relayd -n and start-up check beyond conf_check_relay: with oauth2
 * set, the helper must exist. 0, or -1 with err. When the sign-in has not
 * happened yet (no token file), note says so (else note is "").
 */
int oauth2_client_check(const struct conf *c, char *note, size_t notelen, char *err,
    size_t errlen);

/*
 * relayd --oauth2-login: exec the helper's `login` with the caller's
 * environment (its proxies), as the current user. Returns only on failure,
 * with err set.
 */
void oauth2_client_login(const struct conf *c, char *err, size_t errlen);

/*
 * The environment the helper gets: PATH, HOME and the proxy variables
 * libcurl reads (https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, no_proxy,
 * NO_PROXY; and ASAN_OPTIONS, UBSAN_OPTIONS) when relayd has them. envp
 * has room for max entries plus the
 * NULL; home is the caller's buffer for "HOME=...". Nothing else of relayd's
 * environment reaches the helper.
 */
void oauth2_client_env(char **envp, size_t max, char *home, size_t homelen);

#endif
