# vaultclient/: libvaultclient (see vaultclient.h).
