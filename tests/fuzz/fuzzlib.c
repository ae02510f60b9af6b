/* Helpers shared by the fuzz targets: see fuzzlib.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzlib.h"

int fuzz_lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd != -1)
		close(fd);
	return fd;
}

size_t fuzz_count_ends(const unsigned char *d, size_t n)
{
	size_t i = 0, k = 0;

	while (i + 4 <= n) {
		if (memcmp(d + i, "\n.\r\n", 4) == 0) {
			k++;
			i += 4;
		} else {
			i++;
		}
	}
	return k;
}

void fuzz_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int n = snprintf(buf, size, "%s/nullrelay-fuzz-%s.XXXXXX", base, name);

	if (n < 0 || (size_t)n >= size || mkdtemp(buf) == NULL) {
		perror(n < 0 || (size_t)n >= size ? name : buf);
		exit(1);
	}
}
