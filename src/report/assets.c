/* report.css and report.js, built into the binary as they are in the
 * source tree (the Makefile makes this object depend on them). */
#include "report.h"

#if defined(_WIN32)
#define REPORT_RODATA ".section .rdata,\"dr\"\n"
#define REPORT_BACK ".text\n" /* no .previous for PE; this file has nothing else */
#else
#define REPORT_RODATA ".section .rodata\n"
#define REPORT_BACK ".previous\n"
#endif

/* the symbol as C names it (i686 Windows puts '_' in front) */
#define REPORT_STR2(x) #x
#define REPORT_STR(x) REPORT_STR2(x)
#define REPORT_SYM(sym) REPORT_STR(__USER_LABEL_PREFIX__) #sym

#define REPORT_ASSET(sym, file) \
	__asm__(REPORT_RODATA ".global " REPORT_SYM(sym) "\n" ".balign 16\n" REPORT_SYM(sym) ":\n" \
		".incbin \"" file "\"\n" \
		".byte 0\n" REPORT_BACK)

REPORT_ASSET(report_css, "src/report/report.css");
REPORT_ASSET(report_js, "src/report/report.js");
