// Prints how long a large map takes to be judged and the peak RSS, one input per child process
// under the image's heap cap: `node test/security/map-limits-measure.ts` (numbers, no verdict).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INPUTS: Record<string, () => string> = {
  'flat sequence 400 KB': () => `version: 1\nfields: [${'0,'.repeat(200_000)}0]\n`,
  'flat sequence 200 KB': () => `version: 1\nfields: [${'0,'.repeat(100_000)}0]\n`,
  '40 000 keys (470 KB)': () =>
    `version: 1\nx:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 0\n`).join('')}`,
  '6 000 keys (under both bounds)': () =>
    `version: 1\nx:\n${Array.from({ length: 6_000 }, (_, i) => `  k${i}: 0\n`).join('')}`,
};

const child = `
import { readFileSync } from 'node:fs';
import { loadMapFile } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'mapping', 'load-map.ts'))};
const started = performance.now();
let outcome = 'accepted';
try { loadMapFile(process.argv[1]); } catch (error) { outcome = String(error.message).split('\\n')[0].slice(0, 90); }
console.log(JSON.stringify({ seconds: ((performance.now() - started) / 1000).toFixed(2), outcome }));
`;

const dir = mkdtempSync(join(tmpdir(), 'map-measure-'));
for (const [name, make] of Object.entries(INPUTS)) {
  const file = join(dir, 'map.yaml');
  writeFileSync(file, make());
  const run = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M',
      process.execPath,
      '--max-semi-space-size=8',
      '--max-old-space-size=128',
      '--input-type=module',
      '-e',
      child,
      file,
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const rssKb = Number(run.stderr.trim().split('\n').at(-1));
  const result =
    run.stdout.trim() ||
    `killed (${run.signal ?? run.status}): ${run.stderr.split('\n').find((l) => /FATAL|heap/i.test(l)) ?? ''}`;
  console.log(`${name}: ${result}; peak RSS ${Math.round(rssKb / 1024)} MB`);
}
