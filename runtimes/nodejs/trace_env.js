'use strict';
// _X_AMZN_TRACE_ID changes on every call. Written to the real process.env it
// would go through glibc's setenv, which keeps every distinct NAME=value
// string it was ever given (so that old pointers stay valid): some 150 bytes
// a call, for as long as the instance lives (docs/runtimes.md, "Environment").
// So process.env becomes a Proxy of itself that holds this one variable in
// JavaScript: reads, `in`, Object.keys, JSON.stringify and child processes
// (child_process copies process.env's keys) see it; everything else goes to
// the real environment as before (TZ still resets the time zone, values are
// still strings). Native code calling getenv() does not see it, nor do
// util.inspect(process.env) and a Worker sharing the environment;
// structuredClone(process.env) throws, as for any Proxy (docs/runtimes.md).
const KEY = '_X_AMZN_TRACE_ID';

function install() {
  const real = process.env;
  let trace = real[KEY];
  if (trace !== undefined) delete real[KEY];
  const own = (k) => k === KEY && trace !== undefined;
  process.env = new Proxy(real, {
    get: (t, k) => (k === KEY ? trace : Reflect.get(t, k)),
    set: (t, k, v) => {
      if (k !== KEY) return Reflect.set(t, k, v);
      trace = String(v);
      return true;
    },
    has: (t, k) => own(k) || (k !== KEY && Reflect.has(t, k)),
    deleteProperty: (t, k) => {
      if (k !== KEY) return Reflect.deleteProperty(t, k);
      trace = undefined;
      return true;
    },
    ownKeys: (t) => (trace === undefined ? Reflect.ownKeys(t) : Reflect.ownKeys(t).concat(KEY)),
    getOwnPropertyDescriptor: (t, k) => {
      if (k !== KEY) return Reflect.getOwnPropertyDescriptor(t, k);
      return own(k) ? { value: trace, writable: true, enumerable: true, configurable: true } : undefined;
    },
    defineProperty: (t, k, d) => {
      if (k !== KEY) return Reflect.defineProperty(t, k, d);
      trace = String(d.value);
      return true;
    },
  });
  // The bootstrap's setter: the call's trace id, or none.
  return (value) => { trace = value || undefined; };
}

module.exports = { install };
