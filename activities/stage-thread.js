// Entry of a stage worker thread (see thread-runner.ts): registers tsx's CommonJS hooks in this
// thread, as bin/clgrpo.js does for the process, then runs the TypeScript thread body.
require('tsx/cjs');
require('./stage-thread.ts');
