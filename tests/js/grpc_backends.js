#!/usr/bin/env node
'use strict';
/*
 * grpc_backends.js — real gRPC test backends (@grpc/grpc-js servers) for the
 * proxyless suite. Controlled over stdin/stdout (jsonl.js):
 *
 *   {"op": "start", "backends": [{"name": "a", "host": "127.0.0.2", "port": 0}, ...]}
 *       binds one server per backend (port 0: any free port) serving
 *       test.Echo/Say, test.Echo/Whoami and test.Other/Say (echo.proto);
 *       -> {"backends": {"a": "127.0.0.2:40123", ...}}
 *   {"op": "behave", "backend": "f", "fail_first": 3, "code": 14}
 *       the backend fails the first `fail_first` attempts of every call (by
 *       its x-call-id metadata) with status `code`, then answers
 *   {"op": "stats"}   -> {"stats": {"a": {"calls": n, "failed": n,
 *                          "methods": {path: n}, "attempts": {call id: n}}}}
 *   {"op": "reset"}   forgets the counts (behaviour stays)
 *
 * Every answer names the backend, its address, the method, the attempt
 * number and the x-tier metadata received (EchoReply).
 */
const path = require('node:path');
const { modules, serve } = require('./jsonl');
const { grpc, loader } = modules();

const pkg = grpc.loadPackageDefinition(loader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true }));
const backends = {};

function handler(b, method) {
  return (call, callback) => {
    const id = String(call.metadata.get('x-call-id')[0] || '');
    const attempt = (b.attempts[id] || 0) + 1;
    b.attempts[id] = attempt;
    b.calls += 1;
    b.methods[method] = (b.methods[method] || 0) + 1;
    if (attempt <= b.failFirst) {
      b.failed += 1;
      callback({ code: b.failCode, details: `backend ${b.name} fails attempt ${attempt} of call ${id}` });
      return;
    }
    callback(null, { backend: b.name, address: b.address, method, attempt,
                     tier: String(call.metadata.get('x-tier')[0] || '') });
  };
}

function start(spec) {
  const b = { name: spec.name, calls: 0, failed: 0, methods: {}, attempts: {}, failFirst: 0, failCode: 14 };
  const server = new grpc.Server();
  server.addService(pkg.test.Echo.service, {
    Say: handler(b, '/test.Echo/Say'), Whoami: handler(b, '/test.Echo/Whoami') });
  server.addService(pkg.test.Other.service, { Say: handler(b, '/test.Other/Say') });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${spec.host}:${spec.port || 0}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(new Error(`backend ${spec.name} on ${spec.host}:${spec.port}: ${err.message}`));
      b.address = `${spec.host}:${port}`;
      b.server = server;
      backends[spec.name] = b;
      resolve();
    });
  });
}

serve({
  start: async (r) => {
    await Promise.all(r.backends.map(start));
    return { backends: Object.fromEntries(Object.values(backends).map((b) => [b.name, b.address])) };
  },
  behave: async (r) => {
    const b = backends[r.backend];
    if (!b) throw new Error(`no backend ${r.backend}`);
    b.failFirst = r.fail_first || 0;
    b.failCode = r.code === undefined ? 14 : r.code;
    return {};
  },
  stats: async () => ({
    stats: Object.fromEntries(Object.values(backends).map((b) => [b.name, {
      address: b.address, calls: b.calls, failed: b.failed, methods: b.methods, attempts: b.attempts }])),
  }),
  reset: async () => {
    for (const b of Object.values(backends)) Object.assign(b, { calls: 0, failed: 0, methods: {}, attempts: {} });
    return {};
  },
});
