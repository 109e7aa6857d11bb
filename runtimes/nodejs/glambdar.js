'use strict';
// Glambdar's function shape, adapted to the Lambda one (IMPULS_HANDLER_STYLE=glambdar).
// A Glambdar handler gets req = {headers, body, json()} (body: the raw request body)
// and returns {statusCode?, headers?, body}: statusCode defaults to 200, a body
// that is not a string is sent as JSON, header values may be arrays.

// The handler: the module itself if it is a function, else its export `name`
// (or that of its default export).
exports.pick = (mod, name) => {
  if (typeof mod === 'function') return mod;
  if (mod && typeof mod[name] === 'function') return mod[name];
  const d = mod && mod.default;
  if (typeof d === 'function') return d;
  return d ? d[name] : undefined;
};

exports.wrap = (fn) => async (event, context) => {
  const body = event && typeof event.body === 'string' ? event.body : '';
  const req = {
    headers: (event && event.headers) || {},
    body,
    json: async () => JSON.parse(body),
  };
  const r = await fn(req, context);
  const res = r && typeof r === 'object' && !Array.isArray(r) ? r : { body: r };
  const headers = {};
  for (const [k, v] of Object.entries(res.headers || {})) {
    headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  let out = res.body;
  if (out === undefined || out === null) out = '';
  else if (typeof out !== 'string') {
    out = JSON.stringify(out);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  return { statusCode: res.statusCode === undefined ? 200 : res.statusCode, headers, body: out };
};
