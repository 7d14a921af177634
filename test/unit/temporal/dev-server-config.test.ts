// What the embedded dev server is started with (issue 14): SQLite pragmas and dynamic config, as
// command-line values. The dynamic config lifts the history service's transfer-queue read limit
// (20/s per shard) that queued back-to-back stage transitions; an env var adds, overrides or drops
// values, and a malformed one is an error that names the variable and the form. (The e2e tests
// start real servers with these arguments.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEV_SERVER_DYNAMIC_CONFIG, dynamicConfig, sqlitePragmas } from '../../../lib/temporal/dev-server';

test('dynamic config: the transfer-queue read limit is lifted by default', () => {
  assert.deepEqual(dynamicConfig({}), ['history.transferProcessorMaxPollRPS=1000']);
  assert.equal(DEV_SERVER_DYNAMIC_CONFIG['history.transferProcessorMaxPollRPS'], '1000');
});

test('dynamic config: CLGRPO_TEMPORAL_DYNAMIC_CONFIG adds, overrides and drops values', () => {
  assert.deepEqual(dynamicConfig({ CLGRPO_TEMPORAL_DYNAMIC_CONFIG: 'history.transferProcessorMaxPollRPS=50, system.enableActivityEagerExecution=true' }),
    ['history.transferProcessorMaxPollRPS=50', 'system.enableActivityEagerExecution=true']);
  assert.deepEqual(dynamicConfig({ CLGRPO_TEMPORAL_DYNAMIC_CONFIG: 'history.transferProcessorMaxPollRPS=' }), []);
  assert.throws(() => dynamicConfig({ CLGRPO_TEMPORAL_DYNAMIC_CONFIG: 'history.transferProcessorMaxPollRPS' }),
    /CLGRPO_TEMPORAL_DYNAMIC_CONFIG: "history.transferProcessorMaxPollRPS" is not KEY=VALUE/);
});

test('sqlite pragmas: WAL by default, the server\'s own with "default", a list otherwise', () => {
  assert.deepEqual(sqlitePragmas({}), ['journal_mode=wal', 'synchronous=normal']);
  assert.deepEqual(sqlitePragmas({ CLGRPO_SQLITE_PRAGMAS: 'default' }), []);
  assert.deepEqual(sqlitePragmas({ CLGRPO_SQLITE_PRAGMAS: 'journal_mode=delete' }), ['journal_mode=delete']);
});
