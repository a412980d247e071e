/* capture by the OS's own dump writer (a live Windows process: a
 * minidump by MiniDumpWriteDump), written through an atomic file and
 * then opened again as a target to count what it holds: a dump vmatlas
 * cannot read back is an error, not a result. */
#include "vmatlas/capture.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "vmatlas/error.h"

int vm_capture_os_dump(vm_target *t, const vm_capture_options *o, const char *path, vm_capture_result *res)
{
	*res = (vm_capture_result){ 0 };
	atomic_file f;
	if (af_open_seekable(&f, path) < 0)
		return -1;
	if (vm_target_write_dump(t, f.fd, o->private_only) < 0) {
		af_abort(&f);
		return -1;
	}
	if (af_commit(&f) < 0)
		return -1;
	vm_target *d = vm_target_open(path);
	if (!d) {
		vm_seterr("the dump written to %s cannot be read back: %s", path, vm_error());
		return -1;
	}
	vm_region *r = NULL;
	vm_thread *th = NULL;
	size_t nr = 0, nth = 0;
	if (vm_target_regions(d, 0, &r, &nr) == 0) {
		res->nregions = nr;
		for (size_t i = 0; i < nr; i++) {
			res->bytes_dumped += r[i].held;
			res->nsegments += r[i].held > 0;
			res->unreadable += r[i].state == VM_STATE_COMMIT && r[i].held < r[i].size &&
					   !o->private_only;
		}
		vm_regions_free(r, nr);
	}
	if (vm_target_threads(d, 0, &th, &nth) == 0) {
		res->nthreads = nth;
		vm_threads_free(th, nth);
	}
	vm_target_close(d);
	struct stat sb;
	res->file_size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return 0;
}
