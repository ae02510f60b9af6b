/*
 * The bound on SPOOL/quarantine (issue 14): refused drop files are kept
 * for the admin, but a user writing hostile drop files in a loop must not
 * fill the spool's disk. Files of other users (refused drop files keep
 * their submitter as owner) beyond QUARANTINE_MAX_FILES or
 * QUARANTINE_MAX_BYTES are removed oldest first, each logged. relayd's own
 * files there (queue state files that did not parse: accepted mail) are
 * never removed and not counted.
 */
#ifndef NULLRELAY_QUARANTINE_H
#define NULLRELAY_QUARANTINE_H

#include <stddef.h>

#define QUARANTINE_MAX_FILES 1000
#define QUARANTINE_MAX_BYTES (64ULL * 1024 * 1024)

/* Trim the quarantine directory qdir to the bound; the number removed. */
size_t quarantine_trim(int qdir);

#endif
