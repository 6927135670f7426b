/*
 * vfs-probe.c - system calls the shell cannot make, for integration tests.
 *
 *   vfs-probe rename2 noreplace|exchange OLD NEW
 *   vfs-probe getxattr PATH NAME          (prints the value)
 *   vfs-probe getxattr-size PATH NAME     (size query: prints the size)
 *   vfs-probe getxattr-small PATH NAME N  (with an N-byte buffer)
 *   vfs-probe removexattr PATH NAME
 *   vfs-probe setacl PATH                 (a valid minimal access ACL)
 *   vfs-probe setxattr PATH NAME VALUE [create|replace]
 *   vfs-probe setxattr-len PATH NAME LEN  (a value of LEN bytes 'v')
 *   vfs-probe listxattr PATH              (names, space-separated, or "-")
 *   vfs-probe listxattr-size PATH         (size query: prints the size)
 *   vfs-probe fallocate PATH [MODE OFF LEN]   (MODE 0, keep, punch,
 *                                          collapse; default 0 0 4096)
 *   vfs-probe lock flock|posix PATH [HOLD] (exclusive, non-blocking; with
 *                                          HOLD seconds: prints the result,
 *                                          then keeps the lock that long)
 *   vfs-probe fsync|fdatasync PATH
 *   vfs-probe utimens PATH ATIME MTIME    (SEC.NSEC, "now" or "omit")
 *   vfs-probe unlinked PATH               (write, unlink, read back open)
 *
 * Prints "ok" (or the value asked for) or the errno name (EEXIST...) and
 * exits 0; exits 2 on bad usage. Tests compare the printed word.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

static int result(int r)
{
	if (r < 0) {
		const char *n = strerrorname_np(errno);

		printf("%s\n", n ? n : "E?");
	} else {
		printf("ok\n");
	}
	return 0;
}

static int parse_time(const char *s, struct timespec *ts)
{
	char *end;

	if (strcmp(s, "now") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
		return 0;
	}
	if (strcmp(s, "omit") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
		return 0;
	}
	ts->tv_sec = strtoll(s, &end, 10);
	ts->tv_nsec = 0;
	if (*end == '.')
		ts->tv_nsec = strtol(end + 1, &end, 10);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int fd, r;

	if (strcmp(op, "rename2") == 0 && argc == 5) {
		unsigned flags = strcmp(argv[2], "exchange") == 0
				     ? RENAME_EXCHANGE
				     : RENAME_NOREPLACE;

		return result(
		    renameat2(AT_FDCWD, argv[3], AT_FDCWD, argv[4], flags));
	}
	if (strcmp(op, "getxattr") == 0 && argc == 4) {
		static char v[65537];
		ssize_t n = getxattr(argv[2], argv[3], v, sizeof(v) - 1);

		if (n < 0)
			return result(-1);
		v[n] = '\0';
		printf("%s\n", v);
		return 0;
	}
	if (strcmp(op, "getxattr-size") == 0 && argc == 4) {
		ssize_t n = getxattr(argv[2], argv[3], NULL, 0);

		if (n < 0)
			return result(-1);
		printf("%zd\n", n);
		return 0;
	}
	if (strcmp(op, "getxattr-small") == 0 && argc == 5) {
		char v[64];
		size_t want = strtoul(argv[4], NULL, 10);

		if (want == 0 || want > sizeof(v))
			return 2;
		return result(getxattr(argv[2], argv[3], v, want) < 0 ? -1 : 0);
	}
	if (strcmp(op, "setacl") == 0 && argc == 3) {
		/* version 2; USER_OBJ rw, GROUP_OBJ r, OTHER r (little
		 * endian: u16 tag, u16 perm, u32 id) */
		static const unsigned char acl[] = {
		    2,	  0,	0, 0, 1,    0,	  6,	0,    0xff, 0xff,
		    0xff, 0xff, 4, 0, 4,    0,	  0xff, 0xff, 0xff, 0xff,
		    0x20, 0,	4, 0, 0xff, 0xff, 0xff, 0xff};

		return result(setxattr(argv[2], "system.posix_acl_access", acl,
				       sizeof(acl), 0));
	}
	if (strcmp(op, "removexattr") == 0 && argc == 4)
		return result(removexattr(argv[2], argv[3]));
	if (strcmp(op, "setxattr") == 0 && (argc == 5 || argc == 6)) {
		int flags = 0;

		if (argc == 6)
			flags = strcmp(argv[5], "create") == 0 ? XATTR_CREATE
							       : XATTR_REPLACE;
		return result(setxattr(argv[2], argv[3], argv[4],
				       strlen(argv[4]), flags));
	}
	if (strcmp(op, "setxattr-len") == 0 && argc == 5) {
		size_t n = strtoul(argv[4], NULL, 10);
		char *v = malloc(n ? n : 1);

		if (!v)
			return 2;
		memset(v, 'v', n);
		r = setxattr(argv[2], argv[3], v, n, 0);
		free(v);
		return result(r);
	}
	if (strcmp(op, "listxattr") == 0 && argc == 3) {
		static char v[65536];
		ssize_t n = listxattr(argv[2], v, sizeof(v));

		if (n < 0)
			return result(-1);
		if (n == 0)
			printf("-");
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(v + i) + 1)
			printf("%s%s", i ? " " : "", v + i);
		printf("\n");
		return 0;
	}
	if (strcmp(op, "listxattr-size") == 0 && argc == 3) {
		ssize_t n = listxattr(argv[2], NULL, 0);

		if (n < 0)
			return result(-1);
		printf("%zd\n", n);
		return 0;
	}
	if (strcmp(op, "fallocate") == 0 && (argc == 3 || argc == 6)) {
		int mode = 0;
		off_t off = 0, len = 4096;

		if (argc == 6) {
			if (strcmp(argv[3], "keep") == 0)
				mode = FALLOC_FL_KEEP_SIZE;
			else if (strcmp(argv[3], "punch") == 0)
				mode =
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			else if (strcmp(argv[3], "collapse") == 0)
				mode = FALLOC_FL_COLLAPSE_RANGE;
			else if (strcmp(argv[3], "0") != 0)
				return 2;
			off = strtoll(argv[4], NULL, 10);
			len = strtoll(argv[5], NULL, 10);
		}
		fd = open(argv[2], O_RDWR);
		if (fd < 0)
			return result(-1);
		r = fallocate(fd, mode, off, len);
		result(r);
		close(fd);
		return 0;
	}
	if (strcmp(op, "lock") == 0 && (argc == 4 || argc == 5)) {
		int posix = strcmp(argv[2], "posix") == 0;

		fd = open(argv[3], O_RDWR);
		if (fd < 0)
			return result(-1);
		if (posix) {
			struct flock fl = {.l_type = F_WRLCK,
					   .l_whence = SEEK_SET};

			r = fcntl(fd, F_SETLK, &fl);
		} else {
			r = flock(fd, LOCK_EX | LOCK_NB);
		}
		result(r);
		fflush(stdout);
		if (r == 0 && argc == 5)
			sleep((unsigned)strtoul(argv[4], NULL, 10));
		close(fd);
		return 0;
	}
	if ((strcmp(op, "fsync") == 0 || strcmp(op, "fdatasync") == 0) &&
	    argc == 3) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return result(-1);
		r = op[1] == 's' ? fsync(fd) : fdatasync(fd);
		result(r);
		close(fd);
		return 0;
	}
	if (strcmp(op, "utimens") == 0 && argc == 5) {
		struct timespec ts[2];

		if (parse_time(argv[3], &ts[0]) < 0 ||
		    parse_time(argv[4], &ts[1]) < 0)
			return 2;
		return result(
		    utimensat(AT_FDCWD, argv[2], ts, AT_SYMLINK_NOFOLLOW));
	}
	if (strcmp(op, "unlinked") == 0 && argc == 3) {
		char buf[16] = "";

		fd = open(argv[2], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return result(-1);
		if (write(fd, "still here", 10) != 10 || unlink(argv[2]) < 0 ||
		    access(argv[2], F_OK) == 0 ||
		    pwrite(fd, "STILL", 5, 0) != 5 ||
		    pread(fd, buf, 10, 0) != 10) {
			result(-1);
			close(fd);
			return 0;
		}
		printf("%s\n", buf);
		close(fd);
		return 0;
	}
	fprintf(stderr, "vfs-probe: bad usage (see the source)\n");
	return 2;
}
