/**
 * The exported WeDa connector JSON validates against the JSON Schema that @cloudbase/cals ships for data
 * sources (platform_data_source.json, weda.md §1.5), lists all eight methods with their schemas translated,
 * and its callee forwards to the connector function — run here against a real connector on the sandbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Ajv from 'ajv';
import { exportWedaConnector, MANIFEST, connectorFunctionHandler } from '../connector';
import { REPO_ROOT } from './helpers/paths';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

const calsSchema = JSON.parse(fs.readFileSync(require.resolve('@cloudbase/cals/lib/schema/platform_data_source.json'), 'utf8'));

function validateWithCals(doc: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(calsSchema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('WeDa connector export', () => {
  const doc = exportWedaConnector({ connectorFunction: 'wxpay-connector' }) as any;

  it('validates against @cloudbase/cals platform_data_source.json', () => {
    expect(validateWithCals(doc)).toEqual([]);
  });

  it('has all eight methods with titles, intents and translated schemas', () => {
    expect(doc.methods.map((m: any) => m.name)).toEqual(['unifiedOrder', 'queryOrder', 'closeOrder', 'downloadBill', 'refund', 'queryRefund', 'checkout', 'requestRefund']);
    const unified = doc.methods[0];
    expect(unified).toMatchObject({ title: '统一下单', type: 'cloud-function', intent: 'create' });
    expect(unified.inParams.properties.totalFee).toMatchObject({ type: 'number', minimum: 1, 'x-required': true });
    expect(unified.inParams.properties.outTradeNo.pattern).toBe('^[0-9A-Za-z_\\-|*]{6,32}$');
    expect(unified.outParams.properties.payment.properties.paySign.type).toBe('string');
    expect(doc.methods[1].inParams.description).toContain('Exactly one of outTradeNo, transactionId is required.');
    // Method names starting with "weda" are reserved for model built-ins (weda.md §5).
    expect(MANIFEST.every((m) => !m.name.startsWith('weda'))).toBe(true);
  });

  it('is refused by the CALS schema when broken (the check is real)', () => {
    const broken = JSON.parse(JSON.stringify(doc));
    broken.methods[0].intent = 'pay';
    delete broken.methods[1].outParams;
    broken.methods[2].inParams.properties.outTradeNo.type = 'integer';
    const problems = validateWithCals(broken);
    expect(problems.length).toBeGreaterThan(0);
  });

  it('is what `weda-wxpay export connector` writes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-export-'));
    try {
      const out = path.join(dir, 'connector.json');
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'weda-wxpay.js'), 'export', 'connector', '--out', out, '--config', path.join(dir, 'none.json')], { stdio: 'pipe' });
      expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(doc);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('exported callee → connector function', () => {
  let t: TestDev;
  beforeAll(async () => { t = await startTestDev({ seedGoods: false }); });
  afterAll(async () => { await t?.close(); });

  /** Runs a callee's source the way WeDa does, with a context whose app.callFunction reaches our handler. */
  async function runCallee(method: string, params: unknown) {
    const source = exportWedaConnector().methods as any[];
    const callee = source.find((m) => m.name === method).calleeBody.callee as string;
    const mod = { exports: {} as any };
    new Function('module', 'exports', callee)(mod, mod.exports);
    const handler = connectorFunctionHandler(t.dev.connector);
    const calls: any[] = [];
    const context = { app: { callFunction: async (req: any) => { calls.push(req); return { result: await handler(req.data) }; } } };
    return { result: mod.exports(params, context), calls };
  }

  it('forwards params to the connector function and returns its data', async () => {
    const outTradeNo = newOrderNo('X');
    const { result, calls } = await runCallee('unifiedOrder', { body: 'x', outTradeNo, totalFee: 3, openid: 'o-x' });
    const data = await result;
    expect(data.outTradeNo).toBe(outTradeNo);
    expect(calls[0]).toEqual({ name: 'wxpay-connector', data: { method: 'unifiedOrder', params: { body: 'x', outTradeNo, totalFee: 3, openid: 'o-x' } } });
  });

  it('throws the connector error with its code and field', async () => {
    const { result } = await runCallee('unifiedOrder', { body: 'x', outTradeNo: 'no!', totalFee: 3 });
    await expect(result).rejects.toMatchObject({ code: 'PARAM_ERROR', detail: expect.objectContaining({ field: 'outTradeNo' }) });
  });
});
