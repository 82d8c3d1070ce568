// RFC 9420 §9 Secret tree, §9.1 Encryption keys, §9.2 Deletion schedule; §6.3.2 sender-data
// key and nonce. The tree is derived lazily: a leaf's path from the root is split only when
// that leaf first sends, and each split keeps the sibling and drops the parent, so the
// stored "frontier" always derives every leaf not yet reached and nothing else. A hash
// ratchet then costs three HKDF-Expands per message (key, nonce, next secret), never a
// walk from the root.
//
// A SecretTree is an immutable value. Taking a key returns the key and a new tree without
// it (and without the ratchet secret that derived it): forward secrecy (§9.2) holds in the
// new tree. The tree the caller passed in is unchanged and still holds that key — keeping
// or dropping it is the caller's decision (the group layer hands the new tree on in the
// new GroupState). New trees share everything but the changed sender's ratchet and the
// frontier path with the old one (IndexMap), so a message costs a few small copies.
// Because old versions may still be in use, no buffer of a tree is ever zeroed in place.

import type { CipherSuite } from '../crypto/provider.js';
import { expandWithLabel, kdfLabel } from '../crypto/labeled.js';
import { InternalError, UsageError, ValidationError } from '../errors.js';
import { leafToNode, left, right, root } from '../tree/math.js';
import type { LeafIndex, NodeIndex } from '../util/brand.js';
import { utf8Bytes } from '../util/bytes.js';
import { IndexMap } from './index-map.js';
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

/**
 * One key/nonce pair of a ratchet (§9.1). Its bytes may be shared with the tree it came
 * from (a kept skipped key): use them, never change or destroy them.
 */
export interface RatchetKey {
  readonly generation: number;
  readonly key: AeadKey;
  readonly nonce: AeadNonce;
}

/** A key taken from a tree, and the tree that no longer holds it. */
export interface TakenKey {
  readonly key: RatchetKey;
  readonly tree: SecretTree;
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

/** §9.1 hash ratchet of one leaf for one content kind (immutable). */
interface HashRatchet {
  /** ratchet_secret_[N]_[generation]; undefined once the last generation was derived. */
  readonly secret: Uint8Array | undefined;
  /** The next generation not yet derived. */
  readonly generation: number;
  /** Derived but unused keys of generations below `generation`, oldest first. Never changed once built. */
  readonly skipped: ReadonlyMap<number, RatchetKey>;
  /** Every generation at or below this was dropped from `skipped` for lack of room. */
  readonly evictedThrough: number;
}

interface LeafRatchets {
  readonly handshake: HashRatchet;
  readonly application: HashRatchet;
}

/** A leaf's ratchets, with the frontier that goes with them. */
interface Reached {
  readonly nodes: IndexMap<Uint8Array>;
  readonly ratchets: LeafRatchets;
}

const NO_SKIPPED: ReadonlyMap<number, RatchetKey> = new Map();

interface Stepped {
  readonly ratchet: HashRatchet;
  readonly key: RatchetKey;
}

/** The ratchet after generation `ratchet.generation`, from that generation's [key, nonce, next secret?]. */
function stepped(ratchet: HashRatchet, [key, nonce, next]: readonly Uint8Array[]): Stepped {
  const j = ratchet.generation;
  return {
    ratchet: { secret: next, generation: j + 1, skipped: ratchet.skipped, evictedThrough: ratchet.evictedThrough },
    key: { generation: j, key: asSecret(key!), nonce: asSecret(nonce!) },
  };
}

function freshRatchet(secret: Uint8Array): HashRatchet {
  return { secret, generation: 0, skipped: NO_SKIPPED, evictedThrough: -1 };
}

export class SecretTree {
  readonly nLeaves: number;
  readonly #suite: CipherSuite;
  readonly #options: Required<SecretTreeOptions>;
  /** The frontier: secrets of nodes whose children were not derived yet, by node index. */
  readonly #nodes: IndexMap<Uint8Array>;
  /** The ratchets of leaves that were reached, by leaf index. */
  readonly #ratchets: IndexMap<LeafRatchets>;

  private constructor(suite: CipherSuite, nLeaves: number, options: Required<SecretTreeOptions>, nodes: IndexMap<Uint8Array>, ratchets: IndexMap<LeafRatchets>) {
    this.#suite = suite;
    this.nLeaves = nLeaves;
    this.#options = options;
    this.#nodes = nodes;
    this.#ratchets = ratchets;
  }

  /**
   * The secret tree of an epoch with `nLeaves` leaves (a power of two, as the ratchet
   * tree's). The encryption secret's bytes are copied: the caller deletes its own copy.
   */
  static create(suite: CipherSuite, encryptionSecret: EncryptionSecret, nLeaves: number, options: SecretTreeOptions = {}): SecretTree {
    const opts = checkedOptions(options);
    checkLeafCount(nLeaves);
    const nodes = IndexMap.empty<Uint8Array>(2 * nLeaves - 1).set(root(nLeaves), encryptionSecret.bytes.slice());
    return new SecretTree(suite, nLeaves, opts, nodes, IndexMap.empty(nLeaves));
  }

  /**
   * Sender side: the next unused key of `leaf`'s ratchet, and the tree that has moved past
   * it. Encrypt with the key, then continue from the returned tree only: taking a key
   * twice from one tree hands out the same generation twice (the §6.3.1 reuse guard
   * keeps the nonces apart, but receivers refuse the second message as a replay).
   */
  async nextKey(leaf: LeafIndex, type: RatchetType): Promise<TakenKey> {
    return this.takeNext(leaf, type);
  }

  /**
   * `nextKey` without a promise when the suite has sync primitives and `leaf` sent
   * before (every message of a sender but its first): the message path awaits only
   * what is really asynchronous.
   */
  takeNext(leaf: LeafIndex, type: RatchetType): TakenKey | Promise<TakenKey> {
    const reached = this.#reached(leaf);
    if (reached === undefined) return this.#reach(leaf).then((r) => this.#next(r, leaf, type));
    return this.#next(reached, leaf, type);
  }

  #next(reached: Reached, leaf: LeafIndex, type: RatchetType): TakenKey | Promise<TakenKey> {
    // No named closure here: the hot path should not create one per message.
    const stepped = this.#step(reached.ratchets[type]);
    if (stepped instanceof Promise) return stepped.then((s) => ({ key: s.key, tree: this.#with(reached.nodes, leaf, reached.ratchets, type, s.ratchet) }));
    return { key: stepped.key, tree: this.#with(reached.nodes, leaf, reached.ratchets, type, stepped.ratchet) };
  }

  /**
   * Receiver side: the key of `generation`, and the tree without it (a second message
   * with this generation is refused there as a replay). Skipped generations are kept in
   * the returned tree, up to `maxSkippedKeys`, for later messages. Adopt the returned
   * tree only once the message checked out, so a forgery consumes nothing.
   *
   * Refuses with ValidationError: `bad-generation`, `leaf-out-of-range`,
   * `generation-reused` (already used), `generation-expired` (its key was dropped),
   * `generation-too-far` (beyond `maxForwardDistance`).
   */
  async key(leaf: LeafIndex, type: RatchetType, generation: number): Promise<TakenKey> {
    return this.take(leaf, type, generation);
  }

  /**
   * `key` without a promise when the suite has sync primitives, `leaf` was reached
   * before and no generation has to be skipped (messages in order, or a kept skipped
   * key); the same checks and refusals (thrown, not rejected, on that path).
   */
  take(leaf: LeafIndex, type: RatchetType, generation: number): TakenKey | Promise<TakenKey> {
    if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
      throw new ValidationError('bad-generation', 'generation is not a uint32');
    }
    const reached = this.#reached(leaf);
    if (reached === undefined) return this.#reach(leaf).then((r) => this.#take(r, leaf, type, generation));
    return this.#take(reached, leaf, type, generation);
  }

  #take(reached: Reached, leaf: LeafIndex, type: RatchetType, generation: number): TakenKey | Promise<TakenKey> {
    const ratchet = reached.ratchets[type];
    if (generation < ratchet.generation) {
      const kept = ratchet.skipped.get(generation);
      if (kept === undefined) {
        if (generation <= ratchet.evictedThrough) {
          throw new ValidationError('generation-expired', `generation ${generation} is too old: its key was deleted`);
        }
        throw new ValidationError('generation-reused', `generation ${generation} was already used`);
      }
      const skipped = new Map(ratchet.skipped);
      skipped.delete(generation);
      return { key: kept, tree: this.#with(reached.nodes, leaf, reached.ratchets, type, { ...ratchet, skipped }) };
    }
    if (generation - ratchet.generation > this.#options.maxForwardDistance) {
      throw new ValidationError('generation-too-far', `generation ${generation} is too far ahead of ${ratchet.generation}`);
    }
    if (ratchet.generation === generation) return this.#next(reached, leaf, type);
    return this.#skipTo(reached, leaf, type, generation);
  }

  /** Steps `leaf`'s ratchet up to `generation`, keeping the skipped keys (bounded), then takes that generation's key. */
  async #skipTo(reached: Reached, leaf: LeafIndex, type: RatchetType, generation: number): Promise<TakenKey> {
    let current = reached.ratchets[type];
    const skipped = new Map(current.skipped);
    let evictedThrough = current.evictedThrough;
    while (current.generation < generation) {
      const stepped = await this.#step(current);
      skipped.set(stepped.key.generation, stepped.key);
      // Oldest first (Map order): drop beyond the bound, remembering how far.
      for (const oldest of skipped.keys()) {
        if (skipped.size <= this.#options.maxSkippedKeys) break;
        skipped.delete(oldest);
        evictedThrough = Math.max(evictedThrough, oldest);
      }
      current = { ...stepped.ratchet, skipped, evictedThrough };
    }
    const { ratchet: next, key } = await this.#step(current);
    return { key, tree: this.#with(reached.nodes, leaf, reached.ratchets, type, next) };
  }

  /**
   * Persistence (for serializeState): what the tree still holds — frontier node secrets
   * and per-leaf ratchets with their kept skipped keys, in index order. Deleted secrets
   * are absent, so they stay deleted across a round trip. The result holds secret bytes
   * (copies): the caller encodes it and must never log it.
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
      nodes: [...this.#nodes.entries()].map(([node, secret]) => ({ node, secret: secret.slice() })),
      ratchets: [...this.#ratchets.entries()].map(([leaf, r]) => ({ leaf, handshake: ratchet(r.handshake), application: ratchet(r.application) })),
    };
  }

  /**
   * Rebuilds a tree from `exportState()`; takes ownership of the state's buffers.
   * Refuses (ValidationError `bad-secret-tree-state`) indices outside the tree.
   */
  static restore(suite: CipherSuite, state: SecretTreeState, options: SecretTreeOptions = {}): SecretTree {
    const opts = checkedOptions(options);
    checkLeafCount(state.nLeaves);
    let nodes = IndexMap.empty<Uint8Array>(2 * state.nLeaves - 1);
    for (const { node, secret } of state.nodes) {
      if (!Number.isInteger(node) || node < 0 || node >= nodes.capacity) throw new ValidationError('bad-secret-tree-state', `node ${node} is outside the secret tree`);
      nodes = nodes.set(node, secret);
    }
    const ratchet = (r: RatchetState): HashRatchet => ({
      secret: r.secret,
      generation: r.generation,
      evictedThrough: r.evictedThrough,
      skipped: new Map(r.skipped.map((k) => [k.generation, { generation: k.generation, key: asSecret(k.key), nonce: asSecret(k.nonce) }])),
    });
    let ratchets = IndexMap.empty<LeafRatchets>(state.nLeaves);
    for (const r of state.ratchets) {
      if (!Number.isInteger(r.leaf) || r.leaf < 0 || r.leaf >= state.nLeaves) throw new ValidationError('bad-secret-tree-state', `leaf ${r.leaf} is outside the secret tree`);
      ratchets = ratchets.set(r.leaf, { handshake: ratchet(r.handshake), application: ratchet(r.application) });
    }
    return new SecretTree(suite, state.nLeaves, opts, nodes, ratchets);
  }

  /** The next generation `leaf`'s ratchet would hand out (for tests and diagnostics). */
  nextGeneration(leaf: LeafIndex, type: RatchetType): number {
    this.#checkLeaf(leaf);
    return this.#ratchets.get(leaf)?.[type].generation ?? 0;
  }

  #with(nodes: IndexMap<Uint8Array>, leaf: LeafIndex, ratchets: LeafRatchets, type: RatchetType, ratchet: HashRatchet): SecretTree {
    const updated: LeafRatchets = type === 'handshake' ? { handshake: ratchet, application: ratchets.application } : { handshake: ratchets.handshake, application: ratchet };
    return new SecretTree(this.#suite, this.nLeaves, this.#options, nodes, this.#ratchets.set(leaf, updated));
  }

  /**
   * Derives key and nonce of `ratchet.generation`; the next ratchet no longer holds the
   * secret that derived them. Synchronous when the suite has sync primitives.
   */
  #step(ratchet: HashRatchet): Stepped | Promise<Stepped> {
    const secret = ratchet.secret;
    if (secret === undefined) throw new ValidationError('ratchet-exhausted', 'the ratchet has no generation left');
    const suite = this.#suite;
    const j = ratchet.generation;
    // DeriveTreeSecret(secret, label, generation, length): the context is the uint32 generation.
    const generation = new Uint8Array([j >>> 24, (j >>> 16) & 0xff, (j >>> 8) & 0xff, j & 0xff]);
    const sync = suite.sync;
    if (sync !== undefined) {
      // The per-message case, written out: three expands and nothing else allocated.
      const { nk, nn } = suite.aead;
      const nh = suite.kdf.nh;
      const key = sync.expand(secret, kdfLabel('key', generation, nk), nk);
      const nonce = sync.expand(secret, kdfLabel('nonce', generation, nn), nn);
      const next = j === MAX_GENERATION ? undefined : sync.expand(secret, kdfLabel('secret', generation, nh), nh);
      return {
        ratchet: { secret: next, generation: j + 1, skipped: ratchet.skipped, evictedThrough: ratchet.evictedThrough },
        key: { generation: j, key: asSecret(key), nonce: asSecret(nonce) },
      };
    }
    const requests: [string, Uint8Array, number][] = [
      ['key', generation, suite.aead.nk],
      ['nonce', generation, suite.aead.nn],
    ];
    if (j !== MAX_GENERATION) requests.push(['secret', generation, suite.kdf.nh]);
    const derived = expandAll(suite, secret, requests);
    return derived instanceof Promise ? derived.then((d) => stepped(ratchet, d)) : stepped(ratchet, derived);
  }

  #checkLeaf(leaf: LeafIndex): void {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.nLeaves) {
      throw new ValidationError('leaf-out-of-range', `leaf ${leaf} is not in a tree of ${this.nLeaves} leaves`);
    }
  }

  /** `leaf`'s ratchets when the leaf was reached before (every message but its first). */
  #reached(leaf: LeafIndex): Reached | undefined {
    this.#checkLeaf(leaf);
    const ratchets = this.#ratchets.get(leaf);
    return ratchets === undefined ? undefined : { nodes: this.#nodes, ratchets };
  }

  /** `leaf`'s ratchets, and the frontier once they exist (split from the root the first time). */
  async #reach(leaf: LeafIndex): Promise<Reached> {
    this.#checkLeaf(leaf);
    const existing = this.#ratchets.get(leaf);
    if (existing !== undefined) return { nodes: this.#nodes, ratchets: existing };
    const { nodes, secret: leafSecret } = await this.#leafSecret(leaf);
    const nh = this.#suite.kdf.nh;
    const [handshake, application] = await expandAll(this.#suite, leafSecret, [
      ['handshake', EMPTY, nh],
      ['application', EMPTY, nh],
    ]);
    return { nodes, ratchets: { handshake: freshRatchet(handshake!), application: freshRatchet(application!) } };
  }

  /** Walks from the root to the leaf, splitting every stored node on the way (§9, §9.2); the leaf's secret leaves the frontier. */
  async #leafSecret(leaf: LeafIndex): Promise<{ nodes: IndexMap<Uint8Array>; secret: Uint8Array }> {
    const target = leafToNode(leaf);
    let nodes = this.#nodes;
    let node: NodeIndex = root(this.nLeaves);
    while (node !== target) {
      const l = left(node)!;
      const r = right(node)!;
      const secret = nodes.get(node);
      if (secret !== undefined) {
        const nh = this.#suite.kdf.nh;
        const [ls, rs] = await expandAll(this.#suite, secret, [
          ['tree', LEFT, nh],
          ['tree', RIGHT, nh],
        ]);
        nodes = nodes.set(l, ls).set(r, rs).set(node, undefined);
      }
      node = target < node ? l : r;
    }
    const secret = nodes.get(target);
    if (secret === undefined) throw new InternalError('leaf-secret-missing', `no secret left for leaf ${leaf}`);
    return { nodes: nodes.set(target, undefined), secret };
  }
}

/**
 * ExpandWithLabel(secret, label, context, length) for each request: synchronously when the
 * suite offers sync primitives (node:crypto), so a message costs no promise per derivation,
 * else concurrently through the async KDF.
 */
function expandAll(
  suite: CipherSuite,
  secret: Uint8Array,
  requests: readonly (readonly [label: string, context: Uint8Array, length: number])[],
): Uint8Array[] | Promise<Uint8Array[]> {
  const sync = suite.sync;
  if (sync !== undefined) return requests.map(([label, context, length]) => sync.expand(secret, kdfLabel(label, context, length), length));
  return Promise.all(requests.map(([label, context, length]) => expandWithLabel(suite, secret, label, context, length)));
}

function checkedOptions(options: SecretTreeOptions): Required<SecretTreeOptions> {
  const opts = { ...DEFAULT_SECRET_TREE_OPTIONS, ...options };
  if (!Number.isInteger(opts.maxForwardDistance) || opts.maxForwardDistance < 0) {
    throw new UsageError('bad-option', 'maxForwardDistance must be a non-negative integer');
  }
  if (!Number.isInteger(opts.maxSkippedKeys) || opts.maxSkippedKeys < 0) {
    throw new UsageError('bad-option', 'maxSkippedKeys must be a non-negative integer');
  }
  return opts;
}

function checkLeafCount(nLeaves: number): void {
  if (!Number.isInteger(nLeaves) || nLeaves < 1 || nLeaves > 2 ** 30) throw new ValidationError('bad-secret-tree-state', 'a secret tree has 1 to 2^30 leaves');
}

/**
 * §6.3.2 sender-data key and nonce, from the first KDF.Nh bytes of the content
 * ciphertext (all of it when shorter). Synchronous when the suite has sync primitives.
 */
export function senderDataKeyNonce(
  suite: CipherSuite,
  senderDataSecret: SenderDataSecret,
  ciphertext: Uint8Array,
): SenderDataKeyNonce | Promise<SenderDataKeyNonce> {
  const sample = ciphertext.subarray(0, suite.kdf.nh);
  const sync = suite.sync;
  if (sync !== undefined) {
    const { nk, nn } = suite.aead;
    return {
      key: asSecret(sync.expand(senderDataSecret.bytes, kdfLabel('key', sample, nk), nk)),
      nonce: asSecret(sync.expand(senderDataSecret.bytes, kdfLabel('nonce', sample, nn), nn)),
    };
  }
  const derived = expandAll(suite, senderDataSecret.bytes, [
    ['key', sample, suite.aead.nk],
    ['nonce', sample, suite.aead.nn],
  ]);
  return derived instanceof Promise ? derived.then(asKeyNonce) : asKeyNonce(derived);
}

export interface SenderDataKeyNonce {
  readonly key: AeadKey;
  readonly nonce: AeadNonce;
}

function asKeyNonce([key, nonce]: readonly Uint8Array[]): SenderDataKeyNonce {
  return { key: asSecret(key!), nonce: asSecret(nonce!) };
}
