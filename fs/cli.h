/*
 * cli.h - the vaultfs command line: argument parsing, key input, exit codes,
 * paths (state dir, per-mount lock file) and the daemon's ready pipe.
 *
 * Nothing here knows about the store or FUSE; main.c puts the pieces
 * together. Everything here is unit-tested (tests/unit/test_cli.c).
 */
#ifndef VFS_CLI_H
#define VFS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "log.h"

#define CLI_WUR __attribute__((warn_unused_result))
#define CLI_KEY_BYTES 32
/* Largest key file / key line we read: generous for comments-free text. */
#define CLI_KEYTEXT_MAX 1024

/*
 * Exit codes of the vaultfs command (docs/cli.md has the table). Scripts
 * depend on these numbers: only ever add new ones.
 */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILURE = 1, /* anything not listed below */
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_NOTSTORE = 3,
	CLI_EXIT_KEYTEXT = 4,
	CLI_EXIT_WRONGKEY = 5,
	CLI_EXIT_DAMAGED = 6,
	CLI_EXIT_ROLLBACK = 7, /* rolled back or forked */
	CLI_EXIT_MOUNTPOINT = 8,
	CLI_EXIT_IO = 9, /* system or I/O error (errno) */
	CLI_EXIT_VERSION = 10,
	CLI_EXIT_LEASE = 11,
	CLI_EXIT_PASSWORD = 12,
	CLI_EXIT_LOCKED = 13,
	CLI_EXIT_VAULT = 14, /* unreachable, token refused, bad answer */
};

/* Maps 0 / -errno / -VFS_E_* to an exit code. The one place that does. */
int cli_exit_code(int r);

/*
 * Returns a static sentence telling the user what the error means and what
 * to do about it, or NULL when vfs_strerror() says enough.
 */
const char *cli_hint(int r);

enum cli_cmd {
	CLI_CMD_NONE = 0,
	CLI_CMD_INIT,
	CLI_CMD_MOUNT,
	CLI_CMD_UMOUNT,
	CLI_CMD_PASSWD,
	CLI_CMD_FSCK,
	CLI_CMD_STATUS,
	CLI_CMD_RESTORE,
	CLI_CMD_RECOVERY_KEY,
	CLI_CMD_REKEY,
};

/* Parsed command line. Strings point into argv except fuse_opts. */
struct cli_args {
	enum cli_cmd cmd;
	const char *cloud_dir;
	const char *mountpoint;
	const char *key_file; /* --recovery-key-file ("-": stdin, mount) */
	int ask_key;	      /* --recovery-key */
	int read_only;	      /* --read-only */
	int foreground;	      /* -f */
	char *fuse_opts;      /* -o, comma-joined; malloc'd or NULL */
	enum log_level log_level;
	/* The password vault (init, mount, passwd). */
	/* --vault URL[,URL...], repeatable: the vault's replicas, tried in
	 * order (the next on a connection error or 503), as one
	 * comma-separated list (points into vault_url_buf). */
	const char *vault_url;
	char *vault_url_buf; /* malloc'd */
	const char *account;	       /* --account */
	const char *token_file;	       /* --account-token-file */
	const char *password_file;     /* --password-file */
	const char *new_password_file; /* --new-password-file (passwd) */
	int no_recovery_key;	       /* --no-recovery-key (init, rekey) */
	int repair;		       /* --repair (fsck) */
	/* mount: the single-writer lease and the cleaner */
	int take_over;	      /* --take-over: break another machine's
				 expired lease */
	long clean_grace;     /* --clean-grace SECONDS; -1: default */
	long clean_interval;  /* --clean-interval SECONDS; -1: default */
	/* status: its argument (a store folder or a mount point) is in
	 * cloud_dir. restore: CLOUD_DIR and DEST. */
	int json;	  /* --json (status) */
	const char *dest; /* restore */
	/* Key care (recovery-key, rekey). */
	int show;		  /* --show (recovery-key) */
	const char *output;	  /* --output FILE (recovery-key) */
	const char *new_key_file; /* --new-recovery-key-file (rekey) */
};

/*
 * A vault URL list (--vault, the remembered conf, the header hint): at
 * most CLI_VAULT_URLS URLs (libvaultclient's limit), comma-separated,
 * shorter than CLI_VAULT_URLS_LEN bytes in all. A URL itself holds no
 * comma and no white space.
 */
#define CLI_VAULT_URLS 16
#define CLI_VAULT_URLS_LEN 512

/*
 * Splits the list text (modified: commas become NULs) into ret[max].
 * Returns the number of URLs, or -EINVAL for an empty element, white
 * space, or more than max URLs.
 */
int cli_vault_urls_split(char *text, const char **ret, size_t max) CLI_WUR;

/* Bounds of --clean-grace and --clean-interval, in seconds. */
#define CLI_CLEAN_GRACE_MAX (366L * 24 * 3600)
#define CLI_CLEAN_INTERVAL_MAX (24L * 3600)

/* cli_parse returned this after printing --help or --version. */
#define CLI_DONE 1

/*
 * Parses argv ("vaultfs [--help|--version] CMD [OPTIONS] ARGS"). Help and
 * version text go to out, usage errors (one line saying what is wrong, then
 * a pointer to --help) to err. Returns 0 with *ret filled, CLI_DONE when
 * help/version was printed (exit 0), or -EINVAL on a usage error (exit
 * CLI_EXIT_USAGE). Release *ret with cli_args_release in every case.
 */
int cli_parse(int argc, char **argv, struct cli_args *ret, FILE *out,
	      FILE *err) CLI_WUR;
void cli_args_release(struct cli_args *a);

/*
 * Reads everything from fd, at most max bytes, into sodium_malloc'd memory
 * (NUL-terminated). -E2BIG if there is more; -errno on read errors. On
 * success *ret (free with sodium_free) and *ret_len are set.
 */
int cli_read_secret_fd(int fd, size_t max, char **ret, size_t *ret_len) CLI_WUR;

/*
 * Reads the 64-digit key from a file ("-" = standard input) into ret_key
 * (CLI_KEY_BYTES, the caller's sodium_malloc'd memory). -errno when the file
 * cannot be read, -E2BIG when it is far too long, -VFS_E_KEYTEXT with a
 * sentence in why (never quoting the text) when it is malformed.
 */
int cli_key_from_file(const char *path, uint8_t *ret_key, char *why,
		      size_t whylen) CLI_WUR;

/*
 * Asks for the 64-digit key on the controlling terminal (/dev/tty) with
 * echo off, restoring the terminal on every path. -ENXIO when there is no
 * terminal, -VFS_E_KEYTEXT (why filled) when malformed.
 */
int cli_key_from_tty(const char *prompt, uint8_t *ret_key, char *why,
		     size_t whylen) CLI_WUR;

/* Shortest password init and passwd accept, in bytes. */
#define CLI_PASSWORD_MIN 6
/* Longest password (libvaultclient's VC_PASSWORD_MAX). */
#define CLI_PASSWORD_MAX 4096

/*
 * Reads a password from line 1 of the file at path (the newline, and a
 * CR before it, stripped) into sodium_malloc'd memory: *ret (free with
 * sodium_free; NUL-terminated) and *ret_len. -ENODATA when line 1 is
 * empty, -E2BIG when it is longer than CLI_PASSWORD_MAX, -errno when the
 * file cannot be read.
 */
int cli_password_from_file(const char *path, char **ret,
			   size_t *ret_len) CLI_WUR;

/*
 * Asks for a password on the controlling terminal with echo off (the
 * terminal restored on every path). With confirm, asks a second time
 * (confirm is the second prompt) and answers -EILSEQ if the two differ.
 * -ENXIO when there is no terminal, -ENODATA for an empty line. Memory
 * as for cli_password_from_file.
 */
int cli_password_from_tty(const char *prompt, const char *confirm, char **ret,
			  size_t *ret_len) CLI_WUR;

/*
 * What this machine remembers about the vault that protects a store:
 * STATE_DIR/vaults/<store id in hex>.conf. The URLs in these files are
 * the vault URLs this machine trusts (a store header's URL is only a
 * hint). Lines "url URL[,URL...]" (the replicas, in order), "account
 * ID", "token-file PATH"; the token itself is never stored here.
 */
struct cli_vault_conf {
	char url[512];
	char account[129];
	char token_file[4096];
};

/*
 * Loads the conf of store_id (16 bytes). -ENOENT when there is none,
 * -EBADMSG when the file is malformed (bounded parser).
 */
int cli_vault_conf_load(const char *state_dir, const uint8_t *store_id,
			struct cli_vault_conf *ret) CLI_WUR;

/* Writes it (temp file, fsync, rename; mode 0600). */
int cli_vault_conf_save(const char *state_dir, const uint8_t *store_id,
			const struct cli_vault_conf *c) CLI_WUR;

/*
 * 1 if url is trusted on this machine (named by any store's conf), else
 * 0. When account is not NULL and a conf names both url and account,
 * its token file is copied to token_file (token_file_len bytes).
 */
int cli_vault_trusted(const char *state_dir, const char *url,
		      const char *account, char *token_file,
		      size_t token_file_len);

/*
 * The state dir: $XDG_STATE_HOME/vaultfs, or ~/.local/state/vaultfs when
 * XDG_STATE_HOME is unset, empty or relative (XDG base dir spec). Creates
 * it and any missing parents (0700). *ret is malloc'd.
 */
int cli_state_dir(char **ret) CLI_WUR;

/*
 * Absolute path of a mount point without touching the mount point itself
 * (its parent is resolved with realpath; a dead FUSE mount cannot be
 * stat'ed). *ret is malloc'd.
 */
int cli_mount_abspath(const char *mnt, char **ret) CLI_WUR;

/*
 * The lock file that a daemon serving abs_mnt holds (flock) while it lives:
 * STATE_DIR/mounts/<hash of abs_mnt>.pid. Creates the mounts folder.
 * *ret is malloc'd.
 */
int cli_mount_lockfile(const char *state_dir, const char *abs_mnt,
		       char **ret) CLI_WUR;

/*
 * Looks for a mount at abs_mnt in a /proc/self/mountinfo stream. Returns 1
 * and copies its file system type (e.g. "fuse.vaultfs") into fstype when
 * found (the last one, the top of the stack), 0 when not found.
 */
int cli_mountinfo_find(FILE *mountinfo, const char *abs_mnt, char *fstype,
		       size_t fstype_len) CLI_WUR;

/*
 * The daemon's ready pipe. The daemon (child) reports one exit code: 0 once
 * the mount is ready, or the code of the failure after it has printed its
 * message. The parent waits for it; if the child dies without a word the
 * result is CLI_EXIT_FAILURE.
 */
void cli_ready_report(int fd, int exit_code);
int cli_ready_wait(int fd, pid_t child);

#endif
