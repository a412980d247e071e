/* vmatlas env: the process environment block. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "base/util.h"
#include "vmatlas/env.h"
#include "vmatlas/win_env.h"
#include "sections.h"

static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* the entry of list with kv's name, or NULL */
static const vm_string *by_name(const vm_string *list, size_t n, const char *kv)
{
	size_t l = name_len(kv);
	for (size_t i = 0; i < n; i++)
		if (name_len(list[i].value) == l && strncmp(list[i].value, kv, l) == 0)
			return &list[i];
	return NULL;
}

typedef enum { SAME, ADDED, CHANGED } live_state;

static live_state state_of(const vm_env *e, const vm_string *v)
{
	const vm_string *i = by_name(e->initial, e->ninitial, v->value);
	if (!i)
		return ADDED;
	return strcmp(i->value, v->value) ? CHANGED : SAME;
}

static void auxv_value_text(vm_target *t, vm_symbolizer *s, const vm_auxv *a, int aw)
{
	printf("  %-22s ", vm_auxv_name(a->type) ? vm_auxv_name(a->type) : "?");
	if (vm_auxv_is_string(a->type)) {
		char buf[512] = "";
		ssize_t n = vm_read(t, a->value, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		printf("%0*llx \"%s\"\n", aw, (unsigned long long)a->value, buf);
		return;
	}
	switch (a->type) {
	case 3: case 7: case 9: case 25: case 33: {
		vm_symbol_info si;
		char sym[512];
		vm_symbolize(s, a->value, &si);
		vm_symbol_format(&si, a->value, sym, sizeof sym);
		printf("%0*llx %s", aw, (unsigned long long)a->value, sym);
		if (a->type == 25) {
			uint8_t r[16];
			if (vm_read_full(t, a->value, r, 16) == 0) {
				printf("  ");
				for (int i = 0; i < 16; i++)
					printf("%02x", r[i]);
			}
		}
		putchar('\n');
		return;
	}
	case 16: case 26:
		printf("0x%llx\n", (unsigned long long)a->value);
		return;
	default:
		printf("%llu\n", (unsigned long long)a->value);
	}
}

static void text(const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_env *e)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	printf("exe  %s\ncwd  %s\n\n", m->info.exe ? m->info.exe : "?", m->info.cwd ? m->info.cwd : "?");
	if (e->area_overwritten) {
		/* one line, not hundreds of empty strings */
		printf("argv and environment strings (%llu bytes at %0*llx): overwritten by the process "
		       "(a process title); they now say: \"%s\"\n",
		       (unsigned long long)(m->info.env_end > m->info.arg_start ? m->info.env_end - m->info.arg_start
										   : 0),
		       aw, (unsigned long long)m->info.arg_start, e->area_now);
	} else {
		printf("argv: %zu strings at %0*llx\n", e->nargv, aw, (unsigned long long)m->info.arg_start);
		for (size_t i = 0; i < e->nargv; i++)
			printf("  [%zu] %0*llx  %s\n", i, aw, (unsigned long long)e->argv[i].addr, e->argv[i].value);
	}
	if (e->area_overwritten)
		printf("\nenvironment: the initial strings are gone (above)");
	else
		printf("\nenvironment: %zu initial at %0*llx", e->ninitial, aw,
		       (unsigned long long)m->info.env_start);
	if (e->live_valid)
		printf(", %zu live in environ (%0*llx -> %0*llx)\n", e->nlive, aw,
		       (unsigned long long)e->environ_var, aw, (unsigned long long)e->environ_array);
	else
		printf("; the live environment is unknown: %s\n", e->live_note);
	const vm_string *list = e->live_valid ? e->live : e->initial;
	size_t n = e->live_valid ? e->nlive : e->ninitial;
	for (size_t i = 0; i < n; i++) {
		live_state st = e->live_valid && !e->area_overwritten ? state_of(e, &list[i]) : SAME;
		printf("  %c %0*llx  %s", st == ADDED ? '+' : st == CHANGED ? '~' : ' ', aw,
		       (unsigned long long)list[i].addr, list[i].value);
		if (st == CHANGED) {
			const char *was = by_name(e->initial, e->ninitial, list[i].value)->value;
			printf("   (was %s)", was + name_len(was) + (was[name_len(was)] == '='));
		}
		putchar('\n');
	}
	if (e->live_valid && !e->area_overwritten)
		for (size_t i = 0; i < e->ninitial; i++)
			if (!by_name(e->live, e->nlive, e->initial[i].value))
				printf("  - %0*llx  %s\n", aw, (unsigned long long)e->initial[i].addr,
				       e->initial[i].value);
	printf("  (+ added since exec, ~ changed, - removed)\n\nauxv:\n");
	for (size_t i = 0; i < e->nauxv; i++)
		auxv_value_text(t, s, &e->auxv[i], aw);
	printf("\nthe loader's list (r_debug/link_map):\n");
	for (int k = 0;; k++) {
		const vm_module *mod = NULL;
		for (size_t i = 0; i < m->nmodules; i++)
			if (m->modules[i].loader_index == k)
				mod = &m->modules[i];
		if (!mod)
			break;
		printf("  #%-2d link_map %0*llx  l_addr %0*llx  %s\n", k, aw,
		       (unsigned long long)mod->loader_entry, aw, (unsigned long long)mod->load_bias,
		       mod->loader_name ? mod->loader_name : mod->path ? mod->path : mod->name);
	}
	const vm_export *xs;
	size_t nx = vm_exports(s, &xs);
	printf("\nvdso exports:\n");
	for (size_t i = 0; i < nx; i++)
		if (strcmp(xs[i].module->name, "linux-vdso.so.1") == 0)
			printf("  %0*llx  %s\n", aw, (unsigned long long)xs[i].addr, xs[i].name);
}

static void strings_json(json_writer *w, const char *key, const vm_string *v, size_t n)
{
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_kaddr(w, "addr", v[i].addr);
		json_kstr(w, "value", v[i].value);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void json(FILE *f, const vm_map *m, vm_target *t, vm_symbolizer *s, const vm_env *e)
{
	json_writer *w = xmalloc(sizeof *w);
	json_init(w, f, true);
	json_obj_begin(w);
	json_kstr(w, "exe", m->info.exe);
	json_kstr(w, "cwd", m->info.cwd);
	strings_json(w, "argv", e->argv, e->nargv);
	strings_json(w, "envp", e->initial, e->ninitial);
	if (e->area_overwritten) {
		json_kbool(w, "area_overwritten", true);
		json_kstr(w, "area_now", e->area_now);
	}
	json_key(w, "environ");
	json_obj_begin(w);
	json_kbool(w, "valid", e->live_valid);
	if (e->live_valid) {
		json_kaddr(w, "variable", e->environ_var);
		json_kaddr(w, "array", e->environ_array);
		strings_json(w, "live", e->live, e->nlive);
		json_key(w, "added");
		json_arr_begin(w);
		for (size_t i = 0; i < e->nlive; i++)
			if (state_of(e, &e->live[i]) == ADDED)
				json_str(w, e->live[i].value);
		json_arr_end(w);
		json_key(w, "changed");
		json_arr_begin(w);
		for (size_t i = 0; i < e->nlive; i++)
			if (state_of(e, &e->live[i]) == CHANGED) {
				json_obj_begin(w);
				json_kstr(w, "live", e->live[i].value);
				json_kstr(w, "initial", by_name(e->initial, e->ninitial, e->live[i].value)->value);
				json_obj_end(w);
			}
		json_arr_end(w);
		json_key(w, "removed");
		json_arr_begin(w);
		for (size_t i = 0; i < e->ninitial; i++)
			if (!by_name(e->live, e->nlive, e->initial[i].value))
				json_str(w, e->initial[i].value);
		json_arr_end(w);
	} else {
		json_kstr(w, "note", e->live_note);
	}
	json_obj_end(w);
	json_key(w, "auxv");
	json_arr_begin(w);
	for (size_t i = 0; i < e->nauxv; i++) {
		const vm_auxv *a = &e->auxv[i];
		json_obj_begin(w);
		json_ku64(w, "type", a->type);
		json_kstr(w, "name", vm_auxv_name(a->type));
		json_kaddr(w, "value", a->value);
		if (vm_auxv_is_string(a->type)) {
			char buf[512] = "";
			ssize_t n = vm_read(t, a->value, buf, sizeof buf - 1);
			buf[n > 0 ? n : 0] = 0;
			json_kstr(w, "string", buf);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "link_map");
	json_arr_begin(w);
	for (int k = 0;; k++) {
		const vm_module *mod = NULL;
		for (size_t i = 0; i < m->nmodules; i++)
			if (m->modules[i].loader_index == k)
				mod = &m->modules[i];
		if (!mod)
			break;
		json_obj_begin(w);
		json_kaddr(w, "addr", mod->loader_entry);
		json_kaddr(w, "l_addr", mod->load_bias);
		json_kaddr(w, "l_ld", mod->dynamic);
		json_kstr(w, "name", mod->loader_name ? mod->loader_name : mod->path);
		json_kstr(w, "module", mod->name);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "vdso");
	json_arr_begin(w);
	const vm_export *xs;
	size_t nx = vm_exports(s, &xs);
	for (size_t i = 0; i < nx; i++)
		if (strcmp(xs[i].module->name, "linux-vdso.so.1") == 0) {
			json_obj_begin(w);
			json_kstr(w, "name", xs[i].name);
			json_kaddr(w, "addr", xs[i].addr);
			json_ku64(w, "size", xs[i].size);
			json_obj_end(w);
		}
	json_arr_end(w);
	json_obj_end(w);
	json_done(w);
	free(w);
}

/* ---- Windows: the PEB and its process parameters ---- */

/* what the target lists of modules the process had unloaded */
static void unloaded(vm_target *t, vm_module **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if ((vm_target_caps(t) & VM_CAP_UNLOADED) && vm_target_unloaded_modules(t, v, n) < 0)
		*n = 0;
}

static void free_modules(vm_module *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

static void opt_addr(json_writer *w, const char *key, uint64_t v, bool known)
{
	json_key(w, key);
	known ? json_addr(w, v) : json_null(w);
}

static void win_json(FILE *f, const vm_map *m, vm_target *t, const vm_win_env *e)
{
	json_writer w;
	json_init(&w, f, true);
	json_obj_begin(&w);
	json_kstr(&w, "exe", m->info.exe);
	json_key(&w, "peb");
	json_obj_begin(&w);
	/* what the dump lacks is null, not 0x0 */
	opt_addr(&w, "addr", e->peb, e->peb != 0);
	opt_addr(&w, "teb", e->teb, e->teb != 0);
	json_key(&w, "BeingDebugged");
	e->have_being_debugged ? json_i64(&w, e->being_debugged) : json_null(&w);
	opt_addr(&w, "ImageBaseAddress", e->image_base, e->have_fields);
	opt_addr(&w, "Ldr", e->ldr, e->have_fields);
	opt_addr(&w, "ProcessParameters", e->params, e->have_fields);
	opt_addr(&w, "ProcessHeap", e->process_heap, e->have_process_heap);
	json_key(&w, "NumberOfHeaps");
	e->have_nheaps ? json_i64(&w, e->nheaps_claimed) : json_null(&w);
	opt_addr(&w, "ProcessHeaps", e->heaps_array, e->have_heaps_array);
	json_obj_end(&w);
	if (e->ldr_note)
		json_kstr(&w, "loader_list_note", e->ldr_note);
	json_kstr(&w, "command_line", e->command_line.value);
	json_kstr(&w, "image_path", e->image_path.value);
	json_kstr(&w, "current_directory", e->current_directory.value);
	json_kaddr(&w, "environment_block", e->environment);
	json_key(&w, "environment");
	json_arr_begin(&w);
	for (size_t i = 0; i < e->nenv; i++) {
		json_obj_begin(&w);
		json_kaddr(&w, "addr", e->env[i].addr);
		json_kstr(&w, "value", e->env[i].value);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "heaps");
	json_arr_begin(&w);
	for (size_t i = 0; i < e->nheaps; i++)
		json_addr(&w, e->heaps[i]);
	json_arr_end(&w);
	json_key(&w, "loader_list");
	json_arr_begin(&w);
	for (size_t i = 0; i < e->nldr; i++) {
		const vm_win_ldr_entry *x = &e->ldr_list[i];
		json_obj_begin(&w);
		json_kaddr(&w, "entry", x->addr);
		json_kaddr(&w, "base", x->base);
		json_ku64(&w, "size", x->size);
		json_kaddr(&w, "entry_point", x->entry);
		json_kstr(&w, "full_name", x->full_name);
		json_kstr(&w, "base_name", x->base_name);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	if (m->info.win.handles >= 0)
		json_ki64(&w, "handles", m->info.win.handles);
	vm_win_handle *hl;
	size_t nh;
	if ((vm_target_caps(t) & VM_CAP_HANDLES) && vm_target_handles(t, &hl, &nh) == 0) {
		json_key(&w, "handle_list");
		json_arr_begin(&w);
		for (size_t i = 0; i < nh; i++) {
			json_obj_begin(&w);
			json_kaddr(&w, "handle", hl[i].handle);
			json_kstr(&w, "type", hl[i].type);
			json_kstr(&w, "name", hl[i].name);
			json_ku64(&w, "attributes", hl[i].attributes);
			json_ku64(&w, "granted_access", hl[i].granted_access);
			json_ku64(&w, "handle_count", hl[i].handle_count);
			json_ku64(&w, "pointer_count", hl[i].pointer_count);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		vm_win_handles_free(hl, nh);
	}
	vm_module *um;
	size_t nu;
	unloaded(t, &um, &nu);
	json_key(&w, "unloaded_modules");
	json_arr_begin(&w);
	for (size_t i = 0; i < nu; i++) {
		json_obj_begin(&w);
		json_kaddr(&w, "base", um[i].base);
		json_ku64(&w, "size", um[i].size);
		json_kstr(&w, "path", um[i].path);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	free_modules(um, nu);
	json_kstr(&w, "note", e->note);
	json_obj_end(&w);
	json_done(&w);
}

static void win_text(const vm_map *m, vm_target *t, const vm_win_env *e)
{
	int aw = m->info.bits == 32 ? 8 : 16;
	vm_module *um;
	size_t nu;
	unloaded(t, &um, &nu);
	if (m->info.win.handles >= 0)
		printf("handles: %lld open\n", (long long)m->info.win.handles);
	vm_win_handle *hl;
	size_t nh;
	if ((vm_target_caps(t) & VM_CAP_HANDLES) && vm_target_handles(t, &hl, &nh) == 0) {
		for (size_t i = 0; i < nh; i++)
			printf("  %6llx  %-16s access %08x  %s\n", (unsigned long long)hl[i].handle,
			       hl[i].type ? hl[i].type : "?", hl[i].granted_access, hl[i].name ? hl[i].name : "");
		vm_win_handles_free(hl, nh);
	}
	if (nu) {
		printf("unloaded modules: %zu\n", nu);
		for (size_t i = 0; i < nu; i++)
			printf("  %0*llx %9llu  %s\n", aw, (unsigned long long)um[i].base, (unsigned long long)um[i].size,
			       um[i].path ? um[i].path : "?");
	}
	free_modules(um, nu);
	if (!e->peb) {
		printf("PEB: not found (%s)\n", e->note);
		return;
	}
	printf("PEB %0*llx (through the TEB at %0*llx)%s\n", aw, (unsigned long long)e->peb, aw,
	       (unsigned long long)e->teb, e->being_debugged ? ", being debugged" : "");
	printf("  image base %0*llx, loader data %0*llx, process parameters %0*llx\n", aw,
	       (unsigned long long)e->image_base, aw, (unsigned long long)e->ldr, aw, (unsigned long long)e->params);
	printf("command line       %s\n", e->command_line.value ? e->command_line.value : "?");
	printf("image path         %s\n", e->image_path.value ? e->image_path.value : "?");
	printf("current directory  %s\n", e->current_directory.value ? e->current_directory.value : "?");
	if (!e->nheaps_claimed && e->process_heap)
		/* Windows lists the process heap there at least; Wine 8 leaves
		 * NumberOfHeaps and ProcessHeaps 0 in both bitnesses */
		printf("\nheaps: 0 (the PEB lists none, as under Wine; `vmatlas heap` finds them from the process "
		       "heap); the process heap is %0*llx\n",
		       aw, (unsigned long long)e->process_heap);
	else
		printf("\nheaps: %zu (the PEB says %u); the process heap is %0*llx\n", e->nheaps, e->nheaps_claimed, aw,
		       (unsigned long long)e->process_heap);
	for (size_t i = 0; i < e->nheaps; i++)
		printf("  [%zu] %0*llx\n", i, aw, (unsigned long long)e->heaps[i]);
	printf("\nenvironment: %zu strings at %0*llx\n", e->nenv, aw, (unsigned long long)e->environment);
	for (size_t i = 0; i < e->nenv; i++)
		printf("    %0*llx  %s\n", aw, (unsigned long long)e->env[i].addr, e->env[i].value);
	printf("\nloader's module list (PEB_LDR_DATA, load order): %zu\n", e->nldr);
	for (size_t i = 0; i < e->nldr; i++)
		printf("  %0*llx %9llu  %s\n", aw, (unsigned long long)e->ldr_list[i].base,
		       (unsigned long long)e->ldr_list[i].size,
		       e->ldr_list[i].full_name ? e->ldr_list[i].full_name : "?");
	if (e->ldr_note)
		cli_warn("%s", e->ldr_note);
}

void cli_env_json(FILE *f, const vm_map *m, vm_target *t, vm_symbolizer *sym)
{
	if (m->info.os == VM_OS_WINDOWS) {
		vm_win_env we;
		vm_win_env_read(m, t, &we);
		win_json(f, m, t, &we);
		vm_win_env_free(&we);
		return;
	}
	vm_symbolizer *s = sym ? sym : vm_symbolizer_new(m, t, 0);
	vm_env e;
	vm_env_read(m, t, s, &e);
	json(f, m, t, s, &e);
	vm_env_free(&e);
	if (s != sym)
		vm_symbolizer_free(s);
}

static int env_run(cli_ctx *ctx)
{
	vm_map *m = ctx->m;
	vm_target *t = ctx->t;
	if (m->info.os == VM_OS_WINDOWS) {
		vm_win_env we;
		vm_win_env_read(m, t, &we);
		if (ctx->json)
			win_json(stdout, m, t, &we);
		else
			win_text(m, t, &we);
		vm_win_env_free(&we);
		return 0;
	}
	vm_symbolizer *s = vm_symbolizer_new(m, t, 0);
	vm_env e;
	vm_env_read(m, t, s, &e);
	if (ctx->json)
		json(stdout, m, t, s, &e);
	else
		text(m, t, s, &e);
	fflush(stdout);
	vm_env_free(&e);
	vm_symbolizer_free(s);
	return 0;
}

const cli_command cli_cmd_env = {
	.name = "env",
	.summary = "argv, environment (initial and live), auxv, loader list, vdso",
	.usage = "[OPTIONS] TARGET\n[OPTIONS] -- PROGRAM [ARGS...]",
	.about = "The process environment: argv and the environment strings (and where\n"
		 "they live), the live environment (libc's environ, after setenv and\n"
		 "putenv) beside the initial one with the differences marked, the\n"
		 "auxiliary vector by name, exe and cwd, the dynamic loader's list\n"
		 "(r_debug/link_map), and the vdso's exports. For a Windows process or\n"
		 "minidump: the PEB, its process parameters, heaps and loader list.\n",
	.needs = CLI_TARGET | CLI_MAP,
	.mo = { .no_stats = true },
	.run = env_run,
};
