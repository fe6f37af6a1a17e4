// terminalSafe: what an image says reaches the terminal as text, never as a control sequence.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { terminalSafe } from '../../support/terminal-text.js';

test('escape, bell, CSI (C1), DEL and carriage return are shown; newlines, tabs and other text kept', () => {
  assert.is(terminalSafe('a\u001b[2Jb\u0007\u009bc\u007f\r'), 'a\\x1b[2Jb\\x07\\x9bc\\x7f\\x0d');
  assert.is(terminalSafe('line 1\n\tline 2 é ü 日本'), 'line 1\n\tline 2 é ü 日本');
});

test('bidirectional overrides, which reorder what the user reads, are shown', () => {
  assert.is(terminalSafe('abc\u202edcba\u2066x\u2069'), 'abc\\u{202e}dcba\\u{2066}x\\u{2069}');
});

test.run();
