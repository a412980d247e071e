/* The floor for a memory search: read every committed, readable, writable
 * private or shared region of PID (from FROM to TO if given) with
 * process_vm_readv, 4 MiB at a time, and do nothing with the bytes.
 * With --readable (the floor for a snapshot's page hashes): every
 * readable region but the kernel's. Prints the bytes read.
 *   readall PID [FROM TO | --readable] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int pid = atoi(argv[1]);
	int readable = argc > 2 && !strcmp(argv[2], "--readable");
	uint64_t from = argc > 2 && !readable ? strtoull(argv[2], NULL, 0) : 0;
	uint64_t to = argc > 3 ? strtoull(argv[3], NULL, 0) : UINT64_MAX;
	char path[64], line[4096];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t chunk = 4u << 20;
	char *buf = malloc(chunk);
	uint64_t total = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3)
			continue;
		if (perms[0] != 'r' || (!readable && (perms[1] != 'w' || perms[2] == 'x')) || strstr(line, "[v"))
			continue;
		if (lo < from)
			lo = from;
		if (hi > to)
			hi = to;
		for (uint64_t a = lo; a < hi; a += chunk) {
			size_t n = hi - a < chunk ? (size_t)(hi - a) : chunk;
			struct iovec l = { buf, n }, r = { (void *)(uintptr_t)a, n };
			ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
			if (got > 0)
				total += (uint64_t)got;
		}
	}
	printf("%llu\n", (unsigned long long)total);
	return 0;
}
