ferryconfdir = $(sysconfdir)/ferry
dist_ferryconf_DATA = conf/ferryd.conf
