import { describe, expect, it } from "vitest";
import { runOverlap } from "./helpers/overlap.js";

// A remote model: 150 ms of TCP + TLS set-up on a new connection, 40 ms of prefill; a 250 ms re-ranker.
const timing = { connectionSetupMs: 150, prefillMs: 40 };

describe("opening the LLM's connection while re-ranking", () => {
  it("hides the connection set-up behind the re-ranker: the first token comes sooner, the answer is byte-identical", async () => {
    const without = await runOverlap({ warmUp: false, rerankMs: 250, timing });
    const overlapped = await runOverlap({ warmUp: true, rerankMs: 250, timing });
    expect(overlapped.answer).toBe(without.answer);
    expect(without.answer).toBe("Create a client in the dashboard [1].");
    // The warm-up opened the connection and paid its set-up; the chat request reused it.
    expect(overlapped).toMatchObject({ warmUps: 1, firstOnConnection: ["GET /v1/models"] });
    expect(without).toMatchObject({ warmUps: 0, firstOnConnection: ["POST /v1/chat/completions"] });
    // Without overlap the set-up is paid after re-ranking; with it, only the prefill is.
    expect(without.ttftMs - overlapped.ttftMs).toBeGreaterThan(100);
  });

  it("never holds the answer back when the warm-up fails", async () => {
    const failing = await runOverlap({ warmUp: () => Promise.reject(new Error("refused")), rerankMs: 10, timing: {} });
    expect(failing.answer).toBe("Create a client in the dashboard [1].");
  });
});
