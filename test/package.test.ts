/**
 * `npm run package` (scripts/package.ts): a v3 and a CloudPay configuration — the seed tutorial's hand-built
 * orders model `wxzfmbddsj_e3xp7j6` with ddh / zfzt — packaged into temp folders. Checked: model files named
 * after the configured models with the mapped fields, the connector against @cloudbase/cals, METHODS.md
 * covering every manifest method, cloudbaserc.json against our deploy schema, IMPORT.md in both languages with
 * nothing left unfilled, no key material anywhere, and bad input refused without a half-written folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import Ajv from 'ajv';
import { MANIFEST } from '../connector';
import { buildWedaModels } from '../datasources/models';
import { cloudbasercProblems } from '../scripts/build';
import { packageForWeda, PackageResult, renderGuide } from '../scripts/package';
import { REPO_ROOT } from './helpers/paths';

const FIXTURE_APP = path.join(REPO_ROOT, 'test', 'fixtures', 'app.json');
const SEED_ORDERS = 'wxzfmbddsj_e3xp7j6';
const SEED_FIELDS = { orderNo: 'ddh', status: 'zfzt' };
const API_V3_KEY = 'Zq7Wm2Xc9Lp4Rt6Yb1Nv8Kd3Hs5Gf0Ja';

const calsSchema = JSON.parse(fs.readFileSync(require.resolve('@cloudbase/cals/lib/schema/platform_data_source.json'), 'utf8'));

/** The check test/connector-export.test.ts applies to the exported connector. */
function validateWithCals(doc: unknown): string[] {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(calsSchema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** Base64 lines of the private key: none may appear in the package, in any form. */
const PRIVATE_KEY_LINES = PRIVATE_PEM.split('\n').filter((l) => l && !l.startsWith('-----'));

const v3Config = {
  provider: 'v3',
  appid: 'wx1234567890abcdef',
  mchid: '1900000109',
  envType: 'pre',
  v3: {
    merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
    privateKeyPath: 'certs/apiclient_key.pem',
    apiV3Key: API_V3_KEY,
    platformKeys: [{ id: 'PUB_KEY_ID_01142321349124100000000000000042', path: 'certs/pub_key.pem' }],
    notifyUrl: 'https://shop-1a2b.ap-shanghai.app.tcloudbase.com/wxpay/pay-notify',
    refundNotifyUrl: 'https://shop-1a2b.ap-shanghai.app.tcloudbase.com/wxpay/refund-notify',
  },
  models: { orders: SEED_ORDERS, goods: 'wxzfmbspxx_k2m9' },
  fields: SEED_FIELDS,
  functions: { connector: 'shop-pay-connector' },
};

const cloudpayConfig = {
  provider: 'cloudpay',
  appid: 'wx1234567890abcdef',
  subMchId: '1900000109',
  envType: 'prod',
  cloudpay: { envId: 'cloud1-7g8h9i', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
  models: { orders: SEED_ORDERS },
  fields: SEED_FIELDS,
};

let work: string;

/** A project folder with the configuration and its key files; answers the config path. */
function project(name: string, config: unknown): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'certs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'certs', 'apiclient_key.pem'), PRIVATE_PEM);
  fs.writeFileSync(path.join(dir, 'certs', 'pub_key.pem'), PUBLIC_PEM);
  const configPath = path.join(dir, 'weda-wxpay.config.json');
  fs.writeFileSync(configPath, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return configPath;
}

function pack(configPath: string, extra: Parameters<typeof packageForWeda>[0] = {}): Promise<PackageResult> {
  return packageForWeda({ configPath, outDir: path.join(path.dirname(configPath), 'dist', 'weda-import'), appJson: FIXTURE_APP, root: REPO_ROOT, ...extra });
}

const read = (r: PackageResult, rel: string) => fs.readFileSync(path.join(r.outDir, rel), 'utf8');

let v3: PackageResult;
let cloudpay: PackageResult;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-package-'));
  v3 = await pack(project('v3', v3Config));
  cloudpay = await pack(project('cloudpay', cloudpayConfig));
}, 60_000);
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the package layout', () => {
  it('holds models, app, connector, functions, cloudbaserc.json, .env.example and IMPORT.md', () => {
    for (const r of [v3, cloudpay]) {
      expect(r.files).toEqual(expect.arrayContaining([
        '.env.example', 'IMPORT.md', 'app/app.json', 'cloudbaserc.json', 'connector/METHODS.md', 'connector/connector.json',
      ]));
    }
    expect(v3.files.filter((f) => f.startsWith('models/'))).toEqual(['models/refunds.json', `models/${SEED_ORDERS}.json`, 'models/wxzfmbspxx_k2m9.json']);
    expect(cloudpay.files.filter((f) => f.startsWith('models/'))).toEqual(['models/goods.json', 'models/refunds.json', `models/${SEED_ORDERS}.json`]);
    expect(v3.warnings).toEqual([]);
  });

  it('names the model files after the configured models, fields renamed by the mapping (tcb db push: file name = identifier)', () => {
    const orders = JSON.parse(read(v3, `models/${SEED_ORDERS}.json`));
    expect(orders).toEqual(buildWedaModels({ model: SEED_ORDERS, goodsModel: 'wxzfmbspxx_k2m9', fields: SEED_FIELDS })[SEED_ORDERS]);
    expect(Object.keys(orders.properties)).toEqual(expect.arrayContaining(['ddh', 'zfzt', 'amount', 'openid']));
    expect(orders.properties).not.toHaveProperty('orderNo');
    expect(orders.properties).not.toHaveProperty('status');
    expect(orders.properties.ddh).toMatchObject({ type: 'string', title: '订单号', 'x-unique': true });
    expect(orders.properties.zfzt).toMatchObject({ type: 'number', enum: [1, 2, 3, 4] });
    expect(orders.required).toEqual(expect.arrayContaining(['ddh', 'zfzt']));
    expect(orders).toMatchObject({ type: 'object', 'x-kind': 'tcb' });
    const goods = JSON.parse(read(v3, 'models/wxzfmbspxx_k2m9.json'));
    expect(Object.keys(goods.properties)).toEqual(expect.arrayContaining(['name', 'price', 'onSale']));
  });

  it('copies the template app as is', () => {
    expect(read(v3, 'app/app.json')).toBe(fs.readFileSync(FIXTURE_APP, 'utf8'));
  });

  it('writes the built functions and a cloudbaserc.json our deploy schema accepts, under the configured names', () => {
    const rc = JSON.parse(read(v3, 'cloudbaserc.json'));
    expect(cloudbasercProblems(rc)).toEqual([]);
    expect(rc.functions.map((f: { name: string }) => f.name)).toEqual(['wxpay-pay-notify', 'wxpay-refund-notify', 'wxpay-reconcile', 'shop-pay-connector']);
    for (const f of rc.functions) expect(v3.files).toContain(`functions/${f.name}/index.js`);
    expect(read(v3, 'functions/wxpay-pay-notify/index.js')).toContain(SEED_ORDERS);
    const rcCloudPay = JSON.parse(read(cloudpay, 'cloudbaserc.json'));
    expect(cloudbasercProblems(rcCloudPay)).toEqual([]);
  });

  it('lists the deploy variables in .env.example, names only, with the one-line PEM form', () => {
    const env = read(v3, '.env.example');
    const assignments = env.split('\n').filter((l) => /^[A-Z_0-9]+=/.test(l));
    expect(assignments).toEqual(['ENV_ID=', 'WXPAY_PRIVATE_KEY=', 'WXPAY_APIV3_KEY=', 'WXPAY_PLATFORM_KEY_1=']);
    expect(env).toContain('WXPAY_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\\nMIIEv');
    expect(env).toMatch(/unquoted or in single quotes/);
    expect(env).toContain('`npx weda-wxpay env --config weda-wxpay.config.json` writes dist/.env for you');
    // CloudPay needs no keys.
    expect(read(cloudpay, '.env.example').split('\n').filter((l) => /^[A-Z_0-9]+=/.test(l))).toEqual(['ENV_ID=']);
  });

  it('v3: http-access.sh routes the configured notify paths to their functions; CloudPay has none', () => {
    const script = read(v3, 'http-access.sh');
    expect(script).toContain('tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e shop-1a2b');
    expect(script).toContain('tcb service create -p /wxpay/refund-notify -f wxpay-refund-notify -e shop-1a2b');
    expect(cloudpay.files).not.toContain('http-access.sh');
  });

  it('a notify URL on a custom domain is a warning of the package (HTTP access must be bound by hand)', async () => {
    const configPath = project('custom-domain', { ...v3Config, v3: { ...v3Config.v3, notifyUrl: 'https://pay.example.com/wxpay/pay-notify', refundNotifyUrl: undefined } });
    const r = await pack(configPath);
    expect(r.warnings).toEqual([
      'v3.refundNotifyUrl is not set: refund results reach the orders only through the reconcile function',
      expect.stringMatching(/^v3\.notifyUrl: pay\.example\.com is not a CloudBase default domain; .*tcb service domain bind pay\.example\.com/),
    ]);
    expect(read(r, 'http-access.sh')).toContain('tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e "$ENV_ID"');
  });
});

describe('the connector', () => {
  it('passes the CALS data-source schema check and forwards to the configured connector function', () => {
    const doc = JSON.parse(read(v3, 'connector/connector.json'));
    expect(validateWithCals(doc)).toEqual([]);
    expect(doc.methods.map((m: { name: string }) => m.name)).toEqual(MANIFEST.map((m) => m.name));
    for (const m of doc.methods) expect(m.calleeBody.callee).toContain('name: "shop-pay-connector"');
  });

  it('METHODS.md gives every manifest method with its code and every input and output parameter', () => {
    const md = read(v3, 'connector/METHODS.md');
    const doc = JSON.parse(read(v3, 'connector/connector.json'));
    for (const row of MANIFEST) {
      expect(md).toContain(`## \`${row.name}\` — ${row.title}`);
      const method = doc.methods.find((m: { name: string }) => m.name === row.name);
      expect(md).toContain(method.calleeBody.callee);
      const section = md.slice(md.indexOf(`## \`${row.name}\``)).split('\n## ')[0]!;
      for (const field of Object.keys(method.inParams.properties)) expect(section).toContain(`| \`${field}\` |`);
      for (const field of Object.keys(method.outParams.properties)) expect(section).toContain(`| \`${field}\` |`);
      expect(section).toContain('自定义代码');
    }
    // Patterns with | stay inside their table cell.
    expect(md).toContain('pattern `^[0-9A-Za-z_\\-\\|*]{6,32}$`');
  });
});

describe('IMPORT.md', () => {
  const placeholders = /%%[A-Za-z][A-Za-z0-9]*%%/;

  it('is in Chinese first, then English, with nothing left unfilled', () => {
    for (const r of [v3, cloudpay]) {
      const md = read(r, 'IMPORT.md');
      expect(md).not.toMatch(placeholders);
      expect(md).not.toMatch(/<!-- \/?(v3|cloudpay) -->/);
      const zh = md.indexOf('\n## 中文');
      const en = md.indexOf('\n## English');
      expect(zh).toBeGreaterThan(0);
      expect(en).toBeGreaterThan(zh);
      // Same steps in both languages.
      for (let step = 1; step <= 9; step++) {
        expect(md.slice(zh, en)).toContain(`### 第 ${step} 步`);
        expect(md.slice(en)).toContain(`### Step ${step}:`);
      }
    }
  });

  it('fills in the configured model, field and function names, and the v3 HTTP access commands', () => {
    const md = read(v3, 'IMPORT.md');
    expect(md).toContain('tcb db push -d models -e your-env-id');
    expect(md).toContain(`models/${SEED_ORDERS}.json\` 创建模型 \`${SEED_ORDERS}\``);
    expect(md).toContain(`models/${SEED_ORDERS}.json\` creates \`${SEED_ORDERS}\``);
    expect(md).toContain('| `ddh` | 订单号 | string | `orderNo` |');
    expect(md).toContain('$w.<列表项>.zfzt === 2');
    expect(md).toContain('$w.<list item>.zfzt === 2');
    expect(md).toContain('tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e your-env-id');
    expect(md).toContain('tcb service create -p /wxpay/refund-notify -f wxpay-refund-notify -e your-env-id');
    expect(md).toContain('"shop-pay-connector": { "invoke": false }');
    expect(md).toContain("name: 'shop-pay-connector'");
    for (const row of MANIFEST) expect(md).toContain(`| \`${row.name}\` | ${row.title} |`);
    expect(md).not.toContain('cloudpay.payCallbackFunction');
    expect(md).toContain('WXPAY_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\\nMIIEv');
  });

  it('for CloudPay: its env id and callback functions, no HTTP access commands', () => {
    const md = read(cloudpay, 'IMPORT.md');
    expect(md).toContain('tcb db push -d models -e cloud1-7g8h9i');
    expect(md).toContain('`cloudpay.payCallbackFunction` = `wxpay-pay-notify`');
    expect(md).not.toContain('tcb service create');
    expect(md).not.toContain('WXPAY_PRIVATE_KEY='); // no keys to fill in for CloudPay
    expect(md).toContain('`envType` 现在是 `prod`');
    expect(md).toContain("`envType` is now `prod`");
  });

  it('refuses a guide template with an unknown placeholder, naming it', () => {
    expect(() => renderGuide('a %%nope%% b', { appid: 'x' }, 'v3', 'docs/IMPORT.md')).toThrow('docs/IMPORT.md: unknown placeholder(s) %%nope%%');
  });
});

describe('secrets', () => {
  it('no key material from the configuration is written anywhere in the package', () => {
    for (const rel of v3.files) {
      const text = read(v3, rel);
      expect(text).not.toContain(API_V3_KEY);
      expect(text).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----(\\n|\r?\n)[A-Za-z0-9+/=]{40,}/);
      for (const line of PRIVATE_KEY_LINES) expect(text.includes(line)).toBe(false);
    }
  });

  it('refuses to package an input that carries a private key, and writes nothing', async () => {
    const configPath = project('leaky', v3Config);
    const leakyApp = path.join(work, 'leaky', 'app.json');
    fs.writeFileSync(leakyApp, JSON.stringify({ items: [], note: PRIVATE_PEM }));
    await expect(pack(configPath, { appJson: leakyApp })).rejects.toThrow(/a secret from .*weda-wxpay\.config\.json would be written to app\/app\.json; refusing/);
    expect(fs.readdirSync(path.join(work, 'leaky', 'dist'))).toEqual([]);
  });
});

describe('bad input', () => {
  it('a missing configuration file: the error names it, nothing is created', async () => {
    const dir = path.join(work, 'none');
    await expect(pack(path.join(dir, 'weda-wxpay.config.json'))).rejects.toThrow(`no configuration: ${path.join(dir, 'weda-wxpay.config.json')} does not exist`);
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
  });

  it('a configuration that is not JSON: the error names the file', async () => {
    const configPath = project('notjson', '{ "provider": "v3", ');
    await expect(pack(configPath)).rejects.toThrow(`${configPath} is not valid JSON`);
  });

  it('a missing template app: the error names the file', async () => {
    const configPath = project('noapp', v3Config);
    const missing = path.join(work, 'noapp', 'app-template', 'app.json');
    await expect(pack(configPath, { appJson: missing })).rejects.toThrow(`no template app: ${missing} does not exist`);
  });

  it('an invalid configuration: the error names the file and the field; the previous package stays whole', async () => {
    const configPath = project('invalid', v3Config);
    const first = await pack(configPath);
    const before = Object.fromEntries(first.files.map((f) => [f, read(first, f)]));

    fs.writeFileSync(configPath, JSON.stringify({ ...v3Config, fields: { ...SEED_FIELDS, status: '1zfzt' } }));
    await expect(pack(configPath)).rejects.toThrow(new RegExp(`^${escapeRe(configPath)}: .*fields\\.status`));
    fs.writeFileSync(configPath, JSON.stringify({ ...v3Config, fields: { ...SEED_FIELDS, paidAt: 'ddh' } }));
    await expect(pack(configPath)).rejects.toThrow(`${configPath}: fields: orderNo and paidAt both map to "ddh"`);
    fs.writeFileSync(configPath, JSON.stringify({ ...v3Config, provider: 'cloudpay', mchid: undefined, subMchId: '1900000109' }));
    await expect(pack(configPath)).rejects.toThrow(`${configPath}: cloudpay is required when provider is "cloudpay"`);
    fs.writeFileSync(configPath, JSON.stringify({ ...v3Config, provider: 'sandbox' }));
    await expect(pack(configPath)).rejects.toThrow(`${configPath}: provider "sandbox" points the functions at the local sandbox`);

    const after = Object.fromEntries(first.files.map((f) => [f, read(first, f)]));
    expect(after).toEqual(before);
    expect(fs.readdirSync(path.dirname(first.outDir))).toEqual(['weda-import']); // no staging folder left behind
  });

  it('warns when the CloudPay callback names are not the deployed functions', async () => {
    const configPath = project('mismatch', { ...cloudpayConfig, cloudpay: { ...cloudpayConfig.cloudpay, payCallbackFunction: 'payCallback' } });
    const r = await pack(configPath);
    expect(r.warnings).toEqual(['cloudpay.payCallbackFunction is "payCallback" but the deployed function is "wxpay-pay-notify": CloudPay would call a function this package does not deploy']);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
