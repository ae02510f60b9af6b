/* Deadlines and the one poll-until-deadline loop: see deadline.h. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "deadline.h"

/* poll() takes an int of milliseconds: wait at most a day at a time (the
 * loop then looks at the clock again). */
#define DEADLINE_POLL_MAX_MS 86400000

int64_t deadline_in(time_t seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (int64_t)seconds * 1000;
}

int deadline_poll(int fd, short events, int64_t deadline, volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - deadline_in(0);
		int rc;

		if (stop != NULL && *stop)
			return -2;
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > DEADLINE_POLL_MAX_MS ? DEADLINE_POLL_MAX_MS : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
		/* EINTR, or the capped wait ran out: look at stop and the clock. */
	}
}
