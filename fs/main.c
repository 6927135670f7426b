/*
 * main.c - the vaultfs command: subcommand dispatch.
 * (Placeholder until the CLI lands: prints its version.)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("vaultfs %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: vaultfs --version\n");
	return 2;
}
