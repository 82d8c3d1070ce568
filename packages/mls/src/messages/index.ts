// RFC 9420 wire structures and their codecs (§5–§7, §10–§12): one module per concept.

export * from './common.js';
export * from './credential.js';
export * from './extension.js';
export * from './capabilities.js';
export * from './leaf-node.js';
export * from './ratchet-tree.js';
export * from './group-context.js';
export * from './key-package.js';
export * from './proposal.js';
export * from './commit.js';
export * from './framing.js';
export * from './welcome.js';
export * from './mls-message.js';
