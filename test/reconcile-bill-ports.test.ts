/**
 * `weda-wxpay reconcile --apply` changes orders through the callbacks' rules with ports over `weda.callModel`
 * (callbacks/runtime/model-ports.ts). They must make exactly the calls the generated functions' written-out
 * `orders` and `refunds` objects make — same model, method, params and envType, call for call — so there is one
 * way to write an order whoever runs the rules. Checked on the default model and on the seed tutorial's remapped
 * one (`wxzfmbddsj_e3xp7j6`, `ddh`, `zfzt`, envType pre).
 */
import { generateFunctions } from '../callbacks/generate';
import * as runtime from '../callbacks/runtime';
import { ordersPortOf, refundsPortOf } from '../callbacks/runtime/model-ports';
import type { OrdersPort } from '../callbacks/runtime/orders';
import type { RefundsPort } from '../callbacks/runtime/refunds';
import { configSettings } from '../config';
import type { CallModelParams } from '../datasources/weda';

const configs = {
  default: { provider: 'sandbox', appid: 'wx0000000000000000', mchid: '1230000109', envType: 'prod' },
  seed: {
    provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109',
    cloudpay: { envId: 'weda-7g5x', payCallbackFunction: 'wxpay-pay-notify' },
    models: { orders: 'wxzfmbddsj_e3xp7j6' }, fields: { orderNo: 'ddh', status: 'zfzt' }, envType: 'pre',
  },
};

/** A weda that records every call and answers something of the right shape. */
function recordingWeda(calls: CallModelParams[]) {
  return {
    async callModel(p: CallModelParams) {
      calls.push(structuredClone(p));
      if (p.methodName === 'wedaBatchUpdate') return { updated: 1 };
      if (p.methodName === 'wedaBatchUpdateV2') return { count: 1 };
      if (p.methodName === 'wedaGetRecordsV2') return { records: [] };
      if (p.methodName === 'wedaCreateV2') return { id: 'X' };
      return { _id: 'X', status: 2 };
    },
  };
}

/** The `orders` and `refunds` objects of the generated reconcile function, as it hands them to the runtime. */
async function generatedPorts(config: object, calls: CallModelParams[]): Promise<{ orders: OrdersPort; refunds: RefundsPort }> {
  const source = generateFunctions({ config: config as never }).find((f) => f.kind === 'reconcile')!.source;
  let captured: { orders: OrdersPort; refunds: RefundsPort } | undefined;
  const fake = {
    ...runtime,
    createWeda: () => recordingWeda(calls),
    functionKit: () => ({}),
    reconcileOrders: async (_event: unknown, orders: OrdersPort, refunds: RefundsPort) => { captured = { orders, refunds }; },
  };
  const module = { exports: {} as { main?: (e: unknown, c: unknown) => Promise<unknown> } };
  new Function('exports', 'require', 'module', source)(module.exports, () => fake, module);
  await module.exports.main!({}, {});
  return captured!;
}

describe.each(Object.entries(configs))('%s model', (_name, config) => {
  test('the same calls as the generated functions, for every method the rules use', async () => {
    const generatedCalls: CallModelParams[] = [];
    const generated = await generatedPorts(config, generatedCalls);
    const oursCalls: CallModelParams[] = [];
    const weda = recordingWeda(oursCalls);
    const binding = configSettings(config).orders;
    const ours = { orders: ordersPortOf(weda, binding), refunds: refundsPortOf(weda, binding) };

    for (const ports of [generated, ours]) {
      expect(ports.orders.fields).toEqual(binding.fields);
      expect(await ports.orders.find('ORDER0001')).toEqual({ _id: 'X', status: 2 });
      expect(await ports.orders.update('ORDER0001', 1, { [binding.fields.status]: 2, [binding.fields.paidAt]: 1 })).toBe(1);
      expect(await ports.refunds.find('R1')).toEqual({ _id: 'X', status: 2 });
      expect(await ports.refunds.ofOrder('ORDER0001')).toEqual([]);
      await ports.refunds.create({ refundNo: 'R1', orderNo: 'ORDER0001', amount: 1, status: 'SUCCESS' });
      expect(await ports.refunds.update('R1', 'PROCESSING', { status: 'SUCCESS' })).toBe(1);
    }
    expect(oursCalls).toHaveLength(6);
    expect(oursCalls).toEqual(generatedCalls);
    expect(oursCalls.every((c) => c.envType === binding.envType)).toBe(true);
  });
});
