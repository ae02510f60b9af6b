/* Queue identifiers: arrival time plus randomness, so ids sort by arrival
 * (see util.h). */
#include <stdint.h>
#include <time.h>

#include "spool_queue.h"
#include "util.h"

void queue_id_new(char out[QUEUE_ID_SIZE])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[4];
	uint32_t t = (uint32_t)time(NULL);
	int i;

	random_bytes(rnd, sizeof rnd);
	for (i = 0; i < 8; i++)
		out[i] = hex[(t >> (28 - 4 * i)) & 0xf];
	for (i = 0; i < 4; i++) {
		out[8 + 2 * i] = hex[rnd[i] >> 4];
		out[9 + 2 * i] = hex[rnd[i] & 0xf];
	}
	out[QUEUE_ID_LEN] = '\0';
}

bool queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return s[QUEUE_ID_LEN] == '\0';
}
