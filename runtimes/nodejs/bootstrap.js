'use strict';
// Impuls Node.js runtime bootstrap: speaks the AWS Lambda Runtime API (2018-06-01)
// to the daemon at $AWS_LAMBDA_RUNTIME_API. Node core modules only.
const { RuntimeApi } = require('./runtime_api.js');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const env = process.env;
const PREFIX = '/2018-06-01/runtime';
const THEN_NEXT = { 'Impuls-Next': '1' }; // see main()
// Read from the environment once it is the function's (see awaitClaim).
let API_HOST, API_PORT, TASK_ROOT, GLAMBDAR, glambdar, FN;

function configure() {
  [API_HOST, API_PORT = '80'] = (env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
  api = new RuntimeApi(API_HOST, API_PORT, env.IMPULS_RUNTIME_API_SOCKET);
  TASK_ROOT = env.LAMBDA_TASK_ROOT || '/var/task';
  // The instance's constants for every call's context, read once: each read
  // of process.env is a getenv() through Node's C++ layer.
  FN = {
    name: env.AWS_LAMBDA_FUNCTION_NAME,
    version: env.AWS_LAMBDA_FUNCTION_VERSION,
    memory: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroup: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStream: env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
  // Glambdar-style functions (see glambdar.js) are adapted to (event, context).
  GLAMBDAR = env.IMPULS_HANDLER_STYLE === 'glambdar';
  glambdar = GLAMBDAR ? require('./glambdar.js') : null;
}

// ---------- pre-made sandboxes ----------
// The daemon's shells: this runtime started before any function was chosen.
// It warms its Runtime API client with one exchange with itself, over the kind
// of socket it will use (the first use of one costs Node some milliseconds of
// lazy loading), then waits until init has bound the code at /var/task and
// sends the function's environment.
function warmUp() {
  return new Promise((resolve) => {
    const net = require('net');
    const srv = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}')));
    const done = () => { srv.close(); resolve(); };
    srv.on('error', done);
    const exchange = (client) => client.request('POST', '/', '{}', {}).then(() => client.close(), () => client.close()).then(done);
    if (env.IMPULS_RUNTIME_API_SOCKET) { // in the sandbox's own /tmp; closing the server removes it
      const where = `/tmp/.impuls-warm-up-${process.pid}.sock`;
      srv.listen({ path: where }, () => exchange(new RuntimeApi('localhost', 0, where)));
    } else {
      srv.listen(0, '127.0.0.1', () => exchange(new RuntimeApi('127.0.0.1', srv.address().port)));
    }
  });
}

function awaitClaim(fd) {
  const chunks = [];
  const buf = Buffer.alloc(65536);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
  fs.closeSync(fd);
  const claimed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  // Only what changes: touching TZ, even with its own value, makes Node reset
  // its time zone, which scans all of /usr/share/zoneinfo (some 7 ms).
  for (const k of Object.keys(env)) if (!(k in claimed)) delete env[k];
  for (const [k, v] of Object.entries(claimed)) if (env[k] !== v) env[k] = v;
  process.chdir(env.LAMBDA_TASK_ROOT || '/var/task');
}

// ---------- HTTP ----------
let api; // the Runtime API client (see configure)

// Header values must be plain printable ASCII (a CR or LF would end the header).
const headerSafe = (s) => String(s).replace(/[^\x20-\x7e]/g, '?');

function postError(urlPath, errBody, headerType, headers) {
  return api.request('POST', urlPath, JSON.stringify(errBody),
    Object.assign({ 'Lambda-Runtime-Function-Error-Type': headerSafe(headerType || errBody.errorType) }, headers));
}

// Resolves once everything written so far has been handed to the OS (stdout/stderr
// are pipes: synchronous on Linux already, but this also covers files/async pipes).
// A stream with nothing buffered is not asked (an empty write is a syscall each).
function flushStdio() {
  const flush = (s) => new Promise((r) => { try { s.write('', () => r()); } catch (_) { r(); } });
  const pending = [process.stdout, process.stderr].filter((s) => s.writableLength > 0);
  return pending.length ? Promise.all(pending.map(flush)) : undefined;
}

// ---------- error formatting ----------
function errorBody(err, typeOverride, messagePrefix) {
  let errorType, errorMessage, stackTrace = [];
  try {
    if (err instanceof Error || (err && typeof err === 'object' && typeof err.message === 'string')) {
      // Subclasses that don't set .name still report their class name (class MyErr extends Error).
      errorType = err.name && err.name !== 'Error' ? String(err.name)
        : (err.constructor && err.constructor.name) || 'Error';
      errorMessage = String(err.message);
      // Drop this file's own frames; they are noise to the function's author.
      if (typeof err.stack === 'string') stackTrace = err.stack.split('\n').filter((l) => !l.includes(__filename));
    } else {
      // throw "boom" / reject({...}): like Lambda, errorType is the JS typeof.
      errorType = err === null ? 'null' : typeof err;
      errorMessage = typeof err === 'string' ? err : safeStringify(err);
    }
  } catch (_) {
    errorType = 'Error';
    errorMessage = 'thrown value could not be inspected';
  }
  if (messagePrefix) errorMessage = messagePrefix + errorMessage;
  return { errorType: typeOverride || errorType, errorMessage, stackTrace };
}

function safeStringify(v) {
  try { const s = JSON.stringify(v); if (s !== undefined) return s; } catch (_) { /* fall through */ }
  try { return String(v); } catch (_) { return '[unprintable]'; }
}

// ---------- init ----------
async function initError(body) {
  console.error(`${body.errorType}: ${body.errorMessage}`);
  await flushStdio();
  try { await postError(`${PREFIX}/init/error`, body); } catch (e) { console.error('impuls: cannot report init error:', e.message); }
  process.exit(1);
}

async function loadHandler() {
  const spec = env._HANDLER || '';
  const dot = spec.lastIndexOf('.');
  const modName = dot < 0 ? 'index' : spec.slice(0, dot);
  const fnName = dot < 0 ? spec : spec.slice(dot + 1);
  if (!modName || !fnName) {
    return initError({ errorType: 'Runtime.MalformedHandlerName', errorMessage: `Bad handler '${spec}'`, stackTrace: [] });
  }
  const base = path.resolve(TASK_ROOT, modName);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) {
    return initError({ errorType: 'Runtime.ImportModuleError',
      errorMessage: `Error: Cannot find module '${modName}' (looked for ${base}{.js,.mjs,.cjs})`, stackTrace: [] });
  }
  let mod;
  try {
    if (file.endsWith('.mjs')) mod = await import(pathToFileURL(file).href);
    else {
      try { mod = require(file); } catch (e) {
        // A .js file under "type": "module" must be imported.
        if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(file).href);
        else throw e;
      }
    }
  } catch (e) {
    if (e instanceof SyntaxError) {
      // ESM syntax errors carry no file name in message or stack, so name what we were loading.
      return initError(errorBody(e, 'Runtime.UserCodeSyntaxError', `while loading ${path.relative(TASK_ROOT, file)}: `));
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      return initError(errorBody(e, 'Runtime.ImportModuleError'));
    }
    return initError(errorBody(e));
  }
  let fn = mod && mod[fnName];
  // CJS loaded through import() (or an ESM default export object) nests exports under .default.
  if (fn === undefined && mod && mod.default) fn = mod.default[fnName];
  if (GLAMBDAR) fn = glambdar.pick(mod, fnName);
  if (typeof fn !== 'function') {
    return initError({ errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${modName}.${fnName} is ${fn === undefined ? 'undefined or not exported' : 'not a function'}`, stackTrace: [] });
  }
  return GLAMBDAR ? glambdar.wrap(fn) : fn;
}

// ---------- invocation ----------
// The in-flight invocation's reject(), so uncaught errors can be attributed to it.
let failCurrent = null;

function onStrayError(kind) {
  return (err) => {
    if (failCurrent) return failCurrent(err);
    // Outside an invocation the runtime crashes, as on Lambda.
    console.error(`impuls: ${kind} outside an invocation, exiting:`, err);
    process.exit(1);
  };
}
process.on('uncaughtException', onStrayError('uncaughtException'));
process.on('unhandledRejection', onStrayError('unhandledRejection'));

function makeContext(h, settle) {
  const deadline = Number(h['lambda-runtime-deadline-ms']) || 0;
  const remaining = () => Math.max(0, deadline - Date.now());
  const parse = (v) => { try { return v ? JSON.parse(v) : undefined; } catch (_) { return undefined; } };
  return {
    functionName: FN.name,
    functionVersion: FN.version,
    memoryLimitInMB: FN.memory,
    awsRequestId: h['lambda-runtime-aws-request-id'],
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    logGroupName: FN.logGroup,
    logStreamName: FN.logStream,
    clientContext: parse(h['lambda-runtime-client-context']),
    identity: parse(h['lambda-runtime-cognito-identity']),
    // Accepted for compatibility; the response is sent as soon as the handler finishes.
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: remaining,
    // snake_case aliases
    function_name: FN.name,
    memory_limit_in_mb: FN.memory,
    aws_request_id: h['lambda-runtime-aws-request-id'],
    get_remaining_time_in_millis: remaining,
    // legacy Lambda API
    succeed: (r) => settle(null, r),
    fail: (e) => settle(e == null ? new Error('context.fail() called') : e),
    done: (e, r) => settle(e, r),
  };
}

// Runs the handler; resolves with its result or rejects with what it threw.
function invoke(handler, event, headers) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err, res) => {
      if (settled) return;
      settled = true;
      failCurrent = null;
      if (err != null) reject(err); else resolve(res);
    };
    failCurrent = (err) => settle(err === undefined ? new Error('undefined thrown') : err);
    const ctx = makeContext(headers, settle);
    const useCallback = handler.length >= 3;
    let ret;
    try {
      ret = useCallback ? handler(event, ctx, settle) : handler(event, ctx);
    } catch (e) {
      return settle(e === undefined || e === null ? new Error(`${e} thrown`) : e);
    }
    if (ret && typeof ret.then === 'function') {
      ret.then((r) => settle(null, r),
        (e) => settle(e === undefined || e === null ? new Error(`promise rejected with ${e}`) : e));
    } else if (!useCallback) settle(null, ret);
    // else: wait for callback(err, result)
  });
}

async function main() {
  if (env.IMPULS_CLAIM_FD) {
    await warmUp();
    awaitClaim(Number(env.IMPULS_CLAIM_FD));
  }
  configure();
  const setTrace = require('./trace_env.js').install(); // before the function's code sees process.env
  const handler = await loadHandler();
  let next = await api.request('GET', `${PREFIX}/invocation/next`);
  for (;;) {
    if (next.status !== 200) throw new Error(`invocation/next returned HTTP ${next.status}: ${next.body}`);
    const h = next.headers;
    const id = h['lambda-runtime-aws-request-id'];
    setTrace(h['lambda-runtime-trace-id']);
    let event;
    if (next.body === '') event = {};
    else { try { event = JSON.parse(next.body); } catch (_) { event = next.body; } }

    const base = `${PREFIX}/invocation/${encodeURIComponent(id)}`;
    let result, error, payload;
    try { result = await invoke(handler, event, h); } catch (e) { error = e; }
    if (!error) {
      try {
        payload = JSON.stringify(result === undefined ? null : result);
        if (payload === undefined) payload = 'null'; // e.g. the handler returned a function
      } catch (e) {
        error = { errorType: 'Runtime.MalformedResult',
          errorMessage: `Handler result could not be serialized to JSON: ${e && e.message}`, stackTrace: [] };
      }
    } else {
      console.error(error); // mirror Lambda: unhandled errors appear in the function log
      error = errorBody(error);
    }
    await flushStdio();
    // Impuls-Next: the daemon answers the post with the next event (one
    // exchange per call). Anything else (the post refused, e.g. too large,
    // or a Runtime API without the extension): ask as usual.
    if (error) next = await postError(`${base}/error`, error, error.errorType.startsWith('Runtime.') ? error.errorType : 'Unhandled', THEN_NEXT);
    else next = await api.request('POST', `${base}/response`, payload, THEN_NEXT);
    if (next.status !== 200) next = await api.request('GET', `${PREFIX}/invocation/next`);
  }
}

main().catch((e) => {
  console.error('impuls: runtime failure:', e);
  process.exit(1);
});
