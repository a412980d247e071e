/* The live Linux process backend as the registry sees it: PIDs,
 * "self", and programs to spawn. */
#include "linux.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "ptrace.h"
#include "vmatlas/error.h"

static bool lx_probe(const char *spec, const vm_open_options *o, const uint8_t *head, size_t len)
{
	(void)len;
	uint64_t pid;
	if (o->argv)
		return true;
	return !head && spec && (strcmp(spec, "self") == 0 || parse_u64(spec, &pid));
}

static vm_target *lx_backend_open(const char *spec, const vm_open_options *o)
{
	if (o->argv)
		return lx_spawn(o->argv, &o->spawn);
	if (strcmp(spec, "self") == 0)
		return lx_open(getpid(), true);
	uint64_t pid;
	if (!parse_u64(spec, &pid) || pid == 0 || pid > INT32_MAX) {
		vm_seterr("not a process id: %s", spec);
		return NULL;
	}
	return lx_open((pid_t)pid, (pid_t)pid == getpid());
}

const vm_backend lx_backend = {
	.name = "linux",
	.probe = lx_probe,
	.open = lx_backend_open,
	.release_all = lx_release_all,
};
