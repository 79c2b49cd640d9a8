import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { certificateSerial, createNonce } from '../../wxpay';
import { merchantSubject, PLATFORM_SUBJECT, randomSerialHex, selfSignedCertificate } from './self-signed';

/** The sample merchant of the official docs (wxpay-v3.md §1) — obviously not a real account. */
export const DEFAULT_MCHID = '1900000109';
export const DEFAULT_APPID = 'wxd678efh567hg6787';

const MANIFEST = 'sandbox.json';
/** File names follow what WeChat Pay hands out: apiclient_key.pem / apiclient_cert.pem / pub_key.pem. */
const FILES = {
  merchantKey: 'keys/apiclient_key.pem',
  merchantCert: 'keys/apiclient_cert.pem',
  platformKey: 'keys/platform_private_key.pem',
  platformCert: 'keys/platform_cert.pem',
  platformPublicKey: 'keys/pub_key.pem',
} as const;

/** What `sandbox.json` keeps; PEMs live next to it. */
interface Manifest {
  version: 1;
  mchid: string;
  appid: string;
  apiV3Key: string;
  merchantSerialNo: string;
  platformCertSerial: string;
  publicKeyId: string;
  createdAt: string;
}

export interface SandboxKeys {
  mchid: string;
  appid: string;
  apiV3Key: string;
  merchant: { serialNo: string; privateKeyPath: string; certPath: string; publicKey: KeyObject };
  platform: { publicKeyId: string; certSerial: string; publicKeyPath: string; certPath: string; privateKey: KeyObject };
}

/**
 * Loads the sandbox's key material from `dataDir`, generating it on first start (DESIGN.md: "generated on first
 * start and kept in the data directory"). `sandbox.json` is written last, so an interrupted first start simply
 * regenerates; once it exists, a missing PEM is an error rather than a silent new identity clients don't know.
 */
export function loadOrCreateKeys(dataDir: string): SandboxKeys {
  const dir = path.resolve(dataDir);
  const manifestPath = path.join(dir, MANIFEST);
  if (!existsSync(manifestPath)) generate(dir);
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const file = (rel: string): string => {
    const p = path.join(dir, rel);
    if (!existsSync(p)) throw new Error(`sandbox key file ${p} is missing; delete ${manifestPath} to generate new key material`);
    return p;
  };
  const merchantCertPath = file(FILES.merchantCert);
  const platformCertPath = file(FILES.platformCert);
  const merchantCertPem = readFileSync(merchantCertPath, 'utf8');
  if (certificateSerial(merchantCertPem) !== m.merchantSerialNo) throw new Error(`${merchantCertPath} does not match serial ${m.merchantSerialNo} in ${manifestPath}`);
  if (certificateSerial(readFileSync(platformCertPath, 'utf8')) !== m.platformCertSerial) throw new Error(`${platformCertPath} does not match serial ${m.platformCertSerial} in ${manifestPath}`);
  const platformPublicKeyPath = file(FILES.platformPublicKey);
  return {
    mchid: m.mchid,
    appid: m.appid,
    apiV3Key: m.apiV3Key,
    merchant: {
      serialNo: m.merchantSerialNo,
      privateKeyPath: file(FILES.merchantKey),
      certPath: merchantCertPath,
      publicKey: createPublicKey(merchantCertPem),
    },
    platform: {
      publicKeyId: m.publicKeyId,
      certSerial: m.platformCertSerial,
      publicKeyPath: platformPublicKeyPath,
      certPath: platformCertPath,
      privateKey: createPrivateKey(readFileSync(file(FILES.platformKey), 'utf8')),
    },
  };
}

function generate(dir: string): void {
  mkdirSync(path.join(dir, 'keys'), { recursive: true });
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchantSerialNo = randomSerialHex();
  const platformCertSerial = randomSerialHex();
  const manifest: Manifest = {
    version: 1,
    mchid: DEFAULT_MCHID,
    appid: DEFAULT_APPID,
    apiV3Key: createNonce(32), // 32 chars of [0-9A-Za-z], as the merchant platform requires
    merchantSerialNo,
    platformCertSerial,
    publicKeyId: newPublicKeyId(new Date()),
    createdAt: new Date().toISOString(),
  };
  const write = (rel: string, text: string, secret: boolean): void => {
    writeFileSync(path.join(dir, rel), text, { mode: secret ? 0o600 : 0o644 });
  };
  write(FILES.merchantKey, merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), true);
  write(FILES.merchantCert, selfSignedCertificate({ ...merchant, serialHex: merchantSerialNo, subject: merchantSubject(manifest.mchid), years: 5 }), false);
  write(FILES.platformKey, platform.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), true);
  write(FILES.platformCert, selfSignedCertificate({ ...platform, serialHex: platformCertSerial, subject: PLATFORM_SUBJECT, years: 5 }), false);
  write(FILES.platformPublicKey, platform.publicKey.export({ type: 'spki', format: 'pem' }).toString(), false);
  const tmp = path.join(dir, `${MANIFEST}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 }); // holds the APIv3 key
  renameSync(tmp, path.join(dir, MANIFEST));
}

/**
 * A WeChat Pay public key id of the shape merchants really get: `PUB_KEY_ID_` + 34 digits, zeros, the issue
 * date (yyMMdd) and a serial (wxpay-v3.md §3; official vector V4 `PUB_KEY_ID_0000000000000024101100397200000006`).
 */
export function newPublicKeyId(issued: Date): string {
  const yyMMdd = issued.toISOString().slice(2, 10).replace(/-/g, '');
  return `PUB_KEY_ID_${'0'.repeat(13)}${yyMMdd}${randomDigits(15)}`;
}

function randomDigits(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(randomInt(10));
  return out;
}
