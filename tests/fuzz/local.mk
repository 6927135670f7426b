# tests/fuzz/: libFuzzer harnesses (docs/testing.md).
#
# make check builds each harness with the normal compiler as a program
# that replays files (replay.c) and replays the committed seed corpora and
# crash reproducers through them (tests/fuzz/replay.sh). make fuzz builds
# them with clang + libFuzzer in BUILDDIR/tests/fuzz/clang and fuzzes each
# for FUZZ_SECONDS (default 60); make fuzz-smoke is the same for 10 s (CI).
FUZZ_PROGS = tests/fuzz/fuzz_keytext tests/fuzz/fuzz_header \
	tests/fuzz/fuzz_commit tests/fuzz/fuzz_meta tests/fuzz/fuzz_segment \
	tests/fuzz/fuzz_sealed tests/fuzz/fuzz_lease \
	tests/fuzz/fuzz_vfs_vaultconf tests/fuzz/fuzz_vc_json \
	tests/fuzz/fuzz_vc_proto tests/fuzz/fuzz_vs_json \
	tests/fuzz/fuzz_vs_token tests/fuzz/fuzz_vs_config \
	tests/fuzz/fuzz_vs_etcd tests/fuzz/fuzz_vs_ceremony
check_PROGRAMS += $(FUZZ_PROGS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/run.sh tests/fuzz/targets.sh \
	tests/fuzz/vs-fuzz.sh tests/fuzz/corpus tests/fuzz/crashes
noinst_HEADERS += tests/fuzz/fuzz.h

FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs -I$(top_srcdir)/tests/fuzz
FUZZ_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
FUZZ_MAIN = tests/fuzz/replay.c tests/fuzz/fuzz_util.c
FUZZ_STORE_LIBS = fs/libvfsstore.a common/libvfscommon.a $(SODIUM_LIBS) \
	-lpthread

tests_fuzz_fuzz_keytext_SOURCES = tests/fuzz/fuzz_keytext.c $(FUZZ_MAIN)
tests_fuzz_fuzz_keytext_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_keytext_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_keytext_LDADD = common/libvfscommon.a $(SODIUM_LIBS)

tests_fuzz_fuzz_header_SOURCES = tests/fuzz/fuzz_header.c $(FUZZ_MAIN)
tests_fuzz_fuzz_header_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_header_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_header_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_commit_SOURCES = tests/fuzz/fuzz_commit.c $(FUZZ_MAIN)
tests_fuzz_fuzz_commit_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_commit_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_commit_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_meta_SOURCES = tests/fuzz/fuzz_meta.c $(FUZZ_MAIN)
tests_fuzz_fuzz_meta_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_meta_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_meta_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_segment_SOURCES = tests/fuzz/fuzz_segment.c \
	tests/fuzz/fuzz_store.c $(FUZZ_MAIN)
tests_fuzz_fuzz_segment_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_segment_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_segment_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_sealed_SOURCES = tests/fuzz/fuzz_sealed.c \
	tests/fuzz/fuzz_store.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sealed_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_sealed_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sealed_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_lease_SOURCES = tests/fuzz/fuzz_lease.c \
	tests/fuzz/fuzz_store.c $(FUZZ_MAIN)
tests_fuzz_fuzz_lease_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_lease_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_lease_LDADD = $(FUZZ_STORE_LIBS)

tests_fuzz_fuzz_vfs_vaultconf_SOURCES = tests/fuzz/fuzz_vfs_vaultconf.c \
	$(FUZZ_MAIN)
tests_fuzz_fuzz_vfs_vaultconf_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vfs_vaultconf_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vfs_vaultconf_LDADD = fs/libvfscli.a common/libvfscommon.a \
	$(SODIUM_LIBS)

tests_fuzz_fuzz_vc_json_SOURCES = tests/fuzz/fuzz_vc_json.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vc_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vc_json_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vc_json_LDADD = $(VC_LDADD)

# defines vaultclient/http.h itself: http.o is not linked
tests_fuzz_fuzz_vc_proto_SOURCES = tests/fuzz/fuzz_vc_proto.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vc_proto_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vc_proto_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vc_proto_LDADD = $(VC_LDADD)

tests_fuzz_fuzz_vs_json_SOURCES = tests/fuzz/fuzz_vs_json.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vs_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vs_json_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vs_json_LDADD = $(VAULTSRV_LIBS)

tests_fuzz_fuzz_vs_ceremony_SOURCES = tests/fuzz/fuzz_vs_ceremony.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vs_ceremony_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vs_ceremony_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vs_ceremony_LDADD = $(VAULTSRV_LIBS)

tests_fuzz_fuzz_vs_token_SOURCES = tests/fuzz/fuzz_vs_token.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vs_token_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vs_token_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vs_token_LDADD = $(VAULTSRV_LIBS)

tests_fuzz_fuzz_vs_config_SOURCES = tests/fuzz/fuzz_vs_config.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vs_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vs_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vs_config_LDADD = $(VAULTSRV_LIBS)

tests_fuzz_fuzz_vs_etcd_SOURCES = tests/fuzz/fuzz_vs_etcd.c $(FUZZ_MAIN)
tests_fuzz_fuzz_vs_etcd_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vs_etcd_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_vs_etcd_LDADD = $(VAULTSRV_LIBS)

# Seed generator: real objects of a store made with fuzz_key (built on
# demand: make fuzz-seeds rewrites the generated part of the corpora).
EXTRA_PROGRAMS = tests/fuzz/mkseeds
tests_fuzz_mkseeds_SOURCES = tests/fuzz/mkseeds.c tests/fuzz/fuzz_util.c \
	tests/fuzz/fuzz_store.c
tests_fuzz_mkseeds_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_mkseeds_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_mkseeds_LDADD = $(FUZZ_STORE_LIBS)
CLEANFILES += tests/fuzz/mkseeds

FUZZ_ENV = SODIUM_CFLAGS='$(SODIUM_CFLAGS)' SODIUM_LIBS='$(SODIUM_LIBS)' \
	CJSON_CFLAGS='$(CJSON_CFLAGS)' CJSON_LIBS='$(CJSON_LIBS)' \
	CRYPTO_CFLAGS='$(CRYPTO_CFLAGS)' CRYPTO_LIBS='$(CRYPTO_LIBS)' \
	MHD_CFLAGS='$(MHD_CFLAGS)' MHD_LIBS='$(MHD_LIBS)' \
	SQLITE_CFLAGS='$(SQLITE_CFLAGS)' SQLITE_LIBS='$(SQLITE_LIBS)' \
	CURL_CFLAGS='$(CURL_CFLAGS)' CURL_LIBS='$(CURL_LIBS)'
FUZZ_SECONDS = 60

.PHONY: fuzz fuzz-smoke fuzz-seeds
fuzz:
	$(FUZZ_ENV) $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
		'$(abs_top_builddir)' $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke:
	$(FUZZ_ENV) $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
		'$(abs_top_builddir)' 10 $(FUZZ_TARGETS)
fuzz-seeds: tests/fuzz/mkseeds$(EXEEXT)
	tests/fuzz/mkseeds$(EXEEXT) '$(abs_top_srcdir)/tests/fuzz/corpus'
