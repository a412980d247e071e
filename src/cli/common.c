/* Helpers every subcommand uses: errors, targets, colour. */
#include "cli.h"

#include "base/json.h"
#include "base/util.h"
#include "vmatlas/search.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line on stderr, whatever names from a hostile file it holds: a
 * control character is shown as \xNN, never a line break or an escape
 * sequence for the terminal. */
static void put_line(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	fputs(prefix, stderr);
	for (const unsigned char *p = (const unsigned char *)(msg ? msg : fmt); *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	fputs(suffix, stderr);
	free(msg);
}

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	put_line("vmatlas: ", fmt, ap, "\n");
	va_end(ap);
	return status;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char prefix[64], suffix[80];
	snprintf(prefix, sizeof prefix, "vmatlas %s: ", cmd);
	snprintf(suffix, sizeof suffix, " (see 'vmatlas %s --help')\n", cmd);
	va_start(ap, fmt);
	put_line(prefix, fmt, ap, suffix);
	va_end(ap);
	return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put_line("vmatlas: warning: ", fmt, ap, "\n");
	va_end(ap);
}

vm_target *cli_open_target(const char *spec, const cli_target_args *ta)
{
	if (ta->prog) {
		vm_spawn_options so = { .run_ms = ta->run_ms, .keep = ta->keep, .quiet = false };
		return vm_target_spawn(ta->prog, &so);
	}
	return vm_target_open(spec);
}

bool cli_parse_color(const char *s, cli_color_mode *out)
{
	if (!strcmp(s, "auto"))
		*out = COLOR_AUTO;
	else if (!strcmp(s, "always"))
		*out = COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = COLOR_NEVER;
	else
		return false;
	return true;
}

bool cli_use_color(cli_color_mode mode, FILE *f)
{
	if (mode != COLOR_AUTO)
		return mode == COLOR_ALWAYS;
	const char *term = getenv("TERM");
	return isatty(fileno(f)) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

bool cli_parse_add_module(const char *arg, cli_manual *out)
{
	const char *eq = strrchr(arg, '=');
	if (!eq || eq == arg)
		return false;
	char *rest = xstrdup(eq + 1), *comma = strchr(rest, ',');
	uint64_t base, size = 0;
	bool ok;
	if (comma)
		*comma = 0;
	uint64_t end;
	/* the module must fit below the top of the address space */
	ok = parse_u64(rest, &base) && (!comma || (parse_u64(comma + 1, &size) && size > 0)) &&
	     !__builtin_add_overflow(base, size, &end);
	free(rest);
	if (!ok)
		return false;
	vm_manual_module *m = ARRAY_PUSH(out->v, out->n, out->cap);
	m->name_or_path = xstrndup(arg, (size_t)(eq - arg));
	m->base = base;
	m->size = size;
	return true;
}

void cli_manual_free(cli_manual *m)
{
	for (size_t i = 0; i < m->n; i++)
		free((char *)m->v[i].name_or_path);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

bool cli_parse_addr(const char *s, uint64_t *out)
{
	return parse_u64(s, out);
}

void cli_print_warnings(const vm_map *m)
{
	for (size_t i = 0; i < m->nwarnings; i++)
		cli_warn("%s", m->warnings[i]);
}

void cli_json_holes(json_writer *w, const vm_search_hole *h, size_t n)
{
	json_key(w, "holes");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(w);
		json_kaddr(w, "addr", h[i].addr);
		json_ku64(w, "size", h[i].size);
		json_obj_end(w);
	}
	json_arr_end(w);
}
