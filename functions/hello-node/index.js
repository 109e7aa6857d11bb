// A SmolFaaS-style Node.js function: an HTTP server on port 8000.
const http = require('http');

http.createServer((req, res) => {
  const body = JSON.stringify({
    message: 'Hello from Impuls Node.js function!',
    runtime: 'node',
    method: req.method,
    path: new URL(req.url, 'http://x').pathname,
  });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(body);
}).listen(Number(process.env.PORT || 8000));
