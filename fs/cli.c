/*
 * cli.c - the vaultfs command line: argument parsing (getopt_long, one
 * option table per subcommand), key input from a file or the terminal,
 * the error -> exit code table, the state dir and per-mount lock file
 * paths, and the ready pipe between the daemon and the command that
 * started it.
 *
 * Nothing here touches the store or FUSE (see main.c and fsops.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "keytext.h"
#include "vfs_error.h"

int cli_exit_code(int r)
{
	if (r >= 0)
		return CLI_EXIT_OK;
	switch (-r) {
	case VFS_E_NOTSTORE:
		return CLI_EXIT_NOTSTORE;
	case VFS_E_KEYTEXT:
		return CLI_EXIT_KEYTEXT;
	case VFS_E_WRONGKEY:
		return CLI_EXIT_WRONGKEY;
	case VFS_E_DAMAGED:
	case EBADMSG:
		return CLI_EXIT_DAMAGED;
	case VFS_E_ROLLBACK:
	case VFS_E_FORK:
		return CLI_EXIT_ROLLBACK;
	case VFS_E_MOUNTPOINT:
		return CLI_EXIT_MOUNTPOINT;
	case VFS_E_VERSION:
		return CLI_EXIT_VERSION;
	case VFS_E_LEASE:
		return CLI_EXIT_LEASE;
	case VFS_E_PASSWORD:
		return CLI_EXIT_PASSWORD;
	case VFS_E_LOCKED:
		return CLI_EXIT_LOCKED;
	case VFS_E_VAULT:
	case VFS_E_TOKEN:
	case VFS_E_PROTOCOL:
		return CLI_EXIT_VAULT;
	default:
		break;
	}
	if (-r > 0 && -r < VFS_E_BASE)
		return CLI_EXIT_IO;
	return CLI_EXIT_FAILURE;
}

const char *cli_hint(int r)
{
	switch (-r) {
	case VFS_E_NOTSTORE:
		return "the folder holds no vaultfs store header; check the "
		       "path, or wait for the sync client to finish";
	case VFS_E_KEYTEXT:
		return "the 64-digit key is 64 hex digits (0-9, a-f), "
		       "optionally in groups separated by spaces or dashes";
	case VFS_E_WRONGKEY:
		return "this key does not open this store (checked against "
		       "the store header); check that key and folder belong "
		       "together";
	case VFS_E_DAMAGED:
	case EBADMSG:
		return "objects in the cloud folder are missing or failed "
		       "authentication; nothing was decrypted from them. If "
		       "the sync client is still downloading, wait and retry";
	case VFS_E_ROLLBACK:
		return "the cloud folder holds an older state than this "
		       "machine has seen (an old copy was restored, or the "
		       "sync client has not finished): refusing it";
	case VFS_E_FORK:
		return "the cloud folder holds two different histories for "
		       "the same generation (two writers, or a restored "
		       "copy that was written to): refusing to merge";
	case VFS_E_VERSION:
		return "the store was written by a newer vaultfs; upgrade";
	case VFS_E_LEASE:
		return "another vaultfs holds the store read-write; unmount "
		       "it there, or mount here with --read-only";
	default:
		return NULL;
	}
}

/* ---- argument parsing ---- */

enum {
	OPT_HELP = 'h',
	OPT_FOREGROUND = 'f',
	OPT_FUSE = 'o',
	OPT_VERSION = 0x100,
	OPT_KEY_FILE,
	OPT_ASK_KEY,
	OPT_READ_ONLY,
	OPT_LOG_LEVEL,
};

struct cli_cmd_desc {
	const char *name;
	enum cli_cmd cmd;
	const char *shortopts;
	const struct option *longopts;
	int nargs;
	const char *usage;
};

/*
 * Option tables. The vault options (--vault, --account,
 * --account-token-file, --password-file, --no-recovery-key) slot in here.
 */
static const struct option init_opts[] = {
    {"recovery-key-file", required_argument, NULL, OPT_KEY_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const struct option mount_opts[] = {
    {"recovery-key", no_argument, NULL, OPT_ASK_KEY},
    {"recovery-key-file", required_argument, NULL, OPT_KEY_FILE},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const struct option umount_opts[] = {
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const struct cli_cmd_desc cli_cmds[] = {
    {"init", CLI_CMD_INIT, ":h", init_opts, 1,
     "usage: vaultfs init [--recovery-key-file FILE] CLOUD_DIR\n"
     "\n"
     "Creates an empty store in CLOUD_DIR (a folder inside the cloud\n"
     "sync folder; created if missing, must be empty) and a new random\n"
     "256-bit backup key, shown once as the 64-digit recovery key.\n"
     "\n"
     "  --recovery-key-file FILE  write the 64-digit key to FILE (new,\n"
     "                            mode 0600; never overwritten). Without\n"
     "                            it the key is printed, and only when\n"
     "                            standard output is a terminal.\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"mount", CLI_CMD_MOUNT, ":hfo:", mount_opts, 2,
     "usage: vaultfs mount [--recovery-key | --recovery-key-file FILE]\n"
     "                     [--read-only] [-f] [-o FUSE_OPTIONS]\n"
     "                     CLOUD_DIR MOUNTPOINT\n"
     "\n"
     "Mounts the store in CLOUD_DIR at MOUNTPOINT. Returns once the mount\n"
     "is ready; the daemon keeps running until 'vaultfs umount'.\n"
     "\n"
     "  --recovery-key            ask for the 64-digit key on the\n"
     "                            terminal (not echoed)\n"
     "  --recovery-key-file FILE  read the 64-digit key from FILE\n"
     "                            ('-' = standard input)\n"
     "  --read-only               mount read-only (other writers allowed)\n"
     "  -f, --foreground          stay in the foreground, log to stderr\n"
     "  -o OPT[,OPT...]           extra FUSE mount options (allow_other,\n"
     "                            ...); may be repeated\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"umount", CLI_CMD_UMOUNT, ":h", umount_opts, 1,
     "usage: vaultfs umount MOUNTPOINT\n"
     "\n"
     "Commits everything written, unmounts MOUNTPOINT and waits until\n"
     "its daemon has exited.\n"
     "\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
};

static const char cli_usage[] =
    "usage: vaultfs [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "An end-to-end encrypted backup filesystem for chat history.\n"
    "\n"
    "Commands:\n"
    "  init    create an empty store and a new backup key\n"
    "  mount   mount a store (asks for the key, starts the daemon)\n"
    "  umount  commit, unmount and wait for the daemon to exit\n"
    "\n"
    "Run 'vaultfs COMMAND --help' for the options of a command.\n"
    "Exit codes are listed in docs/cli.md.\n";

static void cli_version(FILE *out)
{
	fprintf(out, "vaultfs %s\n", PACKAGE_VERSION);
}

static int cli_add_fuse_opt(struct cli_args *a, const char *opt)
{
	size_t old = a->fuse_opts ? strlen(a->fuse_opts) : 0;
	size_t add = strlen(opt);
	char *p;

	if (add == 0 || add > 4096 || old > 16384)
		return -EINVAL;
	p = realloc(a->fuse_opts, old + add + 2);
	if (!p)
		return -ENOMEM;
	if (old > 0)
		p[old++] = ',';
	memcpy(p + old, opt, add + 1);
	a->fuse_opts = p;
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
cli_usage_error(FILE *err, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "vaultfs%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fprintf(err, "\nTry 'vaultfs%s%s --help'.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return -EINVAL;
}

static int cli_parse_cmd(const struct cli_cmd_desc *d, int argc, char **argv,
			 struct cli_args *a, FILE *out, FILE *err)
{
	char optbuf[3] = "-?";
	int c, r;

	opterr = 0;
	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, d->shortopts, d->longopts, NULL)) !=
	       -1) {
		switch (c) {
		case OPT_HELP:
			fputs(d->usage, out);
			return CLI_DONE;
		case OPT_VERSION:
			cli_version(out);
			return CLI_DONE;
		case OPT_FOREGROUND:
			a->foreground = 1;
			break;
		case OPT_FUSE:
			r = cli_add_fuse_opt(a, optarg);
			if (r == -EINVAL)
				return cli_usage_error(
				    err, d->name, "bad -o value '%s'", optarg);
			if (r < 0)
				return r;
			break;
		case OPT_KEY_FILE:
			if (a->key_file)
				return cli_usage_error(err, d->name,
						       "%s given twice",
						       "--recovery-key-file");
			a->key_file = optarg;
			break;
		case OPT_ASK_KEY:
			a->ask_key = 1;
			break;
		case OPT_READ_ONLY:
			a->read_only = 1;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &a->log_level) < 0)
				return cli_usage_error(
				    err, d->name,
				    "unknown log level '%s' (error, warn, "
				    "info, debug)",
				    optarg);
			break;
		case ':':
			if (optopt) {
				optbuf[1] = (char)optopt;
				return cli_usage_error(
				    err, d->name,
				    "option '%s' needs an argument", optbuf);
			}
			return cli_usage_error(err, d->name,
					       "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			if (optopt) {
				optbuf[1] = (char)optopt;
				return cli_usage_error(err, d->name,
						       "unknown option '%s'",
						       optbuf);
			}
			return cli_usage_error(err, d->name,
					       "unknown option '%s'",
					       argv[optind - 1]);
		}
	}

	if (a->ask_key && a->key_file)
		return cli_usage_error(err, d->name, "%s",
				       "--recovery-key and --recovery-key-file "
				       "exclude each other");
	if (argc - optind < d->nargs)
		return cli_usage_error(
		    err, d->name, "%s",
		    d->nargs == 2 ? "CLOUD_DIR and MOUNTPOINT needed"
		    : d->cmd == CLI_CMD_UMOUNT ? "MOUNTPOINT needed"
					       : "CLOUD_DIR needed");
	if (argc - optind > d->nargs)
		return cli_usage_error(err, d->name, "unexpected argument '%s'",
				       argv[optind + d->nargs]);
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '\0')
			return cli_usage_error(err, d->name, "%s",
					       "empty path argument");

	switch (d->cmd) {
	case CLI_CMD_INIT:
		a->cloud_dir = argv[optind];
		break;
	case CLI_CMD_MOUNT:
		a->cloud_dir = argv[optind];
		a->mountpoint = argv[optind + 1];
		break;
	case CLI_CMD_UMOUNT:
		a->mountpoint = argv[optind];
		break;
	default:
		break;
	}
	a->cmd = d->cmd;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *ret, FILE *out, FILE *err)
{
	int i;

	memset(ret, 0, sizeof(*ret));
	ret->log_level = LOG_LVL_INFO;

	/* Options before the command: only --help and --version. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(cli_usage, out);
			return CLI_DONE;
		}
		if (strcmp(argv[i], "--version") == 0) {
			cli_version(out);
			return CLI_DONE;
		}
		return cli_usage_error(err, NULL, "unknown option '%s'",
				       argv[i]);
	}
	if (i >= argc) {
		fputs(cli_usage, err);
		return -EINVAL;
	}
	for (size_t k = 0; k < sizeof(cli_cmds) / sizeof(cli_cmds[0]); k++) {
		if (strcmp(argv[i], cli_cmds[k].name) == 0)
			return cli_parse_cmd(&cli_cmds[k], argc - i, argv + i,
					     ret, out, err);
	}
	if (strcmp(argv[i], "unmount") == 0)
		return cli_parse_cmd(&cli_cmds[2], argc - i, argv + i, ret, out,
				     err);
	return cli_usage_error(err, NULL, "unknown command '%s'", argv[i]);
}

void cli_args_release(struct cli_args *a)
{
	if (!a)
		return;
	free(a->fuse_opts);
	a->fuse_opts = NULL;
}

/* ---- key input ---- */

int cli_read_secret_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	char *buf;
	size_t len = 0;
	int r;

	/* One byte more than max to tell "exactly max" from "too long". */
	buf = sodium_malloc(max + 2);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -E2BIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	buf = NULL; /* transferred */
	*ret_len = len;
	r = 0;
out:
	if (buf) {
		sodium_memzero(buf, max + 2);
		sodium_free(buf);
	}
	return r;
}

static int cli_parse_key(const char *text, size_t len, uint8_t *ret_key,
			 char *why, size_t whylen)
{
	return keytext_parse(text, len, ret_key, why, whylen);
}

int cli_key_from_file(const char *path, uint8_t *ret_key, char *why,
		      size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	int fd = -1, r;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
	}
	r = cli_read_secret_fd(fd, CLI_KEYTEXT_MAX, &text, &len);
	if (r < 0)
		goto out;
	r = cli_parse_key(text, len, ret_key, why, whylen);
out:
	if (text) {
		sodium_memzero(text, len);
		sodium_free(text);
	}
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return r;
}

static volatile sig_atomic_t cli_tty_signal;

static void cli_tty_sig(int sig)
{
	cli_tty_signal = sig;
}

int cli_key_from_tty(const char *prompt, uint8_t *ret_key, char *why,
		     size_t whylen)
{
	struct termios old, noecho;
	struct sigaction sa, old_int, old_term, old_hup;
	char *line = NULL;
	size_t len = 0;
	int fd, r, restored = 1;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENXIO;
	line = sodium_malloc(CLI_KEYTEXT_MAX + 1);
	if (!line) {
		r = -ENOMEM;
		goto out;
	}
	if (tcgetattr(fd, &old) < 0) {
		r = -ENXIO;
		goto out;
	}
	/* A signal while echo is off must not leave the terminal silent:
	 * catch it, restore, then re-raise it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_tty_sig;
	sigemptyset(&sa.sa_mask);
	cli_tty_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	restored = 0;
	if (tcsetattr(fd, TCSAFLUSH, &noecho) < 0) {
		r = -errno;
		goto out;
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR) {
			if (cli_tty_signal) {
				r = -EINTR;
				goto out;
			}
			continue;
		}
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0 || c == '\n')
			break;
		if (len >= CLI_KEYTEXT_MAX) {
			r = -E2BIG;
			goto out;
		}
		line[len++] = c;
	}
	r = cli_parse_key(line, len, ret_key, why, whylen);
out:
	if (!restored) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0) {
			/* nothing left to do about a broken terminal */
		}
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		if (cli_tty_signal)
			raise(cli_tty_signal);
	}
	if (line) {
		sodium_memzero(line, CLI_KEYTEXT_MAX + 1);
		sodium_free(line);
	}
	close(fd);
	return r;
}

/* ---- paths ---- */

static int cli_mkdir_p(char *path, mode_t mode)
{
	struct stat st;

	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			int e = errno;

			*p = '/';
			return -e;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

int cli_state_dir(char **ret)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home;
	char *path = NULL;
	int r;

	if (xdg && xdg[0] == '/') {
		if (asprintf(&path, "%s/vaultfs", xdg) < 0)
			return -ENOMEM;
	} else {
		home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());

			if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
				return -ENOENT;
			home = pw->pw_dir;
		}
		if (asprintf(&path, "%s/.local/state/vaultfs", home) < 0)
			return -ENOMEM;
	}
	r = cli_mkdir_p(path, 0700);
	if (r < 0) {
		free(path);
		return r;
	}
	*ret = path;
	return 0;
}

int cli_mount_abspath(const char *mnt, char **ret)
{
	char *copy, *slash, *base, *dir, *res = NULL;
	char real[PATH_MAX];
	size_t len;
	int r;

	copy = strdup(mnt);
	if (!copy)
		return -ENOMEM;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		dir = (char *)".";
		base = copy;
	} else if (slash == copy) {
		dir = (char *)"/";
		base = copy + 1;
	} else {
		*slash = '\0';
		dir = copy;
		base = slash + 1;
	}
	if (base[0] == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		/* "/" or a path ending in a dot: resolve the whole. */
		if (!realpath(mnt, real)) {
			r = -errno;
			goto out;
		}
		res = strdup(real);
	} else {
		if (!realpath(dir, real)) {
			r = -errno;
			goto out;
		}
		if (asprintf(&res, "%s%s%s", real,
			     strcmp(real, "/") == 0 ? "" : "/", base) < 0)
			res = NULL;
	}
	if (!res) {
		r = -ENOMEM;
		goto out;
	}
	*ret = res;
	r = 0;
out:
	free(copy);
	return r;
}

int cli_mount_lockfile(const char *state_dir, const char *abs_mnt, char **ret)
{
	uint8_t h[16];
	char hex[2 * sizeof(h) + 1];
	char *dir = NULL, *path = NULL;
	int r;

	if (asprintf(&dir, "%s/mounts", state_dir) < 0)
		return -ENOMEM;
	r = cli_mkdir_p(dir, 0700);
	if (r < 0)
		goto out;
	crypto_generichash(h, sizeof(h), (const uint8_t *)abs_mnt,
			   strlen(abs_mnt), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (asprintf(&path, "%s/%s.pid", dir, hex) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*ret = path;
	r = 0;
out:
	free(dir);
	return r;
}

/* Undoes mountinfo's octal escapes (\040 for space etc.) in place. */
static void cli_unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

int cli_mountinfo_find(FILE *mountinfo, const char *abs_mnt, char *fstype,
		       size_t fstype_len)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	/* id parent maj:min root mountpoint opts [optional...] - fstype src */
	while (getline(&line, &cap, mountinfo) > 0) {
		char *save = NULL, *tok, *mp = NULL, *type = NULL;
		int field = 0, after_dash = 0;

		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save), field++) {
			if (field == 4)
				mp = tok;
			if (after_dash) {
				type = tok;
				break;
			}
			if (field > 5 && strcmp(tok, "-") == 0)
				after_dash = 1;
		}
		if (!mp || !type)
			continue;
		cli_unescape(mp);
		if (strcmp(mp, abs_mnt) != 0)
			continue;
		found = 1;
		if (fstype && fstype_len) {
			cli_unescape(type);
			snprintf(fstype, fstype_len, "%s", type);
		}
	}
	free(line);
	return found;
}

/* ---- ready pipe ---- */

void cli_ready_report(int fd, int exit_code)
{
	uint8_t b = (uint8_t)exit_code;
	ssize_t n;

	do {
		n = write(fd, &b, 1);
	} while (n < 0 && errno == EINTR);
}

int cli_ready_wait(int fd, pid_t child)
{
	uint8_t b;
	ssize_t n;
	int status = 0;
	pid_t p;

	do {
		n = read(fd, &b, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		return b;
	/* The daemon died before saying anything: reap it and tell. */
	do {
		p = waitpid(child, &status, 0);
	} while (p < 0 && errno == EINTR);
	if (p > 0 && WIFSIGNALED(status))
		fprintf(stderr,
			"vaultfs: the daemon was killed by signal %d before "
			"the mount was ready\n",
			WTERMSIG(status));
	else
		fprintf(stderr,
			"vaultfs: the daemon exited before the mount was "
			"ready\n");
	return CLI_EXIT_FAILURE;
}
