/* glibc's libthread_db in the Windows build: there is none (and no
 * dlopen of it), so thread descriptors of a Linux core are not read. */
#include "vmatlas/threads.h"

vm_tdb *vm_tdb_open(const vm_map *m, vm_target *t, vm_symbolizer *s, const char **why)
{
	(void)m;
	(void)t;
	(void)s;
	if (why)
		*why = "libthread_db is not in the Windows build";
	return NULL;
}

bool vm_tdb_start(vm_tdb *d, int64_t tid, uint64_t *start)
{
	(void)d;
	(void)tid;
	(void)start;
	return false;
}

bool vm_tdb_tls_addr(vm_tdb *d, int64_t tid, uint64_t link_map, uint64_t offset, uint64_t *addr)
{
	(void)d;
	(void)tid;
	(void)link_map;
	(void)offset;
	(void)addr;
	return false;
}

void vm_tdb_close(vm_tdb *d)
{
	(void)d;
}
