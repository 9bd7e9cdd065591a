# gSOAP: soapcpp2 generates the federation API from one header at build
# time; nothing generated is committed.
GSOAP_GEN = gateway/soapC.c gateway/soapClient.c gateway/soapServer.c gateway/soapH.h \
	gateway/soapStub.h gateway/Ferry.nsmap gateway/Ferry.wsdl gateway/fy.xsd
$(GSOAP_GEN): gateway/.soap-stamp
gateway/.soap-stamp: $(top_srcdir)/gateway/fed.gsoap.h
	$(AM_V_GEN)$(MKDIR_P) gateway && $(SOAPCPP2) -c -2 -x -L -d gateway $(top_srcdir)/gateway/fed.gsoap.h >/dev/null && touch $@
BUILT_SOURCES += $(GSOAP_GEN)
CLEANFILES += $(GSOAP_GEN) gateway/.soap-stamp
EXTRA_DIST += gateway/fed.gsoap.h

noinst_LIBRARIES += gateway/libgateway.a gateway/libsoap.a
# Generated code gets its own library so our warning flags do not apply to it.
nodist_gateway_libsoap_a_SOURCES = gateway/soapC.c gateway/soapClient.c gateway/soapServer.c
gateway_libsoap_a_CFLAGS = $(SAN_FLAGS) $(GSOAP_CFLAGS) -w
gateway_libgateway_a_SOURCES = gateway/gateway.h gateway/conf.c gateway/site.c gateway/fed.c \
	gateway/admin.c gateway/ops.c gateway/data.c gateway/domain.h gateway/domain.c \
	gateway/qmp.h gateway/qmp.c gateway/dom_qemu.c gateway/ops_vm.c gateway/job.c gateway/preflight.c \
	gateway/dom_vsphere.c
gateway_libgateway_a_CFLAGS = $(AM_CFLAGS) $(GSOAP_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS) \
	$(JANSSON_CFLAGS) -I$(top_builddir)/gateway

FERRY_LIBS = gateway/libgateway.a $(VIM_LIBS) gateway/libsoap.a netmap/libnetmap.a transport/libtransport.a trust/libtrust.a \
	common/libcommon.a $(GSOAP_LIBS) $(OPENSSL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) \
	$(XXHASH_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS) -lpthread

sbin_PROGRAMS += gateway/ferryd
gateway_ferryd_SOURCES = gateway/ferryd.c
gateway_ferryd_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
gateway_ferryd_LDADD = $(FERRY_LIBS)

sbin_PROGRAMS += gateway/ferryctl
gateway_ferryctl_SOURCES = gateway/ferryctl.c gateway/ctl.h gateway/ctl_vm.c gateway/ctl_job.c \
	gateway/ctl_preflight.c
gateway_ferryctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
gateway_ferryctl_LDADD = $(FERRY_LIBS)

wsdldir = $(datadir)/ferry
nodist_wsdl_DATA = gateway/Ferry.wsdl gateway/fy.xsd

# The vim25 client (vim.h): a gSOAP module from the hand-written
# gateway/vim25.gsoap.h with its own prefix (vim*) and namespace table
# (vim_namespaces, -n), SOAP 1.1, client side only.  It shares the SOAP
# Header/Fault serializers of the federation's generated code (libsoap.a);
# the built-in serializers both define (string, byte, QName...) are renamed
# vim_soap_* in the module by gateway/vim-names.h, made from what vimC.c
# defines.  Same GSOAP_CFLAGS as libsoap.a: struct soap must have one layout.
VIM_GEN = gateway/vimC.c gateway/vimClient.c gateway/vimH.h gateway/vimStub.h gateway/vim.nsmap \
	gateway/vim-names.h
$(VIM_GEN): gateway/.vim-stamp
gateway/.vim-stamp: $(top_srcdir)/gateway/vim25.gsoap.h
	$(AM_V_GEN)$(MKDIR_P) gateway && \
	$(SOAPCPP2) -c -1 -C -n -w -x -L -pvim -d gateway $(top_srcdir)/gateway/vim25.gsoap.h >/dev/null && \
	sed -n 's/^SOAP_FMAC3 .* SOAP_FMAC4 \(soap_[A-Za-z0-9_]*\)(.*/#define \1 vim_\1/p' gateway/vimC.c | \
		sort -u >gateway/vim-names.h.tmp && mv -f gateway/vim-names.h.tmp gateway/vim-names.h && touch $@
BUILT_SOURCES += $(VIM_GEN)
CLEANFILES += $(VIM_GEN) gateway/.vim-stamp
EXTRA_DIST += gateway/vim25.gsoap.h

noinst_LIBRARIES += gateway/libvim.a gateway/libvimsoap.a
nodist_gateway_libvimsoap_a_SOURCES = gateway/vimC.c gateway/vimClient.c
gateway_libvimsoap_a_CFLAGS = $(SAN_FLAGS) $(GSOAP_CFLAGS) -w -include gateway/vim-names.h
gateway_libvim_a_SOURCES = gateway/vim.h gateway/vim.c
gateway_libvim_a_CFLAGS = $(AM_CFLAGS) $(GSOAP_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) -I$(top_builddir)/gateway
# Link before $(FERRY_LIBS): libsoap.a (Header/Fault) and fy_fail come from there.
VIM_LIBS = gateway/libvim.a gateway/libvimsoap.a
