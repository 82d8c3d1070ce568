// passive-client-handling-commit.json: the shared passive-client runner (passive-client.ts).
export { default } from './passive-client.js';
