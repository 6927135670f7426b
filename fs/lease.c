/*
 * lease.c - the single-writer lease (lease.h, docs/format.md).
 *
 * Version 2 adds who holds it, for the refusal message: when the holding
 * began and the holder's host name, encrypted (XChaCha20 under a subkey of
 * the lease key, then covered by the MAC) so the cloud provider does not
 * learn host names. Version 1 leases are still read (no name, no start).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "lease.h"

static const uint8_t LEASE_MAGIC[8] = {'V', 'F', 'S', 'L', 'E', 'A', 'S', 'E'};
#define LEASE_VERSION 2
#define ID_BYTES 16
#define MAC_BYTES 32
#define NAME_NONCE_BYTES crypto_stream_xchacha20_NONCEBYTES
/* version 1: the fields up to the holding's nonce, then the MAC */
#define LEASE_V1_BODY (8 + 4 + ID_BYTES + ID_BYTES + 4 + 8 + 8 + 8)
#define LEASE_V1_BYTES (LEASE_V1_BODY + MAC_BYTES)
/* version 2: also since, the name's nonce and the encrypted host name */
#define LEASE_BODY (LEASE_V1_BODY + 8 + NAME_NONCE_BYTES + LEASE_HOST_MAX)
#define LEASE_BYTES (LEASE_BODY + MAC_BYTES)
/* the name key: crypto_kdf subkey 1 of the lease key */
#define NAME_KDF_CTX "vfslname"

struct lease {
	struct objstore *os;
	uint8_t *key; /* sodium_malloc, 64: MAC key, name key */
	uint8_t store_id[STORE_ID_BYTES];
	struct lease_ident id;
	uint8_t holder[ID_BYTES];
	uint8_t boot[ID_BYTES];
	char host[LEASE_HOST_MAX + 1];
	uint64_t nonce;
	uint64_t since;
	uint64_t expires;
	time_t written;
	int registered;
};

struct lease_rec {
	uint32_t version;
	uint8_t holder[ID_BYTES];
	uint8_t boot[ID_BYTES];
	uint32_t pid;
	uint64_t start;
	uint64_t expires;
	uint64_t nonce;
	uint64_t since;			/* 0: unknown (version 1) */
	char host[LEASE_HOST_MAX + 1]; /* "": unknown (version 1) */
};

/* Stores of this process holding a lease, by store id: a lease naming
 * this process but no live store here is stale. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t (*reg_ids)[STORE_ID_BYTES];
static size_t reg_n, reg_cap;

static int reg_find(const uint8_t *id)
{
	for (size_t i = 0; i < reg_n; i++)
		if (memcmp(reg_ids[i], id, STORE_ID_BYTES) == 0)
			return (int)i;
	return -1;
}

static int reg_add(const uint8_t *id)
{
	if (reg_n == reg_cap) {
		size_t ncap = reg_cap ? reg_cap * 2 : 4;
		void *n = realloc(reg_ids, ncap * sizeof(*reg_ids));

		if (!n)
			return -ENOMEM;
		reg_ids = n;
		reg_cap = ncap;
	}
	memcpy(reg_ids[reg_n++], id, STORE_ID_BYTES);
	return 0;
}

static void reg_del(const uint8_t *id)
{
	int i = reg_find(id);

	if (i >= 0) {
		memmove(reg_ids[i], reg_ids[i + 1],
			(reg_n - (size_t)i - 1) * sizeof(*reg_ids));
		reg_n--;
	}
	if (reg_n == 0) {
		free(reg_ids);
		reg_ids = NULL;
		reg_cap = 0;
	}
}

/* BLAKE2b-128 of a file's first 128 bytes (or of text, when not NULL)
 * and the store id, or of nothing but the store id when the file is
 * missing. */
static void hashed_id(const char *path, const char *text,
		      const uint8_t *store_id, uint8_t out[ID_BYTES])
{
	crypto_generichash_state st;
	char buf[128];
	ssize_t n = -1;
	int fd;

	if (text) {
		n = (ssize_t)strnlen(text, sizeof(buf));
		memcpy(buf, text, (size_t)n);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf));
			close(fd);
		}
	}
	crypto_generichash_init(&st, NULL, 0, ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)"vaultfs-lease", 13);
	crypto_generichash_update(&st, store_id, STORE_ID_BYTES);
	if (n > 0)
		crypto_generichash_update(&st, (const uint8_t *)buf, (size_t)n);
	crypto_generichash_final(&st, out, ID_BYTES);
	sodium_memzero(buf, sizeof(buf));
}

/*
 * Reads /proc/<pid>/stat: 1 and the start time (clock ticks since boot)
 * if the process exists and is not a zombie, 0 if it is gone or a zombie
 * (a kill -9-ed daemon whose parent has not reaped it yet), -1 if /proc
 * cannot tell.
 */
static int proc_start(uint32_t pid, uint64_t *ret)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip to the
	 * last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0;
	/* state is field 3, starttime field 22 */
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	*ret = strtoull(p, NULL, 10);
	return 1;
}

static void encode(const struct lease *l, uint8_t out[LEASE_BYTES])
{
	uint8_t name[LEASE_HOST_MAX];
	uint8_t *p = out;

	memcpy(p, LEASE_MAGIC, 8);
	p += 8;
	put_le32(p, LEASE_VERSION);
	p += 4;
	memcpy(p, l->holder, ID_BYTES);
	p += ID_BYTES;
	memcpy(p, l->boot, ID_BYTES);
	p += ID_BYTES;
	put_le32(p, l->id.pid);
	p += 4;
	put_le64(p, l->id.start);
	p += 8;
	put_le64(p, l->expires);
	p += 8;
	put_le64(p, l->nonce);
	p += 8;
	put_le64(p, l->since);
	p += 8;
	randombytes_buf(p, NAME_NONCE_BYTES);
	/* NUL-padded to a fixed size: the length of the name stays hidden */
	memset(name, 0, sizeof(name));
	memcpy(name, l->host, strnlen(l->host, LEASE_HOST_MAX));
	crypto_stream_xchacha20_xor(p + NAME_NONCE_BYTES, name, sizeof(name),
				    p, l->key + 32);
	p += NAME_NONCE_BYTES + LEASE_HOST_MAX;
	crypto_generichash(p, MAC_BYTES, out, LEASE_BODY, l->key, 32);
}

/* A host name from the lease, for messages: printable ASCII up to the
 * first NUL, anything else shown as '?' (it was written by someone with
 * K, but is still shown to a user). */
static void host_text(const uint8_t *in, char out[LEASE_HOST_MAX + 1])
{
	size_t i;

	for (i = 0; i < LEASE_HOST_MAX && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\'
			     ? (char)in[i]
			     : '?';
	out[i] = '\0';
}

/* Reads the lease object: 1 and *ret if there is a valid one, 0 if there
 * is none or it does not verify (garbage is no lease), -errno. */
static int read_lease(struct lease *l, struct lease_rec *ret)
{
	uint8_t mac[MAC_BYTES], *p = NULL;
	size_t n;
	int r;

	uint8_t name[LEASE_HOST_MAX];
	size_t body;
	uint32_t version;

	r = objstore_get(l->os, OBJSTORE_LEASE_NAME, 4096, &p, &n);
	if (r == -ENOENT || r == -EFBIG || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	r = 0;
	if (n < 12 || memcmp(p, LEASE_MAGIC, 8) != 0)
		goto out;
	version = get_le32(p + 8);
	if (version == 1 && n == LEASE_V1_BYTES)
		body = LEASE_V1_BODY;
	else if (version == 2 && n == LEASE_BYTES)
		body = LEASE_BODY;
	else
		goto out;
	crypto_generichash(mac, sizeof(mac), p, body, l->key, 32);
	if (sodium_memcmp(mac, p + body, MAC_BYTES) != 0)
		goto out;
	memset(ret, 0, sizeof(*ret));
	ret->version = version;
	memcpy(ret->holder, p + 12, ID_BYTES);
	memcpy(ret->boot, p + 12 + ID_BYTES, ID_BYTES);
	ret->pid = get_le32(p + 12 + 2 * ID_BYTES);
	ret->start = get_le64(p + 16 + 2 * ID_BYTES);
	ret->expires = get_le64(p + 24 + 2 * ID_BYTES);
	ret->nonce = get_le64(p + 32 + 2 * ID_BYTES);
	if (version == 2) {
		const uint8_t *nn = p + LEASE_V1_BODY + 8;

		ret->since = get_le64(p + LEASE_V1_BODY);
		crypto_stream_xchacha20_xor(name, nn + NAME_NONCE_BYTES,
					    sizeof(name), nn, l->key + 32);
		host_text(name, ret->host);
		sodium_memzero(name, sizeof(name));
	}
	r = 1;
out:
	free(p);
	return r;
}

static int write_lease(struct lease *l)
{
	uint8_t b[LEASE_BYTES];
	time_t now = time(NULL);

	l->expires = (uint64_t)now + LEASE_SECONDS;
	encode(l, b);
	l->written = now;
	return objstore_replace(l->os, OBJSTORE_LEASE_NAME, b, sizeof(b));
}

/* Is the process that wrote the lease still running? The start time
 * tells a reused process id from the holder. */
static int holder_alive(const struct lease_rec *rec)
{
	uint64_t start = 0;
	int r;

	if (rec->pid == 0 || rec->pid > INT32_MAX)
		return 0;
	r = proc_start(rec->pid, &start);
	if (r == 0)
		return 0;
	if (r == 1)
		return start == rec->start;
	return kill((pid_t)rec->pid, 0) == 0 || errno == EPERM;
}

/* May we take over the lease rec? */
static int may_take(struct lease *l, const struct lease_rec *rec,
		    int break_expired)
{
	int same_machine = sodium_memcmp(rec->holder, l->holder, ID_BYTES) == 0;
	int same_boot = sodium_memcmp(rec->boot, l->boot, ID_BYTES) == 0;

	if (same_machine) {
		if (!same_boot)
			return 1; /* the machine rebooted: the holder is gone */
		if (rec->pid == (uint32_t)getpid())
			return reg_find(l->store_id) < 0;
		return !holder_alive(rec);
	}
	return break_expired && rec->expires < (uint64_t)time(NULL);
}

/* Fills in who we are: the real machine, or id when it is not NULL. */
static void set_ident(struct lease *l, const struct lease_ident *id)
{
	if (id) {
		l->id = *id;
	} else {
		memset(&l->id, 0, sizeof(l->id));
		l->id.pid = (uint32_t)getpid();
		if (proc_start(l->id.pid, &l->id.start) != 1)
			l->id.start = 0;
	}
	hashed_id("/etc/machine-id", id ? id->machine_id : NULL, l->store_id,
		  l->holder);
	hashed_id("/proc/sys/kernel/random/boot_id", id ? id->boot_id : NULL,
		  l->store_id, l->boot);
	if (id && id->host)
		snprintf(l->host, sizeof(l->host), "%s", id->host);
	else if (gethostname(l->host, sizeof(l->host)) < 0)
		l->host[0] = '\0';
	l->host[LEASE_HOST_MAX] = '\0';
	l->id.machine_id = NULL;
	l->id.boot_id = NULL;
	l->id.host = NULL;
}

static int lease_new(struct objstore *os, const uint8_t mac_key[32],
		     const uint8_t store_id[STORE_ID_BYTES],
		     const struct lease_ident *id, struct lease **ret)
{
	struct lease *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->key = sodium_malloc(64);
	if (!l->key) {
		free(l);
		return -ENOMEM;
	}
	memcpy(l->key, mac_key, 32);
	crypto_kdf_derive_from_key(l->key + 32, 32, 1, NAME_KDF_CTX, mac_key);
	l->os = os;
	memcpy(l->store_id, store_id, STORE_ID_BYTES);
	set_ident(l, id);
	randombytes_buf(&l->nonce, sizeof(l->nonce));
	l->since = (uint64_t)time(NULL);
	*ret = l;
	return 0;
}

static void lease_free(struct lease *l)
{
	sodium_free(l->key);
	sodium_memzero(l, sizeof(*l));
	free(l);
}

int lease_acquire(struct objstore *os, const uint8_t mac_key[32],
		  const uint8_t store_id[STORE_ID_BYTES], int break_expired,
		  struct lease **ret)
{
	struct lease_rec rec;
	struct lease *l;
	int r;

	r = lease_new(os, mac_key, store_id, NULL, &l);
	if (r < 0)
		return r;

	pthread_mutex_lock(&reg_lock);
	r = read_lease(l, &rec);
	if (r == 1 && !may_take(l, &rec, break_expired))
		r = -VFS_E_LEASE;
	if (r >= 0)
		r = write_lease(l);
	if (r == 0)
		r = reg_add(store_id);
	if (r == 0)
		l->registered = 1;
	pthread_mutex_unlock(&reg_lock);
	if (r < 0) {
		lease_release(l);
		return r;
	}
	*ret = l;
	return 0;
}

int lease_renew(struct lease *l)
{
	struct lease_rec rec;
	int r;

	if (time(NULL) - l->written < LEASE_SECONDS / 3)
		return 0;
	r = read_lease(l, &rec);
	if (r < 0)
		return r;
	if (r == 1 && rec.nonce != l->nonce)
		return -VFS_E_LEASE; /* taken over */
	r = write_lease(l);
	return r < 0 ? r : 1;
}

void lease_release(struct lease *l)
{
	struct lease_rec rec;

	if (!l)
		return;
	pthread_mutex_lock(&reg_lock);
	if (l->registered) {
		if (read_lease(l, &rec) == 1 && rec.nonce == l->nonce &&
		    objstore_remove(l->os, OBJSTORE_LEASE_NAME) == 0) {
			/* released */
		}
		reg_del(l->store_id);
	}
	pthread_mutex_unlock(&reg_lock);
	lease_free(l);
}

int lease_peek(struct objstore *os, const uint8_t mac_key[32],
	       const uint8_t store_id[STORE_ID_BYTES], struct lease_info *ret)
{
	struct lease_rec rec;
	struct lease *l;
	int r;

	r = lease_new(os, mac_key, store_id, NULL, &l);
	if (r < 0)
		return r;
	r = read_lease(l, &rec);
	if (r == 1) {
		memset(ret, 0, sizeof(*ret));
		ret->version = rec.version;
		ret->this_machine =
		    sodium_memcmp(rec.holder, l->holder, ID_BYTES) == 0;
		ret->alive = !ret->this_machine ||
			     (sodium_memcmp(rec.boot, l->boot, ID_BYTES) == 0 &&
			      holder_alive(&rec));
		ret->pid = rec.pid;
		ret->since = rec.since;
		ret->expires = rec.expires;
		memcpy(ret->host, rec.host, sizeof(ret->host));
	}
	lease_free(l);
	return r;
}

int lease_write_as(struct objstore *os, const uint8_t mac_key[32],
		   const uint8_t store_id[STORE_ID_BYTES],
		   const struct lease_ident *id, uint64_t since,
		   uint64_t expires)
{
	uint8_t b[LEASE_BYTES];
	struct lease *l;
	int r;

	r = lease_new(os, mac_key, store_id, id, &l);
	if (r < 0)
		return r;
	l->since = since;
	l->expires = expires;
	encode(l, b);
	r = objstore_replace(os, OBJSTORE_LEASE_NAME, b, sizeof(b));
	lease_free(l);
	return r;
}

