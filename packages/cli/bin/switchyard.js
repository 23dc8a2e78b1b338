#!/usr/bin/env node
// Thin launcher so the `switchyard` binary exists before the first build links it.
require('../dist/bin.js');
