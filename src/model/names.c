/* Names of the model's enumerations, as text and JSON show them. */
#include <string.h>

#include "vmatlas/map.h"

static const char *const usage_names[VM_USAGE_COUNT] = {
	[VM_USAGE_IMAGE] = "image",	      [VM_USAGE_MAPPED] = "mapped",
	[VM_USAGE_SHAREABLE] = "shareable", [VM_USAGE_HEAP] = "heap",
	[VM_USAGE_STACK] = "stack",	      [VM_USAGE_PRIVATE] = "private",
	[VM_USAGE_SYSTEM] = "system",	      [VM_USAGE_RESERVED] = "reserved",
	[VM_USAGE_FREE] = "free",
};

const char *vm_usage_name(vm_usage u)
{
	return (unsigned)u < VM_USAGE_COUNT ? usage_names[u] : "?";
}

bool vm_usage_parse(const char *s, vm_usage *out)
{
	for (int i = 0; i < VM_USAGE_COUNT; i++)
		if (strcmp(s, usage_names[i]) == 0) {
			*out = (vm_usage)i;
			return true;
		}
	return false;
}

const char *vm_state_name(vm_state s)
{
	switch (s) {
	case VM_STATE_FREE: return "free";
	case VM_STATE_RESERVE: return "reserve";
	case VM_STATE_COMMIT: return "commit";
	}
	return "?";
}

const char *vm_type_name(vm_type t)
{
	switch (t) {
	case VM_TYPE_NONE: return "none";
	case VM_TYPE_IMAGE: return "image";
	case VM_TYPE_MAPPED: return "mapped";
	case VM_TYPE_PRIVATE: return "private";
	case VM_TYPE_SHAREABLE: return "shareable";
	case VM_TYPE_SPECIAL: return "special";
	}
	return "?";
}

const char *vm_content_kind_name(vm_content_kind k)
{
	switch (k) {
	case VM_CK_HEADER: return "header";
	case VM_CK_SECTION: return "section";
	case VM_CK_SEGMENT: return "segment";
	case VM_CK_DIRECTORY: return "directory";
	case VM_CK_STACK: return "stack";
	case VM_CK_GUARD: return "guard";
	case VM_CK_TLS: return "tls";
	case VM_CK_HEAP: return "heap";
	case VM_CK_SYSDATA: return "sysdata";
	case VM_CK_CODE: return "code";
	case VM_CK_COUNT: break;
	}
	return "?";
}

void vm_prot_string(uint32_t prot, char out[5])
{
	out[0] = (prot & VM_PROT_READ) ? 'r' : '-';
	out[1] = (prot & VM_PROT_WRITE) ? 'w' : '-';
	out[2] = (prot & VM_PROT_EXEC) ? 'x' : '-';
	out[3] = (prot & VM_PROT_SHARED) ? 's' : 'p';
	out[4] = 0;
}
