/* vmatlas ps: the processes this build can open, with PID, parent,
 * bitness, user and executable (Linux from /proc, Windows from
 * Toolhelp32); a word filters them by name. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static bool picked(const vm_process *p, const char *word)
{
	if (!word)
		return true;
	return (p->name && strstr(p->name, word)) || (p->exe && strstr(p->exe, word));
}

static int ps_run(cli_ctx *ctx)
{
	const char *word = ctx->argc ? ctx->argv[0] : NULL;
	vm_process *ps;
	size_t n;
	if (vm_process_list(&ps, &n) < 0)
		return cli_error(EXIT_RUNTIME, "ps: %s", vm_error());
	if (ctx->json) {
		json_writer w;
		json_init(&w, stdout, true);
		json_obj_begin(&w);
		json_key(&w, "processes");
		json_arr_begin(&w);
		for (size_t i = 0; i < n; i++) {
			const vm_process *p = &ps[i];
			if (!picked(p, word))
				continue;
			json_obj_begin(&w);
			json_ki64(&w, "pid", p->pid);
			json_ki64(&w, "ppid", p->ppid);
			json_kstr(&w, "name", p->name);
			json_kstr(&w, "exe", p->exe);
			json_kstr(&w, "user", p->user);
			json_key(&w, "bits");
			if (p->bits)
				json_i64(&w, p->bits);
			else
				json_null(&w);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_obj_end(&w);
		json_done(&w);
	} else {
		printf("%7s %7s %4s  %-16s %-16s %s\n", "PID", "PPID", "BITS", "USER", "NAME", "EXECUTABLE");
		for (size_t i = 0; i < n; i++) {
			const vm_process *p = &ps[i];
			if (!picked(p, word))
				continue;
			char bits[8];
			snprintf(bits, sizeof bits, p->bits ? "%d" : "?", p->bits);
			printf("%7lld %7lld %4s  %-16s %-16s %s\n", (long long)p->pid, (long long)p->ppid, bits,
			       p->user ? p->user : "?", p->name ? p->name : "?", p->exe ? p->exe : "-");
		}
	}
	vm_processes_free(ps, n);
	return 0;
}

const cli_command cli_cmd_ps = {
	.name = "ps",
	.summary = "list the processes this build can open: PID, parent, bitness, user",
	.usage = "[OPTIONS] [WORD]",
	.about = "Lists the running processes with their PID, parent PID, bitness (32 or\n"
		 "64, ? when the executable cannot be read), user and executable: from\n"
		 "/proc on Linux, from Toolhelp32 on Windows. WORD keeps only those whose\n"
		 "name or executable contains it. Any PID shown is a TARGET.\n",
	.args = "WORD",
	.min_args = 0,
	.max_args = 1,
	.run = ps_run,
};
