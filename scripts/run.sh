#!/bin/sh
# make run's last step: the daemon on $ADDR with its router on $ROUTER, state
# in $DATA_DIR; and, where ports 443 and 80 of 127.0.0.1 are free, the router
# over HTTPS on 443 with plain HTTP on 80 redirected to it: SmolFaaS's
# http://fn.localhost/... as its README types them. $AUTH (tokens or none):
# --auth, which an $ADDR beyond loopback needs. $IMPULS_BIN: the binary.
ADDR=${ADDR:-127.0.0.1:8080}
ROUTER=${ROUTER:-127.0.0.1:8081}
DATA_DIR=${DATA_DIR:-var}
BIN=${IMPULS_BIN:-./build/impuls}

taken() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

set -- serve --addr "$ADDR" --router-addr "$ROUTER" --data-dir "$DATA_DIR"
if [ -n "$AUTH" ]; then
  set -- "$@" --auth "$AUTH"
fi
if taken 443; then
  echo "make run: 127.0.0.1:443 is taken: no HTTPS router (start with --router-https HOST:PORT elsewhere)" >&2
else
  set -- "$@" --router-https 127.0.0.1:443
  if taken 80; then
    echo "make run: 127.0.0.1:80 is taken: no plain-HTTP redirect to the HTTPS router" >&2
  else
    set -- "$@" --router-http 127.0.0.1:80
  fi
fi
mkdir -p "$DATA_DIR"
exec "$BIN" "$@"
