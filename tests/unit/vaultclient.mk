# Unit tests of vaultclient/.
VC_UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) \
	$(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
check_PROGRAMS += tests/unit/test_oprf
TESTS += tests/unit/test_oprf
tests_unit_test_oprf_SOURCES = tests/unit/test_oprf.c
tests_unit_test_oprf_CFLAGS = $(VC_UNIT_CFLAGS)
tests_unit_test_oprf_LDADD = $(VC_LDADD) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_vc_http
TESTS += tests/unit/test_vc_http
tests_unit_test_vc_http_SOURCES = tests/unit/test_vc_http.c \
	tests/unit/vc_responder.c tests/unit/vc_responder.h
tests_unit_test_vc_http_CFLAGS = $(VC_UNIT_CFLAGS)
tests_unit_test_vc_http_LDADD = $(VC_LDADD) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_vc_crypto
TESTS += tests/unit/test_vc_crypto
tests_unit_test_vc_crypto_SOURCES = tests/unit/test_vc_crypto.c
tests_unit_test_vc_crypto_CFLAGS = $(VC_UNIT_CFLAGS)
tests_unit_test_vc_crypto_LDADD = $(VC_LDADD) $(CMOCKA_LIBS)
# Integration: libvaultclient (vaultctl) against a real vaultsrv + SoftHSM.
# Listed here, with the client's own tests, to keep vault.mk to vaultsrv.
TESTS += tests/integration/60-vault-client.sh
EXTRA_DIST += tests/integration/60-vault-client.sh
