/*
 * conf_load on arbitrary file contents. The configuration is read by both
 * programs; a bad file must give an error naming FILE:LINE, never a crash.
 * The input goes into one memfd per process (truncated each run) and is read
 * back through /proc/self/fd/N, the path conf_load fopens.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "conf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int memfd = -1;
static char path[64];

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_conf: invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_conf", MFD_CLOEXEC);
	if (memfd == -1) {
		perror("memfd_create");
		exit(1);
	}
	if (snprintf(path, sizeof path, "/proc/self/fd/%d", memfd) >= (int)sizeof path)
		exit(1);
	return 0;
}

static void check_conf(const struct conf *c)
{
	size_t i;

	if (c->spool == NULL || c->user == NULL || c->hostname == NULL ||
	    c->default_domain == NULL || c->helo_name == NULL || c->path == NULL)
		broken("a defaulted string is NULL");
	if (c->nsmarthosts > CONF_MAX_SMARTHOSTS)
		broken("too many smarthosts");
	for (i = 0; i < c->nsmarthosts; i++)
		if (c->smarthosts[i].host == NULL || c->smarthosts[i].host[0] == '\0' ||
		    c->smarthosts[i].port == 0 || c->smarthosts[i].port > 65535)
			broken("bad smarthost");
	if (c->nauth_mechanisms == 0 || c->nauth_mechanisms > CONF_MAX_MECHS)
		broken("auth mechanism count out of range");
	for (i = 0; i < c->nauth_mechanisms; i++)
		if (conf_mech_name(c->auth_mechanisms[i]) == NULL)
			broken("unnamed auth mechanism");
	if (c->concurrency < 1 || c->concurrency > 64)
		broken("concurrency out of range");
	if (c->retry_min < 0 || c->retry_max < 0 || c->queue_lifetime < 0 ||
	    c->delay_warning < 0)
		broken("negative duration");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[CONF_ERR_MAX];
	int fd0 = fuzz_lowest_free_fd();

	if (ftruncate(memfd, 0) == -1 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		broken("cannot write the memfd");
	memset(err, 'x', sizeof err);
	if (conf_load(path, true, &c, err, sizeof err) == 0)
		check_conf(&c);
	else if (memchr(err, '\0', sizeof err) == NULL || strncmp(err, path, strlen(path)) != 0)
		broken("error is not \"FILE...: reason\"");
	conf_free(&c);
	if (fuzz_lowest_free_fd() != fd0)
		broken("file descriptor leaked");
	return 0;
}
