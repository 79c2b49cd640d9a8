/**
 * Payer subscribe messages are recorded by the sandbox, not delivered, so a developer sees what the payer would
 * have received: a valid subscribeMessage.send body is answered like the platform does and listed; an invalid one is refused naming the field; both survive a restart.
 */
import { startSandbox, RunningSandbox } from '../sandbox';
import { control, tempDataDir } from './helpers/sandbox-harness';

const data = tempDataDir();
let sandbox: RunningSandbox;
beforeAll(async () => { sandbox = await startSandbox({ dataDir: data.dir }); });
afterAll(async () => { await sandbox?.close(); data.remove(); });

const message = (touser: string) => ({ touser, templateId: 'TPL_PAID', page: 'pages/order/index?id=A1', data: { amount3: { value: '18.00元' } } });

it('records messages and lists them, all or by payer, across a restart', async () => {
  const sent = await control(sandbox.info, 'POST', '/sandbox/messages', message('o-alice'));
  expect(sent.status).toBe(200);
  expect(sent.json).toMatchObject({ errCode: 0, errMsg: 'openapi.subscribeMessage.send:ok', msgid: expect.any(Number) });
  await control(sandbox.info, 'POST', '/sandbox/messages', message('o-bob'));
  await sandbox.close();
  sandbox = await startSandbox({ dataDir: data.dir });
  expect((await control(sandbox.info, 'GET', '/sandbox/messages')).json.messages).toEqual([message('o-alice'), message('o-bob')]);
  expect((await control(sandbox.info, 'GET', '/sandbox/messages?touser=o-bob')).json.messages).toEqual([message('o-bob')]);
});

it.each([
  ['touser', { templateId: 'T', data: {} }],
  ['templateId', { touser: 'o', data: {} }],
  ['data', { touser: 'o', templateId: 'T', data: 'x' }],
])('refuses a message without a valid %s', async (field, body) => {
  const before = (await control(sandbox.info, 'GET', '/sandbox/messages')).json.messages.length;
  const r = await control(sandbox.info, 'POST', '/sandbox/messages', body);
  expect(r.status).toBe(400);
  expect(r.json.detail.field).toBe(field);
  expect((await control(sandbox.info, 'GET', '/sandbox/messages')).json.messages).toHaveLength(before);
});
