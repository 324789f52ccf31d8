// A hostile JavaScript gate for the sandbox tests: `with: { attack: ... }`
// picks what it tries; each is stopped by the host or finds nothing.

import { gate, outcome } from "./modelgate-gate.js";

export const { metadata, evaluate } = gate({
  name: "hostile",
  description: "Tries to escape the sandbox; for tests only.",
  configSchema: {
    type: "object",
    required: ["attack"],
    properties: { attack: { enum: ["loop", "allocate", "environ", "fetch", "clock", "none"] } },
  },
  evaluate(config) {
    switch (config.attack) {
      case "loop":
        for (;;) {}
      case "allocate": {
        const hoard = [];
        for (;;) hoard.push(new Float64Array(1 << 21));
      }
      case "environ": {
        const env = typeof process === "undefined" ? {} : process.env;
        return outcome("pass", `${Object.keys(env).length} environment variables: ${JSON.stringify(env)}`);
      }
      case "fetch":
        if (typeof fetch !== "function") throw "no fetch in this sandbox";
        fetch("http://127.0.0.1:80/");
        return outcome("pass", "fetch returned");
      case "clock":
        return outcome("pass", `Date.now() = ${Date.now()}, performance.now() = ${typeof performance === "undefined" ? "none" : performance.now()}`);
      default:
        return outcome("pass", "harmless");
    }
  },
});
