/* The debugger engine through its library API (vmatlas/debug.h): what the
 * batch mode cannot reach, such as vm_dbg_interrupt from another thread
 * (a CPU window's pause), and the expression grammar's edges. */
#include <float.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vmatlas/debug.h"
#include "vmatlas/error.h"

static void *interrupt_later(void *arg)
{
	usleep(150000);
	vm_dbg_interrupt(arg);
	return NULL;
}

static vm_target *target;

/* dbgfix started, held at its entry point; end with finish() */
static vm_dbg *launch(char *mode, char *count)
{
	char path[512];
	const char *b = getenv("VMATLAS_BUILD");
	snprintf(path, sizeof path, "%s/fixtures/dbgfix", b ? b : "build");
	char *argv[] = { path, mode, count, NULL };
	vm_spawn_options so = { .quiet = true };
	vm_target *t = vm_target_spawn(argv, &so);
	if (!t)
		return NULL;
	vm_dbg_options o = { .launched = true };
	vm_dbg *d = vm_dbg_open(t, &o);
	if (!d)
		vm_target_close(t);
	target = d ? t : NULL;
	return d;
}

static void finish(vm_dbg *d)
{
	CHECK(vm_dbg_close(d, VM_DBG_KILL) == 0);
	vm_target_close(target);
	target = NULL;
}

/* a long loop, stopped by vm_dbg_interrupt from another thread */
static void interrupt_stops_continue(void)
{
	vm_dbg *d = launch("calls", "4000000000");
	CHECK(d != NULL);
	if (!d)
		return;
	pthread_t th;
	pthread_create(&th, NULL, interrupt_later, d);
	CHECK(vm_dbg_continue(d) == 0);
	pthread_join(th, NULL);
	CHECK(vm_dbg_alive(d));
	CHECK_U64(vm_dbg_last_stop(d)->kind, VM_DBG_EV_INTERRUPT);
	uint64_t v;
	CHECK(vm_dbg_reg_get(d, "rip", &v) == 0 && v != 0);
	finish(d);
}

static void expressions(void)
{
	vm_dbg *d = launch("calls", "1");
	CHECK(d != NULL);
	if (!d)
		return;
	uint64_t v = 0;
	CHECK(vm_dbg_eval(d, "1 + 2 * 3 - 4 / 2 % 3", &v) == 0 && v == 5);
	CHECK(vm_dbg_eval(d, "(1 << 4 | 1) ^ 3 & 1", &v) == 0 && v == 16);
	CHECK(vm_dbg_eval(d, "!(2 > 1) || 3 >= 3 && 1 != 2", &v) == 0 && v == 1);
	CHECK(vm_dbg_eval(d, "-1 == ~0", &v) == 0 && v == 1);
	CHECK(vm_dbg_eval(d, "dbg_counter", &v) == 0 && v != 0);
	CHECK(vm_dbg_eval(d, "qword [dbg_counter] + byte [dbg_value]", &v) == 0 && v == 5);
	CHECK(vm_dbg_eval(d, "dbgfix!dbg_target - dbgfix", &v) == 0 && v > 0 && v < 0x100000);
	CHECK(vm_dbg_reg_set(d, "rax", 0x1122334455667788ull) == 0);
	CHECK(vm_dbg_eval(d, "ah", &v) == 0 && v == 0x77);
	CHECK(vm_dbg_eval(d, "ax == 0x7788 && eax == 0x55667788", &v) == 0 && v == 1);
	CHECK(vm_dbg_eval(d, "1 / 0", &v) < 0);
	CHECK(vm_dbg_eval(d, "no_such_symbol_here", &v) < 0);
	CHECK(vm_dbg_eval(d, "(1", &v) < 0);
	CHECK(vm_dbg_eval(d, "1 +", &v) < 0);
	finish(d);
}

/* an x87 extended value from its parts */
static const char *f80(uint64_t mant, uint16_t se, char *buf, size_t n)
{
	uint8_t b[10];
	memcpy(b, &mant, 8);
	memcpy(b + 8, &se, 2);
	return vm_f80_format(b, buf, n);
}

static void f80_decoding(void)
{
	char got[64], want[64];
	/* ordinary values: what printf makes of the same long double */
	const long double v[] = { 1.5L, -3.25L, 1e4000L, LDBL_MAX, LDBL_MIN, LDBL_MIN / 8, LDBL_TRUE_MIN, 0.0L, -0.0L };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t b[sizeof(long double)];
		memcpy(b, &v[i], sizeof b);
		snprintf(want, sizeof want, "%.21Lg", v[i]);
		CHECK_STR(vm_f80_format(b, got, sizeof got), want);
	}
	CHECK_STR(f80(0x8000000000000000ull, 0x3fff, got, sizeof got), "1");
	CHECK_STR(f80(0xc000000000000000ull, 0xbfff, got, sizeof got), "-1.5");
	CHECK_STR(f80(0x8000000000000000ull, 0x7fff, got, sizeof got), "inf");
	CHECK_STR(f80(0x8000000000000000ull, 0xffff, got, sizeof got), "-inf");
	CHECK_STR(f80(0xc000000000000000ull, 0xffff, got, sizeof got), "-nan"); /* the x87's default NaN */
	CHECK_STR(f80(0x8000000000000001ull, 0x7fff, got, sizeof got), "nan");   /* signalling */
	/* pseudo-denormals: exponent 0 read as 1 (printf of the raw bytes is
	 * wrong about the first) */
	snprintf(want, sizeof want, "%.21Lg", LDBL_MIN + LDBL_TRUE_MIN);
	CHECK_STR(f80(0x8000000000000001ull, 0, got, sizeof got), want);
	snprintf(want, sizeof want, "%.21Lg", -LDBL_MIN);
	CHECK_STR(f80(0x8000000000000000ull, 0x8000, got, sizeof got), want);
	/* what the x87 refuses */
	CHECK_STR(f80(0x4000000000000000ull, 0x3fff, got, sizeof got), "unnormal");
	CHECK_STR(f80(0, 0x7fff, got, sizeof got), "pseudo-inf");
	CHECK_STR(f80(0x4000000000000000ull, 0xffff, got, sizeof got), "pseudo-nan");
	/* a short buffer is cut, not overrun */
	char small[4];
	CHECK_STR(f80(0, 0x7fff, small, sizeof small), "pse");
}

const unit_test debug_tests[] = {
	{ "debug: f80 decoded from its bytes", f80_decoding },
	{ "debug: vm_dbg_interrupt stops a running continue", interrupt_stops_continue },
	{ "debug: expressions", expressions },
	{ NULL, NULL },
};
