# Integration tests of vaultfs (store, mount).
