import { describe, expect, test } from '@jest/globals';
import { printable } from './audit-commands.js';

describe('printable', () => {
  test.each([
    ['escapes a newline, a carriage return, a tab', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['escapes an escape sequence', '\u001b[31mred\u001b[0m', '\\u001b[31mred\\u001b[0m'],
    ['escapes C1 controls (CSI) and DEL', '\u009b2J\u007f', '\\u009b2J\\u007f'],
    ['escapes line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['escapes bidirectional overrides', 'abc\u202edcba\u2066', 'abc\\u202edcba\\u2066'],
    ['escapes a backslash, so that an escape cannot be faked', 'C:\\n', 'C:\\\\n'],
    ['leaves everything else as it is', 'Résolu · 復旧 ✓ "quoted" 🙂', 'Résolu · 復旧 ✓ "quoted" 🙂'],
  ])('%s', (_, text, shown) => {
    expect(printable(text)).toBe(shown);
  });
});
