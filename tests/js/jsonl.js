'use strict';
/*
 * jsonl.js — the control loop of the test helpers (grpc_backends.js,
 * xds_client.js): one JSON request per line on stdin, one JSON reply per line
 * on stdout, matched by "id". A request {"id": 7, "op": "calls", ...} gets
 * {"id": 7, "ok": true, ...result} or {"id": 7, "ok": false, "error": "..."}.
 * The process ends when stdin closes.
 *
 * Also: modules() loads @grpc/* from XDS_CLIENT_DIR/node_modules (the folder
 * tests/CMakeLists.txt names, tests/js by default).
 */
const path = require('node:path');
const readline = require('node:readline');
const { createRequire } = require('node:module');

function modules() {
  const dir = process.env.XDS_CLIENT_DIR || __dirname;
  const req = createRequire(path.join(path.resolve(dir), 'package.json'));
  return {
    grpc: req('@grpc/grpc-js'),
    loader: req('@grpc/proto-loader'),
    xds: () => req('@grpc/grpc-js-xds'),
  };
}

function serve(ops) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    if (!line.trim()) return;
    let request;
    try {
      request = JSON.parse(line);
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: null, ok: false, error: `bad JSON: ${e.message}` }) + '\n');
      return;
    }
    const op = ops[request.op];
    let reply;
    try {
      if (!op) throw new Error(`unknown op ${request.op}`);
      reply = { id: request.id, ok: true, ...(await op(request)) };
    } catch (e) {
      reply = { id: request.id, ok: false, error: String(e && e.stack ? e.stack : e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
  rl.on('close', () => process.exit(0));
}

module.exports = { modules, serve };
