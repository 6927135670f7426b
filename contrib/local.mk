# contrib/
EXTRA_DIST += contrib/quickstart contrib/demo.sh
include contrib/bench/bench.mk
