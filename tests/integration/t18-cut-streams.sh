#!/bin/bash
# A stream cut by a failure looks cut at both ends, never complete: whatever ends the link
# under a transfer (rtund or the agent killed with -9, or stopped by SIGTERM with the drain
# running out of shutdown_timeout), the user and the private service each see a reset
# (ECONNRESET), in both directions of transfer. A transfer that completes still ends with
# a clean FIN at both ends and every byte intact.
IT_NUM=18
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

total=$((512 * 1024 * 1024))
# Two services: one sends a long download, one swallows a long upload; each prints one
# line per connection with result=ok (clean EOF) or result=reset.
start_tool down sha-server --listen "$IT_ADDR:$(port 1)" --send "$total" --seed 3 --rate 16M
start_tool up sha-server --listen "$IT_ADDR:$(port 2)" --send 0
start_tool whole sha-server --listen "$IT_ADDR:$(port 3)" --send 8M --seed 5
server_conf "$IT_DIR/rtund.conf" shutdown_timeout=1s
agent_conf "$IT_DIR/rtun.conf" shutdown_timeout=1s reconnect_min=0.2s reconnect_max=0.5s \
	"svc:down=$IT_ADDR:$(port 1),$(port 10)" "svc:up=$IT_ADDR:$(port 2),$(port 11)" \
	"svc:whole=$IT_ADDR:$(port 3),$(port 12)"

gen=0
server_name=
agent_name=
# up: make sure rtund and the agent run and the services are declared.
up() {
	local want
	want="service whole on port $(port 12)"
	if [ -z "$server_name" ] || ! pid_alive "$(pid_of "$server_name")"; then
		gen=$((gen + 1))
		server_name=rtund$gen
		start_rtund "$server_name" "$IT_DIR/rtund.conf"
	fi
	declared=$(log_count "$server_name" "$want")
	if [ -z "$agent_name" ] || ! pid_alive "$(pid_of "$agent_name")"; then
		gen=$((gen + 1))
		agent_name=rtun$gen
		start_rtun "$agent_name" "$IT_DIR/rtun.conf"
		declared=$((declared + 1))
	fi
	# A fresh rtund is reached by the surviving agent within its back-off.
	[ "$declared" -gt 0 ] || declared=1
	wait_for_log "$server_name" "$want" 15 "$declared" || fail "services not declared on $server_name"
	wait_port "$IT_ADDR:$(port 12)" 5 || fail "service port not open"
}

# cut WHO HOW: end the link from WHO's side (server or agent) by HOW (kill or term).
cut() {
	local name pid
	[ "$1" = server ] && name=$server_name || name=$agent_name
	pid=$(pid_of "$name")
	case $2 in
	kill) kill -KILL "$pid" ;;
	term) kill -TERM "$pid" ;;
	esac
	wait_exit "$pid" 10 || fail "$name did not exit after $2"
}

# check_reset CASE USER_OUT SERVICE_NAME N: the user and the Nth connection of the service
# each saw a reset.
check_reset() {
	local case=$1 out=$2 svc=$3 n=$4 line
	wait_for_file "$IT_DIR/$svc.out" "result=" 15 "$n" || fail "$case: the service never saw its connection end"
	line=$(grep "result=" "$IT_DIR/$svc.out" | sed -n "${n}p")
	note "$case: user: $(grep result= "$out")"
	note "$case: service: $line"
	grep -q "result=reset" "$out" ||
		fail "$case: the user saw a clean end of a cut stream ($(grep result= "$out"))"
	case $line in
	*result=reset*) ;;
	*) fail "$case: the service saw a clean end of a cut stream ($line)" ;;
	esac
}

ndown=0
nup=0
for who in server agent; do
	for how in kill term; do
		for dir in download upload; do
			case_name="$who-$how-$dir"
			up
			user=user-$case_name
			if [ "$dir" = download ]; then
				ndown=$((ndown + 1))
				start_tool "$user" sha-client --connect "$IT_ADDR:$(port 10)" --send 0 --timeout 40
				svc=down n=$ndown
			else
				nup=$((nup + 1))
				start_tool "$user" sha-client --connect "$IT_ADDR:$(port 11)" --send "$total" \
					--rate 16M --timeout 40
				svc=up n=$nup
			fi
			sleep 1.5
			pid_alive "$(pid_of "$user")" || fail "$case_name: the transfer ended before the cut"
			note "$case_name: cutting"
			cut "$who" "$how"
			wait_exit "$(pid_of "$user")" 15 || fail "$case_name: the user still hangs 15 s after the cut"
			check_reset "$case_name" "$IT_DIR/$user.out" "$svc" "$n"
		done
	done
done

note "a transfer that completes ends with a clean FIN at both ends"
up
# up's probes of port 12 are connections of the whole service too: let the last one's
# report land, and check the connection after them.
sleep 0.5
n=$(($(grep -c result= "$IT_DIR/whole.out") + 1))
tcptool sha-client --connect "$IT_ADDR:$(port 12)" --send 8M --seed 6 --timeout 30 >"$IT_DIR/whole-user.out" ||
	fail "complete transfer failed: $(cat "$IT_DIR/whole-user.out")"
expect_intact whole-user whole "$n"
exit 0
