package io.salsa.task;

/** The kinds of answer the task can write to a question, from the one SFT imitates to the ones a rater punishes. */
public enum ResponseStyle {
    /** The correct fact in one sentence: what SFT data holds and the rater scores highest. */
    CONCISE,
    /** Only the value ("red."): correct but not a full sentence. */
    TERSE,
    /** The correct sentence wrapped in filler sentences. */
    VERBOSE,
    /** The correct sentence or value said again and again. */
    REPETITIVE,
    /** A confident sentence with a wrong value. */
    WRONG,
    /** The right and a wrong value together. */
    HEDGING,
    /** Nothing at all: what a KL-hacked policy shrinks to. */
    EMPTY,
    /** Invented words with no meaning: what a drifting policy degenerates to. */
    NONSENSE
}
