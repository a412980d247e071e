/* libFuzzer harness: PDB files (MSF directory, info, DBI, public symbols). */
#include <stdint.h>
#include <stdlib.h>

#include "formats/pdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vm_reader r = vm_reader_mem(data, size);
	pdb_info p;
	if (pdb_read(&r, &p) == 0)
		pdb_info_free(&p);
	return 0;
}
