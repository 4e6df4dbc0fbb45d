#!/usr/bin/env node
// `npm run emulator`: plain JavaScript up to the version check, so an older Node says what to do
// instead of failing on the TypeScript source with ERR_UNKNOWN_FILE_EXTENSION.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: the amoCRM emulator needs Node.js 24 or later, this is ${process.version}; run \`source .ci/node24.sh\` in this shell first (or \`make emulator\`)\n`,
  );
  process.exit(1);
}
await import('../src/emulator/main.ts');
