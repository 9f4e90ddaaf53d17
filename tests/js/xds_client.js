#!/usr/bin/env node
'use strict';
/*
 * xds_client.js — a real proxyless gRPC client (@grpc/grpc-js-xds) for the
 * proxyless suite. Controlled over stdin/stdout (jsonl.js):
 *
 *   {"op": "channel", "name": "c", "target": "xds:///echo.local:8080",
 *    "bootstrap": {...}}
 *       a channel to the target with its own xDS client and bootstrap (given
 *       as a channel option: grpc-js-xds 1.14.1 with grpc-js 1.14.7 reads
 *       GRPC_XDS_BOOTSTRAP only for its process-wide client)
 *   {"op": "calls", "channel": "c", "n": 400, "method": "/test.Echo/Say",
 *    "metadata": {"x-tier": "gold"}, "concurrency": 8, "deadline_ms": 5000,
 *    "call_id": "t1", "detail": false}
 *       n unary calls, at most `concurrency` at once, each with metadata
 *       x-call-id = "<call_id>-<i>" -> {"counts": {"a": 300, "b": 100},
 *       "errors": {"14": 2}, "samples": [first errors], "results": [per call,
 *       when detail]}
 *   {"op": "load_start", "channel": "c", "method": ..., "metadata": ...,
 *    "concurrency": 4, "deadline_ms": 5000}
 *       calls continuously in the background until load_stop
 *   {"op": "load_stop"} -> {"total": n, "failures": [{"t", "code", "details"}],
 *       "runs": [[backend or "!<code>", first_ms, last_ms, count], ...]}
 *       (completions in order, run-length encoded; times are epoch ms)
 *   {"op": "close", "channel": "c"}
 */
const path = require('node:path');
const { modules, serve } = require('./jsonl');
const { grpc, loader, xds } = modules();
xds().register();

const definition = loader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true });
const say = definition['test.Echo'].Say;
const channels = {};
let load = null;

function channel(name) {
  const c = channels[name];
  if (!c) throw new Error(`no channel ${name}`);
  return c;
}

function call(client, method, metadata, deadlineMs, callId) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata || {})) md.set(k, String(v));
  md.set('x-call-id', callId);
  const started = Date.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, say.requestSerialize, say.responseDeserialize, { message: callId }, md,
      { deadline: Date.now() + deadlineMs }, (err, reply) => {
        const ms = Date.now() - started;
        if (err) resolve({ id: callId, code: err.code, details: err.details, ms });
        else resolve({ id: callId, backend: reply.backend, address: reply.address, method: reply.method,
                       attempt: reply.attempt, tier: reply.tier, ms });
      });
  });
}

serve({
  channel: async (r) => {
    if (channels[r.name]) channels[r.name].close();
    channels[r.name] = new grpc.Client(r.target, grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(r.bootstrap),
    });
    return {};
  },
  close: async (r) => {
    channel(r.name).close();
    delete channels[r.name];
    return {};
  },
  calls: async (r) => {
    const client = channel(r.channel);
    const results = new Array(r.n);
    let next = 0;
    const worker = async () => {
      while (next < r.n) {
        const i = next++;
        results[i] = await call(client, r.method, r.metadata, r.deadline_ms || 5000, `${r.call_id || 'c'}-${i}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(r.concurrency || 1, r.n) }, worker));
    const counts = {};
    const errors = {};
    const samples = [];
    for (const res of results) {
      if (res.backend !== undefined) counts[res.backend] = (counts[res.backend] || 0) + 1;
      else {
        errors[res.code] = (errors[res.code] || 0) + 1;
        if (samples.length < 5) samples.push(res);
      }
    }
    return { counts, errors, samples, ...(r.detail ? { results } : {}) };
  },
  load_start: async (r) => {
    if (load) throw new Error('load already running');
    const client = channel(r.channel);
    load = { running: true, log: [], workers: [] };
    let seq = 0;
    const worker = async () => {
      while (load.running) {
        const res = await call(client, r.method, r.metadata, r.deadline_ms || 5000, `load-${seq++}`);
        load.log.push({ t: Date.now(), ...res });
      }
    };
    for (let i = 0; i < (r.concurrency || 1); i++) load.workers.push(worker());
    return {};
  },
  load_stop: async () => {
    if (!load) throw new Error('no load running');
    load.running = false;
    await Promise.all(load.workers);
    const runs = [];
    const failures = [];
    for (const e of load.log) {
      const key = e.backend !== undefined ? e.backend : `!${e.code}`;
      if (e.backend === undefined) failures.push({ t: e.t, id: e.id, code: e.code, details: e.details, ms: e.ms });
      const last = runs[runs.length - 1];
      if (last && last[0] === key) { last[2] = e.t; last[3] += 1; } else runs.push([key, e.t, e.t, 1]);
    }
    const total = load.log.length;
    load = null;
    return { total, failures: failures.slice(0, 50), failure_count: failures.length, runs };
  },
});
