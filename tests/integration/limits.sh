#!/bin/bash
# Size, nesting and time limits on the federation API: an oversized or
# deeply nested SOAP message and a slow sender are cut off, audited, and
# the daemon keeps serving.
. "$(dirname "$0")/lib.sh"

site_conf a "max_message 65536" "max_depth 32" "io_timeout 2s"
site_conf b
for s in a b; do site_start $s || { echo "Bail out! $s did not start"; exit 1; }; done
ok "b pairs with a" pair a b
fpa=$(fp_of a); epa=$(site_endpoint a)
pb() { probe b -e "$epa" -p "$fpa" "$@"; }

out=$(pb raw-big 1000000)
like "$out" "closed: after" "a 1 MB message to a 64 KiB limit is cut off"
unlike "$out" "response: HTTP/1.1 200" "it is not answered with success"
like "$(audit_of a)" "request +refused +message larger than max_message" "the oversized message is audited"

# The schema has no recursive type: gSOAP rejects unknown nested elements
# (strict mode) or skips them with a counter; max_depth bounds what it walks.
out=$(pb raw-deep 5000)
unlike "$out" "response: HTTP/1.1 200" "XML nested 5000 deep is refused"
like "$(audit_of a)" "request +refused +.*(nested|mismatch)" "the deep nesting is audited"

t0=$(date +%s)
out=$(timeout 60 "$FEDPROBE" -f "$T/b/ferryd.conf" -e "$epa" -p "$fpa" slow 40)
t1=$(date +%s)
like "$out" "closed: after" "a slow sender (1 byte/s) is disconnected"
[ $((t1 - t0)) -le 15 ]; is $? 0 "within 4 x io_timeout plus slack ($((t1 - t0)) s)"
like "$(audit_of a)" "request +refused +connection time limit .*slow sender" "the slow sender is audited"

ok "a still serves b afterwards" ctl b peer ping a
ok "a's audit chain is intact" ctl a audit verify
check_sanitizers
done_testing
