// @parley/testing: public entry point. Filled by its issue; nothing is exported yet.
export {};
export { clientStoreConformance, type ClientStoreHarness } from './client-store-conformance.js';
export * from './server.js';
export * from './server-client.js';
export * from './hostile-server.js';
export * from './mls.js';
