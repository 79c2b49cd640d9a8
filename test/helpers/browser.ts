import fs from 'node:fs';
import path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

/** Debian's chromium, headless, with nothing that reaches for the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const DESKTOP = { width: 1280, height: 960 };
export const NARROW = { width: 420, height: 860 };

export const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'test-output', 'screenshots');

/**
 * Saves `<name>-desktop.png` and `<name>-420.png` under test-output/screenshots/ (for people to look at; no
 * test compares them), leaving the page at the desktop size.
 */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.setViewportSize(NARROW);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-420.png`), animations: 'disabled' });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-desktop.png`), animations: 'disabled' });
}
