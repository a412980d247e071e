/* Shared by curses_screen.c (drawing) and curses_keys.c (input). */
#ifndef VMATLAS_WIN_CURSES_INT_H
#define VMATLAS_WIN_CURSES_INT_H

#include <stdbool.h>
#include <windows.h>

extern HANDLE vm_curses_in;  /* the console input */
extern bool vm_curses_raw;   /* Ctrl-C is a key */

/* the window's size changed since the last look: LINES and COLS are the
 * new size, the cell buffer is blank and the next refresh writes it all */
bool vm_curses_resized(void);
/* the input mode for the current settings */
void vm_curses_input_mode(void);

#endif
