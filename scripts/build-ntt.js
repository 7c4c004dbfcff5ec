#!/usr/bin/env node
// Compiles qkd/ntt.wat into qkd/ntt-wasm.ts, the binary as base64, so that the hashing
// instantiates it synchronously at run time and ships without a WebAssembly toolchain.
// With --check it only verifies that the committed file matches the source (a test runs that).
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', 'qkd', 'ntt.wat');
const target = path.join(__dirname, '..', 'qkd', 'ntt-wasm.ts');

const generate = async () => {
  const wabt = await require('wabt')();
  const wat = wabt.parseWat('ntt.wat', fs.readFileSync(source, 'utf8'), { simd: true });
  try {
    wat.validate();
    const base64 = Buffer.from(wat.toBinary({}).buffer).toString('base64');
    return `// Generated from qkd/ntt.wat by \`npm run build:ntt\`: do not edit.\nexport const NTT_WASM_BASE64 =\n  '${base64}';\n`;
  } finally {
    wat.destroy();
  }
};

generate().then((text) => {
  if (!process.argv.includes('--check')) fs.writeFileSync(target, text);
  else if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== text) {
    console.error('qkd/ntt-wasm.ts is not the compiled qkd/ntt.wat: run npm run build:ntt');
    process.exitCode = 1;
  }
});
