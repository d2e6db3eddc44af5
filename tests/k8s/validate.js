// Validates Kubernetes objects against the API's schemas (the
// kubernetes-models npm package): node validate.js FILE.json, FILE holding a
// JSON array of objects. Prints one line per object, "ok KIND NAME" or
// "invalid KIND NAME: why"; exits 1 if any is invalid or of an unknown kind.
"use strict";
const fs = require("fs");

const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let failed = false;
for (const o of objects) {
  const group = o.apiVersion;  // "apps/v1", "policy/v1", "v1": the package's directories
  const what = `${o.kind} ${o.metadata && o.metadata.name}`;
  let Model;
  try {
    Model = require(`kubernetes-models/${group}/${o.kind}`)[o.kind];
  } catch (e) {
    console.log(`invalid ${what}: no schema for ${o.apiVersion} ${o.kind}`);
    failed = true;
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`ok ${what}`);
  } catch (e) {
    console.log(`invalid ${what}: ${e.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
