/* base/osfile.h for POSIX: a file is ours when our effective uid owns it. */
#include "osfile.h"

#include <string.h>
#include <unistd.h>

#include "util.h"

int vm_file_is_ours(const char *path, const struct stat *st, char **who)
{
	(void)path;
	if (st->st_uid == geteuid())
		return 1;
	if (who)
		*who = xasprintf("uid %u", (unsigned)st->st_uid);
	return 0;
}

size_t vm_path_dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (size_t)(slash - path) + 1 : 0;
}
