/* Per-page detail from /proc/PID/pagemap, with share counts and flags
 * from /proc/kpagecount and /proc/kpageflags when we may read them
 * (they need CAP_SYS_ADMIN, as do the frame numbers in pagemap). */
#include "linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "vmatlas/error.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)
#define PM_UFFD_WP (1ull << 57)
#define PM_EXCLUSIVE (1ull << 56)
#define PM_SOFTDIRTY (1ull << 55)
#define PM_PFN_MASK ((1ull << 55) - 1)

/* kpageflags bits worth showing per page (the rest change too often to
 * make useful runs) */
#define KPF_KEEP ((1ull << 4) /* dirty */ | (1ull << 11) /* mmap */ | (1ull << 12) /* anon */ | \
		  (1ull << 17) /* huge */ | (1ull << 21) /* ksm */ | (1ull << 22) /* thp */ |   \
		  (1ull << 24) /* zero page */)

#define CHUNK 8192

static bool pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	if (off > (uint64_t)INT64_MAX)
		return false;
	ssize_t n = pread(fd, buf, len, (off_t)off);
	return n == (ssize_t)len;
}

int lx_pages(pid_t pid, uint64_t addr, uint64_t npages, uint64_t pg, vm_page_run **runs,
	     size_t *nruns, vm_page_counts *counts)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vm_seterr_errno("opening %s", path);
		return -1;
	}
	int cfd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	int ffd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint64_t *ent = xmalloc(CHUNK * sizeof *ent);
	uint64_t *cnt = xmalloc(CHUNK * sizeof *cnt);
	uint64_t *kfl = xmalloc(CHUNK * sizeof *kfl);
	vm_page_run *rv = NULL;
	size_t nr = 0, cap = 0;
	memset(counts, 0, sizeof *counts);
	int rc = 0;
	bool have_count = false;

	for (uint64_t done = 0; done < npages;) {
		size_t n = npages - done < CHUNK ? (size_t)(npages - done) : CHUNK;
		uint64_t page_index = (addr / pg) + done;
		uint64_t off;
		if (mul_overflow_u64(page_index, 8, &off) || !pread_full(fd, ent, n * 8, off)) {
			vm_seterr_errno("reading %s at 0x%llx", path,
					(unsigned long long)(addr + done * pg));
			rc = -1;
			break;
		}
		/* share counts and flags by frame number, a read per run of
		 * consecutive frames */
		for (size_t i = 0; i < n; i++) {
			cnt[i] = (uint64_t)-1;
			kfl[i] = 0;
		}
		if (cfd >= 0 || ffd >= 0) {
			for (size_t i = 0; i < n;) {
				uint64_t pfn = ent[i] & PM_PFN_MASK;
				if (!(ent[i] & PM_PRESENT) || pfn == 0) {
					i++;
					continue;
				}
				size_t j = i + 1;
				while (j < n && (ent[j] & PM_PRESENT) &&
				       (ent[j] & PM_PFN_MASK) == pfn + (j - i))
					j++;
				size_t len = (j - i) * 8;
				if (cfd >= 0 && pread_full(cfd, cnt + i, len, pfn * 8))
					have_count = true;
				else
					for (size_t k = i; k < j; k++)
						cnt[k] = (uint64_t)-1;
				if (ffd >= 0 && !pread_full(ffd, kfl + i, len, pfn * 8))
					for (size_t k = i; k < j; k++)
						kfl[k] = 0;
				i = j;
			}
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t e = ent[i];
			uint32_t f = 0;
			if (e & PM_PRESENT)
				f |= VM_PAGE_PRESENT;
			if (e & PM_SWAPPED)
				f |= VM_PAGE_SWAPPED;
			if (e & PM_FILE)
				f |= VM_PAGE_FILE;
			if (e & PM_EXCLUSIVE)
				f |= VM_PAGE_EXCLUSIVE;
			if (e & PM_SOFTDIRTY)
				f |= VM_PAGE_SOFTDIRTY;
			if (e & PM_UFFD_WP)
				f |= VM_PAGE_UFFD_WP;
			int32_t mc = cnt[i] == (uint64_t)-1 ? -1
				     : cnt[i] > INT32_MAX   ? INT32_MAX
							    : (int32_t)cnt[i];
			uint64_t kf = kfl[i] & KPF_KEEP;
			if (f & VM_PAGE_PRESENT) {
				counts->present++;
				if (mc > 1 || (mc < 0 && !(f & VM_PAGE_EXCLUSIVE)))
					counts->shared++;
				if (f & VM_PAGE_EXCLUSIVE)
					counts->exclusive++;
			}
			if (f & VM_PAGE_SWAPPED)
				counts->swapped++;
			uint64_t pa = addr + (done + i) * pg;
			vm_page_run *last = nr ? &rv[nr - 1] : NULL;
			if (last && last->flags == f && last->mapcount == mc && last->lx.kflags == kf &&
			    last->addr + last->count * pg == pa) {
				last->count++;
			} else {
				vm_page_run *r = ARRAY_PUSH(rv, nr, cap);
				r->addr = pa;
				r->count = 1;
				r->flags = f;
				r->mapcount = mc;
				r->lx.kflags = kf;
				r->win.prot = 0;
			}
		}
		done += n;
	}
	free(ent);
	free(cnt);
	free(kfl);
	close(fd);
	if (cfd >= 0)
		close(cfd);
	if (ffd >= 0)
		close(ffd);
	if (rc < 0) {
		free(rv);
		return -1;
	}
	counts->valid = true;
	counts->have_mapcount = have_count;
	*runs = rv;
	*nruns = nr;
	return 0;
}
