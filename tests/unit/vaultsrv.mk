# Unit tests of vaultsrv/.
