/*
 * Sweep incoming/tmp: a sendmail killed while writing leaves its partial
 * file there (never visible in incoming/new, so never sent). relayd owns the
 * directory and removes such leftovers once they are old, as maildir does.
 */
#ifndef NULLRELAY_TMP_SWEEP_H
#define NULLRELAY_TMP_SWEEP_H

#include <time.h>

/* Older than this, a file in incoming/tmp is abandoned: 36 hours, as in maildir. */
#define TMP_STALE_AGE (36 * 3600)

/* Remove entries of SPOOL/incoming/tmp (spoolfd: the spool directory) not
 * modified for TMP_STALE_AGE. Returns how many were removed. */
unsigned tmp_sweep(int spoolfd, time_t now);

#endif
