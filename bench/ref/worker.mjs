// Reference: the same handler (hello.js) run by workerd as a worker, parsing the
// JSON event as node_server.js does. Config: workerd.capnp.
import hello from "hello.js";

export default {
  async fetch(request) {
    const raw = await request.text();
    const r = await hello.handler(raw ? JSON.parse(raw) : {}, {});
    return new Response(r.body, { status: r.statusCode, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  },
};
