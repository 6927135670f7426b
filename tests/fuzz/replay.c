/*
 * replay.c - main() for a harness built without libFuzzer: runs
 * LLVMFuzzerTestOneInput once per file named on the command line (a
 * folder stands for the files in it). Exit 0 if every input ran; a
 * harness that finds a bug aborts (or a sanitizer stops the program).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Harnesses that need no set-up do not define it. */
#pragma weak LLVMFuzzerInitialize

/* libFuzzer caps inputs the same way (run.sh: -max_len). */
#define REPLAY_MAX (1u << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(REPLAY_MAX);
	if (!buf) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	/* a copy of exactly n bytes, so ASan sees reads past the end */
	{
		uint8_t *in = malloc(n ? n : 1);

		if (!in) {
			free(buf);
			return -1;
		}
		memcpy(in, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(in, n);
		free(in);
	}
	return 0;
}

static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent **v;
	int n, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (run_file(path) < 0)
			return -1;
		(*count)++;
		return 0;
	}
	n = scandir(path, &v, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char p[4096];

		if (v[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", path, v[i]->d_name);
			if (run_path(p, count) < 0)
				r = -1;
		}
		free(v[i]);
	}
	free(v);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int r = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			r = 1;
	printf("%s: %u inputs replayed\n", argv[0], count);
	return r;
}
