// Copyright 2026 the utpstream authors. MIT license.
/**
 * Summarizes V8 `.cpuprofile` files (from `deno run --cpu-prof`): self time
 * per function, the top entries first.
 *
 *   deno run -A bench/prof_summary.ts [--top 25] profile.cpuprofile...
 *
 * @module
 */
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { top: { type: "string", default: "25" } },
});

for (const path of positionals) {
  const profile: Profile = JSON.parse(Deno.readTextFileSync(path));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; charge it to the sample before.
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    const file = f.url ? f.url.replace(/^.*\/(src|bench|ext:[^/]*)\//, "$1/") : "";
    const key = `${f.functionName || "(anonymous)"} ${file}${file ? `:${f.lineNumber + 1}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    total += us;
  }
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  console.log(`\n${path}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [key, us] of rows) {
    console.log(
      `${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
}
