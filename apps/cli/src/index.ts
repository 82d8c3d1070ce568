// @parley/cli: the command line as a library, so tests can drive it in-process.
export { main } from './main.js';
