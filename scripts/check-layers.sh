#!/bin/sh
# The layers of the daemon's parts (../shared/DESIGN.md, "Layering"): each
# part may include the headers of the parts listed for it, and no other. A
# lower part never includes a higher one's: the invocation core (pool/,
# runtime_api/) knows nothing of HTTP's front ends. Above it, api/ holds what
# the front ends share (route table, auth, the write path, answers); events/
# (Event invocations, schedules) uses it; the front ends are rest/ (and the
# resources Lambda shares with it), lambda/, glambdar/, chambers/,
# router/ and console/ (the web console's static files); server/ dispatches the API listener's routes to all of them.
# make unit runs it; a line per include that breaks the rule, exit 1.
allowed() {
  case "$1" in
    util) echo "util" ;;
    http) echo "http util" ;;
    net) echo "net util" ;;
    sandbox) echo "sandbox net util" ;;
    store) echo "store util" ;;
    builder) echo "builder net sandbox util" ;;
    runtime_api|pool) echo "pool runtime_api http net sandbox store util" ;;
    api) echo "api builder http net pool runtime_api sandbox store util" ;;
    events) echo "events api builder http net pool runtime_api sandbox store util" ;;
    rest) echo "rest events api builder http net pool runtime_api sandbox store util" ;;
    lambda|glambdar) echo "$1 rest events api builder http net pool runtime_api sandbox store util" ;;
    chambers) echo "chambers api builder http net pool runtime_api sandbox store util" ;;
    router) echo "router api builder http net pool runtime_api sandbox store util" ;;
    console) echo "console http pool util" ;;
    server) echo "server console router chambers glambdar lambda rest events api builder http net pool runtime_api sandbox store util" ;;
    cli) echo "cli server console router chambers glambdar lambda rest events api builder http net pool runtime_api sandbox store util" ;;
    *) echo "" ;;
  esac
}
bad=0
for dir in src/*/; do
  part=$(basename "$dir")
  ok=$(allowed "$part")
  if [ -z "$ok" ]; then
    echo "check-layers: src/$part/ is a part with no place in the layers (scripts/check-layers.sh)"
    bad=1
    continue
  fi
  for f in "$dir"*.c "$dir"*.h; do
    [ -e "$f" ] || continue
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
      case " $ok " in
        *" $inc "*) ;;
        *) echo "check-layers: $f includes a header of $inc/, above $part/"; bad=1 ;;
      esac
    done
  done
done
[ "$bad" -eq 0 ] && echo "layers: every include goes down"
exit "$bad"
