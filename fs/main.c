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
#include "fsops.h"
#include "keytext.h"
#include "log.h"
#include "store.h"
#include "vfs_error.h"

extern char **environ;

/* Commit dirty data once it is this old (the ticker runs every second). */
#define MAIN_COMMIT_AGE_MS 3000

/* Prints "vaultfs: <what>: <error>" and the hint; returns the exit code. */
static int __attribute__((format(printf, 2, 3)))
main_fail(int r, const char *fmt, ...)
{
	const char *hint = cli_hint(r);
	va_list ap;

	fputs("vaultfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", vfs_strerror(r));
	if (hint)
		fprintf(stderr, "vaultfs: %s\n", hint);
	return cli_exit_code(r);
}

/* Key material must not end up in a core file or be readable via ptrace. */
static void main_no_dumps(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int main_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void main_fsync_parent(const char *path)
{
	char *copy = strdup(path), *slash;
	int fd;

	if (!copy)
		return;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* ---- init ---- */

static int cmd_init(const struct cli_args *a)
{
	struct store_create_opts copts;
	struct store_info info;
	uint8_t *key = NULL;
	char *text = NULL;
	char idhex[2 * STORE_ID_BYTES + 1];
	int fd = -1, made_dir = 0, made_file = 0, r, code;

	if (!a->key_file && !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"vaultfs: standard output is not a terminal: refusing "
			"to print the 64-digit recovery key there.\n"
			"vaultfs: use --recovery-key-file FILE to write it to "
			"a new file instead.\n");
		return CLI_EXIT_USAGE;
	}

	if (mkdir(a->cloud_dir, 0700) == 0)
		made_dir = 1;
	else if (errno != EEXIST)
		return main_fail(-errno, "cannot create '%s'", a->cloud_dir);

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
	text = sodium_malloc(KEYTEXT_FORMAT_LEN + 1);
	if (!key || !text) {
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
	made_dir = 0;
	made_file = 0; /* both belong to the store now */

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
	printf("Created a vaultfs store in '%s' (store id %s, %s).\n",
	       a->cloud_dir, idhex, info.aead);
	if (a->key_file) {
		printf("The 64-digit recovery key is in '%s' (mode 0600).\n"
		       "Keep a copy offline: without it the backup cannot be "
		       "opened.\n",
		       a->key_file);
	} else {
		printf("\nYour 64-digit recovery key (shown only this once):"
		       "\n\n    %s\n\n"
		       "WARNING: write it down and keep it somewhere safe and "
		       "offline. Anyone\nwith it can read the backup; without "
		       "it the backup cannot be opened.\n",
		       text);
	}
	if (fflush(stdout) != 0) {
		code = main_fail(-EIO, "cannot write to standard output");
		goto out;
	}
	code = CLI_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made_file)
		unlink(a->key_file);
	if (made_dir)
		rmdir(a->cloud_dir);
	if (text) {
		sodium_memzero(text, KEYTEXT_FORMAT_LEN + 1);
		sodium_free(text);
	}
	sodium_free(key); /* wipes */
	return code;
}

/* ---- mount ---- */

struct ticker {
	struct store *s;
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
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static int ticker_start(struct ticker *t, struct store *s)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	memset(t, 0, sizeof(*t));
	t->s = s;
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
};

/* The daemon (or the foreground process): open, mount, serve, close. */
static int main_serve(struct mount_job *j)
{
	static char prog[32];
	struct fsops_opts fo;
	struct store *s = NULL;
	struct fsops *f = NULL;
	struct ticker t;
	int lock_fd = -1, ticking = 0, code, r;

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
		       j->a->read_only ? STORE_READ_ONLY : 0, &s);
	sodium_free(j->key);
	j->key = NULL;
	if (r < 0) {
		code =
		    main_fail(r, "cannot open the store in '%s'", j->cloud_dir);
		goto out;
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

	r = ticker_start(&t, s);
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
	if (j->ready_fd >= 0) {
		cli_ready_report(j->ready_fd, code);
		close(j->ready_fd);
	}
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
	char *cloud = NULL, *mnt = NULL, *state = NULL, *lockp = NULL;
	char why[160] = "";
	int pipefd[2] = {-1, -1};
	pid_t pid;
	int code, r;

	memset(&j, 0, sizeof(j));
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

	if (!a->ask_key && !a->key_file) {
		fprintf(stderr,
			"vaultfs: no key given: use --recovery-key or "
			"--recovery-key-file FILE (--recovery-key asks for "
			"the 64-digit key on the terminal)\n");
		if (info.vault_url[0])
			fprintf(stderr,
				"vaultfs: (this store names the vault '%s'; "
				"this build cannot ask a vault yet)\n",
				info.vault_url);
		code = CLI_EXIT_USAGE;
		goto out;
	}

	j.key = sodium_malloc(STORE_KEY_BYTES);
	if (!j.key) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	if (a->ask_key)
		r = cli_key_from_tty("64-digit recovery key: ", j.key, why,
				     sizeof(why));
	else
		r = cli_key_from_file(a->key_file, j.key, why, sizeof(why));
	if (r == -VFS_E_KEYTEXT) {
		fprintf(stderr, "vaultfs: malformed 64-digit key%s%s%s: %s\n",
			a->key_file ? " in '" : "",
			a->key_file ? a->key_file : "", a->key_file ? "'" : "",
			why);
		fprintf(stderr, "vaultfs: %s\n", cli_hint(r));
		code = CLI_EXIT_KEYTEXT;
		goto out;
	}
	if (r == -ENXIO && a->ask_key) {
		fprintf(stderr,
			"vaultfs: no terminal to ask for the key on; use "
			"--recovery-key-file FILE ('-' for standard input)\n");
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (r == -E2BIG) {
		fprintf(stderr,
			"vaultfs: the key %s is far too long to be a 64-digit "
			"key\n",
			a->key_file ? "file" : "text");
		code = CLI_EXIT_KEYTEXT;
		goto out;
	}
	if (r < 0) {
		if (a->key_file)
			code = main_fail(r, "cannot read the key file '%s'",
					 a->key_file);
		else
			code = main_fail(r, "cannot read the key");
		goto out;
	}

	r = cli_state_dir(&state);
	if (r < 0) {
		code = main_fail(r, "cannot create the state folder");
		goto out;
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
	free(cloud);
	free(mnt);
	free(state);
	free(lockp);
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
	default:
		code = CLI_EXIT_USAGE;
		break;
	}
	cli_args_release(&a);
	return code;
}
