/**
 * Strict decoding of standard Base64 (RFC 4648 §4), for the two places WeChat Pay sends it: signatures
 * (`Wechatpay-Signature`, wxpay-v3.md §3) and AEAD ciphertexts (`resource.ciphertext`, §4).
 *
 * Node's own decoder is lenient: it skips characters outside the alphabet, stops at the first '=' and reads the
 * base64url '-' and '_' as well. So the strict rule is checked without scanning every character with a regex:
 * the text must be ASCII (a UTF-16 unit above 0xFF would be read by its low byte), hold no '-' or '_', and decode
 * to exactly ⌊3B/4⌋ bytes, B being its length without the trailing '='. Every character Node skips or stops at
 * makes the result shorter than that, except when B ≡ 1 (mod 4), where one lost character does not show; that
 * length is never the encoding of whole bytes, so it is refused (canonical) or checked character by character.
 */

export interface Base64Rule {
  /** How many '=' may end the text (the signature rule allows two; the ciphertext rule any number). */
  maxPadding: number;
  /** Also require the canonical encoding: no length ≡ 1 (mod 4) and zero bits after the last whole byte. */
  canonical: boolean;
}

const EQUALS = 0x3d;
const ALPHABET_ONLY = /^[A-Za-z0-9+/]*$/;

/** The decoded bytes, or undefined when `text` breaks the rule. */
export function decodeBase64(text: string, rule: Base64Rule): Buffer | undefined {
  let body = text.length;
  while (body > 0 && text.charCodeAt(body - 1) === EQUALS) body--;
  if (body === 0 || text.length - body > rule.maxPadding) return undefined;
  if (Buffer.byteLength(text, 'utf8') !== text.length || text.includes('-') || text.includes('_')) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const rest = body % 4;
  if (rest === 1) {
    if (rule.canonical || !ALPHABET_ONLY.test(text.slice(0, body))) return undefined;
  } else if (bytes.length !== Math.floor((body * 3) / 4)) {
    return undefined;
  }
  // With 2 (3) characters in the last group only the high 2 (4) bits of the last one carry data.
  if (rule.canonical && rest !== 0 && (sextet(text.charCodeAt(body - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  return bytes;
}

/** Value of one alphabet character (already known to be one). */
function sextet(code: number): number {
  if (code >= 0x61) return code - 0x61 + 26; // a–z
  if (code >= 0x41) return code - 0x41; // A–Z
  if (code >= 0x30) return code - 0x30 + 52; // 0–9
  return code === 0x2b ? 62 : 63; // '+', '/'
}
