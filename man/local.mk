# man/ and contrib/: the manual pages, and the example configs and supervisord and
# systemd files, installed with the programs (included from the top-level Makefile.am).
#
#   $(mandir)/man1/rtun.1, man5/rtun.conf.5, man8/rtund.8
#   $(docdir)/contrib/rtund.conf.example, rtun.conf.example
#   $(docdir)/contrib/supervisord/rtund.conf, rtun.conf
#   $(docdir)/contrib/systemd/rtund.service, rtun.service
#   $(docdir)/contrib/nginx/rtun.conf
#   $(docdir)/contrib/fail2ban/filter.d/rtund.conf, jail.d/rtund.conf
#   $(docdir)/contrib/grafana/rtun.json
#
# The man pages' FILES sections name these places; tests/integration/t14-install.sh
# checks the layout.  `make lint-man` runs mandoc's linter.
#
# The pages in man/ say ${sysconfdir} and ${docdir}; the installed ones, built into
# man/built/, give this build's directories instead (sed, at make time, since
# configure leaves them as make variables).
MAN_PAGES_IN = man/rtun.1 man/rtund.8 man/rtun.conf.5
EXTRA_DIST += $(MAN_PAGES_IN)
man_MANS = man/built/rtun.1 man/built/rtund.8 man/built/rtun.conf.5
CLEANFILES += $(man_MANS)

man_subst = $(MKDIR_P) man/built && \
	sed -e 's|$${sysconfdir}|$(sysconfdir)|g' -e 's|$${docdir}|$(docdir)|g' \
	$(top_srcdir)/man/$(@F) >$@.tmp && mv $@.tmp $@
man/built/rtun.1: $(top_srcdir)/man/rtun.1 Makefile
	$(AM_V_GEN)$(man_subst)
man/built/rtund.8: $(top_srcdir)/man/rtund.8 Makefile
	$(AM_V_GEN)$(man_subst)
man/built/rtun.conf.5: $(top_srcdir)/man/rtun.conf.5 Makefile
	$(AM_V_GEN)$(man_subst)

nobase_dist_doc_DATA = \
	contrib/rtund.conf.example \
	contrib/rtun.conf.example \
	contrib/supervisord/rtund.conf \
	contrib/supervisord/rtun.conf \
	contrib/systemd/rtund.service \
	contrib/systemd/rtun.service \
	contrib/nginx/rtun.conf \
	contrib/fail2ban/filter.d/rtund.conf \
	contrib/fail2ban/jail.d/rtund.conf \
	contrib/grafana/rtun.json

lint-man: $(man_MANS)
	cd $(srcdir) && mandoc -T lint -W warning $(MAN_PAGES_IN)
	mandoc -T lint -W warning $(man_MANS)
.PHONY: lint-man
