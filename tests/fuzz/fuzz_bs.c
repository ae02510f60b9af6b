/*
 * The sendmail -bs dialogue (spool/sm_bs.c) on arbitrary client bytes: any
 * local user drives it. The bytes are the client's whole side (commands
 * and data, pipelined); replies go to /dev/null. Every message it queues
 * goes into a private spool (a temp directory) and must be a complete drop
 * file, and no more are queued than the input has "<LF>.<CR><LF>" end
 * markers; bs_serve must end with 0, 65 (a bare LF in DATA) or 74 (input
 * ended or broke off), and leave nothing in incoming/tmp.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "sm_bs.h"
#include "conf.h"
#include "spool.h"
#include "sm_submit.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct conf conf;
static char spooldir[64];
static int in_fd = -1, null_fd = -1;

static void broken(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char confpath[96], err[1024];
	FILE *f;

	fuzz_mkdtemp(spooldir, sizeof spooldir, "bs");
	if (spool_setup(spooldir, getuid(), getgid(), err,
	    sizeof err) == -1)
		broken("cannot make the spool");
	snprintf(confpath, sizeof confpath, "%s/relay.conf", spooldir);
	if ((f = fopen(confpath, "w")) == NULL)
		broken("cannot write the config");
	fprintf(f, "spool = %s\nsmarthost = smtp.example.org\nhostname = h.example.org\n"
	    "max_message_size = 64k\ntimeout_command = 1s\n", spooldir);
	fclose(f);
	if (conf_load(confpath, true, &conf, err, sizeof err) == -1)
		broken(err);
	in_fd = memfd_create("fuzz_bs_in", MFD_CLOEXEC);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in_fd == -1 || null_fd == -1)
		broken("memfd or /dev/null");
	(void)argc;
	(void)argv;
	return 0;
}

/* Check and remove what the session queued; how many files dir held. */
static int sweep(const char *rel, bool must_be_complete)
{
	char path[160], head[sizeof DROP_MAGIC];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", spooldir, rel);
	if ((d = opendir(path)) == NULL)
		broken("cannot open a spool directory");
	while ((de = readdir(d)) != NULL) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		found++;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (must_be_complete && (fd == -1 || read(fd, head, sizeof head - 1) !=
		    (ssize_t)(sizeof head - 1) || memcmp(head, DROP_MAGIC, sizeof head - 1) != 0))
			broken("a queued drop file does not start with the magic");
		if (fd != -1)
			close(fd);
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return found;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct submit_req base;
	int rc;

	if (ftruncate(in_fd, 0) == -1 || pwrite(in_fd, data, size, 0) != (ssize_t)size ||
	    lseek(in_fd, 0, SEEK_SET) == -1)
		broken("cannot write the memfd");
	memset(&base, 0, sizeof base);
	base.conf = &conf;
	base.uid = getuid();
	base.login = "fuzz";
	rc = bs_serve(&conf, &base, in_fd, null_fd);
	if (rc != 0 && rc != EX_DATAERR && rc != EX_IOERR)
		broken("bs_serve returned something but 0, 65 or 74");
	/* Every message ends with ".<CR><LF>" at the start of a line: no
	 * more can be queued than the input holds (no smuggling by bare LF). */
	if ((size_t)sweep(SPOOL_DROP_NEW, true) > fuzz_count_ends(data, size))
		broken("more messages queued than the input has end markers");
	if (sweep(SPOOL_DROP_TMP, false))
		broken("a partial file was left in incoming/tmp");
	return 0;
}
