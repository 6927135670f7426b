# Unit tests of vaultclient/.
