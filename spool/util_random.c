/* Random bytes from the kernel (see util.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "util.h"

void random_bytes(void *out, size_t n)
{
	unsigned char *p = out;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* The kernel always has getrandom on the systems we
			 * support; without randomness ids could collide. */
			fprintf(stderr, "nullrelay: getrandom: %s\n", strerror(errno));
			_exit(EX_OSERR);
		}
		p += r;
		n -= (size_t)r;
	}
}
