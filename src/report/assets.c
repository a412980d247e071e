/* report.css and report.js, built into the binary as they are in the
 * source tree (the Makefile makes this object depend on them). */
#include "report.h"

#if defined(_WIN32)
#define REPORT_RODATA ".section .rdata,\"dr\"\n"
#else
#define REPORT_RODATA ".section .rodata\n"
#endif

#define REPORT_ASSET(sym, file) \
	__asm__(REPORT_RODATA ".global " #sym "\n" ".balign 16\n" #sym ":\n" ".incbin \"" file "\"\n" \
		".byte 0\n" ".previous\n")

REPORT_ASSET(report_css, "src/report/report.css");
REPORT_ASSET(report_js, "src/report/report.js");
