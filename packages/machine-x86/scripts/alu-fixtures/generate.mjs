#!/usr/bin/env node
/* global process, console, Buffer */
// Differential ALU fixture generator: runs instruction snippets natively on this x86-64 Linux
// host, in 64-bit mode and in 32-bit compatibility mode, and writes the committed fixtures under
// packages/machine-x86/fixtures/alu/. See FIXTURES.md ("ALU fixtures").
//
//   node packages/machine-x86/scripts/alu-fixtures/generate.mjs [--keep-build]
//
// Steps: build the case list (cases.mjs, seeded), write one assembly file per mode with every
// distinct snippet as "<instruction>; ret", assemble each with one `as` run, link the C harness
// (harness.c + runner.S + both objects) with gcc, run it per mode, then write
// fixtures/alu/alu-{32,64}.jsonl.gz, manifest.json and host-undefined-flags.json.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { buildCases, FULL, REG, SEED, mask } from './cases.mjs';
import { DEFINABLE, UNDEFINED_FLAGS_TEXT } from './flags.mjs';
import { summarize } from './summary.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.resolve(here, '../..');
const outDir = path.join(pkgDir, 'fixtures/alu');
const keepBuild = process.argv.includes('--keep-build');
const FORMAT_VERSION = 1;
const REC = 8 + 8 + 128;

const t0 = process.hrtime.bigint();
const log = (msg) => console.log(`[alu-fixtures ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)}s] ${msg}`);

function hostInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const field = (k) => (cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) ?? [])[1]?.trim();
  return {
    arch: process.arch,
    vendor: field('vendor_id'),
    cpuFamily: Number(field('cpu family')),
    cpuModel: Number(field('model')),
    modelName: field('model name'),
    hypervisor: /\bhypervisor\b/.test(field('flags') ?? ''),
  };
}

function toolVersion(cmd) {
  return execFileSync(cmd, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

function hex(v) {
  return '0x' + v.toString(16);
}

/** Write the snippet assembly file for one mode; returns snippet index per case. */
function writeSnippets(mode, cases, file) {
  const index = new Map();
  const lines = ['\t.intel_syntax noprefix', '\t.text', `\t.code${mode}`];
  const caseSnippet = cases.map((c) => {
    const src = c.asmSource ?? c.asm;
    let i = index.get(src);
    if (i === undefined) {
      i = index.size;
      index.set(src, i);
      lines.push(`s${mode}_${i}:`, `\t${src}`, `s${mode}_${i}_end:`, '\tret');
    }
    return i;
  });
  lines.push('\t.data', '\t.p2align 3', `\t.globl alu${mode}_table, alu${mode}_count`, `alu${mode}_table:`);
  for (let i = 0; i < index.size; i++) lines.push(`\t.quad s${mode}_${i}, s${mode}_${i}_end`);
  lines.push(`alu${mode}_count:`, `\t.quad ${index.size}`, '\t.section .note.GNU-stack,"",@progbits', '');
  fs.writeFileSync(file, lines.join('\n'));
  return caseSnippet;
}

function readSnippetBytes(file) {
  const buf = fs.readFileSync(file);
  const n = buf.readUInt32LE(0);
  const out = [];
  let off = 4;
  for (let i = 0; i < n; i++) {
    const addr = buf.readBigUInt64LE(off);
    const len = buf.readUInt32LE(off + 8);
    out.push({ addr, bytes: buf.subarray(off + 12, off + 12 + len).toString('hex') });
    off += 12 + len;
  }
  return out;
}

/** Deterministic filler for register slots the case does not use (checked unchanged). */
function filler(mode, slot) {
  const v = 0x5eed000000000000n | (BigInt(slot) << 40n) | 0xc0ffee00n | BigInt(slot);
  return mode === 64 ? v : v & 0xffffffffn;
}

function runMode(mode, cases, buildDir, harness) {
  const snippetOf = cases.map((c) => c.snippet);
  const runs = Buffer.alloc(cases.length * REC);
  cases.forEach((c, i) => {
    const o = i * REC;
    runs.writeUInt32LE(snippetOf[i], o);
    runs.writeBigUInt64LE(BigInt(c.flags), o + 8);
    for (let s = 0; s < 16; s++) runs.writeBigUInt64LE(c.regs.has(s) ? c.regs.get(s) : filler(mode, s), o + 16 + 8 * s);
  });
  const runsFile = path.join(buildDir, `runs${mode}.bin`);
  const resFile = path.join(buildDir, `results${mode}.bin`);
  const snipFile = path.join(buildDir, `snippets${mode}.bin`);
  fs.writeFileSync(runsFile, runs);
  execFileSync(harness, [String(mode), runsFile, resFile, snipFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  const res = fs.readFileSync(resFile);
  if (res.length !== runs.length) throw new Error(`mode ${mode}: result size mismatch`);
  const snippets = readSnippetBytes(snipFile);
  return cases.map((c, i) => {
    const o = i * REC;
    const status = res.readUInt32LE(o);
    const flagsOut = Number(res.readBigUInt64LE(o + 8));
    const regsOut = new Map();
    for (let s = 0; s < 16; s++) regsOut.set(s, res.readBigUInt64LE(o + 16 + 8 * s));
    return { status, flagsOut, regsOut, snippet: snippets[c.snippet] };
  });
}

function checkAndEncode(mode, c, r) {
  const where = `${mode}/${c.family}/${c.index} (${c.asm})`;
  if (r.status === 2) throw new Error(`${where}: #UD on the host`);
  const de = r.status === 1;
  if (c.family === 'div' || c.family === 'idiv') {
    if (de !== c.expectDE) throw new Error(`${where}: #DE ${de} but expected ${c.expectDE}`);
  } else if (de) throw new Error(`${where}: unexpected #DE`);
  const slots = mode === 64 ? [...Array(16).keys()].filter((s) => s !== 4) : [0, 1, 2, 3, 5, 6, 7];
  if (!de) {
    for (const s of slots) {
      if (c.regs.has(s)) continue;
      if (r.regsOut.get(s) !== filler(mode, s)) throw new Error(`${where}: unlisted register ${FULL[mode][s]} changed`);
    }
    if ((r.flagsOut & ~DEFINABLE) !== (c.flags & ~DEFINABLE)) throw new Error(`${where}: non-status flag bits changed (${hex(c.flags)} -> ${hex(r.flagsOut)})`);
  } else {
    for (const s of slots) if (r.regsOut.get(s) !== (c.regs.get(s) ?? filler(mode, s))) throw new Error(`${where}: registers changed on #DE`);
  }
  const regSlots = [...c.regs.keys()].sort((a, b) => a - b);
  const width = mask(mode);
  const obj = {
    id: `${mode}/${c.family}/${c.index}`,
    mode,
    family: c.family,
    size: c.size,
    asm: c.asm,
  };
  if (c.asmSource) obj.asmSource = c.asmSource;
  obj.bytes = r.snippet.bytes;
  if (c.ripRelative) obj.rip = hex(r.snippet.addr);
  obj.in = Object.fromEntries(regSlots.map((s) => [FULL[mode][s], hex(c.regs.get(s))]));
  obj.flagsIn = hex(c.flags);
  if (de) obj.exception = '#DE';
  else {
    obj.out = Object.fromEntries(regSlots.map((s) => [FULL[mode][s], hex(r.regsOut.get(s) & width)]));
    obj.flagsOut = hex(r.flagsOut);
  }
  obj.definedFlags = hex(c.definedFlags);
  if (c.undefinedBits) obj.undefinedBits = Object.fromEntries([...c.undefinedBits].map(([s, m]) => [FULL[mode][s], hex(m)]));
  return obj;
}

function main() {
  const host = hostInfo();
  if (host.arch !== 'x64' || process.platform !== 'linux') throw new Error('the ALU fixture generator needs x86-64 Linux');
  if (host.vendor !== 'AuthenticAMD') console.warn(`warning: host vendor is ${host.vendor}; the committed fixtures were made on AMD (undefined flags will differ)`);

  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alu-fixtures-'));
  try {
    const modes = [32, 64];
    const cases = {};
    for (const mode of modes) {
      cases[mode] = buildCases(mode);
      const snippetOf = writeSnippets(mode, cases[mode], path.join(buildDir, `snippets${mode}.s`));
      cases[mode].forEach((c, i) => (c.snippet = snippetOf[i]));
      log(`mode ${mode}: ${cases[mode].length} cases, ${new Set(snippetOf).size} distinct snippets`);
    }
    for (const mode of modes) {
      execFileSync('as', ['--64', '-o', path.join(buildDir, `snippets${mode}.o`), path.join(buildDir, `snippets${mode}.s`)], { stdio: 'inherit' });
    }
    log('assembled');
    const harness = path.join(buildDir, 'harness');
    execFileSync(
      'gcc',
      ['-O2', '-Wall', '-Wextra', '-no-pie', '-fno-pie', '-o', harness, path.join(here, 'harness.c'), path.join(here, 'runner.S'), path.join(buildDir, 'snippets32.o'), path.join(buildDir, 'snippets64.o')],
      { stdio: 'inherit' },
    );
    log('harness linked');

    fs.mkdirSync(outDir, { recursive: true });
    const manifest = {
      formatVersion: FORMAT_VERSION,
      description: 'Differential ALU fixtures recorded on real x86 hardware; see packages/machine-x86/FIXTURES.md',
      generator: 'packages/machine-x86/scripts/alu-fixtures/generate.mjs',
      seed: SEED,
      host,
      toolchain: { as: toolVersion('as'), gcc: toolVersion('gcc') },
      undefinedFlagsBySdm: UNDEFINED_FLAGS_TEXT,
      files: {},
      counts: {},
      total: 0,
    };
    const records = {};
    for (const mode of modes) {
      const results = runMode(mode, cases[mode], buildDir, harness);
      log(`mode ${mode}: executed`);
      const lines = [];
      records[mode] = [];
      cases[mode].forEach((c, i) => {
        const obj = checkAndEncode(mode, c, results[i]);
        records[mode].push({ c, r: results[i], obj });
        lines.push(JSON.stringify(obj));
      });
      const jsonl = Buffer.from(lines.join('\n') + '\n');
      const gz = zlib.gzipSync(jsonl, { level: 9 });
      const name = `alu-${mode}.jsonl.gz`;
      fs.writeFileSync(path.join(outDir, name), gz);
      const counts = {};
      for (const c of cases[mode]) counts[c.family] = (counts[c.family] ?? 0) + 1;
      manifest.files[name] = {
        mode,
        cases: cases[mode].length,
        bytes: gz.length,
        jsonlBytes: jsonl.length,
        jsonlSha256: createHash('sha256').update(jsonl).digest('hex'),
      };
      manifest.counts[mode] = counts;
      manifest.total += cases[mode].length;
    }
    fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const summary = summarize(records, { host, REG, FULL });
    fs.writeFileSync(path.join(outDir, 'host-undefined-flags.json'), JSON.stringify(summary, null, 2) + '\n');
    log(`wrote ${manifest.total} cases to ${path.relative(process.cwd(), outDir)}`);
  } finally {
    if (keepBuild) log(`build directory kept: ${buildDir}`);
    else fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

main();
