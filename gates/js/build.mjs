// Builds a JavaScript gate with ComponentizeJS. `modelgate gate build` runs
// it in a scratch directory holding app.js (with the gate's other files),
// modelgate-gate.js, wit/ and a node_modules link to the user's install of
// @bytecodealliance/componentize-js. Every optional host feature is left
// out, so the component imports nothing but the gate contract.
import { componentize } from "@bytecodealliance/componentize-js";
import { writeFileSync } from "node:fs";

const out = process.argv[2];
const { component } = await componentize({
  sourcePath: "app.js",
  witPath: "wit",
  worldName: "gate",
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});
writeFileSync(out, component);
