/**
 * The mixed service's migration (examples/mixed): every step runs as its
 * own process and must serve the same scripted client without an error,
 * while the migration report's count of green API uses falls at each step
 * to 0; `npm start` runs the whole migration and prints its table.
 */
import { expect } from 'chai';
import { runClient } from '../../examples/mixed/client.js';
import { CATALOGUE, ROUTES, UTILITY } from '../../examples/mixed/protocol.js';
import { greenUses, startStep, STEPS, stopStep, type RunningStep } from '../../examples/mixed/steps.js';
import { runScript } from '../helpers.js';

/** The routes each step serves green and async, as its ready line says. */
const SPLIT: Record<string, [readonly string[], readonly string[]]> = {
  step0: [ROUTES, []],
  step1: [UTILITY, CATALOGUE],
  step1b: [UTILITY, CATALOGUE],
  step2: [[], ROUTES],
};

const list = (routes: readonly string[]): string => (routes.length === 0 ? '-' : routes.join(','));

describe('examples/mixed: one service migrated in steps', function () {
  this.timeout(180_000);

  for (const step of STEPS) {
    it(`${step.name} (${step.summary}) serves the scripted client without an error`, async () => {
      const running: RunningStep = await startStep(step, 0, 90);
      try {
        const [green, async] = SPLIT[step.name];
        expect(running.ready).to.include(`green=${list(green)} async=${list(async)}`);
        if (step.name === 'step2') expect(running.ready).to.match(/ bridge=off$/);
        // Connections in pairs per route; a loaded machine may take long to start green workers.
        const stats = await runClient(running.port, { connections: 8, requests: 20, timeout: 90 });
        expect(stats.errorMessages).to.deep.equal([]);
        expect(stats.errors).to.equal(0);
        expect(stats.served).to.equal(160);
        expect(stats.byRoute).to.deep.equal(Object.fromEntries(ROUTES.map((route) => [route, 40])));
      } finally {
        await stopStep(running);
      }
      expect(running.stderr()).to.equal('');
    });
  }

  it("the report's count of green uses falls at each step, to 0", () => {
    const counts = STEPS.map(greenUses);
    for (let i = 1; i < counts.length; i++) expect(counts[i], `${STEPS[i].name} after ${STEPS[i - 1].name}: ${counts}`).to.be.below(counts[i - 1]);
    expect(counts.at(-1)).to.equal(0);
  });

  it('npm start runs the migration and prints one row per step: no errors, green uses falling to 0', async () => {
    const outcome = await runScript('examples/mixed/main.ts', { hangLimit: 170 });
    const output = `exit ${outcome.code} signal ${outcome.signal}\n${outcome.stdout}\n${outcome.stderr}`;
    expect(outcome.signal, output).to.equal(null);
    expect(outcome.code, output).to.equal(0);
    const rows = outcome.stdout
      .split('\n')
      .filter((line) => /^step\d\S*\s{2}/.test(line))
      .map((line) => line.split(/\s{2,}/));
    expect(rows.map((row) => row[0]), output).to.deep.equal(STEPS.map((step) => step.name));
    for (const [name, green, async, served, errors, p50, p99, uses] of rows) {
      const [greenRoutes, asyncRoutes] = SPLIT[name];
      expect([green, async], output).to.deep.equal([list(greenRoutes), list(asyncRoutes)]);
      expect(Number(served), output).to.be.above(0);
      expect(errors, output).to.equal('0');
      expect(Number(p50), output).to.be.at.most(Number(p99));
      expect(Number(uses), output).to.equal(greenUses(STEPS.find((step) => step.name === name) as (typeof STEPS)[number]));
    }
  });
});
