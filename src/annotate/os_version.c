/* The Windows version: the target's (a minidump's SystemInfo stream), else
 * the PEB's, else KUSER_SHARED_DATA's, each from the dump's memory; where
 * two of them disagree the map says so, as the dump may have been patched
 * or its memory belong to another system than its header. */
#include "annotate.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "vmatlas/win_version.h"

static void take(vm_map *m, const vm_win_version *v, const char *source)
{
	vm_target_info_win *w = &m->info.win;
	w->have_version = true;
	w->version_source = source;
	w->os_major = v->major;
	w->os_minor = v->minor;
	w->os_build = v->build;
	w->platform_id = v->platform_id;
	free(w->csd);
	w->csd = NULL;
	/* the PEB keeps the service pack as numbers; Windows spells them so */
	unsigned sp = v->csd_version >> 8, sp_minor = v->csd_version & 0xff;
	if (sp)
		w->csd = sp_minor ? xasprintf("Service Pack %u.%u", sp, sp_minor) : xasprintf("Service Pack %u", sp);
	/* a PEB with a version of NT and of the target's word size: Windows */
	if (m->info.os == VM_OS_UNKNOWN && v->platform_id == 2 && v->bits == m->info.bits)
		m->info.os = VM_OS_WINDOWS;
}

static bool differs(const vm_target_info_win *w, const vm_win_version *v)
{
	return v->have && (w->os_major != v->major || w->os_minor != v->minor ||
			   (v->build && w->os_build && w->os_build != v->build) ||
			   (v->platform_id && w->platform_id && w->platform_id != v->platform_id));
}

static void spell(char *buf, size_t n, const char *source, uint32_t major, uint32_t minor, uint32_t build)
{
	if (build)
		snprintf(buf, n, "%s %u.%u.%u", source, major, minor, build);
	else
		snprintf(buf, n, "%s %u.%u", source, major, minor);
}

void ann_os_version(map_builder *b)
{
	vm_map *m = b->m;
	vm_win_version peb, kuser;
	vm_win_version_peb(m, b->t, &peb);
	vm_win_version_kuser(b->t, &kuser);
	if (!m->info.win.have_version) {
		if (peb.have)
			take(m, &peb, "peb");
		else if (kuser.have)
			take(m, &kuser, "kuser");
		else
			return;
	}
	const vm_target_info_win *w = &m->info.win;
	if (!differs(w, &peb) && !differs(w, &kuser))
		return;
	char a[64], p[64] = "", k[64] = "";
	spell(a, sizeof a, w->version_source, w->os_major, w->os_minor, w->os_build);
	if (peb.have && w->version_source[0] != 'p')
		spell(p, sizeof p, ", peb", peb.major, peb.minor, peb.build);
	if (kuser.have && w->version_source[0] != 'k')
		spell(k, sizeof k, ", kuser", kuser.major, kuser.minor, kuser.build);
	vm_map_warn(m, "the OS version differs between sources: %s%s%s (the map shows %s's)", a, p, k,
		    w->version_source);
}
