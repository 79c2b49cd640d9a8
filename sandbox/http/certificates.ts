import { X509Certificate } from 'node:crypto';
import { aesGcmEncrypt, createNonce, toRfc3339Cst } from '../../wxpay';

/**
 * Body of `GET /v3/certificates` (wxpay-v3.md §3, certificate mode): each platform certificate, PEM encrypted with
 * AEAD_AES_256_GCM under the APIv3 key, associated_data "certificate", a fresh 12-char nonce per answer.
 */
export function certificatesBody(certs: { pem: string; serial: string }[], apiV3Key: string): { data: Record<string, unknown>[] } {
  return {
    data: certs.map(({ pem, serial }) => {
      const x509 = new X509Certificate(pem);
      const nonce = createNonce(12);
      return {
        serial_no: serial,
        effective_time: toRfc3339Cst(Date.parse(x509.validFrom)),
        expire_time: toRfc3339Cst(Date.parse(x509.validTo)),
        encrypt_certificate: {
          algorithm: 'AEAD_AES_256_GCM',
          nonce,
          associated_data: 'certificate',
          ciphertext: aesGcmEncrypt({ key: apiV3Key, nonce, associatedData: 'certificate', plaintext: pem }),
        },
      };
    }),
  };
}
