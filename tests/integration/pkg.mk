# Packaging tests: "make install DESTDIR=..." places everything, man pages
# render, completion scripts parse, units verify; --help/--version.
PKG_IT = \
	tests/integration/80-install.sh \
	tests/integration/81-help.sh
EXTRA_DIST += $(PKG_IT)
TESTS += $(PKG_IT)
