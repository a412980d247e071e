/* The Windows structure tables (layouts_win.c), for the catalogue of
 * layouts.c. Their members are laid out as MSVC does: an 8-byte member
 * is 8-aligned on x86 too (the catalogue's msvc flag). */
#ifndef VMATLAS_LAYOUTS_WIN_H
#define VMATLAS_LAYOUTS_WIN_H

#include "vmatlas/layout.h"

extern const vm_field_desc win_peb32_f[], win_peb64_f[];
extern const vm_field_desc win_teb32_f[], win_teb64_f[];
extern const vm_field_desc win_process_parameters_f[], win_peb_ldr_data_f[];
extern const vm_field_desc win_ldr_data_table_entry_f[], win_kuser_shared_data_f[];

#endif
