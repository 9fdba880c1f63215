#!/usr/bin/env node
// The solc the Python tools call: npm's solc (the real compiler, as WebAssembly) behind the
// command-line surface py-solc-x expects: `--version`, and `--standard-json` on stdin.
// solcjs itself cannot serve: it prints a non-JSON banner and truncates large piped output.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

function fail(message) {
  fs.writeSync(2, `solc-stdjson: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, roots: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path' || arg === '--include-path') opts.roots.push(value());
    else if (arg === '--allow-paths') value(); // the WebAssembly compiler reads only what we hand it
    else if (arg.startsWith('--')) fail(`unsupported option ${arg}; only --version and --standard-json are provided`);
  }
  return opts;
}

function importReader(roots) {
  const candidates = (importPath) =>
    path.isAbsolute(importPath) ? [importPath] : [...roots, process.cwd()].map((r) => path.resolve(r, importPath));
  return (importPath) => {
    for (const file of candidates(importPath)) {
      if (fs.existsSync(file) && fs.statSync(file).isFile()) return { contents: fs.readFileSync(file, 'utf8') };
    }
    return { error: `File not found: ${importPath} (searched ${candidates(importPath).join(', ')})` };
  };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.version) {
  fs.writeSync(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!opts.standardJson) fail('expected --version or --standard-json');
const input = fs.readFileSync(0, 'utf8');
const output = solc.compile(input, { import: importReader(opts.roots) });
fs.writeSync(1, output);
