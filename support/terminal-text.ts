// Text read from an image, a device or a bundle (partition names, labels, file names, versions,
// failure details, a crash dump's log) is untrusted: printed raw, its escape sequences would
// repaint, retitle or query the user's terminal. Every text renderer passes what it prints through
// terminalSafe, which shows each control character as a visible escape instead of sending it.

/**
 * C0 controls but tab and newline, DEL, C1 controls (U+0080..U+009F: CSI alone is U+009B), and
 * the bidirectional overrides and isolates, which reorder what the user reads.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with every unsafe character shown as \xHH or \u{HHHH}; newlines and tabs kept. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.codePointAt(0)!;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}
