#include "vmatlas/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

void vm_seterr(const char *fmt, ...)
{
	/* through a copy: an argument may be vm_error() itself (a context
	 * put before the error), and vsnprintf's source may not overlap */
	char msg[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(errbuf, msg, sizeof errbuf);
}

void vm_seterr_errno(const char *fmt, ...)
{
	int e = errno;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(errbuf, sizeof errbuf, "%s: %s", msg, strerror(e));
	errno = e;
}

const char *vm_error(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

void vm_clearerr(void)
{
	errbuf[0] = 0;
}

bool vm_has_error(void)
{
	return errbuf[0] != 0;
}
