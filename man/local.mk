# man/ and contrib/: the manual pages, and the example configs and supervisord and
# systemd files, installed with the programs (included from the top-level Makefile.am).
#
#   $(mandir)/man1/rtun.1, man5/rtun.conf.5, man8/rtund.8
#   $(docdir)/contrib/rtund.conf.example, rtun.conf.example
#   $(docdir)/contrib/supervisord/rtund.conf, rtun.conf
#   $(docdir)/contrib/systemd/rtund.service, rtun.service
#   $(docdir)/contrib/nginx/rtun.conf
#   $(docdir)/contrib/fail2ban/filter.d/rtund.conf, jail.d/rtund.conf
#
# The man pages' FILES sections name these places; tests/integration/t14-install.sh
# checks the layout.  `make lint-man` runs mandoc's linter.
dist_man_MANS = man/rtun.1 man/rtund.8 man/rtun.conf.5

nobase_dist_doc_DATA = \
	contrib/rtund.conf.example \
	contrib/rtun.conf.example \
	contrib/supervisord/rtund.conf \
	contrib/supervisord/rtun.conf \
	contrib/systemd/rtund.service \
	contrib/systemd/rtun.service \
	contrib/nginx/rtun.conf \
	contrib/fail2ban/filter.d/rtund.conf \
	contrib/fail2ban/jail.d/rtund.conf

lint-man:
	cd $(srcdir) && mandoc -T lint -W warning $(dist_man_MANS)
.PHONY: lint-man
