/**
 * `npm run build:temporal`, and the second half of `npm test`'s pretest step: every Temporal
 * program the stack and the test suite run, built from its Go module into the machine's cache if it
 * is not there yet, one after the other, with progress. The suite itself then runs with
 * TEMPORAL_BUILD=never (test/support/global-setup.ts): a test finds its programs built, or fails at
 * once saying so, and never spends its timeout on a build.
 */
import { buildGoProgram, cachedGoProgram, type GoProgram } from './go-install';
import { TEMPORAL_CLI } from './cli';
import { TEMPORAL_SERVER, TEMPORAL_SQL_TOOL } from './server';
import { TEMPORAL_UI_SERVER } from './ui-server';

/** The CLI (its dev server: npm start, the tests), the server and its schema tool (TEMPORAL_ENGINE=server, the replicas run), the Web UI server. */
export const TEMPORAL_PROGRAMS: GoProgram[] = [TEMPORAL_CLI, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER];

export async function buildMissingPrograms(log: (msg: string) => void): Promise<{ built: string[]; cached: string[] }> {
  const built: string[] = [];
  const cached: string[] = [];
  for (const program of TEMPORAL_PROGRAMS) {
    if (cachedGoProgram(program)) {
      cached.push(program.label);
      continue;
    }
    // The CLI's server embeds this same server release: the builds after the first reuse Go's compiled packages.
    await buildGoProgram(program, log, 'or set TEMPORAL_CLI / TEMPORAL_ADDRESS to programs you run');
    built.push(program.label);
  }
  return { built, cached };
}

if (require.main === module) {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const started = Date.now();
  buildMissingPrograms(log).then(
    ({ built }) => {
      if (built.length) log(`Temporal programs ready (built ${built.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s).`);
    },
    (err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
