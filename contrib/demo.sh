#!/bin/sh
# demo.sh BUILD_DIR - the quick-start demo on embedded defaults.
set -eu
b=${1:?usage: demo.sh BUILD_DIR}
"$b/vaultfs" --version
