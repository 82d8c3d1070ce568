// RFC 9420 §2.1: encode/decode helpers over Writer and Reader.

import { DecodeError, MlsError } from '../errors.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export { Reader } from './reader.js';
export { Writer, MAX_VARINT } from './writer.js';

export type Encoder<T> = (w: Writer, value: T) => void;
export type Decoder<T> = (r: Reader) => T;

export function encode<T>(encoder: Encoder<T>, value: T): Uint8Array {
  const w = new Writer();
  encoder(w, value);
  return w.finish();
}

/**
 * Decodes a whole byte string: trailing bytes are an error, and any failure that is
 * not already an MlsError (a bug in a decoder) is reported as a DecodeError so that
 * input never escapes as an unexpected exception type.
 */
export function decode<T>(decoder: Decoder<T>, bytes: Uint8Array): T {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('not-bytes', 'input is not a Uint8Array');
  const r = new Reader(bytes);
  try {
    const value = decoder(r);
    r.assertDone();
    return value;
  } catch (error) {
    if (error instanceof MlsError) throw error;
    throw new DecodeError('malformed', 'input does not decode', { cause: error });
  }
}
