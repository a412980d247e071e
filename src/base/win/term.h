/* The Windows build's <term.h>: tigetstr is declared with the rest of
 * the console curses (curses.h). */
#ifndef VMATLAS_WIN_TERM_H
#define VMATLAS_WIN_TERM_H

#include <curses.h>

#endif
