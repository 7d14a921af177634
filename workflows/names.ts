// The history names live in lib/temporal/names.ts (clients in lib/ need them and lib/ never imports
// workflows/); re-exported here so workflow code keeps its local import.
export * from '../lib/temporal/names';
