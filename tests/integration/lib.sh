# lib.sh - shared helpers for integration tests (sourced).
# Exit 77 = skipped (say why), 99 = hard error.
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
VAULTFS="$top_builddir/vaultfs"
VAULTSRV="$top_builddir/vaultsrv/vaultsrv"
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
