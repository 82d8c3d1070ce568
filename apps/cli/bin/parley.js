#!/usr/bin/env node
// Entry point of the `parley` command. It imports the package by its own name, so Node
// runs the build in ../dist (made by `npm run build`) and a run under the `parley:source`
// condition (the tests) runs the TypeScript sources.
import { main } from '@parley/cli';

process.exitCode = await main(process.argv.slice(2));
