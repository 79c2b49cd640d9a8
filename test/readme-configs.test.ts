/**
 * Every configuration the README shows is one the project accepts: a reader copies it, so it must pass the
 * same validation `npm run build` and `npm start` run (schemas/config.json through config/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { configSettings } from '../config';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
/** JSON blocks whose top level names a `provider`: configurations (the ready line's `devServer.provider` is not). */
const configs = [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
  .flatMap((m) => {
    try {
      return [JSON.parse(m[1]!) as Record<string, unknown>];
    } catch {
      return [];
    }
  })
  .filter((block) => 'provider' in block);

test('the README shows at least one configuration', () => {
  expect(configs.length).toBeGreaterThan(0);
});

test.each(configs.map((c, i) => [i, c] as const))('README configuration #%i passes validation', (_i, config) => {
  expect(() => configSettings(config)).not.toThrow();
});

test('the official public key id shape (PUB_KEY_ID_ + 34 digits, vector V4) is accepted', () => {
  const [first] = configs;
  const withV4 = structuredClone(first!) as any;
  withV4.v3.platformKeys = [{ id: 'PUB_KEY_ID_0000000000000024101100397200000006', path: 'certs/pub_key.pem' }];
  expect(() => configSettings(withV4)).not.toThrow();
  withV4.v3.platformKeys = [{ id: 'PUB_KEY_ID_', path: 'certs/pub_key.pem' }];
  expect(() => configSettings(withV4)).toThrow(/platformKeys\.0\.id/);
});
