/* Events as people and programs read them: one line of text, or one
 * JSON object a line ({"event": "breakpoint", ...}; docs/json.md). */
#include "dbg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/util.h"

const char *dbg_signame(int sig)
{
	static char buf[16];
	const char *s = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (!s) {
		snprintf(buf, sizeof buf, "SIG%d", sig);
		return buf;
	}
	snprintf(buf, sizeof buf, "SIG%s", s);
	return buf;
}

int dbg_signum(const char *name)
{
	uint64_t n;
	if (parse_u64(name, &n))
		return n > 0 && n < DBG_NSIG ? (int)n : -1;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (int s = 1; s < DBG_NSIG; s++) {
		const char *a = sigabbrev_np(s);
		if (a && !strcasecmp(a, name))
			return s;
	}
	return -1;
}

/* what si_code says, for the faults people meet */
static const char *code_name(int sig, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	default: break;
	}
	if (sig == SIGSEGV)
		return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : NULL;
	if (sig == SIGBUS)
		return code == BUS_ADRALN ? "BUS_ADRALN" : code == BUS_ADRERR ? "BUS_ADRERR" :
		       code == BUS_OBJERR ? "BUS_OBJERR" : NULL;
	if (sig == SIGFPE)
		return code == FPE_INTDIV ? "FPE_INTDIV" : code == FPE_INTOVF ? "FPE_INTOVF" :
		       code == FPE_FLTDIV ? "FPE_FLTDIV" : NULL;
	if (sig == SIGILL)
		return code == ILL_ILLOPC ? "ILL_ILLOPC" : code == ILL_ILLOPN ? "ILL_ILLOPN" :
		       code == ILL_PRVOPC ? "ILL_PRVOPC" : NULL;
	return NULL;
}

static const char *const kind_names[] = {
	[VM_DBG_EV_BREAK] = "breakpoint",   [VM_DBG_EV_WATCH] = "watchpoint",
	[VM_DBG_EV_LOG] = "log",            [VM_DBG_EV_STEP] = "stopped",
	[VM_DBG_EV_SIGNAL] = "signal",      [VM_DBG_EV_CRASH] = "crash",
	[VM_DBG_EV_THREAD_START] = "thread-start", [VM_DBG_EV_THREAD_EXIT] = "thread-exit",
	[VM_DBG_EV_MODULE_LOAD] = "module-load", [VM_DBG_EV_MODULE_UNLOAD] = "module-unload",
	[VM_DBG_EV_FORK] = "fork",          [VM_DBG_EV_EXEC] = "exec",
	[VM_DBG_EV_EXIT] = "exit",          [VM_DBG_EV_RETURN] = "return",
	[VM_DBG_EV_INTERRUPT] = "interrupt",
};

static void print_json(const vm_dbg_event *e, FILE *out)
{
	json_writer w;
	json_init(&w, out, false);
	json_obj_begin(&w);
	json_kstr(&w, "event", kind_names[e->kind]);
	json_ki64(&w, "tid", e->tid);
	if (e->pc) {
		json_kaddr(&w, "pc", e->pc);
		json_kstr(&w, "where", e->where);
		json_kstr(&w, "file", e->file);
		if (e->line)
			json_ki64(&w, "line", e->line);
	}
	json_kbool(&w, "stopped", e->stopped);
	switch (e->kind) {
	case VM_DBG_EV_BREAK:
	case VM_DBG_EV_LOG:
		json_ki64(&w, "id", e->bp);
		json_ku64(&w, "hits", e->hits);
		if (e->kind == VM_DBG_EV_LOG)
			json_kstr(&w, "text", e->text);
		break;
	case VM_DBG_EV_WATCH:
		json_ki64(&w, "id", e->bp);
		json_ku64(&w, "hits", e->hits);
		json_kaddr(&w, "addr", e->addr);
		json_ki64(&w, "len", e->len);
		json_kaddr(&w, "old", e->old_value);
		json_kaddr(&w, "new", e->new_value);
		if (e->access) {
			static const char *const acc[] = { "?", "r", "w", "rw", "x" };
			json_kstr(&w, "access", acc[e->access > 4 ? 0 : e->access]);
			json_kbool(&w, "pages", e->by_pages);
			if (e->insn[0])
				json_kstr(&w, "insn", e->insn);
			if (e->nbytes) {
				char ob[65], nb[65];
				for (int i = 0; i < e->nbytes; i++) {
					snprintf(ob + 2 * i, 3, "%02x", e->old_bytes[i]);
					snprintf(nb + 2 * i, 3, "%02x", e->new_bytes[i]);
				}
				json_kstr(&w, "old_bytes", ob);
				json_kstr(&w, "new_bytes", nb);
			}
		}
		break;
	case VM_DBG_EV_SIGNAL:
	case VM_DBG_EV_CRASH:
		json_kstr(&w, "signal", dbg_signame(e->signal));
		json_ki64(&w, "signo", e->signal);
		json_ki64(&w, "si_code", e->code);
		json_kstr(&w, "si_code_name", code_name(e->signal, e->code));
		if (e->exception)
			json_kaddr(&w, "exception", e->exception);
		if (e->kind == VM_DBG_EV_CRASH)
			json_kaddr(&w, "fault_addr", e->addr);
		break;
	case VM_DBG_EV_MODULE_LOAD:
	case VM_DBG_EV_MODULE_UNLOAD:
		json_kstr(&w, "name", e->text);
		json_kaddr(&w, "base", e->addr);
		break;
	case VM_DBG_EV_FORK:
		json_ki64(&w, "child", e->child);
		json_kbool(&w, "vfork", e->vfork);
		json_kbool(&w, "followed", e->followed);
		break;
	case VM_DBG_EV_EXEC:
		json_kstr(&w, "exe", e->text);
		break;
	case VM_DBG_EV_EXIT:
		json_ki64(&w, "status", e->status);
		if (e->signal)
			json_kstr(&w, "signal", dbg_signame(e->signal));
		break;
	case VM_DBG_EV_RETURN:
		json_kaddr(&w, "value", e->value);
		break;
	default:
		break;
	}
	json_obj_end(&w);
	json_done(&w);
}

static void print_text(const vm_dbg_event *e, FILE *out)
{
	char at[400];
	if (e->file && e->line)
		snprintf(at, sizeof at, "%s (%s:%d)", e->where, e->file, e->line);
	else
		snprintf(at, sizeof at, "%s", e->pc ? e->where : "?");
	const char *cn = code_name(e->signal, e->code);
	char exc[32] = "";
	if (e->exception)
		snprintf(exc, sizeof exc, ", exception 0x%08x", (unsigned)e->exception);
	switch (e->kind) {
	case VM_DBG_EV_BREAK:
		fprintf(out, "breakpoint %d, hit %llu, thread %lld at %s\n", e->bp, (unsigned long long)e->hits,
			(long long)e->tid, at);
		break;
	case VM_DBG_EV_WATCH:
		if (e->access) {
			static const char *const acc[] = { "?", "read", "write", "access", "execute" };
			/* a debug register's trap comes after the instruction,
			 * which it does not name */
			fprintf(out, "memory breakpoint %d, thread %lld, %s of %d bytes at 0x%llx %s %s%s%s", e->bp,
				(long long)e->tid, acc[e->access > 4 ? 0 : e->access], e->len, (unsigned long long)e->addr,
				e->by_pages || e->insn[0] || e->access == VM_BPM_EXEC ? "by" : "just before", at,
				e->insn[0] ? ": " : "", e->insn);
			if (e->nbytes) {
				fputs(", ", out);
				for (int i = 0; i < e->nbytes; i++)
					fprintf(out, "%02x", e->old_bytes[i]);
				fputs(" -> ", out);
				for (int i = 0; i < e->nbytes; i++)
					fprintf(out, "%02x", e->new_bytes[i]);
			}
			fputc('\n', out);
			break;
		}
		fprintf(out, "watchpoint %d, thread %lld, 0x%llx: 0x%llx -> 0x%llx at %s\n", e->bp, (long long)e->tid,
			(unsigned long long)e->addr, (unsigned long long)e->old_value,
			(unsigned long long)e->new_value, at);
		break;
	case VM_DBG_EV_LOG:
		fprintf(out, "%s\n", e->text);
		break;
	case VM_DBG_EV_STEP:
	case VM_DBG_EV_INTERRUPT:
		fprintf(out, "%s, thread %lld at %s\n", e->kind == VM_DBG_EV_STEP ? "stopped" : "interrupted",
			(long long)e->tid, at);
		break;
	case VM_DBG_EV_RETURN:
		fprintf(out, "returned, thread %lld at %s: rax = 0x%llx (%lld)\n", (long long)e->tid, at,
			(unsigned long long)e->value, (long long)e->value);
		break;
	case VM_DBG_EV_SIGNAL:
		fprintf(out, "signal %s%s%s%s, thread %lld at %s%s\n", dbg_signame(e->signal), cn ? " " : "",
			cn ? cn : "", exc, (long long)e->tid, at, e->stopped ? "" : " (not stopping)");
		break;
	case VM_DBG_EV_CRASH:
		fprintf(out, "crash: %s (%s, si_code %d%s) at address 0x%llx, thread %lld at %s\n",
			dbg_signame(e->signal), cn ? cn : "?", e->code, exc, (unsigned long long)e->addr,
			(long long)e->tid, at);
		break;
	case VM_DBG_EV_THREAD_START:
	case VM_DBG_EV_THREAD_EXIT:
		fprintf(out, "thread %lld %s\n", (long long)e->tid,
			e->kind == VM_DBG_EV_THREAD_START ? "started" : "exited");
		break;
	case VM_DBG_EV_MODULE_LOAD:
	case VM_DBG_EV_MODULE_UNLOAD:
		fprintf(out, "module %s: %s at 0x%llx\n", e->kind == VM_DBG_EV_MODULE_LOAD ? "loaded" : "unloaded",
			e->text, (unsigned long long)e->addr);
		break;
	case VM_DBG_EV_FORK:
		if (e->followed)
			fprintf(out, "fork: following child %lld (the parent detached, breakpoints removed from it)\n",
				(long long)e->child);
		else
			fprintf(out, "%s: child %lld detached (breakpoints removed from it)\n",
				e->vfork ? "vfork" : "fork", (long long)e->child);
		break;
	case VM_DBG_EV_EXEC:
		fprintf(out, "exec: %s (breakpoints dropped)\n", e->text ? e->text : "?");
		break;
	case VM_DBG_EV_EXIT:
		if (e->signal)
			fprintf(out, "process killed by %s\n", dbg_signame(e->signal));
		else
			fprintf(out, "process exited with status %d\n", e->status);
		break;
	}
}

void vm_dbg_print_event(vm_dbg *d, const vm_dbg_event *ev, FILE *out)
{
	if (d->o.json)
		print_json(ev, out);
	else
		print_text(ev, out);
}
