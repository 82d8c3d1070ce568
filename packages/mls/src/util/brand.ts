// Branded numbers, so that a leaf index cannot be passed where a node index is meant
// (RFC 9420 §4.1 / Appendix C use both).

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Index of a leaf among the leaves (RFC 9420 §7.1 `LeafIndex`). */
export type LeafIndex = Brand<number, 'LeafIndex'>;
/** Index of a node in the array representation of the tree (Appendix C). */
export type NodeIndex = Brand<number, 'NodeIndex'>;

export const leafIndex = (n: number): LeafIndex => n as LeafIndex;
export const nodeIndex = (n: number): NodeIndex => n as NodeIndex;
