# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the benchmarks on the software ConnectX-3 (bench-model.sh,
# bench-verbs.sh), sourced after selftests/lib.sh.

# pair CMD...: perftest server on mlx4_0, client on mlx4_1; prints the client's output.
pair() {
	"$@" -d mlx4_0 >/tmp/srv.out 2>&1 &
	sleep 2
	"$@" -d mlx4_1 127.0.0.1 >/tmp/cli.out 2>&1
	wait
	cat /tmp/cli.out
}
# mbit: the last average bandwidth of a perftest --report_gbits run, in Mbit/s.
mbit() { awk '$1 ~ /^[0-9]+$/ && NF >= 5 { bw = $4 } END { if (bw != "") printf "%.1f", bw * 1000 }'; }
# median FILE: the median of the numbers in FILE, and their range.
median() { sort -n "$1" 2>/dev/null | awk '{ v[NR] = $1 } END { if (NR) printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR]; else printf "?" }'; }
# med FILE: the median alone.
med() { sort -n "$1" 2>/dev/null | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# ratio A B: A / B to two decimals, nothing if either is missing.
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# paired A B: the ratio A/B of each round (line N of file A over line N of file B,
# measured back to back, so slow drifts of the host cancel), then their median and
# range: "0.97 (0.90-1.05) per round 0.95 0.97 1.02"; "?" if the files differ in length.
paired() {
	[ -s "$1" ] && [ -s "$2" ] && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] || { printf "?"; return; }
	paste "$1" "$2" | awk '{ r = $1 / $2; l = l sprintf(" %.2f", r); print r } END { print l > "/dev/stderr" }' \
		2>/tmp/paired.list >/tmp/paired.vals
	printf "%s per round%s" "$(sort -n /tmp/paired.vals | awk '{ v[NR] = $1 }
		END { printf "%.2f (%.2f-%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }')" "$(cat /tmp/paired.list)"
}
# sampled TAG COMMAND...: runs COMMAND; with PROFILE set, perf samples every CPU
# meanwhile (cpu-clock: TCG has no PMU) and the hottest symbols go to
# /tmp/profile.$PROFILE.TAG.
sampled() {
	_tag=$1
	shift
	if [ -z "${PROFILE:-}" ]; then
		"$@"
		return
	fi
	perf record -q -e cpu-clock -F 499 -a -o "/tmp/perf.$PROFILE.$_tag" -- "$@" 2>/dev/null
	_rc=$?
	perf report -q -i "/tmp/perf.$PROFILE.$_tag" --stdio --sort dso,sym 2>/dev/null |
		grep -v '^$' | head -n "${PROFILE_TOP:-15}" >"/tmp/profile.$PROFILE.$_tag"
	return $_rc
}
