/*
 * main.c - the vaultfs command: init, mount (and its daemon), umount.
 *
 * Parsing, key input, exit codes and paths are in cli.c; the FUSE session
 * is fsops.c; the store is behind store.h. Messages for the user go to
 * stderr as "vaultfs: ..." lines; the daemon, once the mount is ready,
 * logs (log.h) to STATE_DIR/vaultfs.log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_keycare.h"
#include "cmd_fsck.h"
#include "cmd_restore.h"
#include "cmd_status.h"
#include "cmdutil.h"
#include "fsops.h"
#include "keytext.h"
#include "log.h"
#include "store.h"
#include "vaultclient/vaultclient.h"
#include "vfs_error.h"

extern char **environ;

/* Commit dirty data once it is this old (the ticker runs every second). */
#define MAIN_COMMIT_AGE_MS 3000
/* Report a changed generation to the vault at most this often. */
#define MAIN_REPORT_INTERVAL_S 60
/* Timeouts for vault calls: interactive ones, and the daemon's reports
 * (which must not hold up commits for long when the vault is away). */
#define MAIN_REPORT_CONNECT_MS 2000
#define MAIN_REPORT_TOTAL_MS 5000

/* Key material must not end up in a core file or be readable via ptrace. */
static void main_no_dumps(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}


/* nftw callback: removes what init created in the cloud folder. */
static int main_rm_entry(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

/* Removes a store that init has just created in a folder that was empty. */
static void main_remove_new_store(const char *cloud_dir)
{
	if (nftw(cloud_dir, main_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr,
			"vaultfs: could not remove the unfinished store in "
			"'%s'; remove the folder's contents by hand\n",
			cloud_dir);
}

/* ---- init ---- */

/*
 * init. Order, for crash safety: (1) everything that can be checked
 * before anything is made (options, password, vault reachable, token
 * file); (2) the key file, durable before the store exists; (3) the
 * store, with the vault hint in its header; (4) the password registered
 * at the vault (or the store added to an existing account); (5) one full
 * recovery that must give back K; (6) the vault remembered (trusted) on
 * this machine; (7) "ready". A failure in (3)-(5) removes the new store
 * and key file again. A crash in (3)-(5) leaves a folder that init
 * refuses to reuse (not empty): with a key file the store still opens
 * with the key; otherwise empty the folder and run init again (a vault
 * record left behind is harmless: init adds the new store to it).
 */
static int cmd_init(const struct cli_args *a)
{
	struct store_create_opts copts;
	struct store_info info;
	struct vault_ctx v;
	uint8_t *key = NULL, *check = NULL;
	char *text = NULL, *pw = NULL, *state = NULL;
	char idhex[2 * STORE_ID_BYTES + 1];
	size_t pwlen = 0;
	int fd = -1, made_dir = 0, made_file = 0, made_store = 0, joined = 0;
	int left = -1, r, code;

	memset(&v, 0, sizeof(v));
	if (!a->key_file && !a->no_recovery_key && !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"vaultfs: standard output is not a terminal: refusing "
			"to print the 64-digit recovery key there.\n"
			"vaultfs: use --recovery-key-file FILE to write it to "
			"a new file instead.\n");
		return CLI_EXIT_USAGE;
	}

	if (a->vault_url) {
		if (strlen(a->vault_url) >= sizeof(v.url) ||
		    strlen(a->account) > VC_ACCOUNT_MAX) {
			fprintf(stderr, "vaultfs: vault URL or account too "
					"long\n");
			return CLI_EXIT_USAGE;
		}
		strcpy(v.url, a->vault_url);
		strcpy(v.account, a->account);
		code = vault_token_path(&v, a->token_file);
		if (code)
			goto out;
		code = vault_connect(&v, MAIN_VAULT_CONNECT_MS,
				     MAIN_VAULT_TOTAL_MS);
		if (code)
			goto out;
		r = cli_state_dir(&state);
		if (r < 0) {
			code = main_fail(r, "cannot create the state folder");
			goto out;
		}
		code = vault_password(
		    a->password_file, "Password for this backup: ",
		    "Repeat the password: ", CLI_PASSWORD_MIN, &pw, &pwlen);
		if (code)
			goto out;
		r = vc_health(v.c);
		if (r < 0) {
			fprintf(stderr,
				"vaultfs: cannot reach the vault at '%s': %s; "
				"nothing was created (without a vault, init "
				"makes a store with the 64-digit key only)\n",
				v.url, vfs_strerror(r));
			code = cli_exit_code(r);
			goto out;
		}
	}

	if (mkdir(a->cloud_dir, 0700) == 0)
		made_dir = 1;
	else if (errno != EEXIST) {
		code = main_fail(-errno, "cannot create '%s'", a->cloud_dir);
		goto out;
	}

	if (a->key_file) {
		fd = open(a->key_file,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0 && errno == EEXIST) {
			fprintf(stderr,
				"vaultfs: '%s' exists: refusing to overwrite "
				"it (it may hold another store's key)\n",
				a->key_file);
			code = CLI_EXIT_USAGE;
			goto out;
		}
		if (fd < 0) {
			code = main_fail(-errno, "cannot create '%s'",
					 a->key_file);
			goto out;
		}
		made_file = 1;
	}

	key = sodium_malloc(STORE_KEY_BYTES);
	check = sodium_malloc(STORE_KEY_BYTES);
	text = sodium_malloc(KEYTEXT_FORMAT_LEN + 1);
	if (!key || !check || !text) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	randombytes_buf(key, STORE_KEY_BYTES);
	keytext_format(key, text);

	/* The key is durable before the store exists: a store whose key
	 * was lost in a crash would be useless. */
	if (fd >= 0) {
		size_t n = strlen(text);

		text[n] = '\n';
		r = main_write_all(fd, text, n + 1);
		text[n] = '\0';
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (close(fd) < 0 && r == 0)
			r = -errno;
		fd = -1;
		if (r < 0) {
			code = main_fail(r, "cannot write '%s'", a->key_file);
			goto out;
		}
		main_fsync_parent(a->key_file);
	}

	memset(&copts, 0, sizeof(copts));
	if (a->vault_url) {
		copts.vault_url = v.url;
		copts.account = v.account;
	}
	r = store_create(a->cloud_dir, key, &copts);
	if (r == -EEXIST) {
		fprintf(stderr,
			"vaultfs: '%s' is not empty: vaultfs init needs an "
			"empty or missing folder\n",
			a->cloud_dir);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		code =
		    main_fail(r, "cannot create a store in '%s'", a->cloud_dir);
		goto out;
	}
	made_store = 1;

	r = store_read_info(a->cloud_dir, &info);
	if (r < 0) {
		code = main_fail(r,
				 "store created in '%s' but its header "
				 "cannot be read back",
				 a->cloud_dir);
		goto out;
	}
	sodium_bin2hex(idhex, sizeof(idhex), info.store_id,
		       sizeof(info.store_id));

	if (v.c) {
		struct vc_store_key sk;

		memcpy(sk.store_id, info.store_id, sizeof(sk.store_id));
		sk.key = key;
		r = vc_register(v.c, v.account, (const uint8_t *)pw, pwlen, &sk,
				1);
		if (r == -EEXIST) {
			/* One password and one counter per account: a new
			 * store joins the account, proven with its password. */
			joined = 1;
			r = vc_add_store(v.c, v.account, (const uint8_t *)pw,
					 pwlen, &sk, &left);
		}
		if (r < 0) {
			if (joined &&
			    (r == -VFS_E_PASSWORD || r == -VFS_E_LOCKED))
				fprintf(stderr,
					"vaultfs: the account '%s' exists at "
					"the vault: a new store joins it with "
					"the account's password\n",
					v.account);
			code = vault_fail(r, left, &v);
			fprintf(stderr,
				"vaultfs: the store was not created (nothing "
				"is left in '%s')\n",
				a->cloud_dir);
			goto out;
		}
		/* Prove it: one full recovery must give back K. */
		r = vc_recover(v.c, v.account, info.store_id,
			       (const uint8_t *)pw, pwlen, check, &left);
		if (r == 0 && sodium_memcmp(check, key, STORE_KEY_BYTES) != 0)
			r = -VFS_E_PROTOCOL;
		if (r < 0) {
			fprintf(stderr, "vaultfs: the password was registered "
					"but recovering the key with it "
					"failed:\n");
			code = vault_fail(r, left, &v);
			fprintf(stderr,
				"vaultfs: the store was not created (nothing "
				"is left in '%s')\n",
				a->cloud_dir);
			goto out;
		}
		vault_remember(state, info.store_id, &v);
	}
	made_store = 0;
	made_dir = 0;
	made_file = 0; /* all belong to the store now */

	printf("Created a vaultfs store in '%s' (store id %s, %s).\n",
	       a->cloud_dir, idhex, info.aead);
	if (v.c)
		printf("The password protects it at the vault '%s' (account "
		       "'%s'%s);\nrecovering the key with it was checked. "
		       "This machine now trusts that vault.\n",
		       v.url, v.account,
		       joined ? ", which now protects one more store" : "");
	if (a->key_file) {
		printf("The 64-digit recovery key is in '%s' (mode 0600).\n"
		       "Keep a copy offline: %s.\n",
		       a->key_file,
		       v.c ? "it opens the backup without the vault and "
			     "unlocks a locked password"
			   : "without it the backup cannot be opened");
	} else if (!a->no_recovery_key) {
		printf("\nYour 64-digit recovery key (shown only this once):"
		       "\n\n    %s\n\n"
		       "WARNING: write it down and keep it somewhere safe and "
		       "offline. Anyone\nwith it can read the backup; without "
		       "it the backup cannot be opened%s.\n",
		       text, v.c ? " if the password is lost" : "");
	}
	if (fflush(stdout) != 0) {
		code = main_fail(-EIO, "cannot write to standard output");
		goto out;
	}
	if (a->no_recovery_key)
		fprintf(stderr,
			"vaultfs: WARNING: no 64-digit recovery key was made: "
			"the password is the only way in. If it is forgotten, "
			"if the account is locked after too many wrong "
			"passwords, or if the vault is gone, the backup is "
			"lost.\n");
	code = CLI_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made_store)
		main_remove_new_store(a->cloud_dir);
	if (made_file)
		unlink(a->key_file);
	if (made_dir)
		rmdir(a->cloud_dir);
	if (text) {
		sodium_memzero(text, KEYTEXT_FORMAT_LEN + 1);
		sodium_free(text);
	}
	sodium_free(key); /* wipes */
	sodium_free(check);
	vault_password_free(pw, pwlen);
	vault_ctx_release(&v);
	free(state);
	return code;
}

/* ---- mount ---- */

/* The daemon's link to the vault: generation reports. */
struct reporter {
	struct vc_client *c; /* NULL: no vault for this mount */
	char url[512];
	char account[VC_ACCOUNT_MAX + 1];
	struct vc_store_key sk; /* sk.key: K, sodium_malloc'd, kept */
	uint64_t reported;	/* highest generation the vault holds */
	time_t last_try;	/* CLOCK_MONOTONIC seconds */
	int last_err;
};

/*
 * Reports the store's generation to the vault if it grew since the last
 * report and (unless force) the last try is MAIN_REPORT_INTERVAL_S old.
 * Only committed (durable) generations are reported. A vault that is
 * down is logged once and tried again later.
 */
static void reporter_run(struct reporter *rp, uint64_t gen, int force)
{
	struct timespec now;
	uint64_t max = 0;
	int r;

	if (!rp->c || gen <= rp->reported)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && rp->last_try &&
	    now.tv_sec - rp->last_try < MAIN_REPORT_INTERVAL_S)
		return;
	rp->last_try = now.tv_sec;
	r = vc_report_generation(rp->c, rp->account, &rp->sk, gen, &max);
	if (r < 0) {
		if (r != rp->last_err)
			log_warn("cannot report generation %" PRIu64
				 " to the vault '%s' (will retry): %s",
				 gen, rp->url, vfs_strerror(r));
		rp->last_err = r;
		return;
	}
	if (rp->last_err)
		log_info("the vault '%s' answers again", rp->url);
	rp->last_err = 0;
	rp->reported = max > gen ? max : gen;
	log_debug("reported generation %" PRIu64 " to the vault", gen);
	if (max > gen)
		log_warn("the vault '%s' holds generation %" PRIu64
			 " of this store, newer than this mount's %" PRIu64
			 " (another device writing?)",
			 rp->url, max, gen);
}

struct ticker {
	struct store *s;
	struct reporter *rp;
	struct status_pub *sp; /* may be NULL */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int running;
};

static void *ticker_main(void *p)
{
	struct ticker *t = p;
	struct timespec ts;
	int last = 0;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		int r;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		r = store_tick(t->s, MAIN_COMMIT_AGE_MS);
		if (r == -VFS_E_LEASE && r != last)
			log_error("another writer took over the store's lease: "
				  "nothing is committed any more (fsync and "
				  "unmount fail); unmount, and mount again "
				  "once the other writer is gone");
		else if (r < 0 && r != last)
			log_error("automatic commit failed (will retry): %s",
				  vfs_strerror(r));
		else if (r >= 0 && last < 0)
			log_info("automatic commit works again");
		else if (r == 1)
			log_debug("committed generation %" PRIu64,
				  store_generation(t->s));
		last = r < 0 ? r : 0;
		/* From this thread, never from a FUSE request. */
		if (t->rp)
			reporter_run(t->rp, store_generation(t->s), 0);
		status_pub_tick(t->sp, t->s, last, t->rp ? t->rp->reported : 0);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static int ticker_start(struct ticker *t, struct store *s, struct reporter *rp,
			struct status_pub *sp)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	memset(t, 0, sizeof(*t));
	t->s = s;
	t->rp = rp;
	t->sp = sp;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals belong to the FUSE loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&t->thread, NULL, ticker_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		t->running = 1;
	return r;
}

static void ticker_stop(struct ticker *t)
{
	if (t->running) {
		pthread_mutex_lock(&t->lock);
		t->stop = 1;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
		t->running = 0;
	}
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

/*
 * The per-mount lock file: held (flock) by the daemon while it lives, so
 * 'vaultfs umount' can wait for it to exit. It holds "pid N" while the
 * daemon runs and "done CODE" once it has finished.
 */
static int main_lock_take(const char *path, int *ret_fd)
{
	char line[32];
	int fd, r;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return r;
	}
	snprintf(line, sizeof(line), "pid %ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 ||
	    main_write_all(fd, line, strlen(line)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static void main_lock_done(int fd, int code)
{
	char line[32];

	if (fd < 0)
		return;
	snprintf(line, sizeof(line), "done %d\n", code);
	if (ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0)
		(void)main_write_all(fd, line, strlen(line));
	/* The fd stays open: the kernel releases the lock as the process
	 * exits, after everything else (atexit handlers included) is done. */
}

/* Points stdin/stdout at /dev/null and stderr at the log file. */
static int main_detach(const char *state_dir)
{
	char *path = NULL;
	int nul, logfd;

	if (asprintf(&path, "%s/vaultfs.log", state_dir) < 0)
		return -ENOMEM;
	logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (logfd < 0)
		return -errno;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0) {
		close(logfd);
		return -errno;
	}
	dup2(nul, STDIN_FILENO);
	dup2(nul, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	close(nul);
	close(logfd);
	return 0;
}

struct mount_job {
	const struct cli_args *a;
	const char *cloud_dir;	/* absolute */
	const char *mountpoint; /* absolute */
	const char *state_dir;
	const char *lock_path;
	uint8_t *key; /* sodium_malloc'd; freed here */
	int ready_fd; /* -1 in the foreground */
	/* The vault, when one is known for this store (url[0] != 0). */
	struct vault_ctx *vault;
	int vault_remember; /* trust the vault once it answered (key mode) */
};

/*
 * With a vault known for the store: makes the daemon's own client (not
 * one from before the fork; short timeouts, reports must not hold up
 * commits), asks for the highest generation the vault holds and refuses
 * a folder whose head is older. A new device has no generation of its
 * own to compare with; the vault's signed one catches a rolled-back
 * folder there too. A vault that cannot be asked only warns. Hands K to
 * rp (kept for reports). Returns 0 or an exit code.
 */
static int main_vault_check(struct mount_job *j, struct store *s,
			    struct reporter *rp)
{
	struct vault_ctx *v = j->vault;
	uint64_t vgen = 0, head = store_generation(s);
	int r;

	memcpy(rp->sk.store_id, v->store_id, sizeof(rp->sk.store_id));
	snprintf(rp->url, sizeof(rp->url), "%s", v->url);
	snprintf(rp->account, sizeof(rp->account), "%s", v->account);
	rp->sk.key = j->key;
	j->key = NULL; /* transferred */
	r = vault_connect(v, MAIN_REPORT_CONNECT_MS, MAIN_REPORT_TOTAL_MS);
	if (r != 0)
		return r;
	rp->c = v->c;
	v->c = NULL; /* transferred */

	r = vc_get_generation(rp->c, rp->account, &rp->sk, &vgen);
	if (r < 0) {
		fprintf(stderr,
			"vaultfs: warning: cannot get the latest generation "
			"from the vault '%s': %s; only this machine's record "
			"guards against a rolled-back folder\n",
			rp->url, vfs_strerror(r));
		if (r == -VFS_E_PROTOCOL) {
			/* A signature that does not verify with a key that
			 * opened the store: do not report to that vault. */
			vc_client_free(rp->c);
			rp->c = NULL;
		}
		return 0;
	}
	if (vgen > head) {
		fprintf(stderr,
			"vaultfs: the vault '%s' has seen generation %" PRIu64
			" of this store, but '%s' holds generation %" PRIu64
			"\n",
			rp->url, vgen, j->cloud_dir, head);
		return main_fail(-VFS_E_ROLLBACK,
				 "cannot open the store in '%s'", j->cloud_dir);
	}
	rp->reported = vgen;
	if (j->vault_remember)
		vault_remember(j->state_dir, v->store_id, v);
	return 0;
}

/* "2026-11-29 14:03:12 CET" into buf. */
static void main_when(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "%" PRIu64 " (unix time)", t);
}

/*
 * The store's lease is held elsewhere: says by whom (host, process, since
 * when, until when) and what to do. Returns the exit code.
 */
static int main_lease_refused(const struct mount_job *j, int take_over)
{
	struct store_lease l;
	char since[64], until[64], who[160];
	uint64_t now = (uint64_t)time(NULL);
	int r;

	r = store_lease_info(j->cloud_dir, j->key, &l);
	if (r != 1 || (l.this_machine && !l.alive)) {
		/* gone meanwhile, or no longer readable */
		fprintf(stderr,
			"vaultfs: cannot open the store in '%s' read-write: "
			"another writer held its lease a moment ago; try "
			"again\n",
			j->cloud_dir);
		return CLI_EXIT_LEASE;
	}
	main_when(l.expires, until, sizeof(until));
	if (l.since)
		main_when(l.since, since, sizeof(since));
	else
		snprintf(since, sizeof(since), "a time it does not record");
	if (l.host[0])
		snprintf(who, sizeof(who), "'%s' (process %" PRIu32 ")",
			 l.host, l.pid);
	else
		snprintf(who, sizeof(who),
			 "a machine the lease does not name (written by an "
			 "older vaultfs; process %" PRIu32 ")",
			 l.pid);
	fprintf(stderr,
		"vaultfs: cannot open the store in '%s' read-write: it is "
		"mounted read-write %s by %s since %s\n",
		j->cloud_dir, l.this_machine ? "on this machine" : "elsewhere",
		who, since);
	if (l.this_machine) {
		fprintf(stderr, "vaultfs: unmount it there, or mount here "
				"with --read-only\n");
	} else if (!l.expired) {
		fprintf(stderr,
			"vaultfs: its lease runs until %s (in %" PRIu64
			" min)%s; unmount it there, or mount here with "
			"--read-only. If that machine is gone for good, mount "
			"with --take-over after that time\n",
			until, (l.expires - now + 59) / 60,
			take_over ? ", so --take-over cannot take it yet" : "");
	} else {
		fprintf(stderr,
			"vaultfs: its lease expired at %s. If that machine no "
			"longer uses this store, mount again with --take-over "
			"(should it still write, the two histories fork and "
			"vaultfs refuses to merge them)\n",
			until);
	}
	return CLI_EXIT_LEASE;
}

/* The daemon (or the foreground process): open, mount, serve, close. */
static int main_serve(struct mount_job *j)
{
	static char prog[32];
	struct fsops_opts fo;
	struct store *s = NULL;
	struct fsops *f = NULL;
	struct ticker t;
	struct reporter rp;
	struct status_pub_info spi;
	struct status_pub *sp = NULL;
	struct store_info info;
	int lock_fd = -1, ticking = 0, code, r;

	memset(&rp, 0, sizeof(rp));

	snprintf(prog, sizeof(prog), "vaultfs[%ld]", (long)getpid());
	log_init(prog, j->a->log_level);
	/* mlock is not inherited across fork. */
	sodium_mlock(j->key, STORE_KEY_BYTES);

	r = main_lock_take(j->lock_path, &lock_fd);
	if (r == -EBUSY) {
		code = main_fail(-VFS_E_MOUNTPOINT,
				 "another vaultfs daemon serves '%s'",
				 j->mountpoint);
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot lock '%s'", j->lock_path);
		goto out;
	}

	r = store_open(j->cloud_dir, j->key, j->state_dir,
		       (j->a->read_only ? STORE_READ_ONLY : STORE_ASYNC_HWM) |
			   (j->a->take_over ? STORE_BREAK_LEASE : 0),
		       &s);
	if (r == -VFS_E_LEASE) {
		code = main_lease_refused(j, j->a->take_over);
		goto out;
	}
	if (r < 0) {
		code =
		    main_fail(r, "cannot open the store in '%s'", j->cloud_dir);
		goto out;
	}
	if (j->a->clean_grace >= 0 || j->a->clean_interval >= 0)
		store_set_clean(s,
				j->a->clean_grace >= 0
				    ? (unsigned)j->a->clean_grace
				    : STORE_CLEAN_GRACE_DEFAULT,
				j->a->clean_interval >= 0
				    ? (unsigned)j->a->clean_interval * 1000
				    : STORE_CLEAN_INTERVAL_DEFAULT_MS);
	if (j->vault && j->vault->url[0]) {
		code = main_vault_check(j, s, &rp);
		if (code) {
			store_close(s);
			s = NULL;
			goto out;
		}
	} else {
		sodium_free(j->key);
		j->key = NULL;
	}

	/* Sync debris: a warning on the user's terminal now, log lines once
	 * detached, and the status file for 'vaultfs status'. */
	memset(&spi, 0, sizeof(spi));
	if (store_read_info(j->cloud_dir, &info) == 0) {
		spi.lock_path = j->lock_path;
		spi.cloud_dir = j->cloud_dir;
		spi.mountpoint = j->mountpoint;
		spi.info = &info;
		spi.vault_url = rp.url;
		spi.account = rp.account;
		spi.read_only = j->a->read_only;
		spi.generation = store_generation(s);
		status_pub_new(&spi, s, &sp);
	}

	memset(&fo, 0, sizeof(fo));
	fo.mountpoint = j->mountpoint;
	fo.fuse_opts = j->a->fuse_opts;
	fo.read_only = j->a->read_only;
	fo.debug = j->a->log_level >= LOG_LVL_DEBUG && j->ready_fd < 0;
	r = fsops_new(s, &fo, &f);
	if (r == -EINVAL) {
		fprintf(stderr, "vaultfs: FUSE refused the mount options "
				"(see the message above)\n");
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot mount at '%s'", j->mountpoint);
		goto out;
	}

	r = ticker_start(&t, s, rp.c ? &rp : NULL, sp);
	if (r < 0) {
		code = main_fail(r, "cannot start the commit thread");
		goto out;
	}
	ticking = 1;

	if (j->ready_fd >= 0) {
		r = main_detach(j->state_dir);
		if (r < 0) {
			code = main_fail(r, "cannot open the log file in '%s'",
					 j->state_dir);
			goto out;
		}
		cli_ready_report(j->ready_fd, CLI_EXIT_OK);
		close(j->ready_fd);
		j->ready_fd = -1;
	}
	log_info("mounted '%s' at '%s'%s, generation %" PRIu64, j->cloud_dir,
		 j->mountpoint, j->a->read_only ? " read-only" : "",
		 store_generation(s));
	status_pub_started(sp, s);

	r = fsops_run(f);
	if (r < 0)
		log_error("FUSE session ended with an error: %s",
			  vfs_strerror(r));
	code = CLI_EXIT_OK;
out:
	if (ticking)
		ticker_stop(&t);
	if (f) {
		r = fsops_free(f);
		if (r < 0 && code == CLI_EXIT_OK)
			code = cli_exit_code(r);
	}
	if (s && rp.c) {
		/* The final generation, once durable, goes to the vault. */
		if (store_commit(s) == 0)
			reporter_run(&rp, store_generation(s), 1);
	}
	if (s) {
		r = store_close(s);
		if (r < 0) {
			log_error("closing the store failed; changes since "
				  "the last commit are lost: %s",
				  vfs_strerror(r));
			if (code == CLI_EXIT_OK)
				code = cli_exit_code(r);
		} else {
			log_info("unmounted '%s'", j->mountpoint);
		}
	}
	if (j->key) {
		sodium_free(j->key);
		j->key = NULL;
	}
	vc_client_free(rp.c);
	sodium_free((uint8_t *)rp.sk.key);
	if (j->ready_fd >= 0) {
		/* Failed before the mount existed: give up the mount point's
		 * lock and status file BEFORE telling the waiting command, so
		 * that a mount started right after it returns does not find
		 * this process, still exiting (seconds under a leak checker),
		 * holding them. */
		status_pub_free(sp);
		sp = NULL;
		main_lock_done(lock_fd, code);
		if (lock_fd >= 0)
			close(lock_fd);
		lock_fd = -1;
		cli_ready_report(j->ready_fd, code);
		close(j->ready_fd);
	}
	status_pub_free(sp);
	main_lock_done(lock_fd, code);
	return code;
}

/* Checks that mnt can be mounted on; prints why not. */
static int main_check_mountpoint(const char *abs)
{
	struct stat st;
	char fstype[64] = "";
	FILE *mi;
	int found = 0;

	if (stat(abs, &st) < 0) {
		int e = errno;

		if (e == ENOTCONN) {
			fprintf(stderr,
				"vaultfs: '%s' is a dead FUSE mount (its "
				"daemon is gone); run 'vaultfs umount %s' "
				"first\n",
				abs, abs);
		} else {
			fprintf(stderr, "vaultfs: mount point '%s': %s\n", abs,
				strerror(e));
		}
		return CLI_EXIT_MOUNTPOINT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"vaultfs: mount point '%s' is not a directory\n", abs);
		return CLI_EXIT_MOUNTPOINT;
	}
	mi = fopen("/proc/self/mountinfo", "re");
	if (mi) {
		found = cli_mountinfo_find(mi, abs, fstype, sizeof(fstype));
		fclose(mi);
	}
	if (found && strcmp(fstype, "fuse.vaultfs") == 0) {
		fprintf(stderr, "vaultfs: '%s' is already a vaultfs mount\n",
			abs);
		return CLI_EXIT_MOUNTPOINT;
	}
	return 0;
}

static int cmd_mount(const struct cli_args *a)
{
	struct store_info info;
	struct mount_job j;
	struct vault_ctx v;
	struct cli_vault_conf rc;
	char *cloud = NULL, *mnt = NULL, *state = NULL, *lockp = NULL;
	int pipefd[2] = {-1, -1};
	pid_t pid;
	int code, r;

	memset(&j, 0, sizeof(j));
	memset(&v, 0, sizeof(v));
	j.ready_fd = -1;

	cloud = realpath(a->cloud_dir, NULL);
	if (!cloud) {
		code = main_fail(-errno, "cloud folder '%s'", a->cloud_dir);
		goto out;
	}
	r = cli_mount_abspath(a->mountpoint, &mnt);
	if (r < 0) {
		code = main_fail(r, "mount point '%s'", a->mountpoint);
		if (code == CLI_EXIT_IO)
			code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	code = main_check_mountpoint(mnt);
	if (code != 0)
		goto out;

	r = store_read_info(cloud, &info);
	if (r < 0) {
		code = main_fail(r, "'%s'", cloud);
		goto out;
	}

	r = cli_state_dir(&state);
	if (r < 0) {
		code = main_fail(r, "cannot create the state folder");
		goto out;
	}
	j.key = sodium_malloc(STORE_KEY_BYTES);
	if (!j.key) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	code = cmd_get_key(a, &info, state, j.key, &v, NULL);
	if (code)
		goto out;
	if (a->ask_key || a->key_file) {
		/* A vault known for this store still guards against
		 * rollback; without it, only this machine's record does. */
		if (a->vault_url ||
		    cli_vault_conf_load(state, info.store_id, &rc) == 0) {
			code = vault_resolve(a, &info, state, 0, &v);
			if (code == 0 && v.url[0])
				code = vault_connect(&v, MAIN_REPORT_CONNECT_MS,
						     MAIN_REPORT_TOTAL_MS);
			if (code) {
				fprintf(stderr, "vaultfs: warning: not asking "
						"the vault for the latest "
						"generation\n");
				vault_ctx_release(&v);
				memset(&v, 0, sizeof(v));
			}
		}
	}
	if (v.url[0]) {
		/* The daemon makes its own client, once the key has opened
		 * the store, and asks the vault for the latest generation. */
		vc_client_free(v.c);
		v.c = NULL;
		memcpy(v.store_id, info.store_id, sizeof(v.store_id));
		j.vault_remember = a->key_file || a->ask_key;
	}

	r = cli_mount_lockfile(state, mnt, &lockp);
	if (r < 0) {
		code = main_fail(r, "cannot create '%s/mounts'", state);
		goto out;
	}

	j.a = a;
	j.cloud_dir = cloud;
	j.mountpoint = mnt;
	j.state_dir = state;
	j.lock_path = lockp;
	j.vault = &v;

	if (a->foreground) {
		code = main_serve(&j);
		goto out;
	}

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		code = main_fail(-errno, "cannot create a pipe");
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		code = main_fail(-errno, "cannot start the daemon");
		goto out;
	}
	if (pid == 0) {
		close(pipefd[0]);
		pipefd[0] = -1;
		if (setsid() < 0) {
			/* already a group leader: cannot happen after fork */
		}
		if (chdir("/") < 0) {
			/* every path is absolute; "/" always exists */
		}
		j.ready_fd = pipefd[1];
		pipefd[1] = -1;
		code = main_serve(&j);
		goto out;
	}
	/* The parent: the key is the daemon's business now. */
	sodium_free(j.key);
	j.key = NULL;
	close(pipefd[1]);
	pipefd[1] = -1;
	code = cli_ready_wait(pipefd[0], pid);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	sodium_free(j.key);
	vault_ctx_release(&v);
	free(cloud);
	free(mnt);
	free(state);
	free(lockp);
	return code;
}

/* ---- passwd ---- */

/*
 * Sets a new password: proven with the old one (vc_passwd: every store of
 * the account follows) or with the 64-digit key (vc_rearm: also unlocks a
 * locked account; new OPRF key, fresh counter; the new record protects
 * this store only). Then one recovery with the new password checks it.
 */
static int cmd_passwd(const struct cli_args *a)
{
	struct store_info info;
	struct vault_ctx v;
	uint8_t *key = NULL, *check = NULL;
	char *state = NULL, *oldpw = NULL, *newpw = NULL;
	size_t oldlen = 0, newlen = 0;
	char why[160] = "";
	int left = -1, code, r;

	memset(&v, 0, sizeof(v));
	r = store_read_info(a->cloud_dir, &info);
	if (r < 0)
		return main_fail(r, "'%s'", a->cloud_dir);
	r = cli_state_dir(&state);
	if (r < 0)
		return main_fail(r, "cannot create the state folder");
	code = vault_resolve(a, &info, state, 1, &v);
	if (code)
		goto out;
	code = vault_connect(&v, MAIN_VAULT_CONNECT_MS, MAIN_VAULT_TOTAL_MS);
	if (code)
		goto out;
	key = sodium_malloc(STORE_KEY_BYTES);
	check = sodium_malloc(STORE_KEY_BYTES);
	if (!key || !check) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}

	if (a->key_file) {
		r = cli_key_from_file(a->key_file, key, why, sizeof(why));
		if (r == -VFS_E_KEYTEXT) {
			fprintf(stderr,
				"vaultfs: malformed 64-digit key in '%s': "
				"%s\n",
				a->key_file, why);
			code = CLI_EXIT_KEYTEXT;
			goto out;
		}
		if (r < 0) {
			code = main_fail(r, "cannot read the key file '%s'",
					 a->key_file);
			goto out;
		}
	} else {
		code =
		    vault_password(a->password_file, "Current password: ", NULL,
				   0, &oldpw, &oldlen);
		if (code)
			goto out;
	}
	code = vault_password(a->new_password_file, "New password: ",
			      "Repeat the new password: ", CLI_PASSWORD_MIN,
			      &newpw, &newlen);
	if (code)
		goto out;

	if (a->key_file) {
		struct vc_store_key sk;

		memcpy(sk.store_id, info.store_id, sizeof(sk.store_id));
		sk.key = key;
		r = vc_rearm(v.c, v.account, &sk, 1, (const uint8_t *)newpw,
			     newlen);
	} else {
		r = vc_passwd(v.c, v.account, (const uint8_t *)oldpw, oldlen,
			      (const uint8_t *)newpw, newlen, &left);
	}
	if (r < 0) {
		code = vault_fail(r, left, &v);
		fprintf(stderr, "vaultfs: the password was not changed\n");
		goto out;
	}
	r = vc_recover(v.c, v.account, info.store_id, (const uint8_t *)newpw,
		       newlen, check, &left);
	if (r == 0 && a->key_file &&
	    sodium_memcmp(check, key, STORE_KEY_BYTES) != 0)
		r = -VFS_E_PROTOCOL;
	if (r < 0) {
		fprintf(stderr, "vaultfs: the new password was set, but "
				"recovering the key with it failed:\n");
		code = vault_fail(r, left, &v);
		goto out;
	}
	vault_remember(state, info.store_id, &v);
	printf("The vault password of '%s' (account '%s' at '%s') was "
	       "changed and checked;\nthe old password no longer works.\n",
	       a->cloud_dir, v.account, v.url);
	if (a->key_file)
		printf("The account was re-armed with the 64-digit key "
		       "(fresh attempt counter). It now\nprotects this store "
		       "only: other stores that shared the account are no "
		       "longer\nprotected by the password (their own 64-digit "
		       "keys still open them).\n");
	code = CLI_EXIT_OK;
out:
	sodium_free(key);
	sodium_free(check);
	vault_password_free(oldpw, oldlen);
	vault_password_free(newpw, newlen);
	vault_ctx_release(&v);
	free(state);
	return code;
}

/* ---- umount ---- */

static int main_unmount(const char *mnt)
{
	char *argv[] = {(char *)"fusermount3", (char *)"-u", (char *)mnt, NULL};
	pid_t pid;
	int status, r;

	if (geteuid() == 0) {
		if (umount2(mnt, UMOUNT_NOFOLLOW) == 0)
			return 0;
		return -errno;
	}
	r = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EBUSY;
	return 0;
}

/* Waits until the daemon has released its lock; returns its exit code. */
static int main_wait_daemon(int fd, const char *mnt)
{
	char buf[64];
	ssize_t n;
	int waited = 0, code;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (errno != EWOULDBLOCK && errno != EINTR)
			return CLI_EXIT_FAILURE;
		if (++waited == 100)
			fprintf(stderr,
				"vaultfs: waiting for the daemon of '%s' to "
				"finish its last commit...\n",
				mnt);
		nanosleep(&ts, NULL);
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return CLI_EXIT_FAILURE;
	buf[n] = '\0';
	if (sscanf(buf, "done %d", &code) == 1)
		return code;
	fprintf(stderr,
		"vaultfs: the daemon of '%s' died without a final commit: "
		"changes that were not fsync-ed or auto-committed are lost\n",
		mnt);
	return CLI_EXIT_FAILURE;
}

static int cmd_umount(const struct cli_args *a)
{
	char *mnt = NULL, *state = NULL, *lockp = NULL;
	char fstype[64] = "";
	FILE *mi;
	int fd = -1, lock_fd = -1, found = 0, code, r;

	r = cli_mount_abspath(a->mountpoint, &mnt);
	if (r < 0) {
		code = main_fail(r, "mount point '%s'", a->mountpoint);
		if (code == CLI_EXIT_IO)
			code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	mi = fopen("/proc/self/mountinfo", "re");
	if (!mi) {
		code = main_fail(-errno, "cannot read /proc/self/mountinfo");
		goto out;
	}
	found = cli_mountinfo_find(mi, mnt, fstype, sizeof(fstype));
	fclose(mi);
	if (!found) {
		fprintf(stderr, "vaultfs: '%s' is not mounted\n", mnt);
		code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	if (strcmp(fstype, "fuse.vaultfs") != 0) {
		fprintf(stderr, "vaultfs: '%s' is not a vaultfs mount (%s)\n",
			mnt, fstype);
		code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}

	r = cli_state_dir(&state);
	if (r == 0)
		r = cli_mount_lockfile(state, mnt, &lockp);
	if (r == 0) {
		lock_fd = open(lockp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (lock_fd < 0)
			r = -errno;
	}
	if (r < 0)
		fprintf(stderr,
			"vaultfs: warning: the daemon's lock file for '%s' "
			"is missing (mounted with another XDG_STATE_HOME?); "
			"not waiting for it\n",
			mnt);

	/* Commit first: fsync of the root directory is a commit. If it
	 * fails, unmounting could lose data, so stop here. */
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOTCONN) {
		fprintf(stderr,
			"vaultfs: the daemon of '%s' is gone; removing the "
			"dead mount\n",
			mnt);
	} else if (fd < 0 || fsync(fd) < 0) {
		code = main_fail(-errno,
				 "the commit before unmounting '%s' failed; "
				 "not unmounting, so nothing is lost (see "
				 "the log in the state folder; 'fusermount3 "
				 "-u' forces it)",
				 mnt);
		goto out;
	}
	if (fd >= 0) {
		close(fd);
		fd = -1;
	}

	r = main_unmount(mnt);
	if (r == -EBUSY) {
		fprintf(stderr,
			"vaultfs: '%s' is busy (files are open or a shell is "
			"in it); close them and retry\n",
			mnt);
		code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot unmount '%s'", mnt);
		goto out;
	}
	code = CLI_EXIT_OK;
	if (lock_fd >= 0) {
		code = main_wait_daemon(lock_fd, mnt);
		if (code != CLI_EXIT_OK && code != CLI_EXIT_FAILURE)
			fprintf(stderr,
				"vaultfs: the daemon of '%s' reported a "
				"failure at exit (code %d); see %s/vaultfs.log"
				"\n",
				mnt, code, state);
		unlink(lockp);
	}
out:
	if (fd >= 0)
		close(fd);
	if (lock_fd >= 0)
		close(lock_fd);
	free(mnt);
	free(state);
	free(lockp);
	return code;
}

int main(int argc, char **argv)
{
	struct cli_args a;
	int r, code;

	r = cli_parse(argc, argv, &a, stdout, stderr);
	if (r != 0) {
		cli_args_release(&a);
		return r == CLI_DONE ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	log_init("vaultfs", a.log_level);
	if (sodium_init() < 0) {
		fprintf(stderr, "vaultfs: libsodium failed to initialise\n");
		cli_args_release(&a);
		return CLI_EXIT_FAILURE;
	}
	switch (a.cmd) {
	case CLI_CMD_INIT:
		main_no_dumps();
		code = cmd_init(&a);
		break;
	case CLI_CMD_MOUNT:
		main_no_dumps();
		code = cmd_mount(&a);
		break;
	case CLI_CMD_UMOUNT:
		code = cmd_umount(&a);
		break;
	case CLI_CMD_PASSWD:
		main_no_dumps();
		code = cmd_passwd(&a);
		break;
	case CLI_CMD_RECOVERY_KEY:
		main_no_dumps();
		code = cmd_recovery_key(&a);
		break;
	case CLI_CMD_REKEY:
		main_no_dumps();
		code = cmd_rekey(&a);
		break;
	case CLI_CMD_FSCK:
		main_no_dumps();
		code = cmd_fsck(&a);
		break;
	case CLI_CMD_STATUS:
		main_no_dumps();
		code = cmd_status(&a);
		break;
	case CLI_CMD_RESTORE:
		main_no_dumps();
		code = cmd_restore(&a);
		break;
	default:
		code = CLI_EXIT_USAGE;
		break;
	}
	cli_args_release(&a);
	return code;
}
