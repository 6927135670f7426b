# Unit tests of vaultsrv/: one binary per module, linked with the same
# libvaultsrv.a the server is built from.
VS_UNIT_CFLAGS = $(VAULTSRV_CFLAGS) $(CMOCKA_CFLAGS)
VS_UNIT_LIBS = $(VAULTSRV_LIBS) $(CMOCKA_LIBS) -lpthread
VS_UNIT_TESTS = \
	tests/unit/test_vs_store \
	tests/unit/test_vs_etcd \
	tests/unit/test_vs_config \
	tests/unit/test_vs_token \
	tests/unit/test_vs_json \
	tests/unit/test_vs_point \
	tests/unit/test_vs_ratelimit \
	tests/unit/test_vs_epoch \
	tests/unit/test_vs_ceremony
check_PROGRAMS += $(VS_UNIT_TESTS)
TESTS += $(VS_UNIT_TESTS)
tests_unit_test_vs_store_SOURCES = tests/unit/test_vs_store.c
tests_unit_test_vs_store_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_store_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_config_SOURCES = tests/unit/test_vs_config.c
tests_unit_test_vs_config_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_config_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_token_SOURCES = tests/unit/test_vs_token.c
tests_unit_test_vs_token_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_token_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_json_SOURCES = tests/unit/test_vs_json.c
tests_unit_test_vs_json_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_json_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_point_SOURCES = tests/unit/test_vs_point.c
tests_unit_test_vs_point_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_point_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_ratelimit_SOURCES = tests/unit/test_vs_ratelimit.c
tests_unit_test_vs_ratelimit_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_ratelimit_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_etcd_SOURCES = tests/unit/test_vs_etcd.c
tests_unit_test_vs_etcd_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_etcd_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_epoch_SOURCES = tests/unit/test_vs_epoch.c
tests_unit_test_vs_epoch_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_epoch_LDADD = $(VS_UNIT_LIBS)
tests_unit_test_vs_ceremony_SOURCES = tests/unit/test_vs_ceremony.c
tests_unit_test_vs_ceremony_CFLAGS = $(VS_UNIT_CFLAGS)
tests_unit_test_vs_ceremony_LDADD = $(VS_UNIT_LIBS)
