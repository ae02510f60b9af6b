/*
 * mkbounce: drive relayd/bounce.c and relayd/mbox.c from the command line
 * for tests/integration/bounce-format.py.
 *
 *   mkbounce [-k failed|delayed] [-H host] [-i id] [-t to] [-e envid]
 *            [-R full|hdrs] [-a arrival] [-u retry-until] [-n now] [-v]
 *            -r RCPT [-o ORCPT] [-s STATUS] [-m MTA] [-d DIAG] [-l LAST] ...
 *            MSGFILE
 *       writes the report for MSGFILE on stdout; -o -s -m -d -l apply to
 *       the last -r; times are seconds since the epoch; -v prints the
 *       bounce_result on stderr.
 *   mkbounce -M MBOX SENDER MSGFILE [OWNER-UID]
 *       appends MSGFILE to the existing mbox MBOX (mbox_deliver), which
 *       must be owned by OWNER-UID (default: our effective uid).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "mbox.h"

#define MAX_RCPTS 100

static time_t num(const char *s)
{
	const char *e = NULL;
	long long v = strtonum(s, 0, 1LL << 40, &e);

	if (e != NULL) {
		fprintf(stderr, "mkbounce: bad time %s: %s\n", s, e);
		exit(2);
	}
	return (time_t)v;
}

static int open_msg(const char *file, struct stat *st)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd == -1 || fstat(fd, st) == -1) {
		perror(file);
		exit(1);
	}
	return fd;
}

static int do_mbox(int argc, char **argv)
{
	char err[1024];
	struct stat st;
	uid_t owner = geteuid();
	int fd;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: mkbounce -M MBOX SENDER MSGFILE [OWNER-UID]\n");
		return 2;
	}
	if (argc == 6) {
		const char *e = NULL;

		owner = (uid_t)strtonum(argv[5], 0, UINT32_MAX - 1, &e);
		if (e != NULL) {
			fprintf(stderr, "mkbounce: bad uid %s: %s\n", argv[5], e);
			return 2;
		}
	}
	fd = open_msg(argv[4], &st);
	if (mbox_deliver(argv[2], owner, argv[3], time(NULL), fd, 0, (uint64_t)st.st_size,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "mkbounce: %s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bounce_rcpt rcpts[MAX_RCPTS];
	struct bounce_info b;
	struct bounce_result res;
	struct bounce_rcpt *cur = NULL;
	struct stat st;
	char err[1024];
	size_t n = 0;
	int c, fd, out = 1, verbose = 0;

	if (argc > 1 && strcmp(argv[1], "-M") == 0)
		return do_mbox(argc, argv);
	memset(&b, 0, sizeof(b));
	b.kind = BOUNCE_FAILED;
	b.hostname = "relay.example.net";
	b.queue_id = "0123456789ABCDEF";
	b.to = "sender@example.net";
	b.ret = RET_UNSET;
	while ((c = getopt(argc, argv, "k:H:i:t:e:R:a:u:n:vr:o:s:m:d:l:")) != -1) {
		if (strchr("osmdl", c) != NULL && cur == NULL) {
			fprintf(stderr, "mkbounce: -%c before any -r\n", c);
			return 2;
		}
		switch (c) {
		case 'k': b.kind = strcmp(optarg, "delayed") == 0 ? BOUNCE_DELAYED : BOUNCE_FAILED; break;
		case 'H': b.hostname = optarg; break;
		case 'i': b.queue_id = optarg; break;
		case 't': b.to = optarg; break;
		case 'e': b.envid = optarg; break;
		case 'R': b.ret = strcmp(optarg, "hdrs") == 0 ? RET_HDRS : RET_FULL; break;
		case 'a': b.arrival = num(optarg); break;
		case 'u': b.will_retry_until = num(optarg); break;
		case 'n': b.now = num(optarg); break;
		case 'v': verbose = 1; break;
		case 'r':
			if (n == MAX_RCPTS) {
				fprintf(stderr, "mkbounce: too many recipients\n");
				return 2;
			}
			cur = &rcpts[n++];
			cur->final_rcpt = optarg;
			break;
		case 'o': cur->orcpt = optarg; break;
		case 's': cur->status = optarg; break;
		case 'm': cur->remote_mta = optarg; break;
		case 'd': cur->diagnostic = optarg; break;
		case 'l': cur->last_attempt = num(optarg); break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: mkbounce [options] -r RCPT ... MSGFILE\n");
		return 2;
	}
	b.rcpts = rcpts;
	b.nrcpts = n;
	fd = open_msg(argv[optind], &st);
	if (bounce_write(&b, fd, 0, (uint64_t)st.st_size, bounce_emit_fd, &out, &res,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "mkbounce: %s\n", err);
		return 1;
	}
	if (verbose)
		fprintf(stderr, "size=%llu headers_only=%d eight_bit=%d utf8_addrs=%d\n",
		    (unsigned long long)res.size, res.headers_only, res.eight_bit, res.utf8_addrs);
	return 0;
}
