#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: ident-sync needs Node.js 24 or later, this is ${process.version}; install Node 24 (or run \`source .ci/node24.sh\` in the repository)\n`,
  );
  process.exit(1);
}
// A checkout runs its TypeScript sources directly (Node 24 strips the types), so an edit takes
// effect at once; the container image ships only the compiled JavaScript (`npm run build`), which
// starts faster and spares the ~28 MB the type stripper occupies.
import { existsSync } from 'node:fs';
const sources = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(sources) ? sources : new URL('../dist/src/cli/main.js', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
