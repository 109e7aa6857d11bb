// Reference: a bare Node http server running the same handler in-process,
// parsing the JSON event as Impuls does. Usage: node node_server.js PORT
const http = require("http");
const { handler } = require("./hello.js");
http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const raw = Buffer.concat(chunks).toString();
    const r = await handler(raw ? JSON.parse(raw) : {}, {});
    res.writeHead(r.statusCode, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(r.body);
  });
}).listen(Number(process.argv[2]), "127.0.0.1");
