#!/usr/bin/env node
'use strict';
/*
 * grpc_echo.js — real gRPC calls through trellis's xDS server with
 * @grpc/grpc-js-xds (a proxyless client), for test_xds_server.py.
 *
 *   node grpc_echo.js '<json>'
 *   {"bootstrap": {...}, "target": "xds:///echo.local:18555",
 *    "backends": [{"name": "a", "port": 18555}, ...], "calls": 200}
 *
 * Starts one echo server per backend on 127.0.0.1:<port> (each answers with
 * its name), makes `calls` unary calls to /test.Echo/Say on the target, one
 * after the other, and prints {"counts": {"a": n, ...}, "errors": [...]}.
 * Resolves @grpc/* through XDS_CLIENT_DIR/node_modules.
 */
const path = require('node:path');
const { createRequire } = require('node:module');
const dir = process.env.XDS_CLIENT_DIR;
const req = createRequire(path.join(dir, 'package.json'));
const grpc = req('@grpc/grpc-js');
const xds = req('@grpc/grpc-js-xds');
xds.register();

const spec = JSON.parse(process.argv[2]);
const id = (b) => b;
const service = {
  Say: { path: '/test.Echo/Say', requestStream: false, responseStream: false,
         requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const servers = [];
function startServer(b) {
  return new Promise((resolve, reject) => {
    const server = new grpc.Server();
    server.addService(service, { Say: (call, cb) => cb(null, Buffer.from(b.name)) });
    server.bindAsync(`127.0.0.1:${b.port}`, grpc.ServerCredentials.createInsecure(),
                     (err) => (err ? reject(err) : (servers.push(server), resolve())));
  });
}

async function main() {
  await Promise.all(spec.backends.map(startServer));
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  // The bootstrap comes with the spec, so it goes in as a channel option: no
  // file to write, and the channel gets an xDS client of its own.
  // GRPC_XDS_BOOTSTRAP works too with grpc-js 1.14.7 and grpc-js-xds 1.14.1
  // when it is in the environment before the process starts (the README's
  // client runs that way, tests/integration/test_readme_xds.py); grpc-js-xds
  // reads it once, for its process-wide client.
  const client = new Client(spec.target, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(spec.bootstrap),
  });
  const counts = {};
  const errors = [];
  for (let i = 0; i < spec.calls; i++) {
    await new Promise((resolve) => {
      client.Say(Buffer.from('x'), { deadline: Date.now() + 10000 }, (err, res) => {
        if (err) errors.push(`${err.code} ${err.details}`);
        else counts[res.toString()] = (counts[res.toString()] || 0) + 1;
        resolve();
      });
    });
  }
  process.stdout.write(JSON.stringify({ counts, errors: errors.slice(0, 5), error_count: errors.length }) + '\n');
  client.close();
  servers.forEach((s) => s.forceShutdown());
  process.exit(0);
}
main().catch((e) => { process.stdout.write(JSON.stringify({ fatal: String(e) }) + '\n'); process.exit(1); });
setTimeout(() => { process.stdout.write(JSON.stringify({ fatal: 'timeout' }) + '\n'); process.exit(1); }, 60000).unref();
