// Decodes binary xDS resources with @grpc/grpc-js-xds's own resource types
// (the validation a proxyless gRPC client runs on every ADS response) and
// prints one JSON line per resource: {"name", "type_url", "error"}.
// Input (argv[2]): a JSON array of {"type_url", "value" (base64)}.
// Run with NODE_PATH (or cwd) resolving @grpc/grpc-js-xds.
'use strict';
const xds = require('@grpc/grpc-js-xds');
xds.register(); // registers the router filter and the load balancers
const base = '@grpc/grpc-js-xds/build/src/xds-resource-type/';
const types = {
  'type.googleapis.com/envoy.config.listener.v3.Listener':
    require(base + 'listener-resource-type').ListenerResourceType.get(),
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration':
    require(base + 'route-config-resource-type').RouteConfigurationResourceType.get(),
  'type.googleapis.com/envoy.config.cluster.v3.Cluster':
    require(base + 'cluster-resource-type').ClusterResourceType.get(),
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment':
    require(base + 'endpoint-resource-type').EndpointResourceType.get(),
};
const context = {
  server: { serverUri: 'localhost:15010', channelCredentials: null, serverFeatures: [] },
  bootstrap: { certificateProviders: {}, node: {}, xdsServers: [], authorities: {} },
};
for (const item of JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'))) {
  const result = types[item.type_url].decode(context, {
    type_url: item.type_url, value: Buffer.from(item.value, 'base64') });
  console.log(JSON.stringify({ name: result.name, type_url: item.type_url, error: result.error || null }));
}
