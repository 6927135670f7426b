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
#include <dirent.h>
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
		       "it there, or mount here with --read-only (or, once "
		       "another machine's lease has expired, --take-over)";
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
	OPT_VAULT,
	OPT_ACCOUNT,
	OPT_TOKEN_FILE,
	OPT_PASSWORD_FILE,
	OPT_NEW_PASSWORD_FILE,
	OPT_NO_RECOVERY_KEY,
	OPT_SHOW,
	OPT_OUTPUT,
	OPT_NEW_KEY_FILE,
	OPT_REPAIR,
	OPT_TAKE_OVER,
	OPT_CLEAN_GRACE,
	OPT_CLEAN_INTERVAL,
	OPT_JSON,
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
 * Option tables, one per subcommand, built from the groups they share
 * (getopt_long does not depend on the order of a table).
 */
#define CLI_OPTS_KEY                                                           \
	{"recovery-key", no_argument, NULL, OPT_ASK_KEY},                      \
	{"recovery-key-file", required_argument, NULL, OPT_KEY_FILE}
/* The vault: --vault, --account, --account-token-file, --password-file. */
#define CLI_OPTS_VAULT                                                         \
	{"vault", required_argument, NULL, OPT_VAULT},                         \
	{"account", required_argument, NULL, OPT_ACCOUNT},                     \
	{"account-token-file", required_argument, NULL, OPT_TOKEN_FILE},       \
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE}
/* Every command ends with these (and the terminator). */
#define CLI_OPTS_END                                                           \
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},                 \
	{"help", no_argument, NULL, OPT_HELP},                                 \
	{"version", no_argument, NULL, OPT_VERSION},                           \
	{NULL, 0, NULL, 0}

static const struct option init_opts[] = {
    {"recovery-key-file", required_argument, NULL, OPT_KEY_FILE},
    {"no-recovery-key", no_argument, NULL, OPT_NO_RECOVERY_KEY},
    CLI_OPTS_VAULT,
    CLI_OPTS_END,
};

static const struct option mount_opts[] = {
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"take-over", no_argument, NULL, OPT_TAKE_OVER},
    {"clean-grace", required_argument, NULL, OPT_CLEAN_GRACE},
    {"clean-interval", required_argument, NULL, OPT_CLEAN_INTERVAL},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    CLI_OPTS_END,
};

static const struct option passwd_opts[] = {
    {"recovery-key-file", required_argument, NULL, OPT_KEY_FILE},
    {"new-password-file", required_argument, NULL, OPT_NEW_PASSWORD_FILE},
    CLI_OPTS_VAULT,
    CLI_OPTS_END,
};

static const struct option fsck_opts[] = {
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    {"repair", no_argument, NULL, OPT_REPAIR},
    CLI_OPTS_END,
};

static const struct option umount_opts[] = {
    CLI_OPTS_END,
};

/* status and restore: the key options of mount. */
static const struct option status_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    CLI_OPTS_END,
};

static const struct option restore_opts[] = {
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    CLI_OPTS_END,
};

static const struct option recovery_key_opts[] = {
    {"show", no_argument, NULL, OPT_SHOW},
    {"output", required_argument, NULL, OPT_OUTPUT},
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    CLI_OPTS_END,
};

static const struct option rekey_opts[] = {
    CLI_OPTS_KEY,
    CLI_OPTS_VAULT,
    {"new-password-file", required_argument, NULL, OPT_NEW_PASSWORD_FILE},
    {"new-recovery-key-file", required_argument, NULL, OPT_NEW_KEY_FILE},
    {"no-recovery-key", no_argument, NULL, OPT_NO_RECOVERY_KEY},
    CLI_OPTS_END,
};

static const struct cli_cmd_desc cli_cmds[] = {
    {"init", CLI_CMD_INIT, ":h", init_opts, 1,
     "usage: vaultfs init [--recovery-key-file FILE | --no-recovery-key]\n"
     "                    [--vault URL[,URL...] --account ID\n"
     "                     --account-token-file F\n"
     "                     [--password-file P]] CLOUD_DIR\n"
     "\n"
     "Creates an empty store in CLOUD_DIR (a folder inside the cloud\n"
     "sync folder; created if missing, must be empty) and a new random\n"
     "256-bit backup key, shown once as the 64-digit recovery key, and/or\n"
     "protected by a password registered at a vault.\n"
     "\n"
     "  --recovery-key-file FILE  write the 64-digit key to FILE (new,\n"
     "                            mode 0600; never overwritten). Without\n"
     "                            it the key is printed, and only when\n"
     "                            standard output is a terminal.\n"
     "  --vault URL[,URL...]      protect the key with a password at this\n"
     "                            vault (trusted on this machine from now);\n"
     "                            several URLs (or --vault again): its\n"
     "                            replicas, tried in order\n"
     "  --account ID              the vault account (an opaque handle)\n"
     "  --account-token-file F    the account token (path remembered)\n"
     "  --password-file P         the password is line 1 of P (else it is\n"
     "                            asked twice on the terminal)\n"
     "  --no-recovery-key         no 64-digit key at all: the password is\n"
     "                            then the only way in\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"mount", CLI_CMD_MOUNT, ":hfo:", mount_opts, 2,
     "usage: vaultfs mount [--recovery-key | --recovery-key-file FILE]\n"
     "                     [--vault URL[,URL...]] [--account ID]\n"
     "                     [--account-token-file F] [--password-file P]\n"
     "                     [--read-only | --take-over]\n"
     "                     [--clean-grace S] [--clean-interval S]\n"
     "                     [-f] [-o FUSE_OPTIONS] CLOUD_DIR MOUNTPOINT\n"
     "\n"
     "Mounts the store in CLOUD_DIR at MOUNTPOINT. Returns once the mount\n"
     "is ready; the daemon keeps running until 'vaultfs umount'. Without\n"
     "a key option the key is recovered from the vault with the password.\n"
     "\n"
     "  --vault URL[,URL...]      the vault to ask (trusted from now on);\n"
     "                            several URLs (or --vault again): its\n"
     "                            replicas, the next tried when one is\n"
     "                            down; default: remembered at init\n"
     "  --account ID              default: remembered, else the header's\n"
     "  --account-token-file F    default: the path remembered\n"
     "  --password-file P         the password is line 1 of P (else it is\n"
     "                            asked on the terminal)\n"
     "  --recovery-key            ask for the 64-digit key on the\n"
     "                            terminal (not echoed)\n"
     "  --recovery-key-file FILE  read the 64-digit key from FILE\n"
     "                            ('-' = standard input)\n"
     "  --read-only               mount read-only (other writers allowed;\n"
     "                            follows the writer's commits)\n"
     "  --take-over               take the writer's lease of another\n"
     "                            machine once it has expired (that\n"
     "                            machine no longer uses the store)\n"
     "  --clean-grace SECONDS     keep segments the cleaner freed this\n"
     "                            long for devices still reading older\n"
     "                            commits (default 3600; 0 for a single\n"
     "                            device)\n"
     "  --clean-interval SECONDS  run the cleaner this often (default 60)\n"
     "  -f, --foreground          stay in the foreground, log to stderr\n"
     "  -o OPT[,OPT...]           extra FUSE mount options (allow_other,\n"
     "                            ...); may be repeated\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"passwd", CLI_CMD_PASSWD, ":h", passwd_opts, 1,
     "usage: vaultfs passwd [--password-file OLD | --recovery-key-file K]\n"
     "                      [--new-password-file NEW] [--vault URL]\n"
     "                      [--account ID] [--account-token-file F]\n"
     "                      CLOUD_DIR\n"
     "\n"
     "Sets a new vault password for the store in CLOUD_DIR, proven with\n"
     "the old password or with the 64-digit key (which also unlocks an\n"
     "account locked after too many wrong passwords). The old password\n"
     "stops working.\n"
     "\n"
     "  --password-file OLD       the old password is line 1 of OLD (else\n"
     "                            it is asked on the terminal)\n"
     "  --recovery-key-file K     prove with the 64-digit key instead\n"
     "  --new-password-file NEW   the new password is line 1 of NEW (else\n"
     "                            it is asked twice on the terminal)\n"
     "  --vault, --account, --account-token-file  as for mount\n"
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
    {"fsck", CLI_CMD_FSCK, ":h", fsck_opts, 1,
     "usage: vaultfs fsck [--recovery-key | --recovery-key-file FILE]\n"
     "                    [--vault URL] [--account ID]\n"
     "                    [--account-token-file F] [--password-file P]\n"
     "                    [--repair] CLOUD_DIR\n"
     "\n"
     "Checks the store in CLOUD_DIR: the header and the key, every segment,\n"
     "the commit chain, the metadata, the tree, and every data chunk a file\n"
     "refers to. Says what is wrong in words (which objects; for data, which\n"
     "files and byte ranges). Read-only: takes no lease, changes nothing\n"
     "(a mounted store may be checked). Exit 0 when sound (debris alone is\n"
     "sound), 6 on damage, 7 on a rollback or fork.\n"
     "\n"
     "  --repair                  also remove what the store never needs:\n"
     "                            temporaries left by a crash, garbage\n"
     "                            segments past the grace period; only when\n"
     "                            nothing is damaged; takes the lease.\n"
     "                            Damaged files are listed, never changed.\n"
     "  --recovery-key            ask for the 64-digit key on the terminal\n"
     "  --recovery-key-file FILE  read the 64-digit key from FILE\n"
     "                            ('-' = standard input)\n"
     "  --vault, --account, --account-token-file, --password-file\n"
     "                            the password through the vault, as for\n"
     "                            mount\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"status", CLI_CMD_STATUS, ":h", status_opts, 1,
     "usage: vaultfs status [--json] [--recovery-key | --recovery-key-file F\n"
     "                      | --password-file P] [--vault URL]\n"
     "                      [--account ID] [--account-token-file F]\n"
     "                      CLOUD_DIR | MOUNTPOINT\n"
     "\n"
     "On a mount point: what its daemon reports (generation and time of\n"
     "the last commit, data not yet committed, objects and cloud bytes,\n"
     "lease, vault, sync debris). On a store folder: what can be read\n"
     "without the key; with a key option also the generation, the time\n"
     "of the last commit, the file count and the live bytes.\n"
     "\n"
     "  --json                    one JSON object on standard output\n"
     "  --recovery-key            ask for the 64-digit key (CLOUD_DIR)\n"
     "  --recovery-key-file FILE  read the 64-digit key from FILE\n"
     "  --password-file P         recover the key with the password\n"
     "  --vault, --account, --account-token-file  as for mount\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"restore", CLI_CMD_RESTORE, ":h", restore_opts, 2,
     "usage: vaultfs restore [--recovery-key | --recovery-key-file FILE]\n"
     "                       [--password-file P] [--vault URL]\n"
     "                       [--account ID] [--account-token-file F]\n"
     "                       CLOUD_DIR DEST\n"
     "\n"
     "Copies the whole plaintext tree of the store in CLOUD_DIR into the\n"
     "new folder DEST: files, folders, symlinks, hard links, FIFOs, modes,\n"
     "times (owners when run as root). Rerun the same command after an\n"
     "interruption: it resumes. Without a key option the key is recovered\n"
     "from the vault with the password, as for mount.\n"
     "\n"
     "  --recovery-key            ask for the 64-digit key on the terminal\n"
     "  --recovery-key-file FILE  read the 64-digit key from FILE\n"
     "                            ('-' = standard input)\n"
     "  --password-file P         the password is line 1 of P (else it is\n"
     "                            asked on the terminal)\n"
     "  --vault, --account, --account-token-file  as for mount\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"recovery-key", CLI_CMD_RECOVERY_KEY, ":h", recovery_key_opts, 1,
     "usage: vaultfs recovery-key --show [--output FILE]\n"
     "                            [--password-file P] [--vault URL]\n"
     "                            [--account ID] [--account-token-file F]\n"
     "                            CLOUD_DIR\n"
     "\n"
     "Shows the 64-digit recovery key of the store in CLOUD_DIR again,\n"
     "after getting the key with the password through the vault (or a\n"
     "64-digit key option) and checking it against the store header.\n"
     "\n"
     "  --show                    show the key (required)\n"
     "  --output FILE             write it to FILE (new, mode 0600; never\n"
     "                            overwritten). Without it the key is\n"
     "                            printed, and only when standard output\n"
     "                            is a terminal.\n"
     "  --password-file P         the password is line 1 of P (else it is\n"
     "                            asked on the terminal)\n"
     "  --recovery-key, --recovery-key-file FILE  check a 64-digit key\n"
     "                            instead of using the password\n"
     "  --vault, --account, --account-token-file  as for mount\n"
     "  --log-level LEVEL         error, warn, info (default), debug\n"
     "  -h, --help                this text\n"
     "      --version             print the version\n"},
    {"rekey", CLI_CMD_REKEY, ":h", rekey_opts, 1,
     "usage: vaultfs rekey [--recovery-key | --recovery-key-file FILE |\n"
     "                      --password-file P] [--vault URL] [--account ID]\n"
     "                     [--account-token-file F] [--new-password-file N]\n"
     "                     [--new-recovery-key-file FILE | --no-recovery-key]\n"
     "                     CLOUD_DIR\n"
     "\n"
     "Changes the backup key of the store in CLOUD_DIR (which must not be\n"
     "mounted read-write): re-encrypts everything under a new random key,\n"
     "switches the store to it in one atomic step, registers the password\n"
     "at the vault for the new key (when the store has a vault), removes\n"
     "the old key's objects and shows the new 64-digit key. Interrupted,\n"
     "it is resumed by running it again with the old or the new key; the\n"
     "old key keeps opening the store until it is finished.\n"
     "\n"
     "  --recovery-key            ask for the current 64-digit key\n"
     "  --recovery-key-file FILE  read the current 64-digit key from FILE\n"
     "  --password-file P         the current password is line 1 of P (else\n"
     "                            it is asked on the terminal)\n"
     "  --new-password-file N     the password to register for the new key\n"
     "                            is line 1 of N (default: the file of\n"
     "                            --password-file, else asked twice)\n"
     "  --new-recovery-key-file FILE  write the new 64-digit key to FILE\n"
     "                            (new, mode 0600) before anything depends\n"
     "                            on it. Without it the key is printed,\n"
     "                            and only when standard output is a\n"
     "                            terminal.\n"
     "  --no-recovery-key         no 64-digit key for the new key: the\n"
     "                            password is then the only way in\n"
     "  --vault, --account, --account-token-file  as for mount\n"
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
    "  passwd  set a new vault password (old password or 64-digit key)\n"
    "  fsck    check a store (and --repair what needs no guessing)\n"
    "  recovery-key  show the 64-digit key again (--show)\n"
    "  rekey   change the backup key (re-encrypts everything)\n"
    "  status  what a mount or a store folder holds, sync debris\n"
    "  restore copy the whole backup out into a new folder (resumable)\n"
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

int cli_vault_urls_split(char *text, const char **ret, size_t max)
{
	size_t n = 0;
	char *p = text;

	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (*p == '\0' || n == max)
			return -EINVAL;
		for (const char *c = p; *c; c++)
			if (*c == ' ' || *c == '\t' || *c == '\n' ||
			    *c == '\r')
				return -EINVAL;
		ret[n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return (int)n;
}

/* --vault URL[,URL...], repeatable: appended to the list. */
static int cli_add_vault_url(struct cli_args *a, const char *text)
{
	const char *urls[CLI_VAULT_URLS];
	size_t old = a->vault_url_buf ? strlen(a->vault_url_buf) : 0;
	size_t add = strlen(text);
	char *p, *check;
	int r;

	if (add == 0 || old + 1 + add >= CLI_VAULT_URLS_LEN)
		return -EINVAL;
	p = realloc(a->vault_url_buf, old + add + 2);
	if (!p)
		return -ENOMEM;
	a->vault_url_buf = p;
	if (old > 0)
		p[old++] = ',';
	memcpy(p + old, text, add + 1);
	check = strdup(p);
	if (!check)
		return -ENOMEM;
	r = cli_vault_urls_split(check, urls, CLI_VAULT_URLS);
	free(check);
	if (r < 0)
		return r;
	a->vault_url = a->vault_url_buf;
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

#define SET_ONCE(field, optname)                                               \
	do {                                                                   \
		if (field)                                                     \
			return cli_usage_error(err, d->name, "%s given twice", \
					       optname);                       \
		if (optarg[0] == '\0')                                         \
			return cli_usage_error(err, d->name,                   \
					       "%s needs a non-empty value",   \
					       optname);                       \
		field = optarg;                                                \
	} while (0)

/* Combinations of the vault options that make no sense. */
static int cli_check_vault_opts(const struct cli_cmd_desc *d,
				const struct cli_args *a, FILE *err)
{
	if (d->cmd == CLI_CMD_INIT) {
		if (a->no_recovery_key && a->key_file)
			return cli_usage_error(err, d->name, "%s",
					       "--recovery-key-file and "
					       "--no-recovery-key exclude each "
					       "other");
		if (a->no_recovery_key && !a->vault_url)
			return cli_usage_error(
			    err, d->name, "%s",
			    "--no-recovery-key needs a password: give "
			    "--vault URL --account ID --account-token-file F");
		if (!a->vault_url &&
		    (a->account || a->token_file || a->password_file))
			return cli_usage_error(
			    err, d->name, "%s",
			    "--account, --account-token-file "
			    "and --password-file need "
			    "--vault URL");
		if (a->vault_url && (!a->account || !a->token_file))
			return cli_usage_error(err, d->name, "%s",
					       "--vault needs --account ID and "
					       "--account-token-file FILE");
	}
	if (d->cmd == CLI_CMD_RECOVERY_KEY && !a->show)
		return cli_usage_error(err, d->name, "%s",
				       "recovery-key needs --show");
	if (d->cmd == CLI_CMD_REKEY && a->new_key_file &&
	    a->no_recovery_key)
		return cli_usage_error(err, d->name, "%s",
				       "--new-recovery-key-file and "
				       "--no-recovery-key exclude each other");
	if ((d->cmd == CLI_CMD_MOUNT || d->cmd == CLI_CMD_FSCK ||
	     d->cmd == CLI_CMD_STATUS || d->cmd == CLI_CMD_RESTORE ||
	     d->cmd == CLI_CMD_RECOVERY_KEY || d->cmd == CLI_CMD_REKEY) &&
	    a->password_file && (a->key_file || a->ask_key))
		return cli_usage_error(err, d->name, "%s",
				       "--password-file and a 64-digit key "
				       "option exclude each other");
	if (d->cmd == CLI_CMD_PASSWD && a->password_file && a->key_file)
		return cli_usage_error(
		    err, d->name, "%s",
		    "--password-file and --recovery-key-file "
		    "exclude each other");
	if (d->cmd == CLI_CMD_PASSWD && a->key_file &&
	    strcmp(a->key_file, "-") == 0)
		return cli_usage_error(err, d->name, "%s",
				       "passwd reads the key from a file, not "
				       "'-'");
	return 0;
}

/* A number of seconds in [min, max]: decimal digits only. */
static int cli_seconds(const char *text, long min, long max, long *ret)
{
	long v = 0;

	if (!*text || strlen(text) > 12)
		return -EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
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
		case OPT_TAKE_OVER:
			a->take_over = 1;
			break;
		case OPT_CLEAN_GRACE:
			if (cli_seconds(optarg, 0, CLI_CLEAN_GRACE_MAX,
					&a->clean_grace) < 0)
				return cli_usage_error(
				    err, d->name,
				    "--clean-grace wants seconds, 0 to %ld; "
				    "not '%s'",
				    CLI_CLEAN_GRACE_MAX, optarg);
			break;
		case OPT_CLEAN_INTERVAL:
			if (cli_seconds(optarg, 1, CLI_CLEAN_INTERVAL_MAX,
					&a->clean_interval) < 0)
				return cli_usage_error(
				    err, d->name,
				    "--clean-interval wants seconds, 1 to %ld; "
				    "not '%s'",
				    CLI_CLEAN_INTERVAL_MAX, optarg);
			break;
		case OPT_VAULT:
			r = cli_add_vault_url(a, optarg);
			if (r == -EINVAL)
				return cli_usage_error(
				    err, d->name,
				    "--vault wants URL[,URL...] (at most %d "
				    "URLs, %d bytes in all, no spaces); not "
				    "'%s'",
				    CLI_VAULT_URLS, CLI_VAULT_URLS_LEN - 1,
				    optarg);
			if (r < 0)
				return r;
			break;
		case OPT_ACCOUNT:
			SET_ONCE(a->account, "--account");
			break;
		case OPT_TOKEN_FILE:
			SET_ONCE(a->token_file, "--account-token-file");
			break;
		case OPT_PASSWORD_FILE:
			SET_ONCE(a->password_file, "--password-file");
			break;
		case OPT_NEW_PASSWORD_FILE:
			SET_ONCE(a->new_password_file, "--new-password-file");
			break;
		case OPT_NO_RECOVERY_KEY:
			a->no_recovery_key = 1;
			break;
		case OPT_SHOW:
			a->show = 1;
			break;
		case OPT_OUTPUT:
			SET_ONCE(a->output, "--output");
			break;
		case OPT_NEW_KEY_FILE:
			SET_ONCE(a->new_key_file, "--new-recovery-key-file");
			break;
		case OPT_REPAIR:
			a->repair = 1;
			break;
		case OPT_JSON:
			a->json = 1;
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
	if (a->read_only && a->take_over)
		return cli_usage_error(err, d->name, "%s",
				       "--take-over is for read-write mounts; "
				       "a --read-only mount needs no lease");
	r = cli_check_vault_opts(d, a, err);
	if (r < 0)
		return r;
	if (argc - optind < d->nargs)
		return cli_usage_error(
		    err, d->name, "%s",
		    d->cmd == CLI_CMD_RESTORE	 ? "CLOUD_DIR and DEST needed"
		    : d->cmd == CLI_CMD_STATUS ? "CLOUD_DIR or MOUNTPOINT needed"
		    : d->nargs == 2	       ? "CLOUD_DIR and MOUNTPOINT needed"
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
	case CLI_CMD_PASSWD:
	case CLI_CMD_FSCK:
	case CLI_CMD_RECOVERY_KEY:
	case CLI_CMD_REKEY:
		a->cloud_dir = argv[optind];
		break;
	case CLI_CMD_MOUNT:
		a->cloud_dir = argv[optind];
		a->mountpoint = argv[optind + 1];
		break;
	case CLI_CMD_UMOUNT:
		a->mountpoint = argv[optind];
		break;
	case CLI_CMD_STATUS:
		a->cloud_dir = argv[optind];
		break;
	case CLI_CMD_RESTORE:
		a->cloud_dir = argv[optind];
		a->dest = argv[optind + 1];
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
	ret->clean_grace = -1;
	ret->clean_interval = -1;

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
		return cli_parse_cmd(&cli_cmds[3], argc - i, argv + i, ret, out,
				     err);
	return cli_usage_error(err, NULL, "unknown command '%s'", argv[i]);
}

void cli_args_release(struct cli_args *a)
{
	if (!a)
		return;
	free(a->fuse_opts);
	a->fuse_opts = NULL;
	free(a->vault_url_buf);
	a->vault_url_buf = NULL;
	a->vault_url = NULL;
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

static int cli_mkdir_p(char *path, mode_t mode);

static volatile sig_atomic_t cli_tty_signal;

static void cli_tty_sig(int sig)
{
	cli_tty_signal = sig;
}

/*
 * Asks n questions on /dev/tty with echo off and reads one line (without
 * its newline) into bufs[i] (max bytes each) for each. The terminal is
 * restored on every path; a signal while echo is off is caught, the
 * terminal restored, then the signal re-raised.
 */
static int cli_tty_lines(const char *const *prompts, size_t n, char **bufs,
			 size_t max, size_t *lens)
{
	struct termios old, noecho;
	struct sigaction sa, old_int, old_term, old_hup;
	int fd, r = 0, restored = 1;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENXIO;
	if (tcgetattr(fd, &old) < 0) {
		r = -ENXIO;
		goto out;
	}
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
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;

		if (i > 0 && write(fd, "\n", 1) < 0) {
			r = -errno;
			goto out;
		}
		if (write(fd, prompts[i], strlen(prompts[i])) < 0) {
			r = -errno;
			goto out;
		}
		for (;;) {
			char c;
			ssize_t got = read(fd, &c, 1);

			if (got < 0 && errno == EINTR) {
				if (cli_tty_signal) {
					r = -EINTR;
					goto out;
				}
				continue;
			}
			if (got < 0) {
				r = -errno;
				goto out;
			}
			if (got == 0 || c == '\n')
				break;
			if (len >= max) {
				r = -E2BIG;
				goto out;
			}
			bufs[i][len++] = c;
		}
		lens[i] = len;
	}
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
	close(fd);
	return r;
}

int cli_key_from_tty(const char *prompt, uint8_t *ret_key, char *why,
		     size_t whylen)
{
	char *line;
	size_t len = 0;
	int r;

	line = sodium_malloc(CLI_KEYTEXT_MAX + 1);
	if (!line)
		return -ENOMEM;
	r = cli_tty_lines(&prompt, 1, &line, CLI_KEYTEXT_MAX, &len);
	if (r == 0)
		r = cli_parse_key(line, len, ret_key, why, whylen);
	sodium_memzero(line, CLI_KEYTEXT_MAX + 1);
	sodium_free(line);
	return r;
}

/* ---- passwords ---- */

int cli_password_from_file(const char *path, char **ret, size_t *ret_len)
{
	char *text = NULL, *pw = NULL, *nl;
	size_t len = 0, n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Room for line 1 at its longest, its newline and a little more. */
	r = cli_read_secret_fd(fd, CLI_PASSWORD_MAX + 64, &text, &len);
	close(fd);
	if (r == -E2BIG) {
		/* Maybe a long file with a short first line: read again,
		 * keeping only what fits. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
		text = sodium_malloc(CLI_PASSWORD_MAX + 2);
		if (!text) {
			close(fd);
			return -ENOMEM;
		}
		len = 0;
		while (len < CLI_PASSWORD_MAX + 1) {
			ssize_t got =
			    read(fd, text + len, CLI_PASSWORD_MAX + 1 - len);

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			len += (size_t)got;
		}
		close(fd);
		text[len] = '\0';
		if (!memchr(text, '\n', len)) {
			r = -E2BIG;
			goto out;
		}
	} else if (r < 0) {
		return r;
	}
	nl = memchr(text, '\n', len);
	n = nl ? (size_t)(nl - text) : len;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0) {
		r = -ENODATA;
		goto out;
	}
	if (n > CLI_PASSWORD_MAX) {
		r = -E2BIG;
		goto out;
	}
	pw = sodium_malloc(n + 1);
	if (!pw) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(pw, text, n);
	pw[n] = '\0';
	*ret = pw;
	*ret_len = n;
	r = 0;
out:
	if (text) {
		sodium_memzero(text, len);
		sodium_free(text);
	}
	return r;
}

int cli_password_from_tty(const char *prompt, const char *confirm, char **ret,
			  size_t *ret_len)
{
	const char *prompts[2] = {prompt, confirm};
	char *bufs[2] = {NULL, NULL};
	size_t lens[2] = {0, 0};
	size_t n = confirm ? 2 : 1;
	int r;

	for (size_t i = 0; i < n; i++) {
		bufs[i] = sodium_malloc(CLI_PASSWORD_MAX + 1);
		if (!bufs[i]) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = cli_tty_lines(prompts, n, bufs, CLI_PASSWORD_MAX, lens);
	if (r < 0)
		goto out;
	if (lens[0] > 0 && bufs[0][lens[0] - 1] == '\r')
		lens[0]--;
	if (n == 2 && lens[1] > 0 && bufs[1][lens[1] - 1] == '\r')
		lens[1]--;
	if (lens[0] == 0) {
		r = -ENODATA;
		goto out;
	}
	if (n == 2 && (lens[0] != lens[1] ||
		       sodium_memcmp(bufs[0], bufs[1], lens[0]) != 0)) {
		r = -EILSEQ;
		goto out;
	}
	bufs[0][lens[0]] = '\0';
	*ret = bufs[0];
	bufs[0] = NULL; /* transferred */
	*ret_len = lens[0];
	r = 0;
out:
	for (size_t i = 0; i < 2; i++) {
		if (bufs[i]) {
			sodium_memzero(bufs[i], CLI_PASSWORD_MAX + 1);
			sodium_free(bufs[i]);
		}
	}
	return r;
}

/* ---- remembered vaults ---- */

static int cli_vault_conf_path(const char *state_dir, const uint8_t *store_id,
			       char **ret)
{
	char hex[2 * 16 + 1];
	char *dir = NULL;
	int r;

	if (asprintf(&dir, "%s/vaults", state_dir) < 0)
		return -ENOMEM;
	r = cli_mkdir_p(dir, 0700);
	if (r == 0) {
		sodium_bin2hex(hex, sizeof(hex), store_id, 16);
		if (asprintf(ret, "%s/%s.conf", dir, hex) < 0)
			r = -ENOMEM;
	}
	free(dir);
	return r;
}

/* A value may hold any printable ASCII byte; nothing else. */
static int cli_conf_value(const char *v, char *out, size_t outlen)
{
	size_t n = strlen(v);

	if (n == 0 || n >= outlen)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return -EBADMSG;
	memcpy(out, v, n + 1);
	return 0;
}

static int cli_vault_conf_parse(FILE *f, struct cli_vault_conf *ret)
{
	struct cli_vault_conf c;
	char line[4200];
	int r = 0, lines = 0;

	memset(&c, 0, sizeof(c));
	while (fgets(line, sizeof(line), f)) {
		char *sp, *nl = strchr(line, '\n');

		if (!nl || ++lines > 16)
			return -EBADMSG;
		*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		sp = strchr(line, ' ');
		if (!sp)
			return -EBADMSG;
		*sp++ = '\0';
		if (strcmp(line, "url") == 0)
			r = cli_conf_value(sp, c.url, sizeof(c.url));
		else if (strcmp(line, "account") == 0)
			r = cli_conf_value(sp, c.account, sizeof(c.account));
		else if (strcmp(line, "token-file") == 0)
			r = cli_conf_value(sp, c.token_file,
					   sizeof(c.token_file));
		/* unknown keys: written by a newer vaultfs; ignored */
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return -EIO;
	if (!c.url[0])
		return -EBADMSG;
	*ret = c;
	return 0;
}

int cli_vault_conf_load(const char *state_dir, const uint8_t *store_id,
			struct cli_vault_conf *ret)
{
	char *path = NULL;
	FILE *f;
	int r;

	r = cli_vault_conf_path(state_dir, store_id, &path);
	if (r < 0)
		return r;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return -errno;
	r = cli_vault_conf_parse(f, ret);
	fclose(f);
	return r;
}

int cli_vault_conf_save(const char *state_dir, const uint8_t *store_id,
			const struct cli_vault_conf *c)
{
	char *path = NULL, *tmp = NULL, *dir;
	FILE *f = NULL;
	int fd = -1, r;

	r = cli_vault_conf_path(state_dir, store_id, &path);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		r = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		goto out;
	}
	fd = -1; /* transferred */
	fprintf(f, "# vaultfs: the vault trusted for this store\n");
	fprintf(f, "url %s\n", c->url);
	if (c->account[0])
		fprintf(f, "account %s\n", c->account);
	if (c->token_file[0])
		fprintf(f, "token-file %s\n", c->token_file);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = -errno;
		goto out;
	}
	r = fclose(f);
	f = NULL;
	if (r != 0) {
		r = -errno;
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	dir = strrchr(path, '/');
	if (dir) {
		*dir = '\0';
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			(void)fsync(fd);
	}
	r = 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return r;
}

int cli_vault_trusted(const char *state_dir, const char *url,
		      const char *account, char *token_file,
		      size_t token_file_len)
{
	char *dir = NULL;
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (asprintf(&dir, "%s/vaults", state_dir) < 0)
		return 0;
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL) {
		struct cli_vault_conf c;
		size_t n = strlen(de->d_name);
		FILE *f;
		int fd;

		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		f = fdopen(fd, "r");
		if (!f) {
			close(fd);
			continue;
		}
		if (cli_vault_conf_parse(f, &c) == 0 &&
		    strcmp(c.url, url) == 0) {
			found = 1;
			if (account && token_file && c.token_file[0] &&
			    strcmp(c.account, account) == 0)
				snprintf(token_file, token_file_len, "%s",
					 c.token_file);
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	free(dir);
	return found;
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
