#!/bin/bash
# 57-vault-soak: the short tier of the vault soak (tests/soak/vault-soak.sh):
# 40 s of concurrent registrations, recoveries and wrong guesses with
# random kill -9 and restarts of vaultsrv (SQLite); no acknowledged
# registration lost, no counter down, at most max_attempts evaluations per
# account, locked stays locked. `make soak-vault` runs it for 10 minutes.
SOAK_SECONDS=${SOAK_SHORT_SECONDS:-40}
export SOAK_SECONDS
exec bash "$top_srcdir/tests/soak/vault-soak.sh"
