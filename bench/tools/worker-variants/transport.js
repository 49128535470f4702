'use strict';
// See variant.js: preload with -r to measure the worker's 'transport' variant.
require('./variant')('transport');
