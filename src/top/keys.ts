/** What each key does to the live view of `sockscope top`: one pure step per key. */
import type { GroupBy } from '../view/snapshot';
import { columnForKey, nextGrouping, sortAfterKey, type SortOrder } from './columns';

export interface ViewState {
  group: GroupBy;
  sort: SortOrder;
  /** The filter in force ('' = none). */
  filter: string;
  /** The filter being typed after `/`; undefined when not typing. */
  draft?: string;
  paused: boolean;
  quit: boolean;
}

/** The keys ink reports beside the text (a subset of its Key). */
export interface KeyFlags {
  return: boolean;
  escape: boolean;
  backspace: boolean;
  delete: boolean;
  ctrl: boolean;
  meta: boolean;
}

/**
 * One key press. Text typed or pasted faster than the view reads it arrives as one string:
 * its printable characters are applied one by one, as typing them would; control characters
 * in such a string (ink reports them as text there) are left out.
 */
export function applyKey(state: ViewState, input: string, key: KeyFlags): ViewState {
  if (key.return || key.escape || key.backspace || key.delete || key.ctrl || key.meta || input.length <= 1) {
    return applyOne(state, input, key);
  }
  return [...input].filter((ch) => !CONTROL.test(ch)).reduce((s, ch) => applyOne(s, ch, key), state);
}

const CONTROL = /[\x00-\x1f\x7f]/;

function applyOne(state: ViewState, input: string, key: KeyFlags): ViewState {
  if (state.draft !== undefined) {
    // Typing a filter: every key is text until Enter or Esc.
    if (key.return) return { ...state, filter: state.draft, draft: undefined };
    if (key.escape) return { ...state, draft: undefined };
    if (key.backspace || key.delete) return { ...state, draft: state.draft.slice(0, -1) };
    if (input !== '' && !key.ctrl && !key.meta) return { ...state, draft: state.draft + input };
    return state;
  }
  // Before meta: ink reports Esc with meta set too.
  if (key.escape) return { ...state, filter: '' };
  if (key.ctrl || key.meta) return state;
  if (input === 'q') return { ...state, quit: true };
  if (input === ' ' || input === 'p') return { ...state, paused: !state.paused };
  if (input === 'g') return { ...state, group: nextGrouping(state.group) };
  if (input === '/') return { ...state, draft: state.filter };
  const column = columnForKey(input);
  if (column) return { ...state, sort: sortAfterKey(state.sort, column.id) };
  return state;
}
