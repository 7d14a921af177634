// The stage contract lives in lib/stage/types.ts (lib/ never imports activities/); this re-export
// keeps the activity files' `./types` imports short.
export * from '../lib/stage/types';
