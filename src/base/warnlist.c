#include "warnlist.h"

#include <stdlib.h>

#include "strbuf.h"

void warnlist_add(char **list, size_t *count, size_t max, const char *fmt, va_list ap)
{
	size_t n = (*count)++;
	if (n > max)
		return;
	strbuf sb = STRBUF_INIT;
	if (*list) {
		sb_puts(&sb, *list);
		sb_puts(&sb, "; ");
		free(*list);
	}
	if (n == max)
		sb_puts(&sb, "and more");
	else
		sb_vprintf(&sb, fmt, ap);
	*list = sb_detach(&sb);
}
