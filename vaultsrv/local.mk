# vaultsrv/: the Backup Key Vault server (program vaultsrv/vaultsrv).
