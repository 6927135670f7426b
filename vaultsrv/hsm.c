/*
 * hsm.c - PKCS#11 token access: the vault's master wrapping key, the token
 * HMAC key and per-user OPRF keys wrapped outside the token. The only file
 * that includes pkcs11.h; CKR_* codes become -errno here.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

#include "hsm.h"

#define HSM_MASTER_LABEL "vaultsrv-master-1" /* epoch 1, made by init */
#define HSM_MAC_LABEL "vaultsrv-token-mac"
#define HSM_PIN_MAX 256
#define HSM_SESSIONS_MAX 64

/* DER of the named curve prime256v1 (1.2.840.10045.3.1.7). */
static const uint8_t hsm_p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
				       0xce, 0x3d, 0x03, 0x01, 0x07};

struct hsm_session {
	CK_SESSION_HANDLE h;
	int busy;
};

struct hsm {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int initialized;
	int logged_in;
	CK_SLOT_ID slot;
	unsigned nsessions;
	struct hsm_session sessions[HSM_SESSIONS_MAX];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CK_OBJECT_HANDLE master;
	CK_OBJECT_HANDLE mackey;
	struct hsm_epochs *ep; /* master keys by epoch (epoch block below) */
	atomic_uint_fast64_t evaluations;
	int evlog_fd;
};

static int hsm_epochs_init(struct hsm *h);
static void hsm_epochs_free(struct hsm *h);
static int hsm_blob_master(struct hsm *h, CK_SESSION_HANDLE s,
			   const uint8_t **blob, size_t *len,
			   CK_OBJECT_HANDLE *ret);
static int hsm_wrap_current(struct hsm *h, CK_SESSION_HANDLE s,
			    CK_OBJECT_HANDLE key, uint8_t *blob,
			    size_t *ret_len);

static int hsm_err(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_HOST_MEMORY:
	case CKR_DEVICE_MEMORY:
		return -ENOMEM;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LOCKED:
	case CKR_PIN_EXPIRED:
	case CKR_USER_NOT_LOGGED_IN:
		return -EACCES;
	case CKR_WRAPPED_KEY_INVALID:
	case CKR_WRAPPED_KEY_LEN_RANGE:
	case CKR_UNWRAPPING_KEY_HANDLE_INVALID:
	case CKR_TEMPLATE_INCONSISTENT:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_ENCRYPTED_DATA_INVALID:
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static struct hsm_session *hsm_acquire(struct hsm *h)
{
	struct hsm_session *s = NULL;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		for (unsigned i = 0; i < h->nsessions; i++) {
			if (!h->sessions[i].busy) {
				s = &h->sessions[i];
				s->busy = 1;
				break;
			}
		}
		if (s)
			break;
		pthread_cond_wait(&h->cond, &h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return s;
}

static void hsm_release(struct hsm *h, struct hsm_session *s)
{
	pthread_mutex_lock(&h->lock);
	s->busy = 0;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Reads the first line of a 0600 file into sodium_malloc'd memory. */
static int hsm_read_pin(const char *path, char **ret_pin, size_t *ret_len)
{
	struct stat st;
	char *pin = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		r = -EACCES;
		goto out;
	}
	pin = sodium_malloc(HSM_PIN_MAX + 1);
	if (!pin) {
		r = -ENOMEM;
		goto out;
	}
	while (len < HSM_PIN_MAX) {
		n = read(fd, pin + len, HSM_PIN_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (size_t i = 0; i < len; i++) {
		if (pin[i] == '\n' || pin[i] == '\r') {
			len = i;
			break;
		}
	}
	if (len == 0) {
		r = -EINVAL;
		goto out;
	}
	pin[len] = '\0';
	*ret_pin = pin;
	*ret_len = len;
	pin = NULL; /* transferred */
	r = 0;
out:
	if (pin) {
		sodium_memzero(pin, HSM_PIN_MAX + 1);
		sodium_free(pin);
	}
	close(fd);
	return r;
}

static int hsm_find_slot(struct hsm *h, const char *label)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	char want[32];
	size_t llen = strlen(label);
	CK_RV rv;
	int r = -ENOENT;

	if (llen == 0 || llen > sizeof(want))
		return -EINVAL;
	memset(want, ' ', sizeof(want));
	memcpy(want, label, llen);

	rv = h->f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv != CKR_OK)
		return hsm_err(rv);
	if (n == 0)
		return -ENOENT;
	if (n > 4096)
		return -EIO;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	rv = h->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (h->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (memcmp(ti.label, want, sizeof(want)) == 0) {
			h->slot = slots[i];
			r = 0;
			goto out;
		}
	}
out:
	free(slots);
	return r;
}

int hsm_open(const char *module, const char *token_label, const char *pin_file,
	     unsigned nsessions, struct hsm **ret)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV (*getlist)(CK_FUNCTION_LIST_PTR_PTR);
	struct hsm *h;
	char *pin = NULL;
	size_t pinlen = 0;
	CK_RV rv;
	int r;

	if (nsessions == 0 || nsessions > HSM_SESSIONS_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->evlog_fd = -1;
	h->nsessions = 0;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	atomic_init(&h->evaluations, 0);
	r = hsm_epochs_init(h);
	if (r < 0)
		goto out;

	r = hsm_read_pin(pin_file, &pin, &pinlen);
	if (r < 0)
		goto out;

	h->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!h->dl) {
		r = -ENOENT;
		goto out;
	}
	*(void **)&getlist = dlsym(h->dl, "C_GetFunctionList");
	if (!getlist) {
		r = -ENOENT;
		goto out;
	}
	rv = getlist(&h->f);
	if (rv != CKR_OK || !h->f) {
		r = -EIO;
		goto out;
	}
	rv = h->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		r = hsm_err(rv);
		goto out;
	}
	h->initialized = 1;
	r = hsm_find_slot(h, token_label);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < nsessions; i++) {
		rv = h->f->C_OpenSession(h->slot,
					 CKF_SERIAL_SESSION | CKF_RW_SESSION,
					 NULL, NULL, &h->sessions[i].h);
		if (rv != CKR_OK) {
			r = hsm_err(rv);
			goto out;
		}
		h->nsessions++;
	}
	/* Login state is per application and token: once is enough. */
	rv = h->f->C_Login(h->sessions[0].h, CKU_USER, (CK_UTF8CHAR_PTR)pin,
			   (CK_ULONG)pinlen);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		r = hsm_err(rv);
		if (r == -EIO)
			r = -EACCES;
		goto out;
	}
	h->logged_in = 1;
	*ret = h;
	h = NULL; /* transferred */
	r = 0;
out:
	if (pin) {
		sodium_memzero(pin, HSM_PIN_MAX + 1);
		sodium_free(pin);
	}
	hsm_free(h);
	return r;
}

void hsm_free(struct hsm *h)
{
	if (!h)
		return;
	if (h->f) {
		if (h->logged_in)
			h->f->C_Logout(h->sessions[0].h);
		for (unsigned i = 0; i < h->nsessions; i++)
			h->f->C_CloseSession(h->sessions[i].h);
		if (h->initialized)
			h->f->C_Finalize(NULL);
	}
	if (h->dl)
		dlclose(h->dl);
	if (h->evlog_fd >= 0)
		close(h->evlog_fd);
	hsm_epochs_free(h);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

/* Finds exactly one object of class cls with label; -ENOENT if none. */
static int hsm_find(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
		    const char *label, CK_OBJECT_HANDLE *ret)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	CK_RV rv;

	rv = h->f->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK)
		return hsm_err(rv);
	rv = h->f->C_FindObjects(s, objs, 2, &n);
	h->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return hsm_err(rv);
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return -EEXIST;
	*ret = objs[0];
	return 0;
}

int hsm_create_keys(struct hsm *h)
{
	struct hsm_session *s = hsm_acquire(h);
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
	CK_ULONG aeslen = 32, maclen = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE obj;
	/*
	 * Extractable only so that a key ceremony can wrap them for another
	 * token (a replica's HSM); sensitive, so never readable in clear.
	 */
	CK_ATTRIBUTE master[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &aes, sizeof(aes)},
	    {CKA_VALUE_LEN, &aeslen, sizeof(aeslen)},
	    {CKA_LABEL, (void *)HSM_MASTER_LABEL, sizeof(HSM_MASTER_LABEL) - 1},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_WRAP, &yes, sizeof(yes)},
	    {CKA_UNWRAP, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	};
	CK_ATTRIBUTE mac[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &gen, sizeof(gen)},
	    {CKA_VALUE_LEN, &maclen, sizeof(maclen)},
	    {CKA_LABEL, (void *)HSM_MAC_LABEL, sizeof(HSM_MAC_LABEL) - 1},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	};
	CK_MECHANISM aesgen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_MECHANISM secgen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_RV rv;
	int r;

	r = hsm_find(h, s->h, CKO_SECRET_KEY, HSM_MASTER_LABEL, &obj);
	if (r != -ENOENT) {
		r = r == 0 ? -EEXIST : r;
		goto out;
	}
	r = hsm_find(h, s->h, CKO_SECRET_KEY, HSM_MAC_LABEL, &obj);
	if (r != -ENOENT) {
		r = r == 0 ? -EEXIST : r;
		goto out;
	}
	rv =
	    h->f->C_GenerateKey(s->h, &aesgen, master,
				sizeof(master) / sizeof(master[0]), &h->master);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	rv = h->f->C_GenerateKey(s->h, &secgen, mac,
				 sizeof(mac) / sizeof(mac[0]), &h->mackey);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	r = 0;
out:
	hsm_release(h, s);
	return r;
}

int hsm_load_keys(struct hsm *h)
{
	struct hsm_session *s = hsm_acquire(h);
	int r;

	/* Master keys are found by epoch when used (epoch block below):
	 * after a rotation, epoch 1's is gone. */
	r = hsm_find(h, s->h, CKO_SECRET_KEY, HSM_MAC_LABEL, &h->mackey);
	hsm_release(h, s);
	return r;
}

int hsm_oprf_keygen(struct hsm *h, uint8_t *blob, size_t *ret_len)
{
	struct hsm_session *s = hsm_acquire(h);
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {
	    {CKA_EC_PARAMS, (void *)hsm_p256_oid, sizeof(hsm_p256_oid)},
	    {CKA_TOKEN, &no, sizeof(no)},
	};
	CK_ATTRIBUTE priv[] = {
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_DERIVE, &yes, sizeof(yes)},
	    {CKA_SIGN, &no, sizeof(no)},
	};
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_RV rv;
	int r;

	rv = h->f->C_GenerateKeyPair(s->h, &gen, pub, 2, priv,
				     sizeof(priv) / sizeof(priv[0]), &hpub,
				     &hpriv);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	r = hsm_wrap_current(h, s->h, hpriv, blob, ret_len);
out:
	if (hpriv != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, hpriv);
	if (hpub != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, hpub);
	hsm_release(h, s);
	return r;
}

static void hsm_log_evaluation(struct hsm *h, const char *kind,
			       const char *account)
{
	char line[192];
	int n;

	if (h->evlog_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld evaluation%s%s%s%s\n",
		     (long long)time(NULL), kind ? " " : "", kind ? kind : "",
		     account ? " " : "", account ? account : "");
	if (n > 0 && (size_t)n < sizeof(line)) {
		/* One write on an O_APPEND fd: lines never interleave. */
		if (write(h->evlog_fd, line, (size_t)n) != n)
			return;
	}
}

int hsm_oprf_evaluate(struct hsm *h, const uint8_t *blob, size_t blob_len,
		      const uint8_t point[HSM_POINT_LEN],
		      uint8_t ret_x[HSM_SECRET_LEN])
{
	return hsm_oprf_evaluate_as(h, NULL, NULL, blob, blob_len, point,
				    ret_x);
}

int hsm_oprf_evaluate_as(struct hsm *h, const char *kind, const char *account,
			 const uint8_t *blob, size_t blob_len,
			 const uint8_t point[HSM_POINT_LEN],
			 uint8_t ret_x[HSM_SECRET_LEN])
{
	struct hsm_session *s;
	CK_MECHANISM unwrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY, scls = CKO_SECRET_KEY;
	CK_KEY_TYPE ec = CKK_EC, gen = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG outlen = HSM_SECRET_LEN;
	CK_ATTRIBUTE ktmpl[] = {
	    {CKA_CLASS, &pcls, sizeof(pcls)},
	    {CKA_KEY_TYPE, &ec, sizeof(ec)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_DERIVE, &yes, sizeof(yes)},
	};
	CK_ATTRIBUTE stmpl[] = {
	    {CKA_CLASS, &scls, sizeof(scls)},
	    {CKA_KEY_TYPE, &gen, sizeof(gen)},
	    {CKA_VALUE_LEN, &outlen, sizeof(outlen)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_SENSITIVE, &no, sizeof(no)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	};
	CK_ECDH1_DERIVE_PARAMS params = {
	    .kdf = CKD_NULL,
	    .ulSharedDataLen = 0,
	    .pSharedData = NULL,
	    .ulPublicDataLen = HSM_POINT_LEN,
	    .pPublicData = (CK_BYTE_PTR)point,
	};
	CK_MECHANISM derive = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE, sec = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE master = CK_INVALID_HANDLE;
	uint8_t x[HSM_SECRET_LEN];
	CK_ATTRIBUTE val = {CKA_VALUE, x, sizeof(x)};
	CK_RV rv;
	int r;

	if (blob_len == 0 || blob_len > HSM_BLOB_MAX)
		return -EBADMSG;
	s = hsm_acquire(h);
	/* The blob names its epoch; a retired one: -EKEYREVOKED. */
	r = hsm_blob_master(h, s->h, &blob, &blob_len, &master);
	if (r < 0)
		goto out;
	rv = h->f->C_UnwrapKey(s->h, &unwrap, master, (CK_BYTE_PTR)blob,
			       (CK_ULONG)blob_len, ktmpl,
			       sizeof(ktmpl) / sizeof(ktmpl[0]), &key);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		if (r == -EIO)
			r = -EBADMSG;
		goto out;
	}
	/* Counted before the derive: the log never undercounts. */
	atomic_fetch_add(&h->evaluations, 1);
	hsm_log_evaluation(h, kind, account);
	rv = h->f->C_DeriveKey(s->h, &derive, key, stmpl,
			       sizeof(stmpl) / sizeof(stmpl[0]), &sec);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	rv = h->f->C_GetAttributeValue(s->h, sec, &val, 1);
	if (rv != CKR_OK || val.ulValueLen != HSM_SECRET_LEN) {
		r = rv != CKR_OK ? hsm_err(rv) : -EIO;
		goto out;
	}
	memcpy(ret_x, x, sizeof(x));
	r = 0;
out:
	sodium_memzero(x, sizeof(x));
	if (sec != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, sec);
	if (key != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, key);
	hsm_release(h, s);
	return r;
}

int hsm_mac(struct hsm *h, const void *msg, size_t len,
	    uint8_t ret_mac[HSM_MAC_LEN])
{
	struct hsm_session *s = hsm_acquire(h);
	CK_MECHANISM mech = {CKM_SHA256_HMAC, NULL, 0};
	uint8_t mac[HSM_MAC_LEN];
	CK_ULONG n = sizeof(mac);
	CK_RV rv;
	int r;

	rv = h->f->C_SignInit(s->h, &mech, h->mackey);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	rv = h->f->C_Sign(s->h, (CK_BYTE_PTR)msg, (CK_ULONG)len, mac, &n);
	if (rv != CKR_OK || n != HSM_MAC_LEN) {
		r = rv != CKR_OK ? hsm_err(rv) : -EIO;
		goto out;
	}
	memcpy(ret_mac, mac, sizeof(mac));
	r = 0;
out:
	hsm_release(h, s);
	return r;
}

uint64_t hsm_evaluations(const struct hsm *h)
{
	return atomic_load(&((struct hsm *)h)->evaluations);
}

int hsm_set_evaluation_log(struct hsm *h, const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (h->evlog_fd >= 0)
		close(h->evlog_fd);
	h->evlog_fd = fd;
	return 0;
}


/* ---- master key epochs (driven by vaultsrv/epoch.c) ----
 *
 * The master wrapping key of epoch n is the token object labelled
 * "vaultsrv-master-<n>" (init makes epoch 1). A blob names its epoch: a
 * bare CKM_AES_KEY_WRAP_PAD output (a multiple of 8 bytes) is epoch 1, as
 * every blob made before epochs existed; any later epoch is 'V' 'E',
 * u32 big-endian epoch, then the wrapped key (6 mod 8 bytes). Keys are
 * looked up by label at each use, never cached: a key destroyed by
 * another process (vaultsrv rotate) is gone here at once.
 */
#define HSM_EPOCH_LABEL_FMT "vaultsrv-master-%" PRIu32
#define HSM_EPOCH_LABEL_MAX 32
#define HSM_EPOCH_HDR 6
#define HSM_EPOCH_OBJS_MAX 256

struct hsm_epochs {
	_Atomic uint32_t floor; /* lowest epoch usable here; only rises */
	_Atomic uint32_t write; /* epoch of new blobs */
};

static int hsm_epochs_init(struct hsm *h)
{
	h->ep = calloc(1, sizeof(*h->ep));
	if (!h->ep)
		return -ENOMEM;
	atomic_init(&h->ep->floor, 1);
	atomic_init(&h->ep->write, 1);
	return 0;
}

static void hsm_epochs_free(struct hsm *h)
{
	free(h->ep);
	h->ep = NULL;
}

static void hsm_epoch_label(uint32_t epoch, char out[HSM_EPOCH_LABEL_MAX])
{
	snprintf(out, HSM_EPOCH_LABEL_MAX, HSM_EPOCH_LABEL_FMT, epoch);
}

int hsm_blob_epoch(const uint8_t *blob, size_t len, uint32_t *ret)
{
	uint32_t e;

	if (len == 0 || len > HSM_BLOB_MAX)
		return -EBADMSG;
	if (len % 8 == 0) {
		*ret = 1;
		return 0;
	}
	if (len % 8 != HSM_EPOCH_HDR || len < HSM_EPOCH_HDR + 16 ||
	    blob[0] != 'V' || blob[1] != 'E')
		return -EBADMSG;
	e = (uint32_t)blob[2] << 24 | (uint32_t)blob[3] << 16 |
	    (uint32_t)blob[4] << 8 | blob[5];
	/* Epoch 1 is always bare: one encoding per blob. */
	if (e < 2 || e > HSM_EPOCH_MAX)
		return -EBADMSG;
	*ret = e;
	return 0;
}

void hsm_epoch_set(struct hsm *h, uint32_t floor, uint32_t write)
{
	uint32_t cur = atomic_load(&h->ep->floor);

	while (floor > cur &&
	       !atomic_compare_exchange_weak(&h->ep->floor, &cur, floor))
		;
	atomic_store(&h->ep->write, write);
}

uint32_t hsm_epoch_floor(const struct hsm *h)
{
	return atomic_load(&h->ep->floor);
}

uint32_t hsm_epoch_write(const struct hsm *h)
{
	return atomic_load(&h->ep->write);
}

/* The master of epoch: -EKEYREVOKED below the floor, -ENOKEY if the
 * token does not hold it. */
static int hsm_epoch_find(struct hsm *h, CK_SESSION_HANDLE s, uint32_t epoch,
			  CK_OBJECT_HANDLE *ret)
{
	char label[HSM_EPOCH_LABEL_MAX];
	int r;

	if (epoch < atomic_load(&h->ep->floor))
		return -EKEYREVOKED;
	hsm_epoch_label(epoch, label);
	r = hsm_find(h, s, CKO_SECRET_KEY, label, ret);
	return r == -ENOENT ? -ENOKEY : r;
}

static int hsm_blob_master(struct hsm *h, CK_SESSION_HANDLE s,
			   const uint8_t **blob, size_t *len,
			   CK_OBJECT_HANDLE *ret)
{
	uint32_t epoch;
	int r = hsm_blob_epoch(*blob, *len, &epoch);

	if (r < 0)
		return r;
	r = hsm_epoch_find(h, s, epoch, ret);
	if (r < 0)
		return r;
	if (epoch > 1) {
		*blob += HSM_EPOCH_HDR;
		*len -= HSM_EPOCH_HDR;
	}
	return 0;
}

/* Wraps key under the master of epoch into blob (HSM_BLOB_MAX bytes). */
static int hsm_wrap_epoch(struct hsm *h, CK_SESSION_HANDLE s,
			  CK_OBJECT_HANDLE key, uint32_t epoch, uint8_t *blob,
			  size_t *ret_len)
{
	CK_MECHANISM wrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	size_t hdr = epoch > 1 ? HSM_EPOCH_HDR : 0;
	CK_ULONG len = HSM_BLOB_MAX - hdr;
	CK_OBJECT_HANDLE master;
	CK_RV rv;
	int r;

	if (epoch == 0 || epoch > HSM_EPOCH_MAX)
		return -EINVAL;
	r = hsm_epoch_find(h, s, epoch, &master);
	if (r < 0)
		return r;
	rv = h->f->C_WrapKey(s, &wrap, master, key, blob + hdr, &len);
	if (rv != CKR_OK)
		return hsm_err(rv);
	if (len > HSM_BLOB_MAX - hdr || len % 8 != 0)
		return -EIO;
	if (hdr) {
		blob[0] = 'V';
		blob[1] = 'E';
		blob[2] = (uint8_t)(epoch >> 24);
		blob[3] = (uint8_t)(epoch >> 16);
		blob[4] = (uint8_t)(epoch >> 8);
		blob[5] = (uint8_t)epoch;
	}
	*ret_len = hdr + len;
	return 0;
}

static int hsm_wrap_current(struct hsm *h, CK_SESSION_HANDLE s,
			    CK_OBJECT_HANDLE key, uint8_t *blob,
			    size_t *ret_len)
{
	return hsm_wrap_epoch(h, s, key, atomic_load(&h->ep->write), blob,
			      ret_len);
}

int hsm_epoch_create(struct hsm *h, uint32_t epoch)
{
	struct hsm_session *s;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_ULONG aeslen = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char label[HSM_EPOCH_LABEL_MAX];
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &aes, sizeof(aes)},
	    {CKA_VALUE_LEN, &aeslen, sizeof(aeslen)},
	    {CKA_LABEL, label, 0},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    /* as init's: a key ceremony may wrap it for a replica's HSM */
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_WRAP, &yes, sizeof(yes)},
	    {CKA_UNWRAP, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	};
	CK_MECHANISM aesgen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_HANDLE obj;
	CK_RV rv;
	int r;

	if (epoch < 2 || epoch > HSM_EPOCH_MAX)
		return -EINVAL;
	hsm_epoch_label(epoch, label);
	tmpl[3].ulValueLen = strlen(label);
	s = hsm_acquire(h);
	r = hsm_find(h, s->h, CKO_SECRET_KEY, label, &obj);
	if (r != -ENOENT) {
		r = r == 0 ? -EEXIST : r;
		goto out;
	}
	rv = h->f->C_GenerateKey(s->h, &aesgen, tmpl,
				 sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	r = hsm_err(rv);
out:
	hsm_release(h, s);
	return r;
}

int hsm_epoch_present(struct hsm *h, uint32_t epoch)
{
	struct hsm_session *s = hsm_acquire(h);
	char label[HSM_EPOCH_LABEL_MAX];
	CK_OBJECT_HANDLE obj;
	int r;

	hsm_epoch_label(epoch, label);
	r = hsm_find(h, s->h, CKO_SECRET_KEY, label, &obj);
	hsm_release(h, s);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/*
 * Calls fn for each master key in the token (its epoch and handle) until
 * fn returns non-zero (returned). Labels that are not master keys are
 * skipped.
 */
static int hsm_epoch_each(struct hsm *h, CK_SESSION_HANDLE s,
			  int (*fn)(struct hsm *h, CK_SESSION_HANDLE s,
				    uint32_t epoch, CK_OBJECT_HANDLE o,
				    void *ctx),
			  void *ctx)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &aes, sizeof(aes)},
	};
	CK_OBJECT_HANDLE *objs;
	CK_ULONG n = 0;
	CK_RV rv;
	int r = 0;

	objs = calloc(HSM_EPOCH_OBJS_MAX, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	rv = h->f->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	rv = h->f->C_FindObjects(s, objs, HSM_EPOCH_OBJS_MAX, &n);
	h->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	for (CK_ULONG i = 0; i < n && r == 0; i++) {
		char label[HSM_EPOCH_LABEL_MAX + 1], want[HSM_EPOCH_LABEL_MAX];
		CK_ATTRIBUTE a = {CKA_LABEL, label, HSM_EPOCH_LABEL_MAX};
		unsigned long v;
		char *end;

		if (h->f->C_GetAttributeValue(s, objs[i], &a, 1) != CKR_OK ||
		    a.ulValueLen >= HSM_EPOCH_LABEL_MAX)
			continue;
		label[a.ulValueLen] = '\0';
		if (strncmp(label, "vaultsrv-master-", 16) != 0 ||
		    label[16] < '1' || label[16] > '9')
			continue;
		errno = 0;
		v = strtoul(label + 16, &end, 10);
		if (errno || *end || v > HSM_EPOCH_MAX)
			continue;
		/* exactly the canonical label: no "-01", no "+1" */
		hsm_epoch_label((uint32_t)v, want);
		if (strcmp(want, label) != 0)
			continue;
		r = fn(h, s, (uint32_t)v, objs[i], ctx);
	}
out:
	free(objs);
	return r;
}

struct hsm_below {
	uint32_t below;
	unsigned n;
};

static int hsm_destroy_one(struct hsm *h, CK_SESSION_HANDLE s, uint32_t epoch,
			   CK_OBJECT_HANDLE o, void *ctx)
{
	struct hsm_below *b = ctx;
	CK_RV rv;

	if (epoch >= b->below)
		return 0;
	rv = h->f->C_DestroyObject(s, o);
	if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
		return hsm_err(rv);
	b->n++;
	return 0;
}

int hsm_epoch_destroy_below(struct hsm *h, uint32_t below, unsigned *ret_n)
{
	struct hsm_session *s = hsm_acquire(h);
	struct hsm_below b = {.below = below, .n = 0};
	int r;

	/* Raise the floor first: nothing here uses them from now on. */
	hsm_epoch_set(h, below, atomic_load(&h->ep->write));
	r = hsm_epoch_each(h, s->h, hsm_destroy_one, &b);
	hsm_release(h, s);
	if (ret_n)
		*ret_n = b.n;
	return r;
}

static int hsm_highest_one(struct hsm *h, CK_SESSION_HANDLE s, uint32_t epoch,
			   CK_OBJECT_HANDLE o, void *ctx)
{
	uint32_t *hi = ctx;

	(void)h;
	(void)s;
	(void)o;
	if (epoch > *hi)
		*hi = epoch;
	return 0;
}

int hsm_epoch_highest(struct hsm *h, uint32_t *ret)
{
	struct hsm_session *s = hsm_acquire(h);
	uint32_t hi = 0;
	int r;

	r = hsm_epoch_each(h, s->h, hsm_highest_one, &hi);
	hsm_release(h, s);
	if (r == 0)
		*ret = hi;
	return r;
}

int hsm_oprf_rewrap(struct hsm *h, const uint8_t *blob, size_t blob_len,
		    uint32_t to, uint8_t *out, size_t *ret_len)
{
	struct hsm_session *s;
	CK_MECHANISM unwrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE ec = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	/* A session object, sensitive: only wrapping takes it out. */
	CK_ATTRIBUTE ktmpl[] = {
	    {CKA_CLASS, &pcls, sizeof(pcls)},
	    {CKA_KEY_TYPE, &ec, sizeof(ec)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_DERIVE, &yes, sizeof(yes)},
	    {CKA_SIGN, &no, sizeof(no)},
	};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE, master;
	CK_RV rv;
	int r;

	if (blob_len == 0 || blob_len > HSM_BLOB_MAX)
		return -EBADMSG;
	s = hsm_acquire(h);
	r = hsm_blob_master(h, s->h, &blob, &blob_len, &master);
	if (r < 0)
		goto out;
	rv = h->f->C_UnwrapKey(s->h, &unwrap, master, (CK_BYTE_PTR)blob,
			       (CK_ULONG)blob_len, ktmpl,
			       sizeof(ktmpl) / sizeof(ktmpl[0]), &key);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		if (r == -EIO)
			r = -EBADMSG;
		goto out;
	}
	r = hsm_wrap_epoch(h, s->h, key, to, out, ret_len);
out:
	if (key != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, key);
	hsm_release(h, s);
	return r;
}

/* ---- Key ceremony (vaultsrv/ceremony.c; contracts in hsm.h) ---- */

#define HSM_TRANSPORT_PREFIX "vaultsrv-transport-"
#define HSM_MASTER_PREFIX "vaultsrv-master-"
#define HSM_TOKEN_SECRETS_MAX 256
#define HSM_TRANSPORT_LABEL_MAX                                               \
	(sizeof(HSM_TRANSPORT_PREFIX) - 1 + 2 * HSM_REQ_ID_LEN)

/* Fixed inputs of the key check values. The MAC one holds a NUL byte, so
 * it can never be an account token (printable text) to be MACed. */
static const char hsm_kcv_msg[] = "vaultsrv key check value\0v1";
static const uint8_t hsm_kcv_aes[32] = "vaultsrv key check value v1 AES";

int hsm_vault_key_label(const char *label, enum hsm_key_kind *ret_kind)
{
	size_t n = strnlen(label, HSM_CKEY_LABEL_MAX + 1);
	size_t p = sizeof(HSM_MASTER_PREFIX) - 1;

	if (n > HSM_CKEY_LABEL_MAX)
		return 0;
	if (strcmp(label, HSM_MAC_LABEL) == 0) {
		*ret_kind = HSM_KEY_MAC;
		return 1;
	}
	if (n <= p || n > p + 9 || strncmp(label, HSM_MASTER_PREFIX, p) != 0 ||
	    label[p] == '0')
		return 0;
	for (size_t i = p; i < n; i++)
		if (label[i] < '0' || label[i] > '9')
			return 0;
	*ret_kind = HSM_KEY_MASTER;
	return 1;
}

static void hsm_transport_label(const uint8_t id[HSM_REQ_ID_LEN],
				char out[HSM_TRANSPORT_LABEL_MAX + 1])
{
	size_t p = sizeof(HSM_TRANSPORT_PREFIX) - 1;

	memcpy(out, HSM_TRANSPORT_PREFIX, p);
	sodium_bin2hex(out + p, 2 * HSM_REQ_ID_LEN + 1, id, HSM_REQ_ID_LEN);
}

/* Reads modulus and public exponent of an RSA key object. */
static int hsm_rsa_public(struct hsm *h, CK_SESSION_HANDLE s,
			  CK_OBJECT_HANDLE key, uint8_t mod[HSM_RSA_MOD_LEN],
			  uint8_t exp[HSM_RSA_EXP_MAX], size_t *ret_exp_len)
{
	CK_ATTRIBUTE a[] = {
	    {CKA_MODULUS, mod, HSM_RSA_MOD_LEN},
	    {CKA_PUBLIC_EXPONENT, exp, HSM_RSA_EXP_MAX},
	};
	CK_RV rv;

	rv = h->f->C_GetAttributeValue(s, key, a, 2);
	if (rv != CKR_OK)
		return hsm_err(rv);
	if (a[0].ulValueLen != HSM_RSA_MOD_LEN || a[1].ulValueLen == 0 ||
	    a[1].ulValueLen > HSM_RSA_EXP_MAX)
		return -EIO;
	*ret_exp_len = a[1].ulValueLen;
	return 0;
}

int hsm_transport_create(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			 uint8_t mod[HSM_RSA_MOD_LEN],
			 uint8_t exp[HSM_RSA_EXP_MAX], size_t *ret_exp_len)
{
	struct hsm_session *s = hsm_acquire(h);
	char label[HSM_TRANSPORT_LABEL_MAX + 1];
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = HSM_RSA_BITS;
	CK_BYTE f4[] = {0x01, 0x00, 0x01};
	CK_ATTRIBUTE pub[] = {
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_MODULUS_BITS, &bits, sizeof(bits)},
	    {CKA_PUBLIC_EXPONENT, f4, sizeof(f4)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_VERIFY, &no, sizeof(no)},
	    {CKA_WRAP, &no, sizeof(no)},
	};
	/* The private half never leaves the token and does one thing. */
	CK_ATTRIBUTE priv[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_UNWRAP, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	    {CKA_SIGN, &no, sizeof(no)},
	    {CKA_LABEL, label, HSM_TRANSPORT_LABEL_MAX},
	    {CKA_ID, (void *)id, HSM_REQ_ID_LEN},
	};
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE old;
	size_t elen = 0;
	CK_RV rv;
	int r;

	hsm_transport_label(id, label);
	r = hsm_find(h, s->h, CKO_PRIVATE_KEY, label, &old);
	if (r != -ENOENT) {
		r = r == 0 ? -EEXIST : r;
		goto out;
	}
	rv = h->f->C_GenerateKeyPair(s->h, &gen, pub,
				     sizeof(pub) / sizeof(pub[0]), priv,
				     sizeof(priv) / sizeof(priv[0]), &hpub,
				     &hpriv);
	if (rv != CKR_OK) {
		hpriv = CK_INVALID_HANDLE;
		r = hsm_err(rv);
		goto out;
	}
	r = hsm_rsa_public(h, s->h, hpub, mod, exp, &elen);
	if (r < 0)
		goto out;
	*ret_exp_len = elen;
	hpriv = CK_INVALID_HANDLE; /* kept in the token */
	r = 0;
out:
	if (hpriv != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, hpriv);
	if (hpub != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, hpub);
	hsm_release(h, s);
	return r;
}

int hsm_transport_public(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			 uint8_t mod[HSM_RSA_MOD_LEN],
			 uint8_t exp[HSM_RSA_EXP_MAX], size_t *ret_exp_len)
{
	struct hsm_session *s = hsm_acquire(h);
	char label[HSM_TRANSPORT_LABEL_MAX + 1];
	CK_OBJECT_HANDLE key;
	int r;

	hsm_transport_label(id, label);
	r = hsm_find(h, s->h, CKO_PRIVATE_KEY, label, &key);
	if (r == 0)
		r = hsm_rsa_public(h, s->h, key, mod, exp, ret_exp_len);
	hsm_release(h, s);
	return r;
}

int hsm_transport_destroy(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN])
{
	struct hsm_session *s = hsm_acquire(h);
	char label[HSM_TRANSPORT_LABEL_MAX + 1];
	CK_OBJECT_HANDLE key;
	CK_RV rv;
	int r;

	hsm_transport_label(id, label);
	r = hsm_find(h, s->h, CKO_PRIVATE_KEY, label, &key);
	if (r == 0) {
		rv = h->f->C_DestroyObject(s->h, key);
		r = hsm_err(rv);
	}
	hsm_release(h, s);
	return r;
}

/* Key check value of a vault key object (see hsm.h). */
static int hsm_kcv(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		   enum hsm_key_kind kind, uint8_t ret_kcv[HSM_KCV_LEN])
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE fixed[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &aes, sizeof(aes)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_SENSITIVE, &no, sizeof(no)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_VALUE, (void *)hsm_kcv_aes, sizeof(hsm_kcv_aes)},
	};
	CK_MECHANISM wrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	uint8_t out[64], digest[crypto_hash_sha256_BYTES];
	CK_ULONG n = sizeof(out);
	CK_RV rv;
	int r;

	if (kind == HSM_KEY_MASTER) {
		rv = h->f->C_CreateObject(s, fixed,
					  sizeof(fixed) / sizeof(fixed[0]),
					  &obj);
		if (rv != CKR_OK) {
			r = hsm_err(rv);
			goto out;
		}
		rv = h->f->C_WrapKey(s, &wrap, key, obj, out, &n);
	} else {
		rv = h->f->C_SignInit(s, &hmac, key);
		if (rv == CKR_OK)
			rv = h->f->C_Sign(s, (CK_BYTE_PTR)hsm_kcv_msg,
					  sizeof(hsm_kcv_msg), out, &n);
	}
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	if (n == 0 || n > sizeof(out)) {
		r = -EIO;
		goto out;
	}
	crypto_hash_sha256(digest, out, n);
	memcpy(ret_kcv, digest, HSM_KCV_LEN);
	r = 0;
out:
	if (obj != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s, obj);
	return r;
}

static int hsm_vault_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hsm_vault_key *)a)->label,
		      ((const struct hsm_vault_key *)b)->label);
}

int hsm_vault_keys_list(struct hsm *h, struct hsm_vault_key *keys,
			size_t max, size_t *ret_n)
{
	struct hsm_session *s = hsm_acquire(h);
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	};
	CK_OBJECT_HANDLE objs[HSM_TOKEN_SECRETS_MAX];
	CK_ULONG nobj = 0, got;
	size_t n = 0, nmaster = 0, nmac = 0;
	CK_RV rv;
	int r;

	rv = h->f->C_FindObjectsInit(s->h, tmpl, 2);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	do {
		got = 0;
		rv = h->f->C_FindObjects(s->h, objs + nobj,
					 HSM_TOKEN_SECRETS_MAX - nobj, &got);
		nobj += got;
	} while (rv == CKR_OK && got > 0 && nobj < HSM_TOKEN_SECRETS_MAX);
	h->f->C_FindObjectsFinal(s->h);
	if (rv != CKR_OK) {
		r = hsm_err(rv);
		goto out;
	}
	/* a token this full is not one vaultsrv made: refuse, never skip */
	if (nobj == HSM_TOKEN_SECRETS_MAX) {
		r = -E2BIG;
		goto out;
	}
	for (CK_ULONG i = 0; i < nobj; i++) {
		char label[HSM_CKEY_LABEL_MAX + 2] = "";
		CK_KEY_TYPE type = 0;
		CK_ULONG vlen = 0;
		CK_ATTRIBUTE a[] = {
		    {CKA_LABEL, label, HSM_CKEY_LABEL_MAX + 1},
		    {CKA_KEY_TYPE, &type, sizeof(type)},
		    {CKA_VALUE_LEN, &vlen, sizeof(vlen)},
		};
		enum hsm_key_kind kind;

		rv = h->f->C_GetAttributeValue(s->h, objs[i], a, 3);
		/* a label too long to be ours makes the call fail */
		if (rv != CKR_OK || a[0].ulValueLen > HSM_CKEY_LABEL_MAX)
			continue;
		label[a[0].ulValueLen] = '\0';
		if (!hsm_vault_key_label(label, &kind))
			continue;
		/* CKA_VALUE_LEN is 0 on keys SoftHSM unwrapped (imported by
		 * a ceremony): the check value tells them apart anyway. */
		if ((kind == HSM_KEY_MASTER && type != CKK_AES) ||
		    (kind == HSM_KEY_MAC && type != CKK_GENERIC_SECRET) ||
		    (vlen != 32 && vlen != 0)) {
			r = -EIO;
			goto out;
		}
		if (n == max) {
			r = -E2BIG;
			goto out;
		}
		memset(&keys[n], 0, sizeof(keys[n]));
		memcpy(keys[n].label, label, a[0].ulValueLen + 1);
		keys[n].kind = kind;
		keys[n].len = 32;
		r = hsm_kcv(h, s->h, objs[i], kind, keys[n].kcv);
		if (r < 0)
			goto out;
		if (kind == HSM_KEY_MASTER)
			nmaster++;
		else
			nmac++;
		n++;
	}
	if (nmaster == 0 || nmac != 1) {
		r = nmac > 1 ? -EIO : -ENOENT;
		goto out;
	}
	qsort(keys, n, sizeof(keys[0]), hsm_vault_key_cmp);
	*ret_n = n;
	r = 0;
out:
	hsm_release(h, s);
	return r;
}

static void hsm_oaep_params(enum hsm_oaep oaep, CK_RSA_PKCS_OAEP_PARAMS *p)
{
	memset(p, 0, sizeof(*p));
	p->hashAlg = oaep == HSM_OAEP_SHA256 ? CKM_SHA256 : CKM_SHA_1;
	p->mgf = oaep == HSM_OAEP_SHA256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1;
	p->source = CKZ_DATA_SPECIFIED;
	p->pSourceData = NULL;
	p->ulSourceDataLen = 0;
}

int hsm_vault_keys_wrap(struct hsm *h, const uint8_t mod[HSM_RSA_MOD_LEN],
			const uint8_t *exp, size_t exp_len,
			struct hsm_vault_key *keys, size_t n,
			enum hsm_oaep *ret_oaep)
{
	struct hsm_session *s = hsm_acquire(h);
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE rsa = CKK_RSA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_MODULUS, (void *)mod, HSM_RSA_MOD_LEN},
	    {CKA_PUBLIC_EXPONENT, (void *)exp, exp_len},
	    {CKA_WRAP, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_VERIFY, &no, sizeof(no)},
	};
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech = {CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE;
	enum hsm_oaep oaep = HSM_OAEP_SHA256;
	CK_RV rv;
	int r;

	if (exp_len == 0 || exp_len > HSM_RSA_EXP_MAX) {
		r = -EINVAL;
		goto out;
	}
	rv = h->f->C_CreateObject(s->h, pub, sizeof(pub) / sizeof(pub[0]),
				  &hpub);
	if (rv != CKR_OK) {
		hpub = CK_INVALID_HANDLE;
		r = hsm_err(rv);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		CK_OBJECT_HANDLE key;
		CK_ULONG len = sizeof(keys[i].wrapped);

		r = hsm_find(h, s->h, CKO_SECRET_KEY, keys[i].label, &key);
		if (r < 0)
			goto out;
		hsm_oaep_params(oaep, &params);
		rv = h->f->C_WrapKey(s->h, &mech, hpub, key, keys[i].wrapped,
				     &len);
		if (i == 0 && oaep == HSM_OAEP_SHA256 &&
		    (rv == CKR_ARGUMENTS_BAD ||
		     rv == CKR_MECHANISM_PARAM_INVALID)) {
			/* SoftHSM 2.6: OAEP with SHA-1 only (still IND-CCA2:
			 * OAEP does not need collision resistance). */
			oaep = HSM_OAEP_SHA1;
			hsm_oaep_params(oaep, &params);
			len = sizeof(keys[i].wrapped);
			rv = h->f->C_WrapKey(s->h, &mech, hpub, key,
					     keys[i].wrapped, &len);
		}
		if (rv == CKR_KEY_UNEXTRACTABLE || rv == CKR_KEY_NOT_WRAPPABLE) {
			r = -EPERM;
			goto out;
		}
		if (rv != CKR_OK) {
			r = hsm_err(rv);
			goto out;
		}
		if (len != HSM_RSA_MOD_LEN) {
			r = -EIO;
			goto out;
		}
		keys[i].wrapped_len = len;
	}
	*ret_oaep = oaep;
	r = 0;
out:
	if (hpub != CK_INVALID_HANDLE)
		h->f->C_DestroyObject(s->h, hpub);
	hsm_release(h, s);
	return r;
}

int hsm_vault_keys_unwrap(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			  enum hsm_oaep oaep,
			  struct hsm_vault_key *keys, size_t n,
			  int extractable, size_t *ret_bad)
{
	struct hsm_session *s = hsm_acquire(h);
	char tlabel[HSM_TRANSPORT_LABEL_MAX + 1];
	CK_OBJECT_HANDLE tkey, sess[HSM_CKEYS_MAX], tok[HSM_CKEYS_MAX];
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech = {CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL ext = extractable ? CK_TRUE : CK_FALSE;
	size_t i;
	CK_RV rv;
	int r;

	for (i = 0; i < HSM_CKEYS_MAX; i++)
		sess[i] = tok[i] = CK_INVALID_HANDLE;
	if (n == 0 || n > HSM_CKEYS_MAX) {
		r = -EINVAL;
		goto out;
	}
	hsm_oaep_params(oaep, &params);
	hsm_transport_label(id, tlabel);
	r = hsm_find(h, s->h, CKO_PRIVATE_KEY, tlabel, &tkey);
	if (r < 0)
		goto out;
	/* Keys the token holds already (an earlier ceremony; a new master
	 * key epoch is what this one brings) must be the same keys. */
	for (i = 0; i < n; i++) {
		CK_OBJECT_HANDLE old;
		uint8_t kcv[HSM_KCV_LEN];

		keys[i].present = 0;
		r = hsm_find(h, s->h, CKO_SECRET_KEY, keys[i].label, &old);
		if (r == -ENOENT)
			continue;
		if (r == 0)
			r = hsm_kcv(h, s->h, old, keys[i].kind, kcv);
		if (r < 0)
			goto out;
		if (sodium_memcmp(kcv, keys[i].kcv, HSM_KCV_LEN) != 0) {
			r = -EEXIST;
			*ret_bad = i;
			goto out;
		}
		keys[i].present = 1;
	}
	/* Session objects first: nothing lands in the token unless every
	 * key unwraps and matches its check value. */
	for (i = 0; i < n; i++) {
		int master = keys[i].kind == HSM_KEY_MASTER;
		CK_ATTRIBUTE t[] = {
		    {CKA_CLASS, &cls, sizeof(cls)},
		    {CKA_KEY_TYPE, master ? &aes : &gen, sizeof(aes)},
		    {CKA_TOKEN, &no, sizeof(no)},
		    {CKA_PRIVATE, &yes, sizeof(yes)},
		    {CKA_SENSITIVE, &yes, sizeof(yes)},
		    {CKA_EXTRACTABLE, &ext, sizeof(ext)},
		    {CKA_WRAP, master ? &yes : &no, sizeof(yes)},
		    {CKA_UNWRAP, master ? &yes : &no, sizeof(yes)},
		    {CKA_SIGN, master ? &no : &yes, sizeof(yes)},
		    {CKA_VERIFY, master ? &no : &yes, sizeof(yes)},
		    {CKA_ENCRYPT, &no, sizeof(no)},
		    {CKA_DECRYPT, &no, sizeof(no)},
		};
		uint8_t kcv[HSM_KCV_LEN];

		if (keys[i].present)
			continue;
		if (keys[i].wrapped_len == 0 ||
		    keys[i].wrapped_len > sizeof(keys[i].wrapped)) {
			r = -EBADMSG;
			*ret_bad = i;
			goto out;
		}
		rv = h->f->C_UnwrapKey(s->h, &mech, tkey,
				       (CK_BYTE_PTR)keys[i].wrapped,
				       (CK_ULONG)keys[i].wrapped_len, t,
				       sizeof(t) / sizeof(t[0]), &sess[i]);
		if (rv != CKR_OK) {
			sess[i] = CK_INVALID_HANDLE;
			r = hsm_err(rv);
			if (r == -EIO || r == -EBADMSG) {
				r = -EBADMSG;
				*ret_bad = i;
			}
			goto out;
		}
		/* SoftHSM leaves CKA_VALUE_LEN unset on unwrap; the check
		 * value below covers the length as well. */
		r = hsm_kcv(h, s->h, sess[i], keys[i].kind, kcv);
		if (r < 0)
			goto out;
		if (sodium_memcmp(kcv, keys[i].kcv, HSM_KCV_LEN) != 0) {
			r = -EKEYREJECTED;
			*ret_bad = i;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		CK_ATTRIBUTE t[] = {
		    {CKA_TOKEN, &yes, sizeof(yes)},
		    {CKA_LABEL, (void *)keys[i].label, strlen(keys[i].label)},
		};

		if (keys[i].present)
			continue;
		rv = h->f->C_CopyObject(s->h, sess[i], t, 2, &tok[i]);
		if (rv != CKR_OK) {
			tok[i] = CK_INVALID_HANDLE;
			r = hsm_err(rv);
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		tok[i] = CK_INVALID_HANDLE; /* kept in the token */
	r = 0;
out:
	for (i = 0; i < HSM_CKEYS_MAX; i++) {
		if (tok[i] != CK_INVALID_HANDLE)
			h->f->C_DestroyObject(s->h, tok[i]);
		if (sess[i] != CK_INVALID_HANDLE)
			h->f->C_DestroyObject(s->h, sess[i]);
	}
	hsm_release(h, s);
	return r;
}
