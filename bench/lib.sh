# Shared by the benchmark scripts: `. "$here/lib.sh"`.

# The WARNING/ERROR/FATAL/PANIC lines of a server log, less the expected ones: the workers start
# before CREATE DATABASE bench (one FATAL each, then restarted), and stopping the cluster
# terminates connections and autovacuum.
server_log_problems() {
    grep -E '\] (WARNING|ERROR|FATAL|PANIC):' "$1" |
        grep -vE 'terminating (connection|autovacuum process) due to administrator command|database "bench" does not exist' || true
}

# One line about a server log: how many unexpected problem lines, and the first ones.
server_log_summary() {
    local problems
    problems="$(server_log_problems "$1")"
    if [ -n "$problems" ]; then
        echo "server log: $(printf '%s\n' "$problems" | wc -l) WARNING/ERROR/FATAL/PANIC lines, first: $(printf '%s\n' "$problems" | head -3)"
    else
        echo "server log: no WARNING/ERROR/FATAL/PANIC lines (beyond the expected startup FATALs)"
    fi
}
