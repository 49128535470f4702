'use strict';
// See variant.js: preload with -r to measure the worker's 'strings' variant.
require('./variant')('strings');
