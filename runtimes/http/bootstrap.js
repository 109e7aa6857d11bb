'use strict';
// HTTP-server functions (mode "http"): the function is a plain HTTP server on
// 127.0.0.1:8000 inside its sandbox (a Python http.server, a Node
// http.createServer, ...). This shim starts it, waits until the port answers,
// then turns each invocation (an API Gateway v2 event) into a request to it and
// its answer into the invocation's result - as AWS's Lambda Web Adapter does.
// The daemon keeps the instance warm and reaps it like any other.
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

const env = process.env;
const [API_HOST, API_PORT] = (env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const PREFIX = '/2018-06-01/runtime';
const APP_PORT = 8000;
const TASK_ROOT = env.LAMBDA_TASK_ROOT || '/var/task';
const READY_MS = Number(env.IMPULS_HTTP_READY_MS || 9000);
const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const appAgent = new http.Agent({ keepAlive: true });

function call(opts, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const api = (method, urlPath, body, headers) => call({
  host: API_HOST, port: API_PORT, method, path: urlPath, agent: apiAgent,
  headers: Object.assign({ 'Content-Type': 'application/json' }, headers || {},
    body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}),
}, body);

function portAnswers() {
  return new Promise((resolve) => {
    const s = net.connect(APP_PORT, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// The server's argv: the function's `command` as given (a Dockerfile's CMD,
// `./server --flag`), else its handler file run by the runtime's interpreter,
// or run itself when the runtime has none (provided: a Go binary, a script).
// The file is the one named exactly as the handler when the code has it (a
// zip's `bin/www`), else IMPULS_HTTP_ENTRY: the handler with the runtime's
// extension when it has none (`main` -> `main.py`), as inline code is written.
function serverArgv() {
  if (env.IMPULS_HTTP_COMMAND) return JSON.parse(env.IMPULS_HTTP_COMMAND);
  const exact = env._HANDLER && path.join(TASK_ROOT, env._HANDLER);
  const isFile = (p) => { try { return fs.statSync(p).isFile(); } catch { return false; } };
  const entry = exact && isFile(exact) ? exact : path.join(TASK_ROOT, env.IMPULS_HTTP_ENTRY || 'index.js');
  if (env.IMPULS_HTTP_INTERPRETER === '') return [entry];
  return [env.IMPULS_HTTP_INTERPRETER || process.execPath, entry];
}

async function startServer() {
  const [file, ...args] = serverArgv();
  const child = spawn(file, args, {
    cwd: TASK_ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: Object.assign({}, env, { PORT: String(APP_PORT) }),
  });
  let exited = null;
  child.on('error', async (e) => {
    const msg = `cannot start the function's server ${JSON.stringify(file)}: ${e.message}`;
    console.error(`impuls: ${msg}`);
    await api('POST', `${PREFIX}/init/error`, JSON.stringify({ errorType: 'Runtime.InvalidEntrypoint', errorMessage: msg, stackTrace: [] }),
      { 'Lambda-Runtime-Function-Error-Type': 'Runtime.InvalidEntrypoint' }).catch(() => {});
    process.exit(1);
  });
  child.on('exit', (code, sig) => {
    exited = sig || `exit status ${code}`;
    console.error(`impuls: the function's server stopped (${exited})`);
    process.exit(1); // the instance goes with it; the daemon answers 502 and starts another
  });
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline && !exited) {
    if (await portAnswers()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  const msg = `the function's server did not answer on port ${APP_PORT} within ${READY_MS} ms`;
  await api('POST', `${PREFIX}/init/error`, JSON.stringify({ errorType: 'Runtime.HttpServerNotReady', errorMessage: msg, stackTrace: [] }),
    { 'Lambda-Runtime-Function-Error-Type': 'Runtime.HttpServerNotReady' });
  process.exit(1);
}

// Hop-by-hop headers belong to one connection, not to the request.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);

async function forward(ev) {
  const rc = (ev.requestContext && ev.requestContext.http) || {};
  const body = ev.body ? Buffer.from(ev.body, ev.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  const headers = {};
  for (const [k, v] of Object.entries(ev.headers || {})) if (!HOP.has(k)) headers[k] = v;
  // Payload 2.0 moves the Cookie header into `cookies`: the server gets it back.
  if (Array.isArray(ev.cookies) && ev.cookies.length) headers.cookie = ev.cookies.join('; ');
  headers['content-length'] = body.length;
  const res = await call({
    host: '127.0.0.1', port: APP_PORT, method: rc.method || 'GET', agent: appAgent, headers,
    path: (ev.rawPath || '/') + (ev.rawQueryString ? `?${ev.rawQueryString}` : ''),
  }, body);
  const out = {};
  let cookies;
  for (const [k, v] of Object.entries(res.headers)) {
    if (k === 'set-cookie') cookies = v; // one Set-Cookie each: a cookie's Expires has a comma
    else if (!HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { statusCode: res.status, headers: out, cookies, body: res.body.toString('base64'), isBase64Encoded: true };
}

async function main() {
  await startServer();
  for (;;) {
    const next = await api('GET', `${PREFIX}/invocation/next`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    let ev = {};
    try { ev = JSON.parse(next.body.toString('utf8')); } catch (_) { /* not an HTTP event: forward as GET / */ }
    const base = `${PREFIX}/invocation/${encodeURIComponent(id)}`;
    try {
      await api('POST', `${base}/response`, JSON.stringify(await forward(ev)));
    } catch (e) {
      await api('POST', `${base}/error`, JSON.stringify({ errorType: 'Runtime.HttpServerError',
        errorMessage: `the function's server failed the request: ${e.message}`, stackTrace: [] }),
      { 'Lambda-Runtime-Function-Error-Type': 'Runtime.HttpServerError' });
    }
  }
}

main().catch((e) => { console.error('impuls: http shim failure:', e); process.exit(1); });
