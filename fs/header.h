/*
 * header.h - the store header object "vaultfs.hdr" (docs/format.md).
 *
 * Written once at create. Carries what a new device needs before it has
 * the key (format version, store id, AEAD name, vault hints), an unkeyed
 * checksum (damage) and a keyed BLAKE2b check (wrong key).
 */
#ifndef VFS_HEADER_H
#define VFS_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

#define HEADER_WUR __attribute__((warn_unused_result))
/* The version a new store gets. Version 2 is version 1 plus the metadata
 * records of extended attributes and holes (docs/format.md); a store is
 * raised to it before its first commit holding one, so a vaultfs that
 * knows only version 1 refuses it at the header (-VFS_E_VERSION). */
#define HEADER_FORMAT_VERSION 1
#define HEADER_FORMAT_XATTR 2
/* Version 3 is version 2 plus the key epoch and the first segment of the
 * epoch at the end of the body: written only once the key was changed
 * (vaultfs rekey, docs/format.md "Key change"). */
#define HEADER_FORMAT_EPOCH 3
#define HEADER_FORMAT_MAX 3
#define HEADER_AEAD_NAME "xchacha20poly1305"
#define HEADER_MAX 4096

/* Encodes info (store_id, hints, key epoch) into w, with the key check
 * made with hdr_key. The version is info's format_version (0:
 * HEADER_FORMAT_VERSION; above HEADER_FORMAT_MAX: -EINVAL), raised to
 * HEADER_FORMAT_EPOCH when info->key_epoch is above 0; a version 3 header
 * needs key_epoch and epoch_seg above 0 (-EINVAL). The aead field of info
 * is ignored.
 * -EINVAL if a hint is too long or holds a byte outside printable ASCII
 * (0x20-0x7e). */
int header_encode(const struct store_info *info, const uint8_t hdr_key[32],
		  struct bufw *w) HEADER_WUR;

/* Parses a header without the key: -VFS_E_NOTSTORE (no magic),
 * -VFS_E_VERSION, -VFS_E_DAMAGED (checksum or framing, or a hint with a
 * byte outside printable ASCII: terminal escapes). */
int header_parse(const uint8_t *p, size_t n, struct store_info *ret) HEADER_WUR;

/* Checks a parsed-valid header against hdr_key: 0 or -VFS_E_WRONGKEY. */
int header_check_key(const uint8_t *p, size_t n,
		     const uint8_t hdr_key[32]) HEADER_WUR;

#endif
