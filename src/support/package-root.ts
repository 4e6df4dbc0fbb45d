import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding the project's package.json (and its sql/ and mapping/ folders), found by
 * walking up from this file: the same answer whether the TypeScript sources run directly or the
 * compiled copy in dist/ does.
 */
export function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error('package.json of ident-amocrm-sync not found');
    folder = parent;
  }
  return folder;
}
