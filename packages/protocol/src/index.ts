// @parley/protocol: the client–server contract. MLS bytes are opaque here.

/** Version of the client–server protocol; a server refuses clients of another major version. */
export const PROTOCOL_VERSION = 1;
