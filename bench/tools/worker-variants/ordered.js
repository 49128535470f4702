'use strict';
// See variant.js: preload with -r to measure the worker's 'ordered' variant.
require('./variant')('ordered');
