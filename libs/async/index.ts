export * from './wake-or-abort.js';
