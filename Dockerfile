# Impuls's image: the daemon laid out as `make install` lays it out, on the
# base that scripts/docker-base.sh makes from Debian's packages (no image
# registry needed). Run `make build` first: nothing is compiled here.
#   sh scripts/docker-base.sh && docker build -t impuls .   (or docker-compose build)
ARG BASE=impuls-base
FROM ${BASE}
# <bin>/../lib/impuls holds the zygote library and <bin>/../share/impuls/runtimes
# the runtimes: where `impuls serve` looks beside an installed binary.
COPY build/impuls /usr/local/bin/impuls
COPY build/libimpuls-zygote.so /usr/local/lib/impuls/libimpuls-zygote.so
COPY runtimes /usr/local/share/impuls/runtimes
COPY dist/docker-entrypoint.sh /usr/local/bin/impuls-entrypoint
# Functions, their code and logs live in /var/lib/impuls: mount a volume there
# (compose.yaml does; no VOLUME here, which would leave anonymous volumes behind).
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/impuls-entrypoint"]
# Every interface of the container, so --auth is said: tokens (the first
# admin token is in the data volume's admin-token and the log). compose.yaml
# says none for its services, whose ports it publishes on the host's loopback.
CMD ["serve", "--addr", "0.0.0.0:8080", "--router-addr", "0.0.0.0:8081", "--data-dir", "/var/lib/impuls", "--auth", "tokens"]
