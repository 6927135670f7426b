# fs/: the store library (store.mk) and the vaultfs program (prog.mk).
include fs/store.mk
include fs/prog.mk
include fs/fsck.mk
