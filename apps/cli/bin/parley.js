#!/usr/bin/env node
// Entry point of the `parley` command; the code lives in ../dist (built by `npm run build`).
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
