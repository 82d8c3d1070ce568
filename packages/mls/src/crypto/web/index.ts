// The browser crypto backend: a CryptoProvider (RFC 9420 §5.1) on WebCrypto, for browsers
// and any runtime with a standard `crypto.subtle` (Node's globalThis.crypto too). Keys are
// imported once and cached. @noble/ciphers supplies ChaCha20-Poly1305, which WebCrypto
// lacks. HPKE (RFC 9180) is the engine's shared one (../hpke) over these primitives.
// Suites 4 and 6 (X448 / Ed448) are not offered: WebCrypto has neither curve.

import { CryptoError, UsageError } from '../../errors.js';
import { DhKem, HpkeBase } from '../hpke/index.js';
import type { CipherSuite, CipherSuiteId, CryptoProvider } from '../provider.js';
import { ALL_SUITE_IDS, KDF_HASH, KEMS, SUITES, type SuiteDescriptor } from '../suites.js';
import { webAead } from './aead.js';
import { webDh, type WebDhCurve } from './dh.js';
import { webHash } from './hash.js';
import { BoundedCache, SecretKeyCache } from './keys.js';
import { WEB_SIGNATURE_SCHEMES, webSignature } from './signature.js';

/** How many imported asymmetric keys a provider keeps (enough for every member of a large group). */
const KEY_CACHE_SIZE = 4096;
/** crypto.getRandomValues fills at most this many bytes per call. */
const MAX_RANDOM_CHUNK = 65536;

function webCurve(suite: SuiteDescriptor): WebDhCurve | undefined {
  const curve = KEMS[suite.kem].curve;
  return curve === 'X448' ? undefined : curve;
}

/** The suites whose every primitive WebCrypto (or, for ChaCha20-Poly1305, @noble/ciphers) offers. */
export const WEB_SUITES: readonly CipherSuiteId[] = ALL_SUITE_IDS.filter(
  (id) => webCurve(SUITES[id]) !== undefined && WEB_SIGNATURE_SCHEMES[SUITES[id].signature] !== undefined,
);

export interface WebCryptoOptions {
  /** Source of randomness; defaults to globalThis.crypto.getRandomValues. */
  readonly getRandomValues?: (array: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;
}

/**
 * A CryptoProvider on WebCrypto. `subtle` defaults to globalThis.crypto.subtle. Each call
 * makes a provider with its own key caches: create one and share it.
 */
export function webCryptoProvider(subtle?: SubtleCrypto, options: WebCryptoOptions = {}): CryptoProvider {
  const sc = subtle ?? (globalThis.crypto as Crypto | undefined)?.subtle;
  if (sc === undefined) throw new UsageError('no-webcrypto', 'no SubtleCrypto: pass one, or run where globalThis.crypto.subtle exists');
  const fill = options.getRandomValues ?? ((array: Uint8Array<ArrayBuffer>) => globalThis.crypto.getRandomValues(array));
  const randomBytes = (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += MAX_RANDOM_CHUNK) fill(out.subarray(at, Math.min(length, at + MAX_RANDOM_CHUNK)));
    return out;
  };

  const keys = new BoundedCache<CryptoKey>(KEY_CACHE_SIZE);
  const publics = new BoundedCache<Uint8Array>(KEY_CACHE_SIZE);
  const secrets = new SecretKeyCache();
  const built = new Map<CipherSuiteId, CipherSuite>();

  const build = (d: SuiteDescriptor, curve: WebDhCurve): CipherSuite => {
    const kem = KEMS[d.kem];
    const { hash, kdf } = webHash(sc, d.hash, d.kdf, secrets);
    const kemKdf = kem.kdf === d.kdf ? kdf : webHash(sc, KDF_HASH[kem.kdf], kem.kdf, secrets).kdf;
    const aead = webAead(sc, d.aead, secrets);
    const scheme = WEB_SIGNATURE_SCHEMES[d.signature]!;
    return {
      id: d.id,
      name: d.name,
      hash,
      kdf,
      aead,
      hpke: new HpkeBase(new DhKem(kem, webDh(sc, curve, keys, publics), kemKdf), kdf, aead),
      signature: webSignature(sc, scheme, keys),
      randomBytes,
    };
  };

  return {
    name: 'webcrypto',
    supportedSuites: WEB_SUITES,
    suite(id: number): CipherSuite {
      const suiteId = id as CipherSuiteId;
      const cached = built.get(suiteId);
      if (cached !== undefined) return cached;
      const descriptor = (WEB_SUITES as readonly number[]).includes(id) ? SUITES[suiteId] : undefined;
      const curve = descriptor === undefined ? undefined : webCurve(descriptor);
      if (descriptor === undefined || curve === undefined) {
        throw new CryptoError('unsupported-cipher-suite', `cipher suite ${id} is not offered by the webcrypto backend`);
      }
      const suite = build(descriptor, curve);
      built.set(suiteId, suite);
      return suite;
    },
  };
}
