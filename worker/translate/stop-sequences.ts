/**
 * Chat's `stop` parameter, applied on our side: the Codex backend has no stop sequences. Text
 * passes through as it streams, except a tail that could still become a stop sequence, which
 * is held back until the next piece decides it. Memory stays bounded by the longest sequence.
 */
export class StopSequenceFilter {
  readonly #stops: readonly string[];
  #held = '';

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop !== '');
  }

  /** The text that is safe to send now, and whether a stop sequence was reached (nothing after it is sent). */
  push(piece: string): { text: string; stopped: boolean } {
    if (this.#stops.length === 0) return { text: piece, stopped: false };
    const text = this.#held + piece;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#held = '';
      return { text: text.slice(0, cut), stopped: true };
    }
    const hold = this.#partialMatchLength(text);
    this.#held = text.slice(text.length - hold);
    return { text: text.slice(0, text.length - hold), stopped: false };
  }

  /** Text held back when the answer ends without completing a stop sequence. */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    return held;
  }

  /** Length of the longest end of `text` that begins some stop sequence. */
  #partialMatchLength(text: string): number {
    let best = 0;
    for (const stop of this.#stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > best; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
