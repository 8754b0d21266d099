import { AppError } from '../../schema/wire/errors.js';
import { CHAT_MAX_LENGTH } from '../../schema/wire/room.js';

/**
 * Text that enters the room (display names at admission, chat on the socket) is normalised once,
 * on the way in: what is stored, broadcast and written as history is then the same string.
 */

/** The wire limit of a display name (displayNameSchema), in UTF-16 code units. */
export const DISPLAY_NAME_MAX_UNITS = 20;
/** Combining marks kept on one letter: enough for any script, not for a tower of accents. */
const MAX_MARKS_PER_GRAPHEME = 4;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Lone surrogates (not text; storage and JSON disagree on them) become U+FFFD, then NFC. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').normalize('NFC');
}

/** Control characters other than tab and newline. */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/** A chat message as stored and broadcast; throws VALIDATION_FAILED when nothing is left or it grew too long. */
export function normaliseChatText(text: string): string {
  const clean = wellFormed(text).replace(CONTROLS, '').trim();
  if (clean.length === 0) throw new AppError('VALIDATION_FAILED', 'text: the message is empty');
  if (clean.length > CHAT_MAX_LENGTH) throw new AppError('VALIDATION_FAILED', `text: longer than ${CHAT_MAX_LENGTH} characters`);
  return clean;
}

/**
 * Invisible or direction-changing characters a name could hide behind (format characters, bidi
 * controls, zero-width characters, line separators), except where they are part of the text:
 * ZWJ inside an emoji sequence, ZWNJ between letters of a script that needs it, tag characters
 * of a subdivision flag (🏴 + tags).
 */
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0\u180E]/gu;
const AFTER_EMOJI = /\p{Extended_Pictographic}[\u{FE0F}\u{1F3FB}-\u{1F3FF}]?$/u;
const BEFORE_EMOJI = /^\p{Extended_Pictographic}/u;
const AFTER_NON_LATIN_LETTER = /(?![\p{Script=Latin}])\p{L}\p{M}*$/u;
const BEFORE_NON_LATIN_LETTER = /^(?![\p{Script=Latin}])\p{L}/u;
const AFTER_FLAG_TAGS = /\u{1F3F4}[\u{E0020}-\u{E007F}]*$/u;
const TAG = /^[\u{E0020}-\u{E007F}]$/u;

function stripInvisible(name: string): string {
  return name.replace(INVISIBLE, (char: string, offset: number) => {
    const before = name.slice(0, offset);
    const after = name.slice(offset + char.length);
    if (char === '\u200D') return AFTER_EMOJI.test(before) && BEFORE_EMOJI.test(after) ? char : '';
    if (char === '\u200C') return AFTER_NON_LATIN_LETTER.test(before) && BEFORE_NON_LATIN_LETTER.test(after) ? char : '';
    if (TAG.test(char)) return AFTER_FLAG_TAGS.test(before) ? char : '';
    return '';
  });
}

/**
 * Roles are badges the server sets; a name dressed as one ("Alice (Host)", "[co-host] Bob") loses
 * the dressing so that nothing in the name reads like a role.
 */
const ROLE_WORD = String.raw`(?:co[\s-]?host|host|moderator|organi[sz]er|admin(?:istrator)?|owner)`;
const ROLE_SUFFIX = new RegExp(String.raw`[\s\-–—:|]*[(\[{（【]\s*${ROLE_WORD}\s*[)\]}）】]\s*$`, 'iu');
const ROLE_PREFIX = new RegExp(String.raw`^\s*[(\[{（【]\s*${ROLE_WORD}\s*[)\]}）】][\s\-–—:|]*`, 'iu');

function stripRoleDressing(name: string): string {
  let previous: string;
  do {
    previous = name;
    name = name.replace(ROLE_SUFFIX, '').replace(ROLE_PREFIX, '');
  } while (name !== previous);
  return name;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Keeps whole graphemes (each with at most MAX_MARKS_PER_GRAPHEME marks) within `maxUnits`. */
function capByGrapheme(name: string, maxUnits: number): string {
  let out = '';
  for (const { segment } of segmenter.segment(name)) {
    let marks = 0;
    const grapheme = segment.replace(/\p{M}/gu, (mark) => (++marks <= MAX_MARKS_PER_GRAPHEME ? mark : ''));
    if (out.length + grapheme.length > maxUnits) break;
    out += grapheme;
  }
  return out;
}

/**
 * A display name as the room keeps and shows it: NFC, no invisible or bidi characters, spaces
 * collapsed, no role dressing, whole graphemes within the wire limit. Throws VALIDATION_FAILED when
 * nothing visible is left.
 */
export function normaliseDisplayName(raw: string): string {
  const visible = stripInvisible(wellFormed(raw)).replace(/\s+/gu, ' ');
  const name = capByGrapheme(stripRoleDressing(visible).trim(), DISPLAY_NAME_MAX_UNITS).trim();
  if (name.length === 0) throw new AppError('VALIDATION_FAILED', 'displayName: the name has nothing visible in it');
  return name;
}
