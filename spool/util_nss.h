/*
 * User, group and host look-ups for the static build (Makefile STATIC=1):
 * sendmail and relayd are linked -static-pie with -Wl,--wrap= for getpwnam,
 * getpwuid, getpwuid_r, getgrnam and getaddrinfo, which then land in
 * util_nss.c. A dynamic build never uses this module.
 *
 * Why: a static glibc has the "files" and "dns" NSS modules built in and
 * dlopen()s the others, and that is not safe. Debian 12's nsswitch.conf
 * names "systemd" after "files" for passwd and group, and a static program
 * that asks for a uid /etc/passwd does not know (a container's uid, a
 * DynamicUser) crashes inside libnss_systemd. So glibc is told to use its
 * built-in modules only, and an entry they do not know is asked of
 * getent(1), a dynamic program that follows nsswitch.conf whole: the answer
 * is the one a dynamic build would get, for one exec more, and only for
 * users and groups outside /etc/passwd and /etc/group. Host names (only
 * the FQDN guess of an unset `hostname`) use "files dns" with no fallback.
 */
#ifndef NULLRELAY_UTIL_NSS_H
#define NULLRELAY_UTIL_NSS_H

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stddef.h>

/* Where the fallback looks: Debian's libc-bin (and every glibc system). */
#define NSS_GETENT_PATH "/usr/bin/getent"
/* A getent that has not answered by then is killed (a stuck directory). */
#define NSS_GETENT_SECONDS 10

/*
 * One line of `getent passwd` (name:passwd:uid:gid:gecos:dir:shell, no
 * newline) into pw, its strings copied into buf. 0, ERANGE when buf is too
 * small, EINVAL when the line is not of that form.
 */
int nss_passwd_parse(const char *line, struct passwd *pw, char *buf, size_t buflen);
/* One line of `getent group` (name:passwd:gid:members): the same for gr.
 * gr_mem is left empty: nothing in nullrelay reads it. */
int nss_group_parse(const char *line, struct group *gr, char *buf, size_t buflen);

/* The wrapped calls (-Wl,--wrap=NAME sends NAME here, __real_NAME is glibc's). */
struct passwd *__wrap_getpwnam(const char *name);
struct passwd *__wrap_getpwuid(uid_t uid);
int __wrap_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result);
struct group *__wrap_getgrnam(const char *name);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res);

#endif
