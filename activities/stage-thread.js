// Entry of a stage worker thread (see thread-runner.ts): registers the project's TypeScript hook
// (bin/ts-require.js) and the compile cache (bin/compile-cache.js) in this thread, as bin/clgrpo.js
// does for the process, then runs the TypeScript thread body.
require('../bin/compile-cache');
require('../bin/ts-require');
require('./stage-thread.ts');
