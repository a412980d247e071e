/* What the platforms do differently with the output files of
 * atomic_file.c: whose a file is, and where a path's directory ends.
 * base/osfile.c in the Linux build, base/win/osfile.c in the Windows one. */
#ifndef VMATLAS_OSFILE_H
#define VMATLAS_OSFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Is the file at path (st: its lstat) ours? 1 when it is: its owner is
 * our effective uid; on Windows its owner SID is the process token's
 * user, or BUILTIN\Administrators while the token has that group enabled
 * (the owner an elevated administrator's files get). 0 when it is
 * another's: *who (if who is not NULL) is then a malloc'd name of the
 * owner ("uid 65534"; "DOMAIN\user" or the SID on Windows). -1 when the
 * owner cannot be read (errno set). */
int vm_file_is_ours(const char *path, const struct stat *st, char **who);

/* the length of path's directory part with its separator: 4 for
 * "dir/name", 0 for a bare name; on Windows a '\' and a drive's ':' end
 * it too ("C:name" is name in C:'s current directory) */
size_t vm_path_dir_len(const char *path);

#endif
