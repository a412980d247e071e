/* The debugger session's insides, shared by the files of src/debug/:
 * session.c (open, close, threads), modules.c (map and symbols),
 * access.c (registers, memory), bp.c (the breakpoint table), watch.c
 * (debug registers), logtext.c, run.c (continue, stepping over int3s),
 * handle.c (what each event means), emul.c, steps.c (stepi ... until),
 * dexpr.c (expressions), regs.c (registers by name), disasm.c (Zydis),
 * cmd.c and show*.c (the command language), events.c (printing). */
#ifndef VMATLAS_DEBUG_DBG_H
#define VMATLAS_DEBUG_DBG_H

#include <signal.h>
#include <stdatomic.h>

#include "vmatlas/debug.h"

/* a parsed expression (dexpr.c) */
typedef struct dx_node dx_node;
dx_node *dx_parse(vm_dbg *d, const char *text);
int dx_eval(vm_dbg *d, const dx_node *n, uint64_t *out);
void dx_free(dx_node *n);

/* a log text: literal pieces and {EXPR}s */
typedef struct dbg_log {
	char **lit;       /* nparts + 1 literals around the expressions */
	dx_node **ex;
	char *fmt;        /* per expression: 'd' decimal, 'x' hex, 's' string */
	size_t nparts;
} dbg_log;

typedef struct dbg_bp {
	int id;
	vm_bp_kind kind;
	char *expr, *cond_text, *log_text, *group;
	uint64_t addr;
	bool enabled, temporary;
	bool internal;        /* the r_debug breakpoint, or a run-to's */
	bool runto;           /* finish/until/nexti's: stop there if sp > runto_sp */
	bool pending;         /* its symbol is in no module loaded yet */
	char *gone_mod;       /* pending since this module was unloaded ... */
	uint64_t gone_off;    /* ... with the breakpoint this far into it */
	uint64_t hits, pass;
	dx_node *cond;
	dbg_log log;
	int len, rw, slot;
	uint64_t old_value;   /* watch: the value last seen */
	int access;           /* bpm: VM_BPM_* (0: not a bpm) */
	uint64_t mlen;        /* bpm: the range's length */
	bool fast;            /* bpm: stepped over with the other threads running */
	bool uffd;            /* bpm: by userfaultfd write-protection (bpm_uffd.c) */
	bool guard;           /* bpm: by a guard page (VM_PROT_GUARD) */
} dbg_bp;

/* the rest of the memory breakpoints' state: how faults on watched pages
 * were handled, the step's mode, the userfaultfd of write-only ones
 * (bpm_uffd.c), the file that tells other vmatlas processes the pages'
 * original protections (bpm_pub.c) */
typedef struct dbg_bpm_x {
	uint64_t emulated, stepped, uffd_faults;
	bool fast;            /* set bpm-mode fast: every step with the others running */
	bool no_emul;         /* set bpm-emulate off: every fault lifted and stepped */
	struct dbg_wp {
		uint64_t addr;
		bool on;      /* write-protected now (else lifted or disabled) */
	} *wp;                /* the pages under --uffd breakpoints */
	size_t nwp, wpcap;
	bool published;       /* bpm_pub.c: original protections told to other vmatlas */
	bool own_fault;       /* the next fault is the program's own (its instruction
			       * faulted with the pages as it set them) */
} dbg_bpm_x;

/* one page under memory breakpoints (bpm.c): its protection before we
 * came, and the one it has now (orig: no breakpoint needs a change) */
typedef struct dbg_page {
	uint64_t addr;
	unsigned orig, cur;
	bool journaled;      /* changed once with VM_CTL_RESTORE */
} dbg_page;

/* one inserted int3 (one per address, shared by breakpoints there) */
typedef struct dbg_site {
	uint64_t addr;
	uint8_t orig;
	bool journaled; /* written once with VM_CTL_RESTORE */
	bool in;        /* the int3 is in memory now */
	uint8_t code[16]; /* the original instruction there (emul.c) */
	uint8_t ncode;    /* 0: not read yet */
} dbg_site;

#define DBG_NSIG 65

struct vm_dbg {
	vm_target *t;
	vm_control *c;
	vm_dbg_options o;
	vm_map *m;
	vm_symbolizer *sym;
	vm_dbg_sink sink;
	void *sink_arg;
	_Atomic int64_t pid; /* atomic: vm_dbg_interrupt reads it from a signal handler */
	int bits;            /* 64, or 32 for an i386 process */
	int64_t *tids;
	size_t ntids;
	int64_t cur;
	atomic_bool alive;   /* not exited, not killed (read by vm_dbg_interrupt) */
	bool closing;        /* letting go: queued hits are put back, not reported */
	bool regs_ok;
	vm_regs regs;        /* of cur, while stopped */
	atomic_int interrupt; /* a pause asked: 1 a SIGSTOP sent, 2 none */
	/* a command that runs the target is under way (from its first
	 * step to its last, the pauses between its runs included): 1, 2
	 * while a vm_dbg_interrupt is asking; a pause is taken only then */
	atomic_int running;
	int run_depth;        /* dbg_run_begin calls not ended yet */
	bool stop_due;        /* the pause's SIGSTOP to come, swallowed */
	bool vfork_out;      /* int3s taken out for a vfork child */
	bool att;            /* vm_dbg_disasm in AT&T syntax */
	/* breakpoints */
	dbg_bp *bps;
	size_t nbps, bpcap;
	int next_id;
	dbg_site *sites;
	size_t nsites, sitecap;
	uint64_t dr7;        /* the watchpoints' DR7, set on every thread */
	uint64_t dr[4];
	vm_bp_info *info;    /* vm_dbg_breakpoints' answer */
	size_t ninfo;
	uint64_t r_debug;    /* _r_debug, 0 unknown */
	uint64_t r_brk;      /* where the dynamic linker's breakpoint sits */
	char **modnames;     /* the modules last seen (load/unload events) */
	uint64_t *modbases, *modsizes;
	size_t nmods;
	bool sig_stop[DBG_NSIG], sig_pass[DBG_NSIG];
	bool sig_quiet[DBG_NSIG]; /* not reported unless asked (SIGCHLD ...) */
	vm_dbg_event last;   /* the last stop, for the front end */
	/* the last address named (a breakpoint hit again and again) */
	uint64_t where_pc;
	char where[256];
	const char *where_file;
	int where_line;
	bool where_ok;
	uint64_t runto_sp;   /* a run-to stops when sp is above this ... */
	int64_t runto_tid;   /* ... in this thread */
	bool runto_hit;
	/* pages under memory breakpoints */
	dbg_page *pages;
	size_t npages, pagecap;
	/* a passed signal the session stopped for, delivered at the next
	 * continue (dbg_bpm_deliver) */
	int64_t deliver_tid;
	int deliver_sig;
	/* a system call on protected pages that blocked when run alone: it
	 * runs with the others, and is made again alone after EFAULT */
	int64_t blk_tid;
	uint64_t blk_pc;
	const char *blk_name;
	vm_sysmem *blk_mem;
	size_t blk_n;
	bool blk_lifted;     /* its pages left lifted (no other thread) */
	uint8_t blk_old[32]; /* the watched bytes it may write, before */
	uint64_t blk_old_at;
	int blk_nold;
	dbg_bpm_x bx;
	/* threads rewound onto an int3: stepped over it before they run */
	struct { int64_t tid; uint64_t addr; } *over;
	size_t nover, overcap;
};

/* session.c, modules.c (the map), access.c (registers, memory) */
void dbg_free_modules(vm_dbg *d);
int dbg_refresh_regs(vm_dbg *d);
void dbg_emit(vm_dbg *d, vm_dbg_event *ev);
void dbg_event_at(vm_dbg *d, vm_dbg_event *ev, vm_dbg_ev_kind kind, int64_t tid, uint64_t pc);
int dbg_rebuild_map(vm_dbg *d, bool report);
void dbg_set_loader_break(vm_dbg *d);
void dbg_add_thread(vm_dbg *d, int64_t tid);
void dbg_remove_thread(vm_dbg *d, int64_t tid);
int dbg_get_regs(vm_dbg *d, int64_t tid, vm_regs *r);

/* bp.c */
dbg_bp *dbg_bp_new(vm_dbg *d, vm_bp_kind kind, uint64_t addr);
int dbg_bp_fill(vm_dbg *d, dbg_bp *b, const char *expr, const vm_bp_spec *s);
void dbg_bp_drop_last(vm_dbg *d);
/* what a breakpoint owns, freed */
void dbg_bp_free(dbg_bp *b);
/* only the texts, for a pending breakpoint */
int dbg_bp_keep(dbg_bp *b, const char *expr, const vm_bp_spec *s);
/* pending breakpoints whose symbol is loaded now get their int3 */
void dbg_resolve_pending(vm_dbg *d);
/* a module at [base, base+size) was unloaded: its breakpoints pending
 * again, its int3 sites forgotten (never written to again) */
void dbg_bps_unloaded(vm_dbg *d, const char *name, uint64_t base, uint64_t size);
/* memory breakpoints (and with watches, watchpoints) on [a, a+n), whose
 * memory is gone: removed, each with a log event "... removed: why" */
void dbg_data_bps_gone(vm_dbg *d, int64_t tid, uint64_t pc, uint64_t a, uint64_t n, bool watches, const char *why);
dbg_bp *dbg_bp_find(vm_dbg *d, int id);
dbg_site *dbg_site_at(vm_dbg *d, uint64_t addr);
/* insert/remove every site's int3 (stepping over, vfork, detach) */
int dbg_site_insert(vm_dbg *d, dbg_site *s);
int dbg_site_remove(vm_dbg *d, dbg_site *s);
void dbg_sites_sync(vm_dbg *d);
/* watch.c: DR0-3 and DR7 from the watchpoints; onto one thread (a new
 * one), or all */
void dbg_watch_compute(vm_dbg *d);
int dbg_watch_apply(vm_dbg *d, int64_t tid);
int dbg_watch_apply_all(vm_dbg *d);
void dbg_bps_forget(vm_dbg *d);  /* exec: the old program's are gone */
int dbg_set_internal(vm_dbg *d, uint64_t addr);
int dbg_set_runto(vm_dbg *d, uint64_t addr);
void dbg_clear_runto(vm_dbg *d);
dbg_bp *dbg_code_bps_at(vm_dbg *d, uint64_t addr, size_t *from);
/* logtext.c */
int dbg_log_parse(vm_dbg *d, const char *text, dbg_log *out);
char *dbg_log_format(vm_dbg *d, const dbg_log *l);
void dbg_log_free(dbg_log *l);
uint64_t dbg_watch_read(vm_dbg *d, const dbg_bp *b);

/* bpm.c: the pages' protections from the enabled memory breakpoints;
 * a SIGSEGV on one of them (1: it was ours, handled; 0: not ours) */
void dbg_bpm_sync(vm_dbg *d);
int dbg_bpm_fault(vm_dbg *d, const vm_event *ev, bool *stop);
void dbg_bpm_forget(vm_dbg *d);
void dbg_bpm_drop_pages(vm_dbg *d, uint64_t a, uint64_t n);
/* the protection page p needs from its enabled breakpoints */
unsigned dbg_bpm_need(vm_dbg *d, const dbg_page *p);
/* bpm_sys.c: system calls on protected pages (the control reports those
 * of the pages when sync calls watch_syscalls), the program's own
 * mprotect/munmap/mremap, and signals delivered with a handler */
void dbg_bpm_watch_syscalls(vm_dbg *d);
int dbg_bpm_syscall(vm_dbg *d, const vm_event *ev, bool *stop);
int dbg_bpm_deliver(vm_dbg *d, int64_t tid, int sig, bool *stop); /* 1: stepped into the handler */
/* bpm_emul.c: the faulting instruction of tid (registers r, bytes code)
 * done by emulation; 1 done (registers and memory changed, past it; *r
 * the registers now), 0
 * not done (nothing changed), -1 failed half-way. atomic: every other
 * thread is stopped */
int dbg_bpm_emulate(vm_dbg *d, int64_t tid, vm_regs *r, const uint8_t *code, size_t n, bool atomic);
/* bpm_mode.c: step over these lifted pages with the other threads running */
bool dbg_bpm_step_fast(vm_dbg *d, dbg_page *const *lift, size_t n);
/* bpm.c: the page under page-protection breakpoints at pg, or NULL */
dbg_page *dbg_bpm_page(vm_dbg *d, uint64_t pg);
/* bpm_uffd.c: --uffd breakpoints; the page of addr is under one; a
 * protected one is under [addr, addr+len); VM_WP_LIFT/ON those pages */
int dbg_bpm_uffd_add(vm_dbg *d, int access, uint64_t addr, uint64_t len, const char *expr, const vm_bp_spec *s,
		     int *id);
void dbg_bpm_uffd_sync(vm_dbg *d);
void dbg_bpm_uffd_free(vm_dbg *d);
/* bpm_pub.c: tell other vmatlas processes the original protections */
void dbg_bpm_publish(vm_dbg *d);
bool dbg_uffd_page(vm_dbg *d, uint64_t addr);
bool dbg_uffd_touches(vm_dbg *d, uint64_t addr, uint64_t len);
void dbg_uffd_range(vm_dbg *d, int64_t tid, uint64_t addr, uint64_t len, int how);

/* handle.c: does b stop (condition, pass count; a log-only one logs) */
bool dbg_bp_stops(vm_dbg *d, dbg_bp *b, int64_t tid, uint64_t pc, vm_dbg_event *stop_ev);
/* a memory breakpoint's hit that stops: [addr, addr+len) and the values
 * into the event, emitted; a tbreak-like one deleted (bpm.c) */
void dbg_bpm_stop(vm_dbg *d, dbg_bp *hit, vm_dbg_event *e, uint64_t addr, uint64_t len, bool *stop);
/* handle.c: an event's meaning; *stop when the session stops for it */
int dbg_handle(vm_dbg *d, const vm_event *ev, bool *stop);

/* run.c */
/* tid sits on the int3 at addr: step it over before it runs */
void dbg_note_over(vm_dbg *d, int64_t tid, uint64_t addr);
/* the original instruction at a site, read once */
bool dbg_site_code(vm_dbg *d, dbg_site *s);
/* resume everything (stepping cur over a breakpoint first) and handle
 * events until one stops the session; 0, or -1 */
int dbg_run(vm_dbg *d);
/* report what the control queued, stopping for nothing (before detach) */
void dbg_drain_all(vm_dbg *d);
/* around every run of the target: a pause may be asked in between (a
 * pause the run did not see leaves its SIGSTOP to be swallowed) */
void dbg_run_begin(vm_dbg *d);
void dbg_run_end(vm_dbg *d);
/* tests: a pause asked here when environment variable name is 1, the
 * moment a Ctrl-C could come (*on, -1 at first, keeps the answer) */
void dbg_test_pause(vm_dbg *d, const char *name, int *on);
/* the target's DBG_CONTROL_C was the pause before our handler's came */
void dbg_ctrl_came_ahead(void);
/* one instruction of cur (over an int3 at pc), events handled; *stopped
 * when something else (breakpoint, signal, exit) stopped the session */
int dbg_step_one(vm_dbg *d, bool *stopped);
/* run until cur reaches addr with sp above min_sp (a temporary internal
 * breakpoint); *stopped when something else stopped it first */
int dbg_run_to(vm_dbg *d, uint64_t addr, uint64_t min_sp, bool *stopped);

/* steps.c: report a stop of cur where it is now */
void dbg_stopped_here(vm_dbg *d, vm_dbg_ev_kind kind, uint64_t value);
/* stepline.c: the next instruction of cur is a call (len bytes at pc):
 * step into it as `step` does (*done: stopped in the callee, reported),
 * else run on to its return */
int dbg_step_into_call(vm_dbg *d, uint64_t ret, bool *stopped, bool *done);
/* where `step` into the function at f stops (and break FILE:LINE on a
 * function's first line): DWARF's prologue_end, else past a frame setup */
uint64_t dbg_after_prologue(vm_dbg *d, uint64_t f);

/* emul.c: do the instruction in code (at r->rip) on r and memory, as the
 * CPU would; false when it is not one done here (nothing changed) */
bool dbg_emulate(vm_dbg *d, vm_regs *r, const uint8_t *code, size_t len);

/* disasm.c */
size_t dbg_insn_len(vm_dbg *d, uint64_t addr, bool *is_call);
/* the GOT slot a PLT stub jumps through (i386: ebx the GOT, 0 unknown) */
bool dbg_plt_slot(vm_dbg *d, uint64_t stub, uint64_t ebx, uint64_t *slot);
size_t dbg_decode(int bits, const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out);
size_t dbg_decode_as(int bits, bool att, const uint8_t *code, size_t len, uint64_t addr, vm_dbg_insn *out);

/* regs.c */
int dbg_reg_lookup(const vm_regs *r, const char *name, uint64_t *v);
int dbg_reg_store(vm_regs *r, const char *name, uint64_t v);
bool dbg_is_reg(const char *name);

/* events.c */
const char *dbg_signame(int sig);
int dbg_signum(const char *name);

#endif
