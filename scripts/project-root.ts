import fs from 'node:fs';
import path from 'node:path';

/** The checkout root, whether running from sources (ts-jest) or from .build/ (compiled by tsc). */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'weda-wxpay') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`weda-wxpay package.json not found above ${from}`);
    dir = up;
  }
}
