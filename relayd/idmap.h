/*
 * A map from a short string key (a queue id, a drop file name) to a size_t:
 * open addressing, linear probing, backward-shift deletion, so lookups stay
 * O(1) with 100 000 queued messages (the schedule's index, pick-up's set of
 * names already seen). Keys are copied.
 */
#ifndef NULLRELAY_IDMAP_H
#define NULLRELAY_IDMAP_H

#include <stdbool.h>
#include <stddef.h>

struct idmap;

struct idmap *idmap_new(void);
void idmap_free(struct idmap *m);
/* Insert or replace key → val. */
void idmap_put(struct idmap *m, const char *key, size_t val);
/* true with *val if key is there. */
bool idmap_get(const struct idmap *m, const char *key, size_t *val);
/* Remove key if there. */
void idmap_del(struct idmap *m, const char *key);
size_t idmap_count(const struct idmap *m);

#endif
