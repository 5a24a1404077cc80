import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Compiles `entries` (paths from the repository root) and only what they import to plain
 * JavaScript under `outDir`, at the same relative paths, so that a child process can run the
 * current sources without a full build. `outDir` gets the repository's node_modules and package
 * type, so that the output resolves its imports as it would under dist/.
 */
export function compileForChildProcess(entries: string[], outDir: string): void {
  const tsconfig = join(outDir, 'tsconfig.json');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.build.json'),
      compilerOptions: {
        outDir,
        rootDir: repoRoot,
        typeRoots: [join(repoRoot, 'node_modules/@types')],
        sourceMap: false,
      },
      files: entries.map((entry) => join(repoRoot, entry)),
      include: [],
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', tsconfig],
    {
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(repoRoot, 'node_modules'), join(outDir, 'node_modules'));
}
