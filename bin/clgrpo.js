#!/usr/bin/env node
// The `clgrpo` command: runs cli.ts through the project's TypeScript hook (ts-require.js), so no
// build step is needed.
require('./ts-require');
require('../cli.ts');
