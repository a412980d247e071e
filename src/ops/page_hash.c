/* A hash of every page a snapshot --data covers, read so that the target
 * is disturbed as little as possible: pages of anonymous memory that were
 * never touched are known to be zeros and not read (reading would map the
 * zero page into the target); file pages not in the target's memory are
 * read from the file, not faulted in. */
#include "vmatlas/snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/util.h"

#define CHUNK (4u << 20)

static uint64_t page_hash(const void *p, size_t pg)
{
	uint64_t h = XXH3_64bits(p, pg);
	return h ? h : 1; /* 0 means unreadable */
}

/* pages [first, first+n) of a region, to be read from the target */
typedef struct item {
	uint64_t base, first, n;
	uint64_t *h;
} item;

typedef struct hasher {
	vm_target *t;
	uint64_t pg, zero_hash;
	uint8_t *buf;
	int8_t *present;
	size_t pcap;
	item *items;
	size_t nitems, icap;
	atomic_size_t next;
	atomic_uint_least64_t bytes;
} hasher;

/* one worker: items in turn, each read 4 MiB at a time */
static void *hash_items(void *arg)
{
	hasher *hs = arg;
	uint64_t pg = hs->pg, per = CHUNK / pg;
	uint8_t *buf = xmalloc(CHUNK);
	for (size_t i; (i = atomic_fetch_add(&hs->next, 1)) < hs->nitems;) {
		const item *it = &hs->items[i];
		for (uint64_t k = 0; k < it->n;) {
			uint64_t want = it->n - k < per ? it->n - k : per;
			ssize_t got = vm_read(hs->t, it->base + (it->first + k) * pg, buf, (size_t)(want * pg));
			uint64_t ok = got > 0 ? (uint64_t)got / pg : 0;
			for (uint64_t j = 0; j < ok; j++)
				it->h[it->first + k + j] = page_hash(buf + j * pg, (size_t)pg);
			atomic_fetch_add(&hs->bytes, ok * pg);
			k += ok < want ? ok + 1 : ok; /* h stays 0 for the page that failed */
		}
	}
	free(buf);
	return NULL;
}

static void queue_read(hasher *hs, const vm_region *r, uint64_t first, uint64_t n, uint64_t *h)
{
	uint64_t per = CHUNK / hs->pg;
	for (uint64_t i = 0; i < n; i += per) {
		item *it = ARRAY_PUSH(hs->items, hs->nitems, hs->icap);
		it->base = r->base;
		it->first = first + i;
		it->n = n - i < per ? n - i : per;
		it->h = h;
	}
}

/* pages [first, first+n) of r read from its file; false when it cannot */
static bool hash_file(hasher *hs, const vm_region *r, int fd, uint64_t first, uint64_t n, uint64_t *h)
{
	uint64_t pg = hs->pg, per = CHUNK / pg;
	for (uint64_t i = 0; i < n;) {
		uint64_t want = n - i < per ? n - i : per, off;
		if (add_overflow_u64(r->offset, (first + i) * pg, &off) || off > (uint64_t)INT64_MAX)
			return false;
		ssize_t got = pread(fd, hs->buf, (size_t)(want * pg), (off_t)off);
		if (got < 0)
			return false;
		/* past the end of the file a page cannot be read (SIGBUS) */
		uint64_t ok = (uint64_t)got / pg;
		for (uint64_t k = 0; k < ok; k++)
			h[first + i + k] = page_hash(hs->buf + k * pg, (size_t)pg);
		if ((uint64_t)got % pg && ok < want) { /* the last, partial page reads as zeros after EOF */
			memset(hs->buf + ok * pg + (uint64_t)got % pg, 0, (size_t)(pg - (uint64_t)got % pg));
			h[first + i + ok] = page_hash(hs->buf + ok * pg, (size_t)pg);
			ok++;
		}
		atomic_fetch_add(&hs->bytes, ok * pg);
		if (ok < want)
			return true;
		i += ok;
	}
	return true;
}

/* zero and file pages now; pages to read from the target queued */
static void plan_region(hasher *hs, const vm_region *r, vm_page_hashes *ph)
{
	/* a file target's pages past what it holds read nothing: none are
	 * kept, so memory follows the file, not what a region claims */
	uint64_t n = (vm_region_data_size(r) + hs->pg - 1) / hs->pg;
	ph->npages = n;
	ph->h = xcalloc(n ? n : 1, 8);
	if (!n)
		return;
	if (n > hs->pcap) {
		free(hs->present);
		hs->present = xmalloc(n);
		hs->pcap = n;
	}
	int8_t *pr = hs->present;
	if (vm_target_present_range(hs->t, r->base, n, pr) < 0)
		memset(pr, -1, n);
	int fd = -2; /* not opened yet */
	for (uint64_t i = 0; i < n;) {
		uint64_t j = i + 1;
		while (j < n && (pr[j] == 0) == (pr[i] == 0))
			j++;
		if (pr[i] != 0) {
			queue_read(hs, r, i, j - i, ph->h);
		} else if (r->type == VM_TYPE_PRIVATE) {
			for (uint64_t k = i; k < j; k++)
				ph->h[k] = hs->zero_hash;
		} else {
			if (fd == -2)
				fd = vm_target_open_backing(hs->t, r);
			if (fd < 0 || !hash_file(hs, r, fd, i, j - i, ph->h))
				queue_read(hs, r, i, j - i, ph->h);
		}
		i = j;
	}
	if (fd >= 0)
		close(fd);
}

vm_page_hashes *vm_hash_pages(const vm_map *m, vm_target *t, uint64_t *bytes_hashed)
{
	hasher hs = { .t = t, .pg = m->info.page_size };
	hs.buf = xcalloc(CHUNK, 1);
	/* a page must fit the buffer (a core may claim a page of 1 GiB) */
	bool sane = hs.pg && hs.pg <= CHUNK && !(hs.pg & (hs.pg - 1));
	hs.zero_hash = sane ? page_hash(hs.buf, (size_t)hs.pg) : 0;
	atomic_init(&hs.next, 0);
	atomic_init(&hs.bytes, 0);
	vm_page_hashes *ph = xcalloc(m->nregions ? m->nregions : 1, sizeof *ph);
	for (size_t i = 0; i < m->nregions && sane; i++) {
		const vm_region *r = &m->regions[i];
		if (r->state == VM_STATE_COMMIT && (r->prot & VM_PROT_READ) && r->type != VM_TYPE_SPECIAL &&
		    !(r->flags & VM_RF_NO_DATA))
			plan_region(&hs, r, &ph[i]);
	}
	/* two workers: one reads while the other hashes */
	pthread_t th;
	bool second = hs.nitems > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
		      pthread_create(&th, NULL, hash_items, &hs) == 0;
	hash_items(&hs);
	if (second)
		pthread_join(th, NULL);
	free(hs.items);
	free(hs.buf);
	free(hs.present);
	*bytes_hashed = atomic_load(&hs.bytes);
	return ph;
}
