// Validate one glTF/GLB file with the Khronos glTF-Validator and print its report as JSON on stdout.
//
//   node validate_gltf.mjs FILE [MAX_ISSUES]
//
// The validator package is loaded from the folder in ASSETGEN_GLTF_VALIDATOR_DIR, else from the
// repository's .venv/node/node_modules (where .ci/setup.sh installs it), else as 'gltf-validator'
// (NODE_PATH). External resources are never loaded: an asset we export must be
// self-contained, so any external URI is reported as an error.
// Exit status: 0 report printed (read numErrors from it), 2 bad usage or unreadable file,
// 3 validator package not found, 4 the validator rejected the input outright.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

const [file, maxIssuesArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node validate_gltf.mjs FILE [MAX_ISSUES]");
  process.exit(2);
}

const require = createRequire(import.meta.url);
const candidates = [
  process.env.ASSETGEN_GLTF_VALIDATOR_DIR,
  fileURLToPath(new URL("../../.venv/node/node_modules/gltf-validator", import.meta.url)),
  "gltf-validator",
].filter(Boolean);
let validator;
for (const where of candidates) {
  try {
    validator = require(where);
    break;
  } catch {
    // try the next place
  }
}
if (!validator) {
  console.error(`cannot load the gltf-validator package (tried ${candidates.join(", ")}); run .ci/setup.sh`);
  process.exit(3);
}

let bytes;
try {
  bytes = new Uint8Array(readFileSync(file));
} catch (err) {
  console.error(`cannot read ${file}: ${err.message}`);
  process.exit(2);
}

const options = {
  uri: basename(file),
  maxIssues: maxIssuesArg === undefined ? 0 : Number(maxIssuesArg),
  writeTimestamp: false,
  externalResourceFunction: (uri) => Promise.reject(`external resource ${uri} not allowed: the asset must be self-contained`),
};

try {
  const report = await validator.validateBytes(bytes, options);
  process.stdout.write(JSON.stringify(report) + "\n");
} catch (err) {
  console.error(`validator rejected ${file}: ${err}`);
  process.exit(4);
}
