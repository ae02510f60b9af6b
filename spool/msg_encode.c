/*
 * A mailbox for a header we generate, "Name <addr>" (msg_mailbox in msg.h):
 * the display name as atoms when it can be, else a quoted string (ASCII) or
 * RFC 2047 "Q" encoded words (UTF-8), split so a long name can be folded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "util.h"

#define RFC2047_WORD_MAX 75	/* RFC 2047 §2: octets in one encoded word */
#define RFC2047_Q_FRAME 12	/* of which "=?utf-8?Q?" and "?=" */

static bool is_phrase_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == ' ' || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

char *msg_mailbox(const char *name, const char *addr)
{
	bool ascii = true, atoms = true;
	struct buf b;
	char *s;

	if (name == NULL || *name == '\0')
		return xstrdup(addr);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p >= 0x80 || *p < 0x20 || *p == 0x7f)
			ascii = false;
		if (!is_phrase_atext(*p))
			atoms = false;
	}
	if (atoms && name[0] != ' ' && name[strlen(name) - 1] != ' ')
		return xasprintf("%s <%s>", name, addr);
	/* At most 3 octets per name byte, plus a word break every 50 or so
	 * and the address: the cap is never reached. */
	buf_init(&b, 5 * strlen(name) + strlen(addr) + 64);
	if (ascii) {
		buf_appends(&b, "\"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_appends(&b, "\\");
			buf_append(&b, p, 1);
		}
		buf_appends(&b, "\"");
	} else {
		/* RFC 2047 "Q" encoded words of at most 75 characters, split
		 * between characters (§2, §5) so a long name can be folded;
		 * control characters become '?'. */
		static const char hex[] = "0123456789ABCDEF";
		const unsigned char *p = (const unsigned char *)name;
		size_t word = 0;

		buf_appends(&b, "=?utf-8?Q?");
		while (*p != '\0') {
			char enc[4 * 3];
			size_t elen = 0, clen = 1;

			/* One character: a byte and its continuation bytes. */
			while (clen < 4 && (p[clen] & 0xc0) == 0x80)
				clen++;
			for (size_t j = 0; j < clen; j++) {
				unsigned char c = (p[j] < 0x20 || p[j] == 0x7f) ? '?' : p[j];

				if (c == ' ')
					enc[elen++] = '_';
				else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || strchr("!*+-/", c) != NULL)
					enc[elen++] = (char)c;
				else {
					enc[elen++] = '=';
					enc[elen++] = hex[c >> 4];
					enc[elen++] = hex[c & 15];
				}
			}
			if (word > 0 && word + elen > RFC2047_WORD_MAX - RFC2047_Q_FRAME) {
				buf_appends(&b, "?= =?utf-8?Q?");
				word = 0;
			}
			buf_append(&b, enc, elen);
			word += elen;
			p += clen;
		}
		buf_appends(&b, "?=");
	}
	buf_appendf(&b, " <%s>", addr);
	s = xstrdup(b.data != NULL ? b.data : addr);
	buf_free(&b);
	return s;
}
