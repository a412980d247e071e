/* The process's startup data on the main stack: argc, the argv and envp
 * pointer arrays, the auxiliary vector, and the strings and bytes they
 * point to. The kernel lays them out from the initial stack pointer up:
 *   argc | argv[0..argc-1] NULL | envp[..] NULL | auxv pairs .. AT_NULL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "base/bytes.h"
#include "base/util.h"

#define AT_NULL_T 0
#define AT_PLATFORM_T 15
#define AT_RANDOM_T 25
#define AT_EXECFN_T 31
#define MAX_AREA (256u << 10)

static void put(map_builder *b, uint64_t addr, uint64_t size, const char *name, const char *detail)
{
	size_t i = mb_find(b, addr);
	if (i != (size_t)-1)
		vm_region_add_content(&b->m->regions[i], VM_CK_SYSDATA, addr, size, name, detail);
}

static void startup_vectors(map_builder *b)
{
	const vm_target_info *in = &b->m->info;
	uint64_t s = in->stack_start;
	size_t ri = s ? mb_find(b, s) : (size_t)-1;
	if (ri == (size_t)-1)
		return;
	const vm_region *r = &b->m->regions[ri];
	size_t w = in->bits == 32 ? 4 : 8;
	uint64_t avail = r->base + r->size - s;
	size_t len = avail < MAX_AREA ? (size_t)avail : MAX_AREA;
	uint8_t *buf = xmalloc(len);
	ssize_t got = vm_read(b->t, s, buf, len);
	if (got < (ssize_t)w) {
		free(buf);
		return;
	}
	size_t n = (size_t)got / w, k = 0;
	uint64_t argc = ld_word(buf, w);
	if (argc >= n - 1) {
		free(buf);
		return; /* not what the kernel leaves there */
	}
	put(b, s, w, "argc", NULL);
	put(b, s + w, (argc + 1) * w, "argv pointers", "argv[0..argc], NULL-terminated");
	k = 1 + argc + 1;
	size_t envp = k;
	while (k < n && ld_word(buf + k * w, w) != 0)
		k++;
	if (k >= n) {
		free(buf);
		return;
	}
	put(b, s + envp * w, (k - envp + 1) * w, "envp pointers", "the initial environ array");
	size_t auxv = ++k;
	uint64_t random = 0, execfn = 0, platform = 0;
	while (k + 1 < n) {
		uint64_t type = ld_word(buf + k * w, w), val = ld_word(buf + (k + 1) * w, w);
		k += 2;
		if (type == AT_NULL_T)
			break;
		if (type == AT_RANDOM_T)
			random = val;
		else if (type == AT_EXECFN_T)
			execfn = val;
		else if (type == AT_PLATFORM_T)
			platform = val;
	}
	put(b, s + auxv * w, (k - auxv) * w, "auxv", "the auxiliary vector, to AT_NULL");
	if (random)
		put(b, random, 16, "AT_RANDOM", "16 random bytes from the kernel (stack protector, pointer guard)");
	if (execfn)
		put(b, execfn, 0, "AT_EXECFN", "the file name given to execve");
	if (platform)
		put(b, platform, 0, "AT_PLATFORM", "the platform string");
	free(buf);
}

void ann_sysdata(map_builder *b)
{
	const vm_target_info *in = &b->m->info;
	if (in->arg_start && in->arg_end > in->arg_start)
		put(b, in->arg_start, in->arg_end - in->arg_start, "argv strings",
		    "the command line, NUL-separated");
	if (in->env_start && in->env_end > in->env_start)
		put(b, in->env_start, in->env_end - in->env_start, "environment strings",
		    "the initial environment, NUL-separated");
	startup_vectors(b);
}
