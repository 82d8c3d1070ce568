// RFC 9420 §5.1 the suite's hash, HMAC (RFC 2104) and HKDF (RFC 5869) on WebCrypto.
// WebCrypto's HKDF always runs Extract and Expand together, while MLS and HPKE call them
// separately (Expand on secrets that are already pseudorandom keys), so both steps are
// built from WebCrypto's HMAC exactly as RFC 5869 §2.2–§2.3 define them.

import { UsageError } from '../../errors.js';
import type { HpkeKdf } from '../hpke/index.js';
import type { CipherSuite } from '../provider.js';
import { HASH_LENGTH, type HashName, type KdfId } from '../suites.js';
import { buf, type SecretKeyCache } from './keys.js';

export interface WebHash {
  readonly hash: CipherSuite['hash'];
  readonly kdf: HpkeKdf;
}

export function webHash(subtle: SubtleCrypto, name: HashName, kdfId: KdfId, secrets: SecretKeyCache): WebHash {
  const nh = HASH_LENGTH[name];
  // HMAC with an empty key equals HMAC with a key of zeros (keys are zero-padded to the
  // block size), and RFC 5869 §2.2 says an absent salt is Nh zeros; WebCrypto refuses
  // empty HMAC keys, so the empty key is replaced by that equivalent one.
  const zeroKey = new Uint8Array(nh);
  const hmacAlgorithm = { name: 'HMAC', hash: name } as const;

  const hmacKey = (key: Uint8Array): Promise<CryptoKey> => {
    const k = key.length === 0 ? zeroKey : key;
    return secrets.get(k, () => subtle.importKey('raw', buf(k), hmacAlgorithm, false, ['sign']));
  };

  const mac = async (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> =>
    new Uint8Array(await subtle.sign('HMAC', await hmacKey(key), buf(data)));

  const expand = async (prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> => {
    if (!Number.isInteger(length) || length < 0 || length > 255 * nh) {
      throw new UsageError('kdf-length', `HKDF-Expand output must be 0..${255 * nh} bytes`);
    }
    const key = await hmacKey(prk);
    const out = new Uint8Array(length);
    // T(i) = HMAC(PRK, T(i-1) || info || i) with T(0) empty. `input` holds
    // T(i-1) || info || i; the first block uses only its tail.
    const input = new Uint8Array(nh + info.length + 1);
    input.set(info, nh);
    for (let i = 1, at = 0; at < length; i++, at += nh) {
      input[nh + info.length] = i;
      const message = i === 1 ? input.subarray(nh) : input;
      const block = new Uint8Array(await subtle.sign('HMAC', key, buf(message)));
      out.set(block.subarray(0, Math.min(nh, length - at)), at);
      input.set(block, 0);
    }
    return out;
  };

  return {
    hash: {
      nh,
      digest: async (data) => new Uint8Array(await subtle.digest(name, buf(data))),
      mac,
    },
    kdf: {
      id: kdfId,
      nh,
      // HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM)
      extract: (salt, ikm) => mac(salt, ikm),
      expand,
    },
  };
}
