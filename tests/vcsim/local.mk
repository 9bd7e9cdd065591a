# The vCenter simulator fixture (tests/vcsim/README.md): a Go program on
# Debian's govmomi sources, built by `make check' into the build tree, never
# installed.  Without go or the govmomi sources nothing is built and the
# tests that need it skip.  GOPATH mode on Debian's source tree, no network,
# the build cache in the build tree: nothing is written to $HOME.
# check_SCRIPTS is first set here; move the `=' to Makefile.am when a second
# folder needs it.
VCSIM_GO = go
VCSIM_GOPATH = /usr/share/gocode
VCSIM_GOCACHE = $(abs_top_builddir)/tests/vcsim/.gocache
VCSIM_GOENV = GOPATH='$(VCSIM_GOPATH)' GO111MODULE=off GOPROXY=off GOFLAGS='-trimpath -buildvcs=false' \
	GOCACHE='$(VCSIM_GOCACHE)' CGO_ENABLED=0

check_SCRIPTS = tests/vcsim/vcsim
EXTRA_DIST += tests/vcsim/vcsim.go tests/vcsim/README.md
CLEANFILES += tests/vcsim/vcsim tests/vcsim/vcsim.tmp

tests/vcsim/vcsim: $(top_srcdir)/tests/vcsim/vcsim.go
	@$(MKDIR_P) tests/vcsim
	$(AM_V_GEN)if command -v $(VCSIM_GO) >/dev/null 2>&1 && \
	    test -d '$(VCSIM_GOPATH)/src/github.com/vmware/govmomi/simulator'; then \
		$(VCSIM_GOENV) $(VCSIM_GO) build -o $@.tmp $(top_srcdir)/tests/vcsim/vcsim.go && mv -f $@.tmp $@; \
	else \
		echo "tests/vcsim: go or govmomi sources missing: the vCenter simulator tests will skip"; \
		rm -f $@; \
	fi

clean-local: vcsim-clean
vcsim-clean:
	-chmod -R u+w tests/vcsim/.gocache 2>/dev/null; rm -rf tests/vcsim/.gocache
.PHONY: vcsim-clean
