# vaultclient/: libvaultclient (see vaultclient.h), the client half of the
# vault password protocol (docs/protocol.md).
noinst_LIBRARIES += vaultclient/libvaultclient.a
noinst_HEADERS += vaultclient/vaultclient.h
vaultclient_libvaultclient_a_SOURCES = \
	vaultclient/oprf.c vaultclient/oprf.h \
	vaultclient/vcrypto.c vaultclient/vcrypto.h \
	vaultclient/json.c vaultclient/json.h \
	vaultclient/http.c vaultclient/http.h \
	vaultclient/protocol.c vaultclient/protocol.h
vaultclient_libvaultclient_a_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) \
	$(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
# What a program linking libvaultclient needs after it.
VC_LDADD = vaultclient/libvaultclient.a common/libvfscommon.a \
	$(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(SODIUM_LIBS)
# vaultctl: command line front end (tests, operators); not installed.
check_PROGRAMS += vaultclient/vaultctl
vaultclient_vaultctl_SOURCES = vaultclient/vaultctl.c
vaultclient_vaultctl_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
vaultclient_vaultctl_LDADD = $(VC_LDADD)
