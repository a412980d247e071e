/* The pages under memory breakpoints by page protection, published with
 * their original protections (vm_control_publish_prots) each time they
 * change, so that another vmatlas (map, view, search, dump of the same
 * process) shows and uses the protections the program set. */
#include "dbg.h"

#include <stdlib.h>

#include "base/util.h"

void dbg_bpm_publish(vm_dbg *d)
{
	if (!d->alive || !d->c)
		return;
	vm_prot_page *v = xcalloc(d->npages ? d->npages : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < d->npages; i++)
		if (d->pages[i].cur != d->pages[i].orig)
			v[n++] = (vm_prot_page){ d->pages[i].addr, d->pages[i].orig, d->pages[i].cur };
	if (n || d->bx.published)
		d->bx.published = vm_control_publish_prots(d->c, v, n) == 0 && n;
	free(v);
}
