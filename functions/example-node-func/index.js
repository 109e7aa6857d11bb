// SmolFaaS's example Node.js function, as its README shows it answering: an
// HTTP server on port 8000.
const http = require('http');
const os = require('os');

http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({
    message: 'Hello from SmolFaaS Node.js function!',
    runtime: 'node',
    timestamp: new Date().toISOString(),
    hostname: os.hostname(),
  }));
}).listen(Number(process.env.PORT || 8000));
