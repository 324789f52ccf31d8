// modelgate's gate SDK for JavaScript.
//
// A gate is a WebAssembly component built by ComponentizeJS (npm
// @bytecodealliance/componentize-js) from your app.js, this module and
// gates/wit/gate.wit; `modelgate gate build` puts this file beside app.js,
// so import it as "./modelgate-gate.js". It mirrors the Rust and Python
// SDKs:
//
//   import { gate, metrics, check, outcomeFromChecks } from "./modelgate-gate.js";
//
//   export const { metadata, evaluate } = gate({
//     name: "min-auc",
//     description: "The candidate's ROC AUC must reach `min_auc`.",
//     configSchema: { type: "object", properties: { min_auc: { type: "number" } } },
//     evaluate(config) {
//       const auc = metrics("candidate").require("roc_auc");
//       return outcomeFromChecks([check("roc_auc", auc, "ge", config.min_auc ?? 0.8)]);
//     },
//   });
//
// The host validates `with:` against configSchema before the gate runs.
// Throw GateError (or anything) when the gate cannot decide: the run
// reports a gate error, which blocks promotion (fail closed).
//
// The WIT's enums are strings here ("candidate", "holdout", "pass", "ge"),
// records are objects with camelCase fields, options are undefined when
// absent, and a host `result` that is an error throws.

import * as host from "modelgate:gate/host@0.1.0";

/** Rows per host call when streaming a column. */
export const CHUNK_ROWS = 65536;

/** The gate cannot decide; reported as a gate error, which blocks. */
export class GateError extends Error {}

/** The two exports componentize-js needs, from a gate description. */
export function gate({ name, version = "0.1.0", description = "", configSchema = { type: "object" }, evaluate }) {
  return {
    metadata() {
      return { name, version, description, configSchema: JSON.stringify(configSchema) };
    },
    evaluate() {
      let outcome;
      try {
        outcome = evaluate(JSON.parse(host.config()));
      } catch (e) {
        // The WIT's err is a string; any exception fails closed with its message.
        throw e instanceof GateError ? e.message : `${name}: ${e && e.name ? e.name + ": " : ""}${e && e.message !== undefined ? e.message : e}`;
      }
      if (!outcome || typeof outcome.verdict !== "string") {
        throw `${name}: evaluate returned ${JSON.stringify(outcome)}, not an outcome`;
      }
      return outcome;
    },
  };
}

export const runContext = () => host.runContext();

/** A model's metrics by name, or undefined (production may be absent). */
export function metrics(role) {
  const e = host.evaluation(role);
  if (e === undefined) return undefined;
  const byName = new Map(e.metrics.map((m) => [m.name, m]));
  return {
    roc: e.roc,
    pr: e.pr,
    get: (name) => byName.get(name)?.value,
    greaterIsBetter: (name) => byName.get(name)?.greaterIsBetter,
    require(name) {
      const m = byName.get(name);
      if (m === undefined) throw new GateError(`unknown metric \`${name}\`; available: ${[...byName.keys()].sort().join(", ")}`);
      if (m.value === undefined) throw new GateError(`metric \`${name}\` does not apply to this model`);
      return m.value;
    },
  };
}

/** Paired tests of candidate minus production, by metric (empty without production). */
export function deltaTests() {
  return Object.fromEntries(host.deltaTests().map((t) => [t.metric, t]));
}

export const confidenceLevel = () => host.confidenceLevel();
export const confidencePercent = () => `${Math.round(host.confidenceLevel() * 1000) / 10}%`;
export const marginTest = (metric, bound, greaterIsBetter, alpha) => host.testMargin(metric, bound, greaterIsBetter, alpha);
export const distributionTest = (column) => host.testDistribution(column);
export const integrity = () => host.integrity();
export const segments = () => host.segments();
export const profiles = (data) => host.profiles(data);

function* chunks(read) {
  for (let offset = 0n; ; ) {
    let chunk;
    try {
      chunk = read(offset, CHUNK_ROWS);
    } catch (e) {
      throw new GateError(e && e.payload !== undefined ? String(e.payload) : String(e));
    }
    if (chunk.length === 0) return;
    yield chunk;
    offset += BigInt(chunk.length);
    if (chunk.length < CHUNK_ROWS) return;
  }
}

/** A numeric column in arrays of CHUNK_ROWS numbers; missing values are NaN. */
export const numericChunks = (data, column) => chunks((o, n) => host.readNumeric(data, column, o, n));
/** A column as text in chunks; missing values are undefined. */
export const textChunks = (data, column) => chunks((o, n) => host.readText(data, column, o, n));
export const scoreChunks = (role) => chunks((o, n) => host.readScores(role, o, n));
export const labelChunks = () => chunks((o, n) => host.readLabels(o, n));

const PASSES = {
  gt: (o, t) => o > t,
  ge: (o, t) => o >= t,
  lt: (o, t) => o < t,
  le: (o, t) => o <= t,
  eq: (o, t) => o === t,
  info: () => true,
};

/** An observation comparing `observed` with `threshold` ("gt", "ge", "lt", "le", "eq"). */
export function check(name, observed, comparison, threshold, detail) {
  return { name, observed, threshold, comparison, passed: PASSES[comparison](observed, threshold), detail };
}

/** An informative observation that never fails. */
export function info(name, observed, detail) {
  return { name, observed, threshold: undefined, comparison: "info", passed: true, detail };
}

/** "fail" if any check failed, else "pass", with a generated summary. */
export function outcomeFromChecks(observations) {
  const failed = observations.filter((o) => !o.passed).map((o) => o.name);
  return failed.length
    ? { verdict: "fail", summary: `${failed.length} of ${observations.length} checks failed: ${failed.join(", ")}`, observations }
    : { verdict: "pass", summary: `all ${observations.length} checks passed`, observations };
}

export const outcome = (verdict, summary, observations = []) => ({ verdict, summary, observations });

/** A line in the gate's log (console output goes nowhere). */
export const log = (level, message) => host.log(level, message);

/** Marks the outcome about to be returned as decided by a lack of evidence. */
export const insufficientEvidence = () => host.setVerdictReason("insufficient-evidence");

/** Why a comparing gate has no production to judge against, or undefined. */
export function nothingToCompare() {
  if (metrics("production") === undefined) return "no production model to compare with";
  const ctx = host.runContext();
  return ctx.production === ctx.candidate ? `candidate is production (${ctx.candidate}): nothing to compare` : undefined;
}

/** Holm's step-down adjusted p-values, in the input order. */
export function holmAdjusted(p) {
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const out = new Array(p.length).fill(0);
  let running = 0;
  order.forEach((i, k) => {
    running = Math.max(running, Math.min((p.length - k) * p[i], 1));
    out[i] = running;
  });
  return out;
}

export const pct = (x) => `${(100 * x).toFixed(2)}%`;
