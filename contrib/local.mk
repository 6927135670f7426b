# contrib/
EXTRA_DIST += contrib/quickstart contrib/demo.sh
