# Integration tests of the vault.
