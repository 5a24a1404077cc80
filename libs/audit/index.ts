export * from './bundle.js';
export * from './bundle-anchor.js';
export * from './integrity.js';
export * from './time-travel.js';
