// RFC 9420 §8.4 Pre-shared keys: chaining the PSKs of a commit (or of a Welcome's
// GroupSecrets) into one psk_secret for the key schedule.
//
//   psk_extracted_[i] = KDF.Extract(0, psk_[i])
//   psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
//   psk_secret_[0]    = 0
//   psk_secret_[i+1]  = KDF.Extract(psk_input_[i], psk_secret_[i])

import { Writer } from '../codec/writer.js';
import type { CipherSuite } from '../crypto/provider.js';
import { expandWithLabel } from '../crypto/labeled.js';
import { UsageError, ValidationError } from '../errors.js';
import { encodePreSharedKeyID, type PreSharedKeyID } from '../messages/proposal.js';
import { type PskSecret, asSecret } from './secrets.js';

/** One PSK to inject: its identifier as it appears in the commit or GroupSecrets, and its value. */
export interface PskInput {
  readonly id: PreSharedKeyID;
  readonly psk: Uint8Array;
}

/** PSKLabel = struct { PreSharedKeyID id; uint16 index; uint16 count; } */
function pskLabel(id: PreSharedKeyID, index: number, count: number): Uint8Array {
  const w = new Writer(64 + id.pskNonce.length);
  encodePreSharedKeyID(w, id);
  return w.u16(index).u16(count).finish();
}

/** psk_secret for the PSKs in order; the all-zero KDF.Nh value when there are none. */
export async function derivePskSecret(suite: CipherSuite, psks: readonly PskInput[]): Promise<PskSecret> {
  if (psks.length > 0xffff) throw new UsageError('too-many-psks', 'at most 65535 PSKs fit a PSKLabel');
  const nh = suite.kdf.nh;
  const zero = new Uint8Array(nh);
  // The expensive halves are independent per PSK; only the final Extract chains.
  const inputs = await Promise.all(
    psks.map(async ({ id, psk }, i) => {
      const extracted = await suite.kdf.extract(zero, psk);
      const input = await expandWithLabel(suite, extracted, 'derived psk', pskLabel(id, i, psks.length), nh);
      extracted.fill(0);
      return input;
    }),
  );
  let secret: Uint8Array = zero;
  for (const input of inputs) {
    const next = await suite.kdf.extract(input, secret);
    secret.fill(0);
    input.fill(0);
    secret = next;
  }
  return asSecret(secret);
}

/**
 * Looks up the value of each PreSharedKeyID (an external PSK the application holds, or
 * the resumption_psk of an earlier epoch) and derives psk_secret. A PSK the resolver
 * does not know refuses the commit or Welcome with ValidationError `missing-psk`
 * (§12.2: the PSK must be available).
 */
export async function resolvePskSecret(
  suite: CipherSuite,
  ids: readonly PreSharedKeyID[],
  resolve: (id: PreSharedKeyID) => Uint8Array | undefined,
): Promise<PskSecret> {
  const inputs = ids.map((id) => {
    if (id.pskNonce.length !== suite.kdf.nh) {
      throw new ValidationError('bad-psk-nonce', `psk_nonce must be KDF.Nh (${suite.kdf.nh}) bytes`);
    }
    const psk = resolve(id);
    if (psk === undefined) throw new ValidationError('missing-psk', 'a PSK named by the message is not available');
    return { id, psk };
  });
  return derivePskSecret(suite, inputs);
}
