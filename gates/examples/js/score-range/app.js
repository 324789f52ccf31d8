// Every score the candidate (and production) gives must be a probability:
// finite and within [0, 1]. A model exported with the wrong output (a
// logit, a class label, a NaN from a missing feature) still ranks rows, so
// ROC AUC alone can look fine while every threshold downstream is wrong.
// The gate streams the scores in chunks, so memory stays flat.

import { check, gate, metrics, outcomeFromChecks, scoreChunks } from "./modelgate-gate.js";

export const { metadata, evaluate } = gate({
  name: "score-range",
  description: "Every score is a probability: finite and within [0, 1].",
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: { max_bad: { type: "integer", minimum: 0, default: 0 } },
  },
  evaluate(config) {
    const maxBad = config.max_bad ?? 0;
    const roles = metrics("production") === undefined ? ["candidate"] : ["candidate", "production"];
    const observations = [];
    for (const role of roles) {
      let rows = 0;
      let bad = 0;
      let example;
      for (const chunk of scoreChunks(role)) {
        for (const s of chunk) {
          rows += 1;
          if (!(s >= 0 && s <= 1)) {
            bad += 1;
            example ??= s;
          }
        }
      }
      observations.push(
        check(`scores_outside_0_1[${role}]`, bad, "le", maxBad,
          bad ? `${bad} of ${rows} scores are not probabilities, e.g. ${example}` : `${rows} scores, all in [0, 1]`),
      );
    }
    return outcomeFromChecks(observations);
  },
});
