// Debian's chromium as playwright-core launches it (never a downloaded browser): where it is
// (CLGRPO_CHROMIUM overrides /usr/bin/chromium) and the flags that keep it offline and headless.
// Shared by the report's browser test and scripts/screenshot-report.ts.
export const CHROMIUM = process.env.CLGRPO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
