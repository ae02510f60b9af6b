/*
 * The aliases file (SPEC §2 `aliases`, Debian Policy 11.6), read as text at
 * submission: `newaliases` builds nothing. Syntax, as Sendmail and Postfix
 * read /etc/aliases:
 *
 *   # a comment (a line whose first non-blank character is '#')
 *   postmaster: root
 *   root:       ops@example.org, "Night Desk" <night@example.org>
 *   team:       alice,
 *               bob            a line starting with white space continues
 *
 * Names are compared without ASCII case, as Sendmail does. Each target is
 * kept as written; aliases_target_kind says whether it is an address or a
 * target a relay cannot deliver to (a command, a file, an :include:).
 * Expanding chains is addr_rcpt_local.c's job.
 */
#ifndef NULLRELAY_ALIASES_H
#define NULLRELAY_ALIASES_H

#include <stdbool.h>
#include <stddef.h>

#define ALIASES_DEFAULT_PATH "/etc/aliases"
/* A bigger file is refused: it is read whole at every submission. */
#define ALIASES_MAX_BYTES (4u * 1024 * 1024)

enum alias_kind { ALIAS_ADDRESS, ALIAS_COMMAND, ALIAS_FILE, ALIAS_INCLUDE };

struct alias_entry {
	char *name;		/* as written */
	char **targets;		/* trimmed, as written */
	size_t ntargets;
	unsigned line;		/* where the entry starts */
};

struct aliases;

/*
 * Read and check path. A missing file is no error when !must_exist (the
 * default /etc/aliases "when it exists"): *out is then NULL. Otherwise 0 with
 * *out, or -1 with "PATH: reason" / "PATH:LINE: reason" in err (unreadable,
 * not a regular file, too big, a line that is not `name: targets`, a
 * duplicate name, an address that does not parse).
 */
int aliases_load(const char *path, bool must_exist, struct aliases **out, char *err,
    size_t errlen);
void aliases_free(struct aliases *al);
const char *aliases_path(const struct aliases *al);

/* The entry for name (ASCII case-insensitive), or NULL. */
const struct alias_entry *aliases_find(const struct aliases *al, const char *name);

/* What a target is: "|cmd" (or "\"|cmd\""), "/file", ":include:/file", or
 * an address. */
enum alias_kind aliases_target_kind(const char *target);

#endif
