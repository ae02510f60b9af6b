/* The one logging module: see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool log_to_stderr = true;
static bool log_debug_on;
static const char *log_ident = "nullrelay";

void log_init(const char *ident, bool to_stderr)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool log_is_stderr(void)
{
	return log_to_stderr;
}

void log_debug_enable(bool on)
{
	log_debug_on = on;
}

static void vlog(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n;

	n = vsnprintf(line, sizeof line, fmt, ap);
	if (n < 0)
		return;
	if (suffix != NULL)
		strlcat(line, suffix, sizeof line);
	if (!log_to_stderr) {
		syslog(prio, "%s", line);
		return;
	}
	/* stderr: one line per event with a timestamp, like syslog would add. */
	{
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s %s: %s\n", stamp, log_ident, line);
		fflush(stderr);
	}
}

#define LOG_FN(name, prio)                     \
	void name(const char *fmt, ...)        \
	{                                      \
		va_list ap;                    \
		va_start(ap, fmt);             \
		vlog(prio, fmt, ap, NULL);     \
		va_end(ap);                    \
	}

LOG_FN(log_info, LOG_INFO)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_warnx, LOG_WARNING)

void log_warn(const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof suffix, ": %s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, suffix);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

const char *log_safe(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (outlen == 0)
		return "";
	for (; *s != '\0'; s++) {
		bool plain = *s >= 0x21 && *s <= 0x7e && *s != '\\';
		size_t need = plain ? 1 : 4;

		if (o + need >= outlen) {
			/* Truncated: say so, within the buffer. */
			o = outlen > 4 ? (o < outlen - 4 ? o : outlen - 4) : 0;
			if (outlen > 4)
				o += (size_t)snprintf(out + o, outlen - o, "...");
			break;
		}
		if (plain) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

noreturn void log_fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(code);
}
