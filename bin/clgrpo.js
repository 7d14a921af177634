#!/usr/bin/env node
// The `clgrpo` command: runs cli.ts through tsx so no build step is needed.
require('tsx/cjs');
require('../cli.ts');
