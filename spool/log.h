/*
 * The one logging module: syslog (facility mail) by default, stderr in the
 * foreground or in tests. One line per event; never log a secret.
 */
#ifndef NULLRELAY_LOG_H
#define NULLRELAY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

/* ident: "nullrelay/relayd" or "nullrelay/sendmail". */
void log_init(const char *ident, bool to_stderr);
void log_debug_enable(bool on);
/* True when lines go to stderr (-f, tests), false for syslog. */
bool log_is_stderr(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_warnx with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A copy of in fit for one log line: every byte outside 0x21-0x7e, and the
 * backslash, written as \xNN, so a hostile file name cannot forge a line
 * (a newline) or hide in spaces. Cut short with "..." when out is too
 * small. Returns out, so it can be an argument of log_info directly.
 */
const char *log_safe(const char *in, char *out, size_t outlen);
/* The out size that always holds log_safe of n input bytes. */
#define LOG_SAFE_SIZE(n) ((n) * 4 + 1)

/* Log and exit(code); only at start-up or for a broken invariant. */
noreturn void log_fatalx(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
