# contrib/install.mk - what "make install" places besides the programs:
# man pages, bash completion, systemd units, example configurations and
# the installation guide. Every directory below is a Makefile variable
# with a default under $(prefix), so "make distcheck" stays inside its
# staging prefix; override at install time, for example
#   make install systemdsystemunitdir=/lib/systemd/system \
#       bashcompletiondir=$(pkg-config --variable=completionsdir bash-completion)

# Man pages, written by hand (docs/man/).
dist_man1_MANS = docs/man/vaultfs.1
dist_man5_MANS = docs/man/vaultsrv.conf.5
dist_man8_MANS = docs/man/vaultsrv.8

# Documentation beyond README.md and docs/cli.md.
dist_doc_DATA += docs/install.md docs/vaultsrv.md docs/second-machine.md

# Example configurations.
examplesdir = $(docdir)/examples
dist_examples_DATA = contrib/vaultsrv.conf.example \
	contrib/softhsm2.conf.example

# Bash completion: installed under the command's name, as bash-completion's
# on-demand loader expects.
bashcompletiondir = $(datadir)/bash-completion/completions
bashcompletion_DATA = contrib/completion/vaultfs contrib/completion/vaultsrv
EXTRA_DIST += contrib/completion/vaultfs.bash contrib/completion/vaultsrv.bash \
	contrib/second-machine.sh
CLEANFILES += $(bashcompletion_DATA)

contrib/completion/vaultfs: contrib/completion/vaultfs.bash
	$(AM_V_GEN)$(MKDIR_P) contrib/completion && \
	cp $(srcdir)/contrib/completion/vaultfs.bash $@.tmp && mv $@.tmp $@
contrib/completion/vaultsrv: contrib/completion/vaultsrv.bash
	$(AM_V_GEN)$(MKDIR_P) contrib/completion && \
	cp $(srcdir)/contrib/completion/vaultsrv.bash $@.tmp && mv $@.tmp $@

# systemd units: the system service vaultsrv.service and the user unit
# vaultfs@.service, with the installed paths filled in.
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemduserunitdir = $(prefix)/lib/systemd/user
systemdsystemunit_DATA = contrib/systemd/vaultsrv.service
systemduserunit_DATA = contrib/systemd/vaultfs@.service
EXTRA_DIST += contrib/systemd/vaultsrv.service.in \
	contrib/systemd/vaultfs@.service.in
CLEANFILES += $(systemdsystemunit_DATA) $(systemduserunit_DATA)

vfs_unit_subst = sed -e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g'

contrib/systemd/vaultsrv.service: contrib/systemd/vaultsrv.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && \
	$(vfs_unit_subst) $(srcdir)/contrib/systemd/vaultsrv.service.in \
		>$@.tmp && mv $@.tmp $@
contrib/systemd/vaultfs@.service: contrib/systemd/vaultfs@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && \
	$(vfs_unit_subst) $(srcdir)/contrib/systemd/vaultfs@.service.in \
		>$@.tmp && mv $@.tmp $@

# The installation directories, for tests/integration/80-install.sh.
print-installdirs:
	@echo "bindir=$(bindir)"; \
	echo "sbindir=$(sbindir)"; \
	echo "mandir=$(mandir)"; \
	echo "docdir=$(docdir)"; \
	echo "examplesdir=$(examplesdir)"; \
	echo "bashcompletiondir=$(bashcompletiondir)"; \
	echo "systemdsystemunitdir=$(systemdsystemunitdir)"; \
	echo "systemduserunitdir=$(systemduserunitdir)"; \
	echo "sysconfdir=$(sysconfdir)"
.PHONY: print-installdirs
