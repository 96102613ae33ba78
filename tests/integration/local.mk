# tests/integration: shell scripts that drive the real rtund and rtun on loopback, with the
# peers in tests/tools.  Each script is a test of its own (exit 0 pass, 77 skip, 99 hard
# error); they use separate addresses and ports, so `make -j check` runs them in parallel.
# Run one: make check TESTS=tests/integration/t01-bulk.sh (IT_KEEP=1 keeps its files).
INTEGRATION_TESTS = \
	tests/integration/t01-bulk.sh \
	tests/integration/t02-concurrent.sh \
	tests/integration/t03-halfclose.sh \
	tests/integration/t04-noread.sh \
	tests/integration/t05-refused.sh \
	tests/integration/t06-agent-death.sh \
	tests/integration/t07-auth-ports.sh \
	tests/integration/t08-bad-frames.sh \
	tests/integration/t09-config.sh \
	tests/integration/t10-reconnect.sh \
	tests/integration/t11-supervisord.sh \
	tests/integration/t12-metrics.sh \
	tests/integration/t13-proxy-protocol.sh \
	tests/integration/t14-install.sh \
	tests/integration/t15-signals.sh \
	tests/integration/t16-reload.sh \
	tests/integration/t17-fdlimit.sh \
	tests/integration/t18-cut-streams.sh \
	tests/integration/t19-netcut.sh \
	tests/integration/t20-tls.sh \
	tests/integration/t21-ws.sh \
	tests/integration/t22-nginx.sh \
	tests/integration/t23-ws-flood.sh \
	tests/integration/t24-log-forge.sh \
	tests/integration/t25-metrics-churn.sh \
	tests/integration/t26-authlimit.sh \
	tests/integration/t27-floods.sh \
	tests/integration/t28-natlab.sh \
	tests/integration/t29-p2p-nat.sh \
	tests/integration/t30-p2p-relay.sh \
	tests/integration/t31-p2p-probes.sh \
	tests/integration/t32-p2p-trials.sh \
	tests/integration/t33-route-agent.sh \
	tests/integration/t34-route-reload.sh \
	tests/integration/t35-route-splice.sh \
	tests/integration/t36-udp-dns.sh \
	tests/integration/t37-udp-flows.sh \
	tests/integration/t38-udp-flood.sh \
	tests/integration/t39-idle.sh \
	tests/integration/t40-web-http.sh \
	tests/integration/t41-web-https.sh \
	tests/integration/t42-web-browser.sh \
	tests/integration/t43-status.sh \
	tests/integration/t44-status-page.sh \
	tests/integration/t45-prometheus.sh \
	tests/integration/t46-grafana.sh

TESTS += $(INTEGRATION_TESTS)
# t44 keeps its screenshots of the status pages in the build tree.
CLEANFILES += tests/integration/t44-rtund.png tests/integration/t44-agent.png
EXTRA_DIST += tests/integration/lib.sh tests/integration/natlab.sh \
	tests/integration/p2p.sh tests/integration/route.sh tests/integration/udp.sh \
	tests/integration/web.sh tests/integration/prom.sh \
	$(INTEGRATION_TESTS)

# The environment every test in TESTS sees.  Other local.mk files append with +=.
AM_TESTS_ENVIRONMENT = \
	RTUND='$(abs_top_builddir)/rtund'; RTUN='$(abs_top_builddir)/rtun'; \
	TOOLS='$(abs_top_srcdir)/tests/tools'; \
	export RTUND RTUN TOOLS;
