/**
 * Terminal escape codes in captured output (abra colours and redraws its tables). Pure.
 * The one definition: abra's lint table and any other captured tool output are cleaned with it.
 */
const ANSI_CSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** `text` without ANSI CSI sequences: colours (`ESC[…m`) and cursor/erase codes (`ESC[2K`, `ESC[?25l`). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_CSI, '');
}
