# vaultsrv/: the Backup Key Vault server (program vaultsrv/vaultsrv).
# libvaultsrv.a holds every module but main.c, so unit tests link the same
# code the server runs.
noinst_LIBRARIES += vaultsrv/libvaultsrv.a
vaultsrv_libvaultsrv_a_SOURCES = \
	vaultsrv/api.c vaultsrv/api.h \
	vaultsrv/ceremony.c vaultsrv/ceremony.h vaultsrv/ceremony_cmd.c \
	vaultsrv/config.c vaultsrv/vs_config.h \
	vaultsrv/epoch.c vaultsrv/epoch.h \
	vaultsrv/hsm.c vaultsrv/hsm.h \
	vaultsrv/http.c vaultsrv/http.h \
	vaultsrv/json.c vaultsrv/json.h \
	vaultsrv/metrics.c vaultsrv/metrics.h \
	vaultsrv/point.c vaultsrv/point.h \
	vaultsrv/proto.c vaultsrv/proto.h \
	vaultsrv/ratelimit.c vaultsrv/ratelimit.h \
	vaultsrv/etcd.c vaultsrv/etcd.h vaultsrv/etcd_parse.c \
	vaultsrv/store.c vaultsrv/store.h vaultsrv/store_backend.h \
	vaultsrv/store_etcd.c vaultsrv/store_sqlite.c \
	vaultsrv/token.c vaultsrv/token.h
VAULTSRV_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(CJSON_CFLAGS) \
	$(MHD_CFLAGS) $(SQLITE_CFLAGS) $(CRYPTO_CFLAGS) $(CURL_CFLAGS)
VAULTSRV_LIBS = vaultsrv/libvaultsrv.a common/libvfscommon.a \
	$(MHD_LIBS) $(CJSON_LIBS) $(SQLITE_LIBS) $(CURL_LIBS) \
	$(CRYPTO_LIBS) $(SODIUM_LIBS) -lpthread -lm
vaultsrv_libvaultsrv_a_CFLAGS = $(VAULTSRV_CFLAGS)

bin_PROGRAMS += vaultsrv/vaultsrv
vaultsrv_vaultsrv_SOURCES = vaultsrv/main.c
vaultsrv_vaultsrv_CFLAGS = $(VAULTSRV_CFLAGS)
vaultsrv_vaultsrv_LDADD = $(VAULTSRV_LIBS)
# Startup error lines (docs/vaultsrv.md, "Startup errors").
vaultsrv_libvaultsrv_a_SOURCES += vaultsrv/startup.c vaultsrv/startup.h
