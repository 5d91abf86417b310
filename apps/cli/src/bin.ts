#!/usr/bin/env node
import 'reflect-metadata';
import { main } from './main.js';

const code = await main(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
});
process.exitCode = code;
