#!/usr/bin/env node
// The `clgrpo` command: runs cli.ts through the project's TypeScript hook (ts-require.js), so no
// build step is needed, with V8's compiled code of node_modules kept between processes
// (compile-cache.js).
require('./compile-cache');
require('./ts-require');
require('../cli.ts');
