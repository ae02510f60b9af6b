/* Helpers shared by the fuzz targets: see fuzzlib.h. */
#include <fcntl.h>
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
