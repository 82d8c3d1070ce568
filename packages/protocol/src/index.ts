// @parley/protocol: the client–server contract. MLS bytes are opaque here.

/** Version of the client–server protocol; a server refuses clients of another major version. */
export const PROTOCOL_VERSION = 1;

export * from './errors.js';
export * from './frames.js';
export * from './api.js';
export * from './device-certificate.js';
export * from './group-policy.js';
