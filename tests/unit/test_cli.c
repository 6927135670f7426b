/*
 * test_cli.c - the vaultfs command line: parsing, exit codes, key input,
 * paths, mountinfo, the ready pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fs/cli.h"
#include "vfs_error.h"

static const char canon[] = "0011 2233 4455 6677 8899 aabb ccdd eeff "
			    "0123 4567 89ab cdef fedc ba98 7654 3210";
static const uint8_t canon_key[32] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
    0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
    0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

/* Runs cli_parse on a NULL-terminated list; captures out and err. */
struct parsed {
	struct cli_args a;
	int r;
	char out[8192];
	char err[8192];
	char *argv[32];
	char store[32][128];
};

static void parse(struct parsed *p, ...)
{
	va_list ap;
	const char *s;
	FILE *out, *err;
	int argc = 0;

	memset(p, 0, sizeof(*p));
	va_start(ap, p);
	while ((s = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < 31);
		snprintf(p->store[argc], sizeof(p->store[argc]), "%s", s);
		p->argv[argc] = p->store[argc];
		argc++;
	}
	va_end(ap);
	p->argv[argc] = NULL;
	out = fmemopen(p->out, sizeof(p->out) - 1, "w");
	err = fmemopen(p->err, sizeof(p->err) - 1, "w");
	assert_non_null(out);
	assert_non_null(err);
	p->r = cli_parse(argc, p->argv, &p->a, out, err);
	fclose(out);
	fclose(err);
}

static void test_exit_codes(void **state)
{
	static const struct {
		int r;
		int code;
	} map[] = {
	    {0, CLI_EXIT_OK},
	    {-VFS_E_NOTSTORE, CLI_EXIT_NOTSTORE},
	    {-VFS_E_KEYTEXT, CLI_EXIT_KEYTEXT},
	    {-VFS_E_WRONGKEY, CLI_EXIT_WRONGKEY},
	    {-VFS_E_DAMAGED, CLI_EXIT_DAMAGED},
	    {-EBADMSG, CLI_EXIT_DAMAGED},
	    {-VFS_E_ROLLBACK, CLI_EXIT_ROLLBACK},
	    {-VFS_E_FORK, CLI_EXIT_ROLLBACK},
	    {-VFS_E_MOUNTPOINT, CLI_EXIT_MOUNTPOINT},
	    {-EIO, CLI_EXIT_IO},
	    {-ENOSPC, CLI_EXIT_IO},
	    {-VFS_E_VERSION, CLI_EXIT_VERSION},
	    {-VFS_E_LEASE, CLI_EXIT_LEASE},
	    {-VFS_E_PASSWORD, CLI_EXIT_PASSWORD},
	    {-VFS_E_LOCKED, CLI_EXIT_LOCKED},
	    {-VFS_E_VAULT, CLI_EXIT_VAULT},
	    {-VFS_E_TOKEN, CLI_EXIT_VAULT},
	    {-VFS_E_PROTOCOL, CLI_EXIT_VAULT},
	    {-VFS_E_MAX, CLI_EXIT_FAILURE},
	    {-999999, CLI_EXIT_FAILURE},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(cli_exit_code(map[i].r), map[i].code);

	/* The user-facing conditions are distinct codes. */
	assert_int_not_equal(CLI_EXIT_WRONGKEY, CLI_EXIT_KEYTEXT);
	assert_int_not_equal(CLI_EXIT_DAMAGED, CLI_EXIT_ROLLBACK);
	assert_non_null(strstr(cli_hint(-VFS_E_WRONGKEY), "store header"));
	assert_non_null(strstr(cli_hint(-VFS_E_ROLLBACK), "older"));
	assert_non_null(strstr(cli_hint(-VFS_E_FORK), "two different"));
	assert_null(cli_hint(-EIO));
}

/* --vault: repeatable, comma-separated; the list is checked. */
static void test_parse_vault_list(void **state)
{
	const char *urls[CLI_VAULT_URLS];
	char text[64], big[128];
	struct parsed p;

	(void)state;
	parse(&p, "vaultfs", "mount", "--vault", "http://127.0.0.1:1",
	      "--vault", "http://127.0.0.1:2,http://127.0.0.1:3", "c", "m",
	      NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.vault_url, "http://127.0.0.1:1,"
					   "http://127.0.0.1:2,"
					   "http://127.0.0.1:3");
	cli_args_release(&p.a);
	assert_null(p.a.vault_url);

	parse(&p, "vaultfs", "init", "--vault", "http://a,,http://b", "c",
	      NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--vault wants URL[,URL...]"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--vault", "http://a,", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--vault", "http://a b", "c", "m",
	      NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	/* 5 x 120 bytes: longer than the list may be */
	memset(big, 'x', 120);
	big[120] = '\0';
	parse(&p, "vaultfs", "mount", "--vault", big, "--vault", big,
	      "--vault", big, "--vault", big, "c", "m", NULL);
	assert_int_equal(p.r, 0);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--vault", big, "--vault", big,
	      "--vault", big, "--vault", big, "--vault", big, "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);

	/* 16 URLs, not 17 */
	strcpy(text, "a");
	for (int i = 1; i < CLI_VAULT_URLS; i++)
		strcat(text, ",a");
	assert_int_equal(cli_vault_urls_split(text, urls, CLI_VAULT_URLS),
			 CLI_VAULT_URLS);
	assert_string_equal(urls[15], "a");
	strcpy(text, "a");
	for (int i = 0; i < CLI_VAULT_URLS; i++)
		strcat(text, ",a");
	assert_int_equal(cli_vault_urls_split(text, urls, CLI_VAULT_URLS),
			 -EINVAL);
	strcpy(text, "one");
	assert_int_equal(cli_vault_urls_split(text, urls, CLI_VAULT_URLS), 1);
	assert_string_equal(urls[0], "one");
}

static void test_parse_init(void **state)
{
	struct parsed p;

	parse(&p, "vaultfs", "init", "--recovery-key-file", "k.txt", "cloud",
	      NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.cmd, CLI_CMD_INIT);
	assert_string_equal(p.a.key_file, "k.txt");
	assert_string_equal(p.a.cloud_dir, "cloud");
	assert_null(p.a.mountpoint);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "init", "cloud", "--recovery-key-file=k", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.key_file, "k");
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "init", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "CLOUD_DIR needed"));
	assert_non_null(strstr(p.err, "vaultfs init --help"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "init", "a", "b", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unexpected argument 'b'"));
	cli_args_release(&p.a);

	/* mount options are not init options */
	parse(&p, "vaultfs", "init", "--read-only", "a", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown option '--read-only'"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "init", "--recovery-key-file", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "needs an argument"));
	cli_args_release(&p.a);
}

/* The lease and cleaner options of mount (fs/lease.c, the cleaner). */
static void test_parse_mount_lease(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "vaultfs", "mount", "--take-over", "--clean-grace", "0",
	      "--clean-interval=5", "c", "m", NULL);
	assert_int_equal(p.r, 0);
	assert_true(p.a.take_over);
	assert_int_equal(p.a.clean_grace, 0);
	assert_int_equal(p.a.clean_interval, 5);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "c", "m", NULL);
	assert_int_equal(p.r, 0);
	assert_false(p.a.take_over);
	assert_int_equal(p.a.clean_grace, -1);
	assert_int_equal(p.a.clean_interval, -1);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--clean-grace", "31622400", "c", "m",
	      NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.clean_grace, CLI_CLEAN_GRACE_MAX);
	cli_args_release(&p.a);

	/* bounds and garbage */
	parse(&p, "vaultfs", "mount", "--clean-grace", "31622401", "c", "m",
	      NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--clean-grace wants seconds"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--clean-grace", "-1", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--clean-grace", "1h", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--clean-grace", "", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--clean-interval", "0", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--clean-interval wants seconds"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--clean-interval",
	      "99999999999999999999", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--take-over", "--read-only", "c", "m",
	      NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--take-over"));
	cli_args_release(&p.a);

	/* mount options only */
	parse(&p, "vaultfs", "init", "--take-over", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
}

static void test_parse_mount(void **state)
{
	struct parsed p;

	parse(&p, "vaultfs", "mount", "--recovery-key", "--read-only", "-f",
	      "-o", "allow_other", "-o", "max_read=65536", "cloud", "mnt",
	      "--log-level", "debug", NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.cmd, CLI_CMD_MOUNT);
	assert_true(p.a.ask_key);
	assert_null(p.a.key_file);
	assert_true(p.a.read_only);
	assert_true(p.a.foreground);
	assert_string_equal(p.a.fuse_opts, "allow_other,max_read=65536");
	assert_string_equal(p.a.cloud_dir, "cloud");
	assert_string_equal(p.a.mountpoint, "mnt");
	assert_int_equal(p.a.log_level, LOG_LVL_DEBUG);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--recovery-key-file", "-", "c", "m",
	      NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.key_file, "-");
	assert_false(p.a.ask_key);
	assert_false(p.a.foreground);
	assert_null(p.a.fuse_opts);
	assert_int_equal(p.a.log_level, LOG_LVL_INFO);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--recovery-key", "--recovery-key-file",
	      "k", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "exclude each other"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "CLOUD_DIR and MOUNTPOINT"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "-x", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown option '-x'"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "-o", "", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "bad -o value"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--log-level", "loud", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown log level 'loud'"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
}

static void test_parse_umount_help_version(void **state)
{
	struct parsed p;

	parse(&p, "vaultfs", "umount", "/mnt/x", NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.cmd, CLI_CMD_UMOUNT);
	assert_string_equal(p.a.mountpoint, "/mnt/x");
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "unmount", "/mnt/x", NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.cmd, CLI_CMD_UMOUNT);
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "--help", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, "usage: vaultfs"));
	assert_non_null(strstr(p.out, "umount"));
	assert_string_equal(p.err, "");
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "--version", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, "vaultfs " PACKAGE_VERSION));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "mount", "--help", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, "--recovery-key-file FILE"));
	assert_non_null(strstr(p.out, "--read-only"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "init", "--version", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, PACKAGE_VERSION));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "umount", "-h", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, "waits until"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "Commands:"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "frobnicate", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown command 'frobnicate'"));
	cli_args_release(&p.a);

	parse(&p, "vaultfs", "--verbose", "mount", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown option '--verbose'"));
	cli_args_release(&p.a);
}

static void test_read_secret_fd(void **state)
{
	int fds[2];
	char *s = NULL;
	size_t len = 0;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "abcdef", 6), 6);
	close(fds[1]);
	assert_int_equal(cli_read_secret_fd(fds[0], 6, &s, &len), 0);
	close(fds[0]);
	assert_int_equal(len, 6);
	assert_string_equal(s, "abcdef");
	sodium_free(s);

	s = NULL;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "abcdefg", 7), 7);
	close(fds[1]);
	assert_int_equal(cli_read_secret_fd(fds[0], 6, &s, &len), -E2BIG);
	assert_null(s);
	close(fds[0]);

	assert_int_equal(cli_read_secret_fd(-1, 6, &s, &len), -EBADF);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cli.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_key_from_file(void **state)
{
	char path[128], why[160];
	uint8_t *key = sodium_malloc(CLI_KEY_BYTES);
	char *big;

	assert_non_null(key);
	snprintf(path, sizeof(path), "%s/key", tmpdir);

	write_file(path, canon, strlen(canon));
	memset(key, 0, CLI_KEY_BYTES);
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)), 0);
	assert_memory_equal(key, canon_key, 32);

	/* dashes, upper case, trailing newline */
	write_file(path,
		   "0011-2233-4455-6677-8899-AABB-CCDD-EEFF-"
		   "0123-4567-89AB-CDEF-FEDC-BA98-7654-3210\n",
		   80);
	memset(key, 0, CLI_KEY_BYTES);
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)), 0);
	assert_memory_equal(key, canon_key, 32);

	/* one digit short: says how many it found, never the text */
	write_file(path, canon, strlen(canon) - 1);
	memset(key, 0x5a, CLI_KEY_BYTES);
	why[0] = '\0';
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)),
			 -VFS_E_KEYTEXT);
	assert_non_null(strstr(why, "found 63 hex digits"));
	assert_null(strstr(why, "3210"));
	for (int i = 0; i < CLI_KEY_BYTES; i++)
		assert_int_equal(key[i], 0x5a);

	write_file(path, "0011 2233 xyz", 13);
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)),
			 -VFS_E_KEYTEXT);
	assert_non_null(strstr(why, "not a hex digit"));

	big = malloc(CLI_KEYTEXT_MAX + 10);
	assert_non_null(big);
	memset(big, ' ', CLI_KEYTEXT_MAX + 10);
	write_file(path, big, CLI_KEYTEXT_MAX + 10);
	free(big);
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)),
			 -E2BIG);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(cli_key_from_file(path, key, why, sizeof(why)),
			 -ENOENT);
	sodium_free(key);
}

static void test_key_from_tty_without_tty(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t key[32];
		char why[16];

		/* A new session has no controlling terminal. */
		if (setsid() < 0)
			_exit(2);
		_exit(cli_key_from_tty("key: ", key, why, sizeof(why)) == -ENXIO
			  ? 0
			  : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_state_dir(void **state)
{
	char want[512], home[256];
	char *dir = NULL;
	struct stat st;

	snprintf(want, sizeof(want), "%s/xdg/deep", tmpdir);
	setenv("XDG_STATE_HOME", want, 1);
	assert_int_equal(cli_state_dir(&dir), 0);
	strcat(want, "/vaultfs");
	assert_string_equal(dir, want);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
	free(dir);

	/* relative XDG_STATE_HOME is ignored (XDG spec) */
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	assert_int_equal(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	setenv("XDG_STATE_HOME", "relative/dir", 1);
	assert_int_equal(cli_state_dir(&dir), 0);
	snprintf(want, sizeof(want), "%s/.local/state/vaultfs", home);
	assert_string_equal(dir, want);
	free(dir);

	unsetenv("XDG_STATE_HOME");
	assert_int_equal(cli_state_dir(&dir), 0);
	assert_string_equal(dir, want);
	free(dir);
}

static void test_mount_paths(void **state)
{
	char want[512], sub[256], cwd[4096];
	char *p = NULL, *q = NULL;

	snprintf(sub, sizeof(sub), "%s/m", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);

	snprintf(want, sizeof(want), "%s/m//", tmpdir);
	assert_int_equal(cli_mount_abspath(want, &p), 0);
	assert_string_equal(p, sub);
	free(p);

	/* the last component need not exist (a dead mount cannot be
	 * stat'ed); its parent must */
	snprintf(want, sizeof(want), "%s/m/not-yet", tmpdir);
	assert_int_equal(cli_mount_abspath(want, &p), 0);
	assert_string_equal(p, want);
	free(p);
	snprintf(want, sizeof(want), "%s/nope/x", tmpdir);
	assert_int_equal(cli_mount_abspath(want, &p), -ENOENT);

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(cli_mount_abspath("m", &p), 0);
	assert_string_equal(p, sub);
	free(p);
	assert_int_equal(cli_mount_abspath("./m/.", &p), 0);
	assert_string_equal(p, sub);
	free(p);
	assert_int_equal(chdir(cwd), 0);

	assert_int_equal(cli_mount_abspath("/", &p), 0);
	assert_string_equal(p, "/");
	free(p);

	assert_int_equal(cli_mount_lockfile(tmpdir, "/mnt/a", &p), 0);
	assert_int_equal(cli_mount_lockfile(tmpdir, "/mnt/a", &q), 0);
	assert_string_equal(p, q);
	snprintf(want, sizeof(want), "%s/mounts/", tmpdir);
	assert_memory_equal(p, want, strlen(want));
	assert_int_equal(strlen(p), strlen(want) + 32 + 4);
	free(q);
	assert_int_equal(cli_mount_lockfile(tmpdir, "/mnt/b", &q), 0);
	assert_string_not_equal(p, q);
	free(p);
	free(q);
}

static void test_mountinfo(void **state)
{
	static const char mi[] =
	    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "40 22 0:35 / /tmp/a\\040b rw,nosuid shared:20 - "
	    "fuse.vaultfs vaultfs rw,user_id=0\n"
	    "41 22 0:36 / /mnt/x rw - tmpfs tmpfs rw\n"
	    "42 41 0:37 / /mnt/x rw,nosuid - fuse.vaultfs vaultfs rw\n"
	    "garbage line\n"
	    "\n";
	char type[64];
	FILE *f;

	f = fmemopen((void *)mi, sizeof(mi) - 1, "r");
	assert_non_null(f);
	assert_int_equal(cli_mountinfo_find(f, "/tmp/a b", type, sizeof(type)),
			 1);
	assert_string_equal(type, "fuse.vaultfs");
	rewind(f);
	assert_int_equal(
	    cli_mountinfo_find(f, "/tmp/a\\040b", type, sizeof(type)), 0);
	rewind(f);
	/* stacked mounts: the last one is on top */
	assert_int_equal(cli_mountinfo_find(f, "/mnt/x", type, sizeof(type)),
			 1);
	assert_string_equal(type, "fuse.vaultfs");
	rewind(f);
	assert_int_equal(cli_mountinfo_find(f, "/mnt", type, sizeof(type)), 0);
	rewind(f);
	assert_int_equal(cli_mountinfo_find(f, "/", type, sizeof(type)), 1);
	assert_string_equal(type, "ext4");
	fclose(f);
}

static int ready_child(int how)
{
	int fds[2];
	pid_t pid;
	int code;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (how == 0)
			cli_ready_report(fds[1], CLI_EXIT_WRONGKEY);
		else if (how == 1)
			cli_ready_report(fds[1], CLI_EXIT_OK);
		else if (how == 3)
			raise(SIGKILL);
		_exit(0);
	}
	close(fds[1]);
	code = cli_ready_wait(fds[0], pid);
	close(fds[0]);
	if (how <= 1)
		waitpid(pid, NULL, 0);
	return code;
}

static void test_ready_pipe(void **state)
{
	assert_int_equal(ready_child(0), CLI_EXIT_WRONGKEY);
	assert_int_equal(ready_child(1), CLI_EXIT_OK);
	/* silent exit and death by signal: a failure, never success */
	assert_int_equal(ready_child(2), CLI_EXIT_FAILURE);
	assert_int_equal(ready_child(3), CLI_EXIT_FAILURE);
}

static void test_parse_vault(void **state)
{
	struct parsed p;

	parse(&p, "vaultfs", "init", "--vault", "https://v.example",
	      "--account", "a1", "--account-token-file", "tok",
	      "--password-file", "pw", "--no-recovery-key", "cloud", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.vault_url, "https://v.example");
	assert_string_equal(p.a.account, "a1");
	assert_string_equal(p.a.token_file, "tok");
	assert_string_equal(p.a.password_file, "pw");
	assert_true(p.a.no_recovery_key);
	cli_args_release(&p.a);

	/* --no-recovery-key needs a password and excludes a key file */
	parse(&p, "vaultfs", "init", "--no-recovery-key", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "needs a password"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "init", "--vault", "https://v", "--account", "a",
	      "--account-token-file", "t", "--no-recovery-key",
	      "--recovery-key-file", "k", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "exclude each other"));
	cli_args_release(&p.a);
	/* --vault needs the account and its token */
	parse(&p, "vaultfs", "init", "--vault", "https://v", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--account ID"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "init", "--password-file", "p", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "need --vault"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "init", "--vault", "", "c", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "--vault wants URL"));
	cli_args_release(&p.a);
	/* repeated: a list of replicas (test_parse_vault_list) */
	parse(&p, "vaultfs", "mount", "--vault", "x", "--vault", "y", "c", "m",
	      NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.vault_url, "x,y");
	cli_args_release(&p.a);

	/* mount: password and key options exclude each other */
	parse(&p, "vaultfs", "mount", "--password-file", "p", "c", "m", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.a.password_file, "p");
	assert_null(p.a.key_file);
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "mount", "--password-file", "p", "--recovery-key",
	      "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);
	/* --no-recovery-key is init's only */
	parse(&p, "vaultfs", "mount", "--no-recovery-key", "c", "m", NULL);
	assert_int_equal(p.r, -EINVAL);
	cli_args_release(&p.a);

	/* passwd */
	parse(&p, "vaultfs", "passwd", "--recovery-key-file", "k",
	      "--new-password-file", "n", "cloud", NULL);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.a.cmd, CLI_CMD_PASSWD);
	assert_string_equal(p.a.cloud_dir, "cloud");
	assert_string_equal(p.a.key_file, "k");
	assert_string_equal(p.a.new_password_file, "n");
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "passwd", "--recovery-key-file", "k",
	      "--password-file", "o", "cloud", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "exclude each other"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "passwd", NULL);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "CLOUD_DIR needed"));
	cli_args_release(&p.a);
	parse(&p, "vaultfs", "passwd", "--help", NULL);
	assert_int_equal(p.r, CLI_DONE);
	assert_non_null(strstr(p.out, "--new-password-file"));
	cli_args_release(&p.a);
}

static void test_password_from_file(void **state)
{
	char path[128];
	char *pw = NULL, *big;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	write_file(path, "secret one\nsecond line\n", 23);
	assert_int_equal(cli_password_from_file(path, &pw, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(pw, "secret one");
	sodium_free(pw);

	write_file(path, "crlf pw\r\n", 9);
	assert_int_equal(cli_password_from_file(path, &pw, &len), 0);
	assert_string_equal(pw, "crlf pw");
	sodium_free(pw);

	write_file(path, "no newline", 10);
	assert_int_equal(cli_password_from_file(path, &pw, &len), 0);
	assert_string_equal(pw, "no newline");
	sodium_free(pw);

	pw = NULL;
	write_file(path, "\nline two\n", 10);
	assert_int_equal(cli_password_from_file(path, &pw, &len), -ENODATA);
	write_file(path, "", 0);
	assert_int_equal(cli_password_from_file(path, &pw, &len), -ENODATA);
	assert_null(pw);

	/* a long file with a short first line is fine; a long line is not */
	big = malloc(3 * CLI_PASSWORD_MAX);
	assert_non_null(big);
	memset(big, 'x', 3 * CLI_PASSWORD_MAX);
	memcpy(big, "short\n", 6);
	write_file(path, big, 3 * CLI_PASSWORD_MAX);
	assert_int_equal(cli_password_from_file(path, &pw, &len), 0);
	assert_string_equal(pw, "short");
	sodium_free(pw);
	pw = NULL;
	big[0] = 'x';
	big[5] = 'x';
	write_file(path, big, 3 * CLI_PASSWORD_MAX);
	assert_int_equal(cli_password_from_file(path, &pw, &len), -E2BIG);
	assert_null(pw);
	free(big);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(cli_password_from_file(path, &pw, &len), -ENOENT);
}

static void test_vault_conf(void **state)
{
	struct cli_vault_conf c, got;
	uint8_t id[16], id2[16];
	char path[256], tok[4096] = "";

	memset(id, 0xab, sizeof(id));
	memset(id2, 0x01, sizeof(id2));
	assert_int_equal(cli_vault_conf_load(tmpdir, id, &got), -ENOENT);
	memset(&c, 0, sizeof(c));
	strcpy(c.url, "https://vault.example:8443");
	strcpy(c.account, "acct-1");
	strcpy(c.token_file, "/home/u/token");
	assert_int_equal(cli_vault_conf_save(tmpdir, id, &c), 0);
	assert_int_equal(cli_vault_conf_load(tmpdir, id, &got), 0);
	assert_string_equal(got.url, c.url);
	assert_string_equal(got.account, c.account);
	assert_string_equal(got.token_file, c.token_file);
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), -ENOENT);

	/* trusted: any store's conf; the token file only for its account */
	assert_int_equal(
	    cli_vault_trusted(tmpdir, c.url, "acct-1", tok, sizeof(tok)), 1);
	assert_string_equal(tok, "/home/u/token");
	tok[0] = '\0';
	assert_int_equal(
	    cli_vault_trusted(tmpdir, c.url, "other", tok, sizeof(tok)), 1);
	assert_string_equal(tok, "");
	assert_int_equal(cli_vault_trusted(tmpdir, "https://evil.example",
					   "acct-1", tok, sizeof(tok)),
			 0);

	/* malformed files are refused, not half-read */
	snprintf(path, sizeof(path),
		 "%s/vaults/01010101010101010101010101010101.conf", tmpdir);
	write_file(path, "url\n", 4);
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), -EBADMSG);
	write_file(path, "account a\n", 10);
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), -EBADMSG);
	write_file(path, "url https://a\x01\n", 15);
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), -EBADMSG);
	write_file(path, "url https://a", 13); /* no newline */
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), -EBADMSG);
	write_file(path, "url https://a\nfuture x\n", 23);
	assert_int_equal(cli_vault_conf_load(tmpdir, id2, &got), 0);
	assert_string_equal(got.url, "https://a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_codes),
	    cmocka_unit_test(test_parse_init),
	    cmocka_unit_test(test_parse_vault_list),
	    cmocka_unit_test(test_parse_mount),
	    cmocka_unit_test(test_parse_mount_lease),
	    cmocka_unit_test(test_parse_umount_help_version),
	    cmocka_unit_test(test_read_secret_fd),
	    cmocka_unit_test(test_key_from_file),
	    cmocka_unit_test(test_key_from_tty_without_tty),
	    cmocka_unit_test(test_state_dir),
	    cmocka_unit_test(test_mount_paths),
	    cmocka_unit_test(test_mountinfo),
	    cmocka_unit_test(test_ready_pipe),
	    cmocka_unit_test(test_parse_vault),
	    cmocka_unit_test(test_password_from_file),
	    cmocka_unit_test(test_vault_conf),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
