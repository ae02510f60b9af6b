/* Queue identifiers: arrival time plus randomness, so ids sort by arrival
 * (see util.h). */
#include <stdint.h>
#include <time.h>

#include "util.h"

void queue_id_new(char out[17])
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
	out[16] = '\0';
}

bool queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 16; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return s[16] == '\0';
}
