/*
 * relayd's SMTP listener session (relayd/listen_smtp.h, listen_smtp_serve) on
 * arbitrary bytes: anyone who can reach the listen port drives it. The bytes
 * are the client's whole side (commands, AUTH responses and DATA,
 * pipelined), written into a socket pair whose other end is the session's;
 * every message the session queues lands in a private spool (a temporary
 * directory). Two bits of the length pick the client: with or without
 * listen_auth_file users, on loopback or not (so AUTH is offered, or
 * refused for want of TLS).
 *
 * Checks: the replies are CRLF-ended lines of at most 512 octets without a
 * NUL or control byte, each "NNN " or "NNN-" with a code 2xx-5xx, the first
 * the 220 banner; every "250 2.0.0 Ok: queued as ID" names a complete drop
 * file in incoming/new, and no other file is there; no more messages are
 * queued than the input has "<LF>.<CR><LF>" end markers; nothing is left
 * in incoming/tmp; no descriptor leaks.
 *
 * Two things are replaced so the fuzzer runs at speed: sleep() (the
 * session waits a second after a failed AUTH) returns at once, and
 * crypt_r() compares with a fixed password instead of hashing (the hash is
 * libcrypt's, not the parser under test; alice's password is "secret").
 */
#include <crypt.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "conf.h"
#include "listen_auth.h"
#include "listen_smtp.h"
#include "log.h"
#include "spool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define ALICE_HASH "$6$fuzzfuzz$fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
#define REPLIES_MAX (1024 * 1024)

static struct conf conf;
static struct listen_users *users;
static char spooldir[64];
static char *replies;

static void broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_listen: invariant broken: %s (%.300s)\n", what, detail);
	abort();
}

/* Only the session's (main thread's) sleep is skipped: libFuzzer's own
 * RSS watcher thread sleeps too and must keep its pace. */
unsigned int sleep(unsigned int seconds);
unsigned int sleep(unsigned int seconds)
{
	static unsigned int (*real_sleep)(unsigned int);

	if (gettid() == getpid())
		return 0;
	if (real_sleep == NULL)
		real_sleep = (unsigned int (*)(unsigned int))dlsym(RTLD_NEXT, "sleep");
	return real_sleep != NULL ? real_sleep(seconds) : 0;
}

char *crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
	const char *out = strcmp(setting, ALICE_HASH) == 0 && strcmp(phrase, "secret") == 0 ?
	    setting : "*0";

	strlcpy(data->output, out, sizeof data->output);
	return data->output;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[128], err[1024];
	FILE *f;

	log_init("nullrelay/fuzz_listen", false);
	fuzz_mkdtemp(spooldir, sizeof spooldir, "listen");
	if (spool_setup(spooldir, getuid(), getgid(), err,
	    sizeof err) == -1)
		broken("cannot make the spool", spooldir);
	snprintf(path, sizeof path, "%s/relay.conf", spooldir);
	if ((f = fopen(path, "w")) == NULL)
		broken("cannot write the config", path);
	fprintf(f, "spool = %s\nsmarthost = smtp.example.org\nhostname = relay.example.org\n"
	    "max_message_size = 64k\ntimeout_command = 1s\ntimeout_data_block = 1s\n"
	    "listen_max_rcpts = 5\n", spooldir);
	fclose(f);
	if (conf_load(path, true, &conf, err, sizeof err) == -1)
		broken("cannot load the config", err);
	snprintf(path, sizeof path, "%s/users", spooldir);
	if ((f = fopen(path, "w")) == NULL)
		broken("cannot write the users", path);
	fprintf(f, "alice:%s\n", ALICE_HASH);
	fclose(f);
	if ((users = listen_users_load(path, err, sizeof err)) == NULL)
		broken("cannot load the users", err);
	if ((replies = malloc(REPLIES_MAX + 1)) == NULL)
		broken("out of memory", "replies");
	(void)argc;
	(void)argv;
	return 0;
}

/* Check the reply lines; returns how many said "queued as", the ids in
 * ids[] (up to max). */
static size_t check_replies(const char *r, size_t n, char ids[][17], size_t max)
{
	static const char queued[] = "250 2.0.0 Ok: queued as ";
	size_t pos = 0, nq = 0, lines = 0;

	while (pos < n) {
		const char *line = r + pos, *crlf = memmem(line, n - pos, "\r\n", 2);
		size_t len, i;

		if (crlf == NULL)
			broken("reply not ended by CRLF", line);
		len = (size_t)(crlf - line);
		if (len + 2 > 512)
			broken("reply line over 512 octets", line);
		if (len < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-'))
			broken("reply line not \"NNN \" or \"NNN-\"", line);
		for (i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				broken("control byte or NUL in a reply", line);
		if (lines++ == 0 && strncmp(line, "220 ", 4) != 0)
			broken("first reply is not the 220 banner", line);
		if (len > sizeof queued - 1 && memcmp(line, queued, sizeof queued - 1) == 0) {
			if (len != sizeof queued - 1 + 16)
				broken("queue id not 16 characters", line);
			if (nq < max) {
				memcpy(ids[nq], line + sizeof queued - 1, 16);
				ids[nq][16] = '\0';
			}
			nq++;
		}
		pos += len + 2;
	}
	return nq;
}

/* Check and remove what the session queued: one complete file per id. */
static void sweep(char ids[][17], size_t nq, size_t max)
{
	char path[160], head[sizeof DROP_MAGIC];
	struct dirent *de;
	size_t found = 0, i;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", spooldir, SPOOL_DROP_NEW);
	if ((d = opendir(path)) == NULL)
		broken("cannot open incoming/new", path);
	while ((de = readdir(d)) != NULL) {
		bool known = false;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < nq && i < max; i++)
			known = known || strcmp(ids[i], de->d_name) == 0;
		if (!known && nq <= max)
			broken("a file in incoming/new that no reply named", de->d_name);
		found++;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || read(fd, head, sizeof head - 1) != (ssize_t)(sizeof head - 1) ||
		    memcmp(head, DROP_MAGIC, sizeof head - 1) != 0)
			broken("a queued drop file does not start with the magic", de->d_name);
		close(fd);
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	if (found != nq)
		broken("replies said queued for a different number of files", path);
	snprintf(path, sizeof path, "%s/%s", spooldir, SPOOL_DROP_TMP);
	if ((d = opendir(path)) == NULL)
		broken("cannot open incoming/tmp", path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			broken("a partial file was left in incoming/tmp", de->d_name);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char ids[64][17];
	struct lsmtp_ctx x;
	size_t got = 0, nq;
	int sv[2], before, big = 1 << 20;
	ssize_t n;

	before = fuzz_lowest_free_fd();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		broken("socketpair", "");
	/* All replies must fit while nobody reads them yet. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		broken("cannot write the client's bytes", "");
	shutdown(sv[1], SHUT_WR);

	memset(&x, 0, sizeof x);
	x.c = &conf;
	x.users = (size & 1) ? users : NULL;
	x.loopback = (size & 2) != 0;
	x.ip = x.loopback ? "127.0.0.1" : "192.0.2.7";
	x.events = -1;
	listen_smtp_serve(&x, sv[0]);		/* closes sv[0] */

	while (got < REPLIES_MAX && (n = read(sv[1], replies + got, REPLIES_MAX - got)) > 0)
		got += (size_t)n;
	close(sv[1]);
	replies[got] = '\0';
	if (fuzz_lowest_free_fd() != before)
		broken("a descriptor leaked", "");
	nq = check_replies(replies, got, ids, sizeof ids / sizeof ids[0]);
	/* Every message ends with ".<CR><LF>" at the start of a line: no
	 * more can be queued than the input holds (no smuggling by bare LF
	 * or CR alone). */
	if (nq > fuzz_count_ends(data, size))
		broken("more messages queued than the input has end markers", "");
	sweep(ids, nq, sizeof ids / sizeof ids[0]);
	return 0;
}
