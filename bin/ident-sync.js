#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping): no build step is needed.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: ident-sync needs Node.js 24 or later, this is ${process.version}; install Node 24 (or run \`source .ci/node24.sh\` in the repository)\n`,
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
