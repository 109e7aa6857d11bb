'use strict';
// A client for the Runtime API: one persistent HTTP/1.1 connection over a
// plain socket (TCP, or the sandbox's Unix socket when given: see unixPath),
// one request at a time, no timeout (invocation/next is a long poll). Not
// Node's http module: its request and response objects, streams and header
// checks cost a warm call more than the rest of the shim does
// (docs/performance.md). The daemon's answers always carry Content-Length.
const net = require('net');

const MAX_HEAD = 64 * 1024;

class RuntimeApi {
  // unixPath: $IMPULS_RUNTIME_API_SOCKET when the daemon offers it; a Unix
  // socket costs less per exchange than loopback TCP.
  constructor(host, port, unixPath) {
    this.host = host;
    this.port = Number(port);
    this.unixPath = unixPath || null;
    this.sock = null;
    this.used = false; // the socket has carried a whole exchange
    this.pending = null; // { resolve, reject } of the request in flight
    this.buf = Buffer.alloc(0); // bytes of an answer's head not yet parsed
    this.head = null; // { status, headers, need, chunks, have }: an answer whose body is coming
  }

  connect() {
    const sock = this.unixPath ? net.connect({ path: this.unixPath }) : net.connect(this.port, this.host);
    if (!this.unixPath) sock.setNoDelay(true);
    sock.on('data', (chunk) => this.onData(chunk));
    const gone = (err) => {
      if (this.sock !== sock) return;
      this.sock = null;
      this.buf = Buffer.alloc(0);
      this.head = null;
      const p = this.pending;
      this.pending = null;
      if (p) p.reject(err || Object.assign(new Error('the Runtime API closed the connection'), { code: 'ECONNRESET' }));
    };
    sock.on('error', gone);
    sock.on('close', () => gone(null));
    this.sock = sock;
    this.used = false;
  }

  onData(chunk) {
    const head = this.head;
    if (head) { // the head is parsed: collect the body's chunks, join them once
      head.chunks.push(chunk);
      head.have += chunk.length;
      if (head.have >= head.need) this.finish(Buffer.concat(head.chunks, head.have), head);
      return;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.pending) return;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buf.length > MAX_HEAD) this.fail(new Error('the Runtime API sent an oversized header'));
      return;
    }
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
    }
    if (headers['transfer-encoding']) return this.fail(new Error('the Runtime API sent a chunked answer'));
    const length = Number(headers['content-length'] || 0);
    if (!Number.isSafeInteger(length) || length < 0 || !(status >= 100)) {
      return this.fail(new Error('the Runtime API sent a malformed answer'));
    }
    const rest = this.buf.subarray(end + 4);
    this.buf = Buffer.alloc(0);
    const h = { status, headers, need: length, chunks: [rest], have: rest.length };
    if (h.have >= h.need) this.finish(rest, h);
    else this.head = h;
  }

  // A whole answer: data holds its body and maybe bytes after it.
  finish(data, h) {
    this.head = null;
    const body = data.toString('utf8', 0, h.need);
    if (data.length > h.need) this.buf = data.subarray(h.need);
    this.used = true;
    const p = this.pending;
    this.pending = null;
    if ((h.headers.connection || '').toLowerCase() === 'close') this.close();
    p.resolve({ status: h.status, headers: h.headers, body });
  }

  fail(err) {
    const p = this.pending;
    this.pending = null;
    this.close();
    if (p) p.reject(err);
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.sock = null;
    this.buf = Buffer.alloc(0);
    this.head = null;
  }

  // Resolves with { status, headers (lower-case names), body (a string) }.
  request(method, urlPath, body, headers, retried) {
    return new Promise((resolve, reject) => {
      if (!this.sock) this.connect();
      const reused = this.used;
      this.pending = {
        resolve,
        reject: (err) => {
          // The daemon may close an idle keep-alive socket just as we reuse it: retry once.
          if (reused && !retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
            resolve(this.request(method, urlPath, body, headers, true));
          } else reject(err);
        },
      };
      // One write: the head is ASCII (header values are made so), the body UTF-8.
      let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${this.host}\r\n`;
      if (body !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
      for (const k in headers) head += `${k}: ${headers[k]}\r\n`;
      this.sock.write(body === undefined ? head + '\r\n' : head + '\r\n' + body);
    });
  }
}

module.exports = { RuntimeApi };
