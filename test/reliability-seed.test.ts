// A randomised test that fails must say how to replay it: its seed, and a command that runs the
// same inputs again. Checked on a deliberately failing fixture run by a child vitest.
import { exec, execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { seededRandom } from "./helpers/reliability.js";

const FIXTURE_CONFIG = path.join("test", "fixtures", "seed-replay", "vitest.config.ts");
const VITEST = path.join(REPO_ROOT, "node_modules", "vitest", "vitest.mjs");
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...extra });

interface FixtureRun {
  code: number;
  output: string;
  /** The fixture's random inputs, as it printed them. */
  inputs: string | undefined;
  seed: string | undefined;
  replay: string | undefined;
}

function parse(code: number, output: string): FixtureRun {
  const hint = /^\[reliability\] seed (\d+); replay with: (.+)$/m.exec(output);
  return { code, output, inputs: /^\[fixture\] inputs ([\d,]+)$/m.exec(output)?.[1], seed: hint?.[1], replay: hint?.[2] };
}

/** Runs `command` (a shell line or vitest's arguments) in the repo and collects stdout + stderr. */
async function run(command: string | string[], extraEnv: Record<string, string> = {}): Promise<FixtureRun> {
  const options = { cwd: REPO_ROOT, env: env(extraEnv), timeout: 120_000 };
  const done = typeof command === "string" ? promisify(exec)(command, options) : promisify(execFile)(process.execPath, [VITEST, ...command], options);
  return done.then(
    ({ stdout, stderr }) => parse(0, stdout + stderr),
    (error: { code?: number; stdout?: string; stderr?: string }) => parse(error.code ?? -1, `${error.stdout ?? ""}${error.stderr ?? ""}`),
  );
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("a failing randomised test", () => {
  it("prints its seed with a command that replays the same inputs, and another seed draws others", async () => {
    const failed = await run(["run", "--config", FIXTURE_CONFIG]);
    expect(failed.code, failed.output).toBe(1);
    expect(failed.output).toContain("a deliberate failure");
    expect(failed.seed, failed.output).toMatch(/^\d+$/);
    expect(failed.inputs, failed.output).toMatch(/^\d+(,\d+){5}$/);
    expect(failed.replay).toBe(
      `RELIABILITY_SEED=${failed.seed} npx vitest run test/fixtures/seed-replay/failing-random.fixture.ts -t 'fails on purpose \\(it'\\''s meant to\\) after drawing its inputs'`,
    );

    // The printed command, as a shell runs it (only the fixture's config is added): same seed, same inputs.
    const replayed = await run(`${failed.replay} --config ${FIXTURE_CONFIG}`);
    expect(replayed.code, replayed.output).toBe(1);
    expect(replayed.output).toMatch(/1 failed/);
    expect([replayed.seed, replayed.inputs]).toEqual([failed.seed, failed.inputs]);

    const other = await run(["run", "--config", FIXTURE_CONFIG], { RELIABILITY_SEED: String(Number(failed.seed) + 1) });
    expect(other.seed).toBe(String(Number(failed.seed) + 1));
    expect(other.inputs).toMatch(/^\d+(,\d+){5}$/);
    expect(other.inputs).not.toBe(failed.inputs);
  }, 300_000);

  it("takes RELIABILITY_SEED as the seed, and refuses one that is not a whole number", () => {
    vi.stubEnv("RELIABILITY_SEED", "123");
    const a = seededRandom();
    const b = seededRandom();
    expect(a.seed).toBe(123);
    expect(Array.from({ length: 4 }, () => a.next())).toEqual(Array.from({ length: 4 }, () => b.next()));
    vi.stubEnv("RELIABILITY_SEED", "12ab");
    expect(() => seededRandom()).toThrow(/RELIABILITY_SEED must be a whole number from 0 to 4294967295, as printed by a failing run \(got "12ab"\)/);
  });
});
