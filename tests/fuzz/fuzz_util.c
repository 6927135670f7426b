/*
 * fuzz_util.c - helpers for the fuzz harnesses (fuzz.h).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

const uint8_t fuzz_key[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static char tmpdir[256];

static void rm_tree(const char *dir, int self)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p, 1);
		else
			unlink(p);
	}
	closedir(d);
	if (self)
		rmdir(dir);
}

static void cleanup(void)
{
	if (tmpdir[0])
		rm_tree(tmpdir, 1);
}

const char *fuzz_tmpdir(void)
{
	const char *base;

	if (tmpdir[0])
		return tmpdir;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/vfs-fuzz-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	return tmpdir;
}

void fuzz_write(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n)) {
		perror(path);
		abort();
	}
	close(fd);
}

void fuzz_empty_dir(const char *dir)
{
	rm_tree(dir, 0);
}
