// ECDSA signature encodings. MLS carries ECDSA signatures as the DER
// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 9420 §5.1.2, RFC 3279
// §2.2.3); WebCrypto signs and verifies the fixed-width `r || s` form (IEEE P1363). The
// parser is strict (DER, not BER): minimal lengths, minimal non-negative integers, no
// trailing bytes; anything else is not a signature.

/** r || s, each `n` bytes, to DER. */
export function p1363ToDer(signature: Uint8Array, n: number): Uint8Array {
  if (signature.length !== 2 * n) throw new RangeError(`expected a ${2 * n}-byte r||s signature`);
  const r = derInteger(signature.subarray(0, n));
  const s = derInteger(signature.subarray(n));
  const body = r.length + s.length;
  const header = body < 0x80 ? [0x30, body] : [0x30, 0x81, body];
  const out = new Uint8Array(header.length + body);
  out.set(header, 0);
  out.set(r, header.length);
  out.set(s, header.length + r.length);
  return out;
}

function derInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const digits = magnitude.subarray(start);
  const pad = (digits[0]! & 0x80) !== 0 ? 1 : 0;
  const out = new Uint8Array(2 + pad + digits.length);
  out[0] = 0x02;
  out[1] = pad + digits.length;
  out.set(digits, 2 + pad);
  return out;
}

/**
 * DER to r || s, each `n` bytes; `undefined` when the bytes are not a strict DER
 * encoding of two positive integers of at most `n` bytes.
 */
export function derToP1363(der: Uint8Array, n: number): Uint8Array | undefined {
  if (der.length < 2 || der[0] !== 0x30) return undefined;
  let at = 1;
  let length = der[at++]!;
  if (length === 0x81) {
    if (at >= der.length) return undefined;
    length = der[at++]!;
    if (length < 0x80) return undefined; // long form where the short form fits
  } else if (length >= 0x80) {
    return undefined;
  }
  if (at + length !== der.length) return undefined;
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < 2; i++) {
    if (at + 2 > der.length || der[at] !== 0x02) return undefined;
    const len = der[at + 1]!;
    at += 2;
    if (len === 0 || len >= 0x80 || at + len > der.length) return undefined;
    let digits = der.subarray(at, at + len);
    at += len;
    if ((digits[0]! & 0x80) !== 0) return undefined; // negative
    if (digits[0] === 0) {
      if (digits.length === 1) return undefined; // zero is not a valid r or s
      if ((digits[1]! & 0x80) === 0) return undefined; // non-minimal padding
      digits = digits.subarray(1);
    }
    if (digits.length > n) return undefined;
    out.set(digits, (i + 1) * n - digits.length);
  }
  return at === der.length ? out : undefined;
}
