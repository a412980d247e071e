/* The small results: ok, errors, the end of a session, a new
 * breakpoint, a value, the help. */
#include "cmdi.h"

#include "base/json.h"
#include "vmatlas/error.h"

void show_json_begin(cmd_out *o, json_writer *w, bool ok)
{
	json_init(w, o->f, false);
	json_obj_begin(w);
	json_kstr(w, "command", o->name);
	json_kbool(w, "ok", ok);
}

void show_json_end(json_writer *w)
{
	json_obj_end(w);
	json_done(w);
}

void show_ok(cmd_out *o)
{
	if (!o->json)
		return;
	json_writer w;
	show_json_begin(o, &w, true);
	show_json_end(&w);
}

void show_error(cmd_out *o)
{
	if (!o->json) {
		fprintf(o->f, "error: %s\n", vm_error());
		return;
	}
	json_writer w;
	show_json_begin(o, &w, false);
	json_kstr(&w, "error", vm_error());
	show_json_end(&w);
}

void show_end(cmd_out *o, const char *what, int rc)
{
	if (!o->json) {
		if (rc < 0)
			fprintf(o->f, "error: %s\n", vm_error());
		else
			fprintf(o->f, "%s\n", what);
		return;
	}
	json_writer w;
	show_json_begin(o, &w, rc == 0);
	json_kstr(&w, "result", what);
	if (rc < 0)
		json_kstr(&w, "error", vm_error());
	show_json_end(&w);
}

void show_bp_set(cmd_out *o, int id)
{
	vm_bp_info *v;
	size_t n = vm_dbg_breakpoints(o->d, &v);
	for (size_t i = 0; i < n; i++) {
		if (v[i].id != id)
			continue;
		if (!o->json && v[i].pending) {
			fprintf(o->f, "breakpoint %d pending: %s (set when a module that has it is loaded)\n", id,
				v[i].expr);
			return;
		}
		if (!o->json) {
			if (v[i].access)
				fprintf(o->f, "memory breakpoint %d at 0x%llx, %llu bytes (%s): %s\n", id,
					(unsigned long long)v[i].addr, (unsigned long long)v[i].mlen,
					v[i].kind == VM_BP_MEM ? (v[i].uffd ? "userfaultfd write-protection" : "page protection") : "debug register", v[i].where);
			else
				fprintf(o->f, "%s %d at 0x%llx: %s\n", v[i].kind == VM_BP_WATCH ? "watchpoint" : "breakpoint", id,
					(unsigned long long)v[i].addr, v[i].where);
			return;
		}
		json_writer w;
		show_json_begin(o, &w, true);
		json_ki64(&w, "id", id);
		if (v[i].pending) {
			json_kbool(&w, "pending", true);
			show_json_end(&w);
			return;
		}
		json_kaddr(&w, "addr", v[i].addr);
		json_kstr(&w, "where", v[i].where);
		if (v[i].kind == VM_BP_WATCH)
			json_ki64(&w, "slot", v[i].slot);
		if (v[i].access)
			json_kbool(&w, "pages", v[i].kind == VM_BP_MEM);
		show_json_end(&w);
	}
}

int show_value(cmd_out *o, uint64_t v)
{
	char where[256] = "";
	vm_symbol_info si;
	vm_symbolizer *s = vm_dbg_symbols(o->d);
	bool named = s && vm_symbolize(s, v, &si) && (si.symbol || si.module);
	if (named)
		vm_symbol_format(&si, v, where, sizeof where);
	if (!o->json) {
		fprintf(o->f, "0x%llx (%lld)%s%s\n", (unsigned long long)v, (long long)v, named ? " " : "", where);
		return 0;
	}
	json_writer w;
	show_json_begin(o, &w, true);
	json_kaddr(&w, "value", v);
	json_ki64(&w, "signed", (int64_t)v);
	if (named)
		json_kstr(&w, "where", where);
	show_json_end(&w);
	return 0;
}

static const char help[] =
	"break EXPR [if COND] [pass N] [log \"TEXT {EXPR}\"] [group NAME]   tbreak EXPR\n"
	"watch EXPR [LEN 1|2|4|8] [w|rw|x]   hbreak EXPR (watch EXPR x: a debug register)\n"
	"bpm r|w|rw|x EXPR LEN [if COND] [pass N] [log \"TEXT\"] [group NAME] [--pages] [--fast] [--uffd]\n"
	"  [--guard] (a guard page: Windows' PAGE_GUARD)\n"
	"  info bpm   set bpm-mode stop|fast (fast: the other threads run while one steps over a\n"
	"  lifted page, and may touch it unseen; --uffd: w only, userfaultfd write-protection)\n"
	"  set bpm-emulate on|off (off: no fault's instruction emulated, every one stepped)\n"
	"delete ID|all   enable|disable ID|group NAME\n"
	"info breakpoints|registers|threads   continue   stepi [N]   nexti [N]   step [N]   next [N]\n"
	"finish   until EXPR   thread [TID]   bt [N|-N]   stack [N]   regs [avx|all]   set REG = EXPR\n"
	"print EXPR   set syntax att|intel (disasm's syntax)   set follow-fork child|parent\n"
	"mem EXPR [N] [u8|u16|u32|u64|f32|f64|f80|ascii|utf16|ptr]   write EXPR HEXBYTES\n"
	"disasm [EXPR [N]]   handle SIG stop|nostop|pass|nopass|noprint   detach   kill   quit\n"
	"EXPR: numbers, registers (rax eax ax al, ZF ...), module!symbol, module+RVA,\n"
	"[EXPR], byte|word|dword|qword [EXPR], + - * / % & | ^ << >> == != < <= > >= && || ! ~\n";

int show_help(cmd_out *o)
{
	if (!o->json) {
		fputs(help, o->f);
		return 0;
	}
	json_writer w;
	show_json_begin(o, &w, true);
	json_kstr(&w, "help", help);
	show_json_end(&w);
	return 0;
}
