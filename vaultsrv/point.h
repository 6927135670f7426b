/*
 * point.h - validation of P-256 points sent by clients, before the HSM
 * ever sees them.
 */
#ifndef VS_POINT_H
#define VS_POINT_H

#include <stddef.h>
#include <stdint.h>

#define POINT_LEN 65

/*
 * 0 if p (len bytes) is a SEC1 uncompressed encoding of a point on P-256
 * other than infinity; -EINVAL otherwise; -ENOMEM.
 */
int point_validate(const uint8_t *p, size_t len)
    __attribute__((warn_unused_result));

#endif
