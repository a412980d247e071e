/* The debugger engine: a session over one controlled process (attached or
 * launched), on the execution-control interface (control.h). Front ends
 * (the batch mode of `vmatlas debug`, a CPU window) are thin layers over
 * it:
 *
 *   vm_dbg *d = vm_dbg_open(target, &opts);      // all threads stopped
 *   vm_dbg_set_sink(d, on_event, ui);            // events as they happen
 *   vm_dbg_break(d, "main", &spec, &id);         // typed calls ...
 *   vm_dbg_continue(d);                          // runs until a stop
 *   vm_dbg_exec(d, "mem rsp 32 u64", out);       // ... or command lines
 *   vm_dbg_close(d, VM_DBG_DETACH);              // every int3/DR undone
 *
 * Threading: a session is used from one thread. Every call that runs the
 * target (continue, step*, finish, until) returns when the target stops
 * again (a breakpoint, a step's end, a signal set to stop, a crash, the
 * exit) and the session's current thread is the one that stopped; the
 * events met on the way went to the sink first. vm_dbg_interrupt() may be
 * called from a signal handler or another thread to make a running call
 * stop (the `pause` of a UI).
 *
 * Memory reads through the session (vm_dbg_read, mem, disasm, bt) show the
 * original bytes: inserted int3s are masked. Errors: -1 with vm_error().
 *
 * Lifetimes: an event and the strings it points to live for the sink call
 * only; vm_dbg_map and vm_dbg_symbols are rebuilt when modules come and
 * go (a call that runs the target may do it), so do not keep them across
 * one; vm_dbg_breakpoints' array lives until the next call to it. */
#ifndef VMATLAS_DEBUG_H
#define VMATLAS_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control.h"
#include "map.h"
#include "symbols.h"
#include "target.h"

typedef struct vm_dbg vm_dbg;

typedef struct vm_dbg_event vm_dbg_event;
/* called as each event happens, from inside the session's calls: it may
 * read (vm_dbg_where, vm_dbg_print_event ...) but not change the session
 * (no breakpoints, no running) */
typedef void (*vm_dbg_sink)(void *arg, vm_dbg *d, const vm_dbg_event *ev);

typedef struct vm_dbg_options {
	bool launched;   /* the target was spawned by us: quit kills it */
	bool at_main;    /* launched: run on to main before returning */
	bool json;       /* vm_dbg_exec prints JSON lines */
	bool follow_child; /* a fork's child is debugged, the parent let go */
	unsigned sym_flags; /* the symbolizer's VM_SYM_* beyond lines (DEMANGLE) */
	vm_dbg_sink sink; /* events from the start (at_main's stop) */
	void *sink_arg;
} vm_dbg_options;

/* ---- events (the log pane; JSON lines in batch mode) ---- */

typedef enum vm_dbg_ev_kind {
	VM_DBG_EV_BREAK,        /* a breakpoint stopped the target (bp) */
	VM_DBG_EV_WATCH,        /* a watchpoint: data_addr, old, new */
	VM_DBG_EV_LOG,          /* a log-only breakpoint printed text */
	VM_DBG_EV_STEP,         /* a step/next/finish/until ended (pc) */
	VM_DBG_EV_SIGNAL,       /* a signal arrived (stopped: does it stop) */
	VM_DBG_EV_CRASH,        /* SIGSEGV/BUS/ILL/FPE/ABRT: fault addr, si_code */
	VM_DBG_EV_THREAD_START,
	VM_DBG_EV_THREAD_EXIT,
	VM_DBG_EV_MODULE_LOAD,  /* text: the module's name; addr: its base */
	VM_DBG_EV_MODULE_UNLOAD,
	VM_DBG_EV_FORK,         /* child: detached with every int3 removed */
	VM_DBG_EV_EXEC,         /* text: the new program; breakpoints dropped */
	VM_DBG_EV_EXIT,         /* code, or signal */
	VM_DBG_EV_RETURN,       /* finish: value is rax */
	VM_DBG_EV_INTERRUPT,    /* vm_dbg_interrupt stopped it */
} vm_dbg_ev_kind;

struct vm_dbg_event {
	vm_dbg_ev_kind kind;
	int64_t tid;
	uint64_t pc;
	char where[256];       /* pc as module!symbol+off */
	const char *file;      /* file:line of pc, NULL unknown */
	int line;
	int bp;                /* BREAK/WATCH/LOG: the breakpoint's id */
	uint64_t hits;         /* its hit count */
	uint64_t addr;         /* WATCH: the data; CRASH: si_addr; MODULE: base */
	uint64_t old_value, new_value, value; /* WATCH; RETURN: value */
	int len;               /* WATCH: bytes */
	int signal, code;      /* SIGNAL/CRASH: number, si_code; EXIT: signal */
	uint32_t exception;    /* SIGNAL/CRASH on Windows: the exception's code */
	int status;            /* EXIT: exit status */
	bool stopped;          /* the session stopped for it */
	int64_t child;         /* FORK: the child's pid */
	bool vfork;
	bool followed;         /* FORK: the session follows the child now */
	const char *text;      /* LOG: the text; MODULE/EXEC: name or path */
	/* WATCH of a memory breakpoint (bpm): the access that hit, made by
	 * the instruction at pc (already run); addr/len are its data range */
	int access;            /* VM_BPM_READ, _WRITE or _EXEC; 0: a watch */
	bool by_pages;         /* caught by page protection (else a DR) */
	char insn[96];         /* the instruction's disassembly */
	int nbytes;            /* bytes in old_bytes/new_bytes (writes) */
	uint8_t old_bytes[32], new_bytes[32];
};


/* ---- the session ---- */

/* Take control of t (vm_control_open): every thread stopped, the map and
 * symbols built, the dynamic linker's breakpoint set. */
vm_dbg *vm_dbg_open(vm_target *t, const vm_dbg_options *o);
void vm_dbg_set_sink(vm_dbg *d, vm_dbg_sink fn, void *arg);
typedef enum { VM_DBG_DETACH, VM_DBG_KILL, VM_DBG_QUIT } vm_dbg_end;
/* detach (every int3 and debug register removed, the process runs on),
 * kill, or quit (kill if launched, else detach); frees d. The target
 * stays open: vm_target_close it after (a launched program left running
 * by detach is killed there unless it was spawned with keep). */
int vm_dbg_close(vm_dbg *d, vm_dbg_end how);
/* async-signal-safe, from another thread or a signal handler while a
 * continue/step runs: make it return (an INTERRUPT stop; a SIGSTOP is
 * sent and swallowed). False when nothing runs: nothing was asked. */
bool vm_dbg_interrupt(vm_dbg *d);
/* the same, when the target got the Ctrl-C too (it shares the console or
 * the terminal's process group): no SIGSTOP is sent, the target's own
 * SIGINT (a Windows console's DBG_CONTROL_C) is the INTERRUPT stop. After
 * vm_dbg_interrupt, a SIGINT that comes first is the stop as well, and
 * the SIGSTOP then swallowed when it comes. */
bool vm_dbg_interrupt_expect(vm_dbg *d);
/* async-signal-safe: did the target's own Ctrl-C (it shares the console)
 * come first and make the pause already? Then the Ctrl-C a console
 * handler is now told of is that one, done (Windows runs the handler on
 * a thread of its own, after the debug event at times, even after the
 * session ended). Asked once; no session needed. */
bool vm_dbg_ctrl_seen(void);
/* the command line ends the session (quit, kill, detach): vm_dbg_exec
 * frees d; a front end forgets it first where a handler could see it */
bool vm_dbg_ends_session(const char *line);
/* a front end that shows the target running before it calls continue or
 * a step brackets the call with these (they nest), so that a pause asked
 * as soon as it shows is taken; every such call brackets itself too */
void vm_dbg_run_begin(vm_dbg *d);
void vm_dbg_run_end(vm_dbg *d);

bool vm_dbg_alive(const vm_dbg *d);          /* not exited or killed */
int64_t vm_dbg_pid(const vm_dbg *d);
int64_t vm_dbg_thread(const vm_dbg *d);      /* the current thread */
int vm_dbg_set_thread(vm_dbg *d, int64_t tid);
/* the threads, in the order found; the array is the session's (valid
 * until the target runs) */
size_t vm_dbg_threads(vm_dbg *d, const int64_t **tids);
const vm_map *vm_dbg_map(vm_dbg *d);
vm_symbolizer *vm_dbg_symbols(vm_dbg *d);
/* "libc.so.6!malloc+0x4" (and file:line when known) */
void vm_dbg_where(vm_dbg *d, uint64_t addr, char *buf, size_t n, const char **file, int *line);

/* ---- registers (of the current thread) ---- */

int vm_dbg_regs(vm_dbg *d, vm_regs *r);
/* x87/SSE (FXSAVE image) and the XSAVE image (AVX ...: its length) */
int vm_dbg_fpregs(vm_dbg *d, vm_fpregs *f);
ssize_t vm_dbg_xstate(vm_dbg *d, void *buf, size_t cap);
/* the event the session last stopped for (kind, thread, pc ...) */
const vm_dbg_event *vm_dbg_last_stop(vm_dbg *d);
/* by name: rax eax ax al ah ... r8d r8w r8b, rip, eflags, CF ZF ... fs_base */
int vm_dbg_reg_get(vm_dbg *d, const char *name, uint64_t *v);
int vm_dbg_reg_set(vm_dbg *d, const char *name, uint64_t v);

/* ---- memory ---- */

/* the original bytes (int3s masked); bytes read */
ssize_t vm_dbg_read(vm_dbg *d, uint64_t addr, void *buf, size_t len);
/* write (a breakpoint in the range keeps its int3, the new byte becomes
 * its original) */
int vm_dbg_write(vm_dbg *d, uint64_t addr, const void *buf, size_t len);

/* ---- expressions: numbers, registers, module!symbol, module+RVA,
 * [EXPR], byte|word|dword|qword [EXPR], + - * / % & | ^ << >>, == != < <=
 * > >=, && || ! ~ unary -, parentheses ---- */

int vm_dbg_eval(vm_dbg *d, const char *text, uint64_t *out);

/* ---- breakpoints ---- */

typedef enum { VM_BP_CODE, VM_BP_WATCH, VM_BP_MEM } vm_bp_kind;

/* the accesses a memory breakpoint (bpm) catches */
#define VM_BPM_READ  1
#define VM_BPM_WRITE 2
#define VM_BPM_RW    3
#define VM_BPM_EXEC  4

typedef struct vm_bp_spec {
	bool temporary;        /* tbreak: deleted at its first stop */
	const char *cond;      /* stop only when true; NULL always */
	uint64_t pass;         /* stop from the pass-th hit on (0, 1: first) */
	const char *log;       /* log-only: print "TEXT {EXPR}" and go on */
	const char *group;
	/* watchpoints */
	int len;               /* 1 2 4 8 */
	int rw;                /* VM_DR_RW_WRITE, VM_DR_RW_RW, VM_DR_RW_EXEC */
	bool pages;            /* bpm: page protection even where a DR fits */
	bool fast;             /* bpm: step over a lifted page with the other
				* threads running (they may touch it unseen) */
	bool uffd;             /* bpm w: userfaultfd write-protection */
	bool guard;            /* bpm: a guard page (Windows PAGE_GUARD, any
				* access; the target must have them) */
} vm_bp_spec;

typedef struct vm_bp_info {
	int id;
	vm_bp_kind kind;
	uint64_t addr;
	char where[256];
	bool enabled, temporary;
	uint64_t hits;
	const char *cond, *log, *group, *expr;
	int len, rw;
	int slot;              /* watch: the debug register */
	bool pending;          /* its symbol's module is not loaded yet */
	/* made by bpm: its access (VM_BPM_*, 0 not a bpm), its length, and
	 * whether it is by page protection (kind VM_BP_MEM) or a DR */
	int access;
	uint64_t mlen;
	bool fast, uffd, guard; /* bpm: see vm_bp_spec */
} vm_bp_info;

/* a name no loaded module has makes a pending breakpoint, set when a
 * module that has it is loaded */
int vm_dbg_break(vm_dbg *d, const char *expr, const vm_bp_spec *s, int *id);
int vm_dbg_watch(vm_dbg *d, const char *expr, const vm_bp_spec *s, int *id);
/* a memory breakpoint on [EXPR, EXPR+len), access VM_BPM_*: a debug
 * register when the range is one aligned 1/2/4/8 slot that one fits (and
 * the access is not read-only), else page protection (s->pages forces
 * it): the pages under the range lose the access watched and every fault
 * there is decoded; hits are VM_DBG_EV_WATCH events with access set. The
 * original protections come back when the last breakpoint on a page goes
 * and on close. vsyscall/vdso/vvar pages are refused. */
int vm_dbg_bpm(vm_dbg *d, int access, const char *expr, uint64_t len, const vm_bp_spec *s, int *id);
/* how the faults on watched pages were handled: done by emulating the
 * instruction, stepped over a lifted page, caught by userfaultfd */
typedef struct vm_bpm_counts {
	uint64_t emulated, stepped, uffd;
} vm_bpm_counts;
void vm_dbg_bpm_counts(vm_dbg *d, vm_bpm_counts *c);
/* fast: a step over a lifted page lets the other threads run (faster for
 * them; they may read or write that page unseen meanwhile); else all-stop */
void vm_dbg_set_bpm_fast(vm_dbg *d, bool fast);
bool vm_dbg_bpm_fast(vm_dbg *d);
/* on (the default): the common data instructions that fault on a watched
 * page are emulated, not stepped over a lifted page (off: for comparing) */
void vm_dbg_set_bpm_emulate(vm_dbg *d, bool on);
/* id 0: all */
int vm_dbg_delete(vm_dbg *d, int id);
int vm_dbg_enable(vm_dbg *d, int id, bool on);
int vm_dbg_enable_group(vm_dbg *d, const char *group, bool on);
/* the breakpoints in id order; *out is the session's until the next change */
size_t vm_dbg_breakpoints(vm_dbg *d, vm_bp_info **out);
/* is there an enabled code breakpoint at addr (the disassembly's marks) */
bool vm_dbg_has_break(vm_dbg *d, uint64_t addr);

/* ---- running ---- */

int vm_dbg_continue(vm_dbg *d);
int vm_dbg_stepi(vm_dbg *d, uint64_t n);
int vm_dbg_nexti(vm_dbg *d);
int vm_dbg_step_line(vm_dbg *d, bool over_calls); /* step / next */
/* 0 and *ret (rax) when the function returned; 1 when something else
 * stopped the target first (its event went to the sink) */
int vm_dbg_finish(vm_dbg *d, uint64_t *ret);
int vm_dbg_until(vm_dbg *d, uint64_t addr);

/* a fork's child: followed (the parent let go, with every int3 and
 * debug register removed from it, and left running), or let go (the
 * default); a vfork's child is always let go */
void vm_dbg_follow_fork(vm_dbg *d, bool child);

/* signals: stop (report and stop), pass (deliver it to the target),
 * print (report it; as gdb's, noprint implies nostop, stop print) */
int vm_dbg_handle(vm_dbg *d, int sig, int stop, int pass, int print); /* -1: leave */

/* ---- call stack of the current thread ---- */

typedef struct vm_dbg_frame {
	uint64_t pc, sp;
} vm_dbg_frame;
/* the caller frees *out */
int vm_dbg_backtrace(vm_dbg *d, vm_dbg_frame **out, size_t *n);

/* ---- disassembly (Zydis, Intel syntax) ---- */

typedef struct vm_dbg_insn {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[15];
	char text[160];        /* "call libc.so.6!malloc" */
	uint64_t target;       /* a branch's target, 0 none */
	uint64_t ref;          /* a rip-relative operand's address, 0 none */
	bool is_call, is_branch;
} vm_dbg_insn;

/* one instruction decoded from code[0, len) placed at addr (no names);
 * its length, 0 when it does not decode ("(bad)", len 1) */
size_t vm_disasm_buf(const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out);
/* n instructions from addr (original bytes); the count decoded */
size_t vm_dbg_disasm(vm_dbg *d, uint64_t addr, size_t n, vm_dbg_insn *out);

/* ---- for the front ends: syntax, AVX, f80, values named ---- */

/* the syntax vm_dbg_disasm uses (Intel by default; `set syntax att`):
 * targets are named the same way in both */
void vm_dbg_set_att(vm_dbg *d, bool att);
bool vm_dbg_att(const vm_dbg *d);
/* ymm0-15 (ymm0-7 for i386) of the current thread, each 32 bytes little
 * endian (the low halves from FXSAVE, the high ones from XSAVE): the
 * count, 0 when the CPU or the target has no AVX state, -1 error */
int vm_dbg_ymm(vm_dbg *d, uint8_t out[16][32]);
/* an x87 extended value (10 bytes) as text: %.21Lg of its value (a
 * pseudo-denormal as the x87 reads it), inf, nan, or the name of an
 * encoding the x87 refuses (unnormal, pseudo-inf, pseudo-nan); buf */
const char *vm_f80_format(const uint8_t b[10], char *buf, size_t n);
/* what a value points at, for the stack pane and the stack command:
 * "module!symbol+0x10", "heap chunk 0x... (in use, 48 B)+0x8", "stack of
 * thread N", a region's path or usage, or "" (nothing mapped). A namer
 * walks the heap once, at its first heap question; make one per stop
 * (the heap changes when the target runs) */
typedef struct vm_dbg_namer vm_dbg_namer;
vm_dbg_namer *vm_dbg_namer_new(vm_dbg *d);
void vm_dbg_name_value(vm_dbg_namer *nm, uint64_t v, char *buf, size_t n);
void vm_dbg_namer_free(vm_dbg_namer *nm);

/* ---- the command language (batch mode, the CPU window's ':' line) ---- */

/* Run one command line, printing its result (text, or one JSON object a
 * line with o.json) to out; events go to the sink. 0, -1 error (already
 * printed to out as the command's result), 1 when the command ends the
 * session (detach, kill, quit: d is closed and must not be used). */
int vm_dbg_exec(vm_dbg *d, const char *line, FILE *out);
/* print an event as vm_dbg_exec does (text or JSON per the options) */
void vm_dbg_print_event(vm_dbg *d, const vm_dbg_event *ev, FILE *out);

#endif
