// @parley/mls: an RFC 9420 engine. The root entry is what an application needs: the
// group API (§10–§12) as values, the wire structures and their codecs, the crypto
// provider interface, and the error tree. Backends are subpaths
// (`@parley/mls/crypto-node`, `@parley/mls/crypto-web`); the server's secret-free view
// of a group is `@parley/mls/public`. The tree, key schedule and framing layers stay
// internal: the group API is the supported way to use them.

export * from './errors.js';
export { encode, decode, Reader, Writer, type Encoder, type Decoder } from './codec/index.js';
export { CipherSuiteId, type CipherSuite, type CryptoProvider, type Hpke, type KeyPair } from './crypto/provider.js';
export { SUITES, ALL_SUITE_IDS, isCipherSuiteId, type SuiteDescriptor } from './crypto/suites.js';
export { makeKeyPackageRef, makeProposalRef, refHash } from './crypto/labeled.js';
export * from './messages/index.js';
export * from './group/index.js';
export { Secret } from './util/secret.js';
export { leafIndex, nodeIndex, type LeafIndex, type NodeIndex } from './util/brand.js';
export { toHex, fromHex, bytesEqual, constantTimeEqual } from './util/bytes.js';
