/*
 * smtp-send: send drop files through the SMTP client to the first
 * smarthost, for testing relayd/smtp.c without the queue.
 *
 *   smtp-send [-v] [-h N] -C CONF DROPFILE...
 *
 * All files go over one session (RSET between them). -v logs the SMTP
 * transcript (log_debug); -h N uses smarthost number N (0-based).
 * Prints "MSG FILE: sent|deferred|bounced: REPLY" and one line per
 * recipient "RCPT <addr>: sent|deferred|bounced|too-many (dsn) REPLY".
 * Exit: 0 all sent, 75 something deferred, 69 something bounced, 78 config.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "spool_envelope.h"
#include "log.h"
#include "smtp.h"
#include "spool.h"
#include "util.h"

static const char *class_word(enum smtp_class c)
{
	return c == SMTP_DONE ? "sent" : c == SMTP_PERM ? "bounced" : "deferred";
}

/* A minimal reading of the drop file format (spool.h): magic, length line,
 * envelope lines, blank line, message. 0 or -1 with a message printed. */
static int read_drop(const char *path, int *fdp, struct envelope *env, off_t *off, uint64_t *len)
{
	struct buf hdr;
	struct stat st;
	char ch, err[256];
	size_t pos = 0;
	bool have_len = false;
	int fd = open(path, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "smtp-send: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf_init(&hdr, DROP_HEADER_MAX);
	/* Read up to the blank line that ends the envelope. */
	while (read(fd, &ch, 1) == 1) {
		if (buf_append(&hdr, &ch, 1) == -1)
			break;
		if (hdr.len >= 2 && hdr.data[hdr.len - 1] == '\n' && hdr.data[hdr.len - 2] == '\n')
			break;
	}
	if (hdr.len < 2 || strncmp(hdr.data, DROP_MAGIC, strlen(DROP_MAGIC)) != 0 ||
	    hdr.data[hdr.len - 1] != '\n' || hdr.data[hdr.len - 2] != '\n') {
		fprintf(stderr, "smtp-send: %s: not a drop file\n", path);
		goto fail;
	}
	envelope_init(env);
	pos = strlen(DROP_MAGIC);
	while (pos < hdr.len - 1) {
		char *nl = memchr(hdr.data + pos, '\n', hdr.len - pos);
		size_t l = (size_t)(nl - (hdr.data + pos));
		int rc;

		if (l == 0)
			break;
		*nl = '\0';
		if (strncmp(hdr.data + pos, "length ", 7) == 0) {
			char *end;

			errno = 0;
			*len = strtoull(hdr.data + pos + 7, &end, 10);
			have_len = errno == 0 && *end == '\0';
		} else {
			rc = envelope_parse_line(env, hdr.data + pos, l, err, sizeof(err));
			if (rc == -1) {
				fprintf(stderr, "smtp-send: %s: %s\n", path, err);
				goto fail;
			}
		}
		pos += l + 1;
	}
	*off = (off_t)hdr.len;
	if (!have_len || (uint64_t)st.st_size - (uint64_t)hdr.len != *len) {
		fprintf(stderr, "smtp-send: %s: bad or mismatched length line\n", path);
		goto fail;
	}
	buf_free(&hdr);
	*fdp = fd;
	return 0;
fail:
	buf_free(&hdr);
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	const char *confpath = NULL;
	struct smtp_session *s = NULL;
	struct smtp_reply why;
	struct conf c;
	char err[CONF_ERR_MAX];
	int ch, rc = 0, hostno = 0;
	bool verbose = false;

	while ((ch = getopt(argc, argv, "C:h:v")) != -1) {
		switch (ch) {
		case 'C':
			confpath = optarg;
			break;
		case 'h':
			hostno = (int)strtonum(optarg, 0, CONF_MAX_SMARTHOSTS - 1, NULL);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: smtp-send [-v] [-h N] -C CONF DROPFILE...\n");
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (confpath == NULL || argc < 1) {
		fprintf(stderr, "usage: smtp-send [-v] [-h N] -C CONF DROPFILE...\n");
		return EX_USAGE;
	}
	log_init("smtp-send", true);
	log_debug_enable(verbose);
	if (conf_load(confpath, true, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "smtp-send: %s\n", err);
		return EX_CONFIG;
	}
	if ((size_t)hostno >= c.nsmarthosts) {
		fprintf(stderr, "smtp-send: no smarthost number %d\n", hostno);
		return EX_CONFIG;
	}
	if (smtp_open(&c, &c.smarthosts[hostno], &s, &why) != SMTP_DONE) {
		printf("OPEN deferred (%d %s): %s\n", why.code, why.dsn, why.text);
		conf_free(&c);
		return EX_TEMPFAIL;
	}
	printf("OPEN %s\n", smtp_relay_name(s));
	for (int i = 0; i < argc; i++) {
		struct smtp_rcpt_result *res;
		struct smtp_reply mr;
		struct smtp_msg m;
		struct envelope env;
		enum smtp_class cls;
		size_t *idx, j;
		uint64_t len = 0;
		off_t off = 0;
		int fd;

		if (read_drop(argv[i], &fd, &env, &off, &len) == -1) {
			rc = EX_DATAERR;
			continue;
		}
		idx = xcalloc(env.nrcpts + 1, sizeof(*idx));
		res = xcalloc(env.nrcpts + 1, sizeof(*res));
		for (j = 0; j < env.nrcpts; j++)
			idx[j] = j;
		m = (struct smtp_msg){ .env = &env, .rcpt_idx = idx, .nrcpt = env.nrcpts, .fd = fd,
			.off = off, .len = len, .body_8bit = env.body_8bit, .smtputf8 = env.smtputf8 };
		if (i > 0 && smtp_usable(s))
			(void)smtp_rset(s);
		cls = smtp_send(s, &m, res, &mr);
		printf("MSG %s: %s (%d %s): %s\n", argv[i], class_word(cls), mr.code, mr.dsn, mr.text);
		for (j = 0; j < env.nrcpts; j++)
			printf("RCPT <%s>: %s (%s): %s\n", env.rcpts[j].addr,
			    res[j].too_many ? "too-many" : class_word(res[j].cls), res[j].reply.dsn,
			    res[j].reply.text);
		if (cls == SMTP_PERM && rc == 0)
			rc = EX_UNAVAILABLE;
		else if (cls == SMTP_TEMP)
			rc = EX_TEMPFAIL;
		free(idx);
		free(res);
		envelope_free(&env);
		close(fd);
	}
	printf("USABLE %s\n", smtp_usable(s) ? "yes" : "no");
	smtp_close(s, true);
	conf_free(&c);
	return rc;
}
