// RFC 9420 §9 Secret tree, §9.1 Encryption keys, §9.2 Deletion schedule; §6.3.2 sender-data
// key and nonce. The tree is derived lazily: a leaf's path from the root is split only when
// that leaf first sends, and each split keeps the sibling and deletes the parent, so the
// stored "frontier" always derives every leaf not yet reached and nothing else. A hash
// ratchet then costs three HKDF-Expands per message (key, nonce, next secret), never a
// walk from the root.
//
// Deliberately mutable: forward secrecy (§9.2) requires that a used key is deleted. A
// "new state per message" value would leave the used key in the previous value; so the
// tree is an object owned by one epoch whose only changes are deletions and ratchet steps.
// Operations are serialised internally, so concurrent calls cannot hand out one key twice.

import type { CipherSuite } from '../crypto/provider.js';
import { deriveTreeSecret, expandWithLabel } from '../crypto/labeled.js';
import { InternalError, UsageError, ValidationError } from '../errors.js';
import { leafToNode, left, right, root } from '../tree/math.js';
import type { LeafIndex, NodeIndex } from '../util/brand.js';
import { utf8Bytes } from '../util/bytes.js';
import { type AeadKey, type AeadNonce, type EncryptionSecret, type SenderDataSecret, asSecret } from './secrets.js';

/** §6.3.1: handshake messages (proposals, commits) and application messages use distinct ratchets. */
export type RatchetType = 'handshake' | 'application';

export interface SecretTreeOptions {
  /**
   * How far ahead of the next expected generation a received generation may be. Bounds
   * the work a (member) sender can force on receivers. Default 1000.
   */
  readonly maxForwardDistance?: number;
  /** How many skipped, unused keys each ratchet keeps for out-of-order messages. Default 128. */
  readonly maxSkippedKeys?: number;
}

export const DEFAULT_SECRET_TREE_OPTIONS: Required<SecretTreeOptions> = {
  maxForwardDistance: 1000,
  maxSkippedKeys: 128,
};

/** One key/nonce pair of a ratchet (§9.1). Valid only inside the callback that receives it. */
export interface RatchetKey {
  readonly generation: number;
  readonly key: AeadKey;
  readonly nonce: AeadNonce;
}

/** A kept skipped key (persistence). */
export interface SkippedKeyState {
  readonly generation: number;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/** One hash ratchet (persistence); `secret` is absent once exhausted. */
export interface RatchetState {
  readonly secret: Uint8Array | undefined;
  readonly generation: number;
  readonly evictedThrough: number;
  readonly skipped: readonly SkippedKeyState[];
}

/** What a SecretTree still holds (persistence); see SecretTree.exportState. */
export interface SecretTreeState {
  readonly nLeaves: number;
  readonly nodes: readonly { readonly node: number; readonly secret: Uint8Array }[];
  readonly ratchets: readonly { readonly leaf: number; readonly handshake: RatchetState; readonly application: RatchetState }[];
}

const MAX_GENERATION = 0xffff_ffff;
const EMPTY = new Uint8Array(0);
const LEFT = utf8Bytes('left');
const RIGHT = utf8Bytes('right');

/** §9.1 hash ratchet of one leaf for one content kind. */
class HashRatchet {
  /** ratchet_secret_[N]_[generation]; undefined once the last generation was derived. */
  secret: Uint8Array | undefined;
  /** The next generation not yet derived. */
  generation = 0;
  /** Derived but unused keys of generations below `generation`, oldest first. */
  readonly skipped = new Map<number, RatchetKey>();
  /** Every generation at or below this was dropped from `skipped` for lack of room. */
  evictedThrough = -1;

  constructor(secret: Uint8Array) {
    this.secret = secret;
  }
}

interface LeafRatchets {
  readonly handshake: HashRatchet;
  readonly application: HashRatchet;
}

export class SecretTree {
  readonly nLeaves: number;
  readonly #suite: CipherSuite;
  readonly #options: Required<SecretTreeOptions>;
  readonly #root: NodeIndex;
  /** The frontier: secrets of nodes whose children were not derived yet. */
  readonly #nodes = new Map<number, Uint8Array>();
  readonly #ratchets = new Map<number, LeafRatchets>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(suite: CipherSuite, encryptionSecret: Uint8Array, nLeaves: number, options: Required<SecretTreeOptions>) {
    this.#suite = suite;
    this.nLeaves = nLeaves;
    this.#options = options;
    this.#root = root(nLeaves);
    this.#nodes.set(this.#root, encryptionSecret);
  }

  /**
   * The secret tree of an epoch with `nLeaves` leaves (a power of two, as the ratchet
   * tree's). The encryption secret's bytes are copied: the caller deletes its own copy.
   */
  static create(suite: CipherSuite, encryptionSecret: EncryptionSecret, nLeaves: number, options: SecretTreeOptions = {}): SecretTree {
    const opts = { ...DEFAULT_SECRET_TREE_OPTIONS, ...options };
    if (!Number.isInteger(opts.maxForwardDistance) || opts.maxForwardDistance < 0) {
      throw new UsageError('bad-option', 'maxForwardDistance must be a non-negative integer');
    }
    if (!Number.isInteger(opts.maxSkippedKeys) || opts.maxSkippedKeys < 0) {
      throw new UsageError('bad-option', 'maxSkippedKeys must be a non-negative integer');
    }
    return new SecretTree(suite, encryptionSecret.bytes.slice(), nLeaves, opts);
  }

  /**
   * Sender side: runs `use` with the next unused key of `leaf`'s ratchet. The generation
   * is consumed whatever `use` does, so a key/nonce pair never encrypts twice.
   */
  withNextKey<T>(leaf: LeafIndex, type: RatchetType, use: (key: RatchetKey) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      const ratchet = await this.#ratchet(leaf, type);
      const key = await this.#step(ratchet);
      try {
        return await use(key);
      } finally {
        destroyKey(key);
      }
    });
  }

  /**
   * Receiver side: runs `use` with the key of `generation`. When `use` resolves, the key
   * is deleted (a second message with this generation is then refused as a replay);
   * when it throws (say, the AEAD tag did not verify), the key is kept for the genuine
   * message. Skipped generations are kept, up to `maxSkippedKeys`, for later messages.
   *
   * Refuses with ValidationError: `leaf-out-of-range`, `generation-reused` (already
   * used), `generation-expired` (its key was dropped), `generation-too-far` (beyond
   * `maxForwardDistance`).
   */
  withKey<T>(leaf: LeafIndex, type: RatchetType, generation: number, use: (key: RatchetKey) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
        throw new ValidationError('bad-generation', 'generation is not a uint32');
      }
      const ratchet = await this.#ratchet(leaf, type);
      if (generation < ratchet.generation) {
        const kept = ratchet.skipped.get(generation);
        if (kept === undefined) {
          if (generation <= ratchet.evictedThrough) {
            throw new ValidationError('generation-expired', `generation ${generation} is too old: its key was deleted`);
          }
          throw new ValidationError('generation-reused', `generation ${generation} was already used`);
        }
        const result = await use(kept);
        ratchet.skipped.delete(generation);
        destroyKey(kept);
        return result;
      }
      if (generation - ratchet.generation > this.#options.maxForwardDistance) {
        throw new ValidationError('generation-too-far', `generation ${generation} is too far ahead of ${ratchet.generation}`);
      }
      while (ratchet.generation < generation) this.#keep(ratchet, await this.#step(ratchet));
      const key = await this.#step(ratchet);
      let result: T;
      try {
        result = await use(key);
      } catch (error) {
        this.#keep(ratchet, key);
        throw error;
      }
      destroyKey(key);
      return result;
    });
  }

  /**
   * Persistence (added by the group layer for serializeState): what the tree still
   * holds — frontier node secrets and per-leaf ratchets with their kept skipped keys.
   * Deleted secrets are absent, so they stay deleted across a round trip. The result
   * holds secret bytes (copies): the caller encodes it and must never log it.
   */
  exportState(): SecretTreeState {
    const copyKey = (k: RatchetKey): SkippedKeyState => ({ generation: k.generation, key: k.key.bytes.slice(), nonce: k.nonce.bytes.slice() });
    const ratchet = (r: HashRatchet): RatchetState => ({
      secret: r.secret?.slice(),
      generation: r.generation,
      evictedThrough: r.evictedThrough,
      skipped: [...r.skipped.values()].map(copyKey),
    });
    return {
      nLeaves: this.nLeaves,
      nodes: [...this.#nodes].map(([node, secret]) => ({ node, secret: secret.slice() })),
      ratchets: [...this.#ratchets].map(([leaf, r]) => ({ leaf, handshake: ratchet(r.handshake), application: ratchet(r.application) })),
    };
  }

  /** Rebuilds a tree from `exportState()`; takes ownership of the state's buffers. */
  static restore(suite: CipherSuite, state: SecretTreeState, options: SecretTreeOptions = {}): SecretTree {
    const opts = { ...DEFAULT_SECRET_TREE_OPTIONS, ...options };
    const tree = new SecretTree(suite, new Uint8Array(suite.kdf.nh), state.nLeaves, opts);
    tree.#nodes.clear();
    for (const { node, secret } of state.nodes) tree.#nodes.set(node, secret);
    const ratchet = (r: RatchetState): HashRatchet => {
      const h = new HashRatchet(new Uint8Array(0));
      h.secret = r.secret;
      h.generation = r.generation;
      h.evictedThrough = r.evictedThrough;
      for (const k of r.skipped) h.skipped.set(k.generation, { generation: k.generation, key: asSecret(k.key), nonce: asSecret(k.nonce) });
      return h;
    };
    for (const r of state.ratchets) tree.#ratchets.set(r.leaf, { handshake: ratchet(r.handshake), application: ratchet(r.application) });
    return tree;
  }

  /** The next generation `leaf`'s ratchet would hand out (for tests and diagnostics). */
  async nextGeneration(leaf: LeafIndex, type: RatchetType): Promise<number> {
    return this.#exclusive(async () => (await this.#ratchet(leaf, type)).generation);
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #keep(ratchet: HashRatchet, key: RatchetKey): void {
    ratchet.skipped.set(key.generation, key);
    while (ratchet.skipped.size > this.#options.maxSkippedKeys) {
      const oldest = ratchet.skipped.keys().next().value;
      if (oldest === undefined) break;
      destroyKey(ratchet.skipped.get(oldest));
      ratchet.skipped.delete(oldest);
      ratchet.evictedThrough = Math.max(ratchet.evictedThrough, oldest);
    }
  }

  /** Derives key and nonce of `ratchet.generation`, moves the ratchet one step, deletes the old secret. */
  async #step(ratchet: HashRatchet): Promise<RatchetKey> {
    const secret = ratchet.secret;
    if (secret === undefined) throw new ValidationError('ratchet-exhausted', 'the ratchet has no generation left');
    const suite = this.#suite;
    const j = ratchet.generation;
    const last = j === MAX_GENERATION;
    const [key, nonce, next] = await Promise.all([
      deriveTreeSecret(suite, secret, 'key', j, suite.aead.nk),
      deriveTreeSecret(suite, secret, 'nonce', j, suite.aead.nn),
      last ? Promise.resolve(undefined) : deriveTreeSecret(suite, secret, 'secret', j, suite.kdf.nh),
    ]);
    secret.fill(0);
    ratchet.secret = next;
    ratchet.generation = j + 1;
    return { generation: j, key: asSecret(key), nonce: asSecret(nonce) };
  }

  async #ratchet(leaf: LeafIndex, type: RatchetType): Promise<HashRatchet> {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.nLeaves) {
      throw new ValidationError('leaf-out-of-range', `leaf ${leaf} is not in a tree of ${this.nLeaves} leaves`);
    }
    let ratchets = this.#ratchets.get(leaf);
    if (ratchets === undefined) {
      const leafSecret = await this.#leafSecret(leaf);
      const nh = this.#suite.kdf.nh;
      const [handshake, application] = await Promise.all([
        expandWithLabel(this.#suite, leafSecret, 'handshake', EMPTY, nh),
        expandWithLabel(this.#suite, leafSecret, 'application', EMPTY, nh),
      ]);
      leafSecret.fill(0);
      ratchets = { handshake: new HashRatchet(handshake), application: new HashRatchet(application) };
      this.#ratchets.set(leaf, ratchets);
    }
    return ratchets[type];
  }

  /** Walks from the root to the leaf, splitting every stored node on the way (§9, §9.2). */
  async #leafSecret(leaf: LeafIndex): Promise<Uint8Array> {
    const target = leafToNode(leaf);
    let node = this.#root;
    while (node !== target) {
      const l = left(node)!;
      const r = right(node)!;
      const secret = this.#nodes.get(node);
      if (secret !== undefined) {
        const nh = this.#suite.kdf.nh;
        const [ls, rs] = await Promise.all([
          expandWithLabel(this.#suite, secret, 'tree', LEFT, nh),
          expandWithLabel(this.#suite, secret, 'tree', RIGHT, nh),
        ]);
        this.#nodes.set(l, ls);
        this.#nodes.set(r, rs);
        this.#nodes.delete(node);
        secret.fill(0);
      }
      node = target < node ? l : r;
    }
    const secret = this.#nodes.get(target);
    if (secret === undefined) throw new InternalError('leaf-secret-missing', `no secret left for leaf ${leaf}`);
    this.#nodes.delete(target);
    return secret;
  }
}

function destroyKey(key: RatchetKey | undefined): void {
  key?.key.destroy();
  key?.nonce.destroy();
}

/**
 * §6.3.2 sender-data key and nonce, from the first KDF.Nh bytes of the content
 * ciphertext (all of it when shorter).
 */
export async function senderDataKeyNonce(
  suite: CipherSuite,
  senderDataSecret: SenderDataSecret,
  ciphertext: Uint8Array,
): Promise<{ key: AeadKey; nonce: AeadNonce }> {
  const sample = ciphertext.subarray(0, suite.kdf.nh);
  const [key, nonce] = await Promise.all([
    expandWithLabel(suite, senderDataSecret.bytes, 'key', sample, suite.aead.nk),
    expandWithLabel(suite, senderDataSecret.bytes, 'nonce', sample, suite.aead.nn),
  ]);
  return { key: asSecret(key), nonce: asSecret(nonce) };
}
