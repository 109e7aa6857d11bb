# Reference: workerd (the npm package `workerd`, Cloudflare's Workers runtime)
# serving bench/ref/hello.js through worker.mjs. bench.py starts it as
#   workerd serve bench/ref/workerd.capnp --socket-addr http=127.0.0.1:PORT
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "hello", worker = .helloWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "hello")],
);

const helloWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    # The handler file itself, as the CommonJS module it is.
    (name = "hello.js", commonJsModule = embed "hello.js"),
  ],
  compatibilityDate = "2025-01-01",
);
