// The JavaScript twin of gates/examples/column-stats (Rust) and
// examples/python/column-stats: streams one numeric column of the holdout
// in chunks and checks that its mean lies within bounds. gates/README.md
// compares the three on size, compile time, start-up and a 1M-row scan.

import { GateError, check, gate, info, numericChunks, outcomeFromChecks } from "./modelgate-gate.js";

export const { metadata, evaluate } = gate({
  name: "column-stats",
  description: "Streams a numeric column and bounds its mean; counts missing values.",
  configSchema: {
    type: "object",
    required: ["column"],
    properties: { column: { type: "string" }, min_mean: { type: "number" }, max_mean: { type: "number" } },
  },
  evaluate(config) {
    const column = config.column;
    let total = 0;
    let count = 0;
    let missing = 0;
    for (const chunk of numericChunks("holdout", column)) {
      for (const v of chunk) {
        if (Number.isNaN(v)) missing += 1;
        else {
          total += v;
          count += 1;
        }
      }
    }
    if (count === 0) throw new GateError(`\`${column}\` has no values`);
    const mean = total / count;
    const checks = [info(`missing[${column}]`, missing, `${missing} of ${count + missing} rows missing`)];
    if (config.min_mean !== undefined) checks.push(check(`mean[${column}]`, mean, "ge", config.min_mean));
    if (config.max_mean !== undefined) checks.push(check(`mean[${column}]`, mean, "le", config.max_mean));
    return outcomeFromChecks(checks);
  },
});
