/* vmatlas: the command-line front end. The commands are in commands.c,
 * the driver that runs them in driver.c. */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	return cli_main(argc, argv);
}
