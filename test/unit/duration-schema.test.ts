// The kit's duration() schema: what a plugin's config section gets for a key such as "retention".
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { duration } from "../../src/config/duration-schema";
import { formatDuration } from "../../src/config/duration";
import { leaves } from "../../src/config/schema";

const section = v.object({
  retention: v.optional(duration(), "0s"),
  every: v.optional(duration({ min: "1s", max: "24h" }), "1m"),
});

const parse = (input: unknown) => v.safeParse(section, input);

describe("duration() for plugin sections", () => {
  test("turns what an operator writes into milliseconds, defaults included", () => {
    expect(parse({}).output).toEqual({ retention: 0, every: 60_000 });
    expect(parse({ retention: "7d", every: "1.5s" }).output).toEqual({ retention: 604_800_000, every: 1500 });
  });

  test("without a max, takes durations longer than a timer can wait (a 365d retention)", () => {
    expect(parse({ retention: "365d" }).output).toMatchObject({ retention: 365 * 86_400_000 });
  });

  test("says what to write: the units for a non-duration, the range for one out of it", () => {
    const units = parse({ retention: "soon" });
    expect(units.success).toBe(false);
    expect(units.issues?.[0]?.message).toBe("expected a duration like 30s or 500ms (units ms, s, m, h, d)");
    for (const outside of ["500ms", "25h", "2d"]) {
      const r = parse({ every: outside });
      expect(r.success).toBe(false);
      expect(r.issues?.[0]?.message).toBe("expected a duration from 1s to 24h");
    }
    expect(parse({ retention: 30 }).issues?.[0]?.message).toBe("expected a duration like 30s or 500ms (units ms, s, m, h, d)");
  });

  test("a bound that is not a duration is the app's mistake, found when the schema is built", () => {
    expect(() => duration({ max: "a day" })).toThrow('duration(): max must be a duration like 30s, got "a day"');
  });

  test("config print shows a plugin's durations as written, as it does rodent's own", () => {
    const config = { ...v.parse(v.object({}), {}), store: parse({ retention: "7d", every: "90s" }).output } as object;
    const shown = leaves(config, { store: section }).filter((leaf) => leaf.section === "store");
    expect(shown.map((leaf) => [leaf.key, leaf.value])).toEqual([["store.retention", "7d"], ["store.every", "90s"]]);
    expect(formatDuration(86_400_000)).toBe("1d");
  });
});
