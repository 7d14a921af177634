// Workflow bundle entry: every workflow the worker registers.
export { pipeline, statusQuery } from './pipeline';
