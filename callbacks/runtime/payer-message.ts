/**
 * The optional "payment received" subscribe message to the payer (the CloudBase demo's pay-message, done with
 * a subscribe message since template messages are retired). Production sends it with wx-server-sdk
 * `cloud.openapi.subscribeMessage.send`; locally the message is POSTed to a recorder (the sandbox or the dev
 * server). Sending is best-effort: it is awaited with a time limit (a cloud function is frozen once it returns,
 * so nothing may be left running — the seed's setInterval mistake) and its failure never fails the callback.
 */
import type { CallbackLog } from './answers';
import { errorMessage } from './answers';
import { toChinaDateTime } from '../../wxpay';

/** The parameters of `cloud.openapi.subscribeMessage.send` (camelCase, as wx-server-sdk takes them). */
export interface SubscribeMessage {
  touser: string;
  templateId: string;
  page?: string;
  data: Record<string, { value: string }>;
  miniprogramState?: 'developer' | 'trial' | 'formal';
  lang?: string;
}

export type SendSubscribeMessage = (message: SubscribeMessage) => Promise<unknown>;

export interface PayerMessageSettings {
  /** Subscribe message template id from the mini-program console (the payer must have subscribed to it). */
  templateId: string;
  /** Page opened from the message; `{orderNo}` is replaced. No leading "/". */
  page?: string;
  /**
   * Template keyword → text with placeholders: {orderNo} {goodsName} {amount} (yuan, "18.00")
   * {amountFen} {paidTime} ("2024-01-31 12:00:05", China time) {transactionId}.
   * E.g. { "character_string1": "{orderNo}", "thing2": "{goodsName}", "amount3": "{amount}元", "time4": "{paidTime}" }.
   */
  data: Record<string, string>;
  /** developer / trial / formal; default from envType (pre → trial, prod → formal). */
  miniprogramState?: 'developer' | 'trial' | 'formal';
  lang?: string;
  /** How long the callback waits for the send, default 3000 ms. */
  timeoutMs?: number;
}

export interface PaidOrderFacts {
  orderNo: string;
  openid?: string;
  amountFen: number;
  paidAt: number;
  transactionId: string;
  goodsName?: string;
}

/** Called after an order moved 1 → 2; never throws. */
export type PayerNotifier = (paid: PaidOrderFacts) => Promise<void>;

// WeChat refuses values longer than the keyword type allows (errcode 47003); cut rather than lose the message.
const MAX_LENGTH: Array<[RegExp, number]> = [[/^thing\d+$/, 20], [/^character_string\d+$/, 32], [/^name\d+$/, 10], [/^phrase\d+$/, 5]];

export function renderPayerMessage(s: PayerMessageSettings, paid: PaidOrderFacts & { openid: string }, envType: 'pre' | 'prod'): SubscribeMessage {
  const vars: Record<string, string> = {
    orderNo: paid.orderNo,
    goodsName: paid.goodsName ?? '',
    amount: (paid.amountFen / 100).toFixed(2),
    amountFen: String(paid.amountFen),
    paidTime: toChinaDateTime(paid.paidAt),
    transactionId: paid.transactionId,
  };
  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? vars[name]! : whole));
  const data: Record<string, { value: string }> = {};
  for (const [key, text] of Object.entries(s.data)) {
    const limit = MAX_LENGTH.find(([re]) => re.test(key))?.[1];
    const value = fill(text);
    data[key] = { value: limit !== undefined ? [...value].slice(0, limit).join('') : value };
  }
  return {
    touser: paid.openid,
    templateId: s.templateId,
    ...(s.page ? { page: fill(s.page) } : {}),
    data,
    miniprogramState: s.miniprogramState ?? (envType === 'prod' ? 'formal' : 'trial'),
    ...(s.lang ? { lang: s.lang } : {}),
  };
}

export function payerNotifier(s: PayerMessageSettings, send: SendSubscribeMessage, envType: 'pre' | 'prod', log: CallbackLog): PayerNotifier {
  return async (paid) => {
    if (!paid.openid) {
      log({ event: 'payer_message.skipped', outTradeNo: paid.orderNo, reason: 'no openid for the payer' });
      return;
    }
    const message = renderPayerMessage(s, { ...paid, openid: paid.openid }, envType);
    const timeoutMs = s.timeoutMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        send(message),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
      ]);
      log({ event: 'payer_message.sent', outTradeNo: paid.orderNo, templateId: s.templateId, answer });
    } catch (err) {
      log({ event: 'payer_message.failed', outTradeNo: paid.orderNo, templateId: s.templateId, reason: errorMessage(err) });
    } finally {
      if (timer) clearTimeout(timer);
    }
  };
}

/** Locally: POST the message as JSON to a recorder (`{sandbox}/sandbox/messages` or the dev server's). */
export function httpMessageSender(url: string): SendSubscribeMessage {
  return async (message) => {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(message) });
    const text = await res.text();
    if (!res.ok) throw new Error(`message recorder answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : {};
  };
}

/** In a CloudBase function: wx-server-sdk's `cloud.openapi.subscribeMessage.send` (needs the dependency). */
interface WxServerSdk {
  init(o: { env: unknown }): void;
  DYNAMIC_CURRENT_ENV: unknown;
  openapi: { subscribeMessage: { send(m: SubscribeMessage): Promise<unknown> } };
}

/** In a CloudBase function: wx-server-sdk's `cloud.openapi.subscribeMessage.send` (needs the dependency). */
export function wxServerSdkMessageSender(): SendSubscribeMessage {
  let cloud: WxServerSdk | undefined;
  return async (message) => {
    if (!cloud) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const sdk = require('wx-server-sdk') as WxServerSdk;
      sdk.init({ env: sdk.DYNAMIC_CURRENT_ENV });
      cloud = sdk;
    }
    const answer = (await cloud.openapi.subscribeMessage.send(message)) as { errCode?: number; errMsg?: string };
    if (answer && typeof answer.errCode === 'number' && answer.errCode !== 0) throw new Error(`subscribeMessage.send: ${answer.errCode} ${answer.errMsg ?? ''}`);
    return answer;
  };
}
