#include "vmatlas/env.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_STRINGS (1u << 20)
#define MAX_STRING (128u << 10)

/* NUL-separated strings in [start, end) */
static void split(vm_target *t, uint64_t start, uint64_t end, vm_string **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!start || end <= start || end - start > (64u << 20))
		return;
	size_t len = (size_t)(end - start), cap = 0;
	char *buf = xmalloc(len + 1);
	ssize_t got = vm_read(t, start, buf, len);
	if (got <= 0) {
		free(buf);
		return;
	}
	buf[got] = 0;
	for (size_t i = 0; i < (size_t)got && *n < MAX_STRINGS;) {
		size_t l = strnlen(buf + i, (size_t)got - i);
		vm_string *v = ARRAY_PUSH(*out, *n, cap);
		v->addr = start + i;
		v->value = xstrndup(buf + i, l);
		i += l + 1;
	}
	free(buf);
}

static void read_live(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_env *e)
{
	size_t w = m->info.bits == 32 ? 4 : 8;
	vm_reader r = vm_reader_target(t);
	uint64_t var = 0, arr = 0;
	/* glibc: environ is a weak alias of __environ */
	if (!vm_symbol_lookup(s, NULL, "__environ", &var) && !vm_symbol_lookup(s, NULL, "environ", &var)) {
		e->live_note = "no environ variable (no symbol for it)";
		return;
	}
	e->environ_var = var;
	if (!vm_reader_word(&r, var, w, &arr)) {
		e->live_note = "the environ variable is unreadable";
		return;
	}
	e->environ_array = arr;
	size_t cap = 0;
	e->live_valid = true;
	for (size_t i = 0; arr && i < MAX_STRINGS; i++) {
		uint64_t p = 0;
		if (!vm_reader_word(&r, arr + i * w, w, &p)) {
			e->live_note = "the environ array is cut short by unreadable memory";
			break;
		}
		if (!p)
			break;
		vm_string *v = ARRAY_PUSH(e->live, e->nlive, cap);
		v->addr = p;
		v->value = vm_reader_string(&r, p, MAX_STRING);
		if (!v->value)
			v->value = xstrdup("");
	}
}

/* the argv and envp arrays exec left on the initial stack (argc at
 * stack_start) must point at the strings where the area splits them */
static bool pointers_agree(const vm_map *m, vm_target *t, const vm_env *e)
{
	const vm_target_info *in = &m->info;
	size_t w = m->info.bits == 32 ? 4 : 8;
	vm_reader r = vm_reader_target(t);
	uint64_t argc, p;
	if (!in->stack_start || !vm_reader_word(&r, in->stack_start, w, &argc) || argc > MAX_STRINGS)
		return true; /* cannot tell */
	if (argc != e->nargv)
		return false;
	uint64_t at = in->stack_start + w;
	for (size_t i = 0; i < e->nargv; i++, at += w)
		if (!vm_reader_word(&r, at, w, &p) || p != e->argv[i].addr)
			return false;
	at += w; /* argv's NULL */
	size_t i = 0;
	for (; i <= e->ninitial; i++, at += w) {
		if (!vm_reader_word(&r, at, w, &p))
			return false;
		if (p == 0)
			break;
		if (i == e->ninitial || p != e->initial[i].addr)
			return false;
	}
	return i == e->ninitial;
}

static char *area_text(const vm_env *e)
{
	size_t cap = 0, len = 0;
	char *out = NULL;
	const vm_string *lists[2] = { e->argv, e->initial };
	size_t ns[2] = { e->nargv, e->ninitial };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ns[k] && len < 4096; i++) {
			size_t l = strlen(lists[k][i].value);
			if (!l)
				continue;
			ARRAY_GROW(out, cap, len + l + 2);
			if (len)
				out[len++] = ' ';
			memcpy(out + len, lists[k][i].value, l);
			len += l;
			out[len] = 0;
		}
	return out ? out : xstrdup("");
}

int vm_env_read(const vm_map *m, vm_target *t, vm_symbolizer *s, vm_env *out)
{
	memset(out, 0, sizeof *out);
	const vm_target_info *in = &m->info;
	split(t, in->arg_start, in->arg_end, &out->argv, &out->nargv);
	split(t, in->env_start, in->env_end, &out->initial, &out->ninitial);
	if ((out->nargv || out->ninitial) && !pointers_agree(m, t, out)) {
		out->area_overwritten = true;
		out->area_now = area_text(out);
	}
	read_live(m, t, s, out);
	if (vm_target_caps(t) & VM_CAP_AUXV)
		vm_target_auxv(t, &out->auxv, &out->nauxv);
	return 0;
}

static void free_strings(vm_string *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].value);
	free(v);
}

void vm_env_free(vm_env *e)
{
	free_strings(e->argv, e->nargv);
	free_strings(e->initial, e->ninitial);
	free_strings(e->live, e->nlive);
	free(e->auxv);
	free(e->area_now);
	memset(e, 0, sizeof *e);
}

static const char *const auxv_names[] = {
	[0] = "AT_NULL",	  [1] = "AT_IGNORE",	     [2] = "AT_EXECFD",
	[3] = "AT_PHDR",	  [4] = "AT_PHENT",	     [5] = "AT_PHNUM",
	[6] = "AT_PAGESZ",	  [7] = "AT_BASE",	     [8] = "AT_FLAGS",
	[9] = "AT_ENTRY",	  [10] = "AT_NOTELF",	     [11] = "AT_UID",
	[12] = "AT_EUID",	  [13] = "AT_GID",	     [14] = "AT_EGID",
	[15] = "AT_PLATFORM",	  [16] = "AT_HWCAP",	     [17] = "AT_CLKTCK",
	[18] = "AT_FPUCW",	  [19] = "AT_DCACHEBSIZE",   [20] = "AT_ICACHEBSIZE",
	[21] = "AT_UCACHEBSIZE",  [22] = "AT_IGNOREPPC",     [23] = "AT_SECURE",
	[24] = "AT_BASE_PLATFORM", [25] = "AT_RANDOM",	     [26] = "AT_HWCAP2",
	[27] = "AT_RSEQ_FEATURE_SIZE", [28] = "AT_RSEQ_ALIGN", [29] = "AT_HWCAP3",
	[30] = "AT_HWCAP4",	  [31] = "AT_EXECFN",	     [32] = "AT_SYSINFO",
	[33] = "AT_SYSINFO_EHDR", [51] = "AT_MINSIGSTKSZ",
};

const char *vm_auxv_name(uint64_t type)
{
	if (type < ARRAY_LEN(auxv_names))
		return auxv_names[type];
	return NULL;
}

bool vm_auxv_is_string(uint64_t type)
{
	return type == 15 || type == 24 || type == 31;
}
