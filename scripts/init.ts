/**
 * `weda-wxpay init`: a first weda-wxpay.config.json, valid and commented, for v3 or CloudPay — so a fresh
 * clone gets from "no configuration" to `npm run build` without hand-writing JSON. Values come from flags;
 * when stdin is a terminal, the ones not given are asked for (Enter keeps the shown default).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { COMMENT_KEY, configSettings, CONFIG_FILE_NAME, DEFAULT_FUNCTION_NAMES } from '../config';

export interface InitAnswers {
  provider: 'v3' | 'cloudpay';
  appid: string;
  /** v3: mchid; CloudPay: subMchId. */
  mchid: string;
  envId: string;
  envType: 'pre' | 'prod';
}

export const INIT_DEFAULTS: InitAnswers = {
  provider: 'v3',
  appid: 'wx0000000000000000',
  mchid: '1900000109',
  envId: 'your-env-id',
  envType: 'pre',
};

const QUESTIONS: Array<{ key: keyof InitAnswers; ask: string }> = [
  { key: 'provider', ask: 'Backend: v3 (WeChat Pay APIv3, direct merchant) or cloudpay (云开发微信支付)' },
  { key: 'appid', ask: 'Mini-program AppID' },
  { key: 'mchid', ask: 'Merchant number (商户号; CloudPay: the sub-merchant number)' },
  { key: 'envId', ask: 'CloudBase environment id' },
  { key: 'envType', ask: 'Data environment the callbacks write to: pre (体验) or prod (正式)' },
];

/** The starting configuration: every section a builder must look at, each with a `"//"` note. */
export function starterConfig(a: InitAnswers): Record<string, unknown> {
  const fn = DEFAULT_FUNCTION_NAMES;
  const common = {
    [COMMENT_KEY]: 'weda-wxpay configuration. "//" keys are notes, ignored when it is read. Check with `npx weda-wxpay build`.',
    provider: a.provider,
    appid: a.appid,
  };
  const models = {
    models: { [COMMENT_KEY]: 'Your WeDa data model identifiers (the seed tutorial\'s hand-built orders model works too).', orders: 'orders', goods: 'goods', refunds: 'refunds' },
    fields: { [COMMENT_KEY]: 'Only if your orders model uses other field names, e.g. "orderNo": "ddh", "status": "zfzt" as in the tutorial.' },
    envType: a.envType,
    functions: { [COMMENT_KEY]: 'Cloud function names as deployed by `tcb fn deploy`.', connector: fn.connector, payNotify: fn.payNotify, refundNotify: fn.refundNotify, reconcile: fn.reconcile },
  };
  if (a.provider === 'cloudpay') {
    return {
      ...common,
      subMchId: a.mchid,
      cloudpay: {
        [COMMENT_KEY]: 'CloudPay calls these functions back with the payment and refund results; no keys or certificates here.',
        envId: a.envId,
        payCallbackFunction: fn.payNotify,
        refundCallbackFunction: fn.refundNotify,
      },
      ...models,
    };
  }
  const notifyBase = `https://${a.envId}.service.tcloudbase.com`;
  return {
    ...common,
    mchid: a.mchid,
    v3: {
      [COMMENT_KEY]: 'From the merchant platform (商户平台 → API安全): the API certificate serial, its private key file, the APIv3 key (as an environment variable), and the WeChat Pay public key with its id. Notify URLs are the HTTP access paths of the notify functions (`tcb service create`).',
      merchantSerialNo: '0000000000000000000000000000000000000000',
      privateKeyPath: 'certs/apiclient_key.pem',
      apiV3KeyEnv: 'WXPAY_APIV3_KEY',
      platformKeys: [{ id: 'PUB_KEY_ID_0000000000000000000000000000000000', path: 'certs/pub_key.pem' }],
      notifyUrl: `${notifyBase}/pay-notify`,
      refundNotifyUrl: `${notifyBase}/refund-notify`,
    },
    ...models,
  };
}

export interface InitOptions extends Partial<InitAnswers> {
  out?: string;
  force?: boolean;
  /** Ask for what the flags leave out (default: when stdin is a terminal). */
  interactive?: boolean;
  /** Where answers are read from when asking (default stdin). */
  input?: NodeJS.ReadableStream;
  log?: (line: string) => void;
}

/** Writes the starting configuration; refuses to overwrite one without `force`. Answers the file written. */
export async function init(opts: InitOptions): Promise<string> {
  const out = path.resolve(opts.out ?? CONFIG_FILE_NAME);
  if (fs.existsSync(out) && !opts.force) throw new Error(`${out} exists; pass --force to replace it`);
  const answers: InitAnswers = { ...INIT_DEFAULTS };
  for (const { key } of QUESTIONS) if (opts[key] !== undefined) (answers as unknown as Record<string, string>)[key] = opts[key] as string;
  if (opts.interactive ?? process.stdin.isTTY) {
    // Lines are read as they come (typed, or piped all at once); an ended input keeps the remaining defaults.
    const rl = readline.createInterface({ input: opts.input ?? process.stdin, terminal: false });
    const lines = rl[Symbol.asyncIterator]();
    try {
      for (const { key, ask } of QUESTIONS) {
        if (opts[key] !== undefined) continue;
        process.stderr.write(`${ask} [${answers[key]}]: `);
        const next = await lines.next();
        const reply = next.done ? '' : String(next.value).trim();
        if (reply) (answers as unknown as Record<string, string>)[key] = reply;
      }
    } finally {
      rl.close();
    }
  }
  if (answers.provider !== 'v3' && answers.provider !== 'cloudpay') throw new Error(`provider must be "v3" or "cloudpay" (got "${answers.provider}")`);
  const config = starterConfig(answers);
  configSettings(config); // the same validation build and start run: a wrong appid is named before anything is written
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  const log = opts.log ?? (() => {});
  log(`wrote ${out} (${answers.provider})`);
  log(answers.provider === 'v3'
    ? 'next: put apiclient_key.pem and pub_key.pem in certs/, fill merchantSerialNo and the public key id, export WXPAY_APIV3_KEY, then `npx weda-wxpay build`'
    : 'next: `npx weda-wxpay build`, then deploy with `tcb fn deploy --all` (see IMPORT.md from `npx weda-wxpay package`)');
  return out;
}
