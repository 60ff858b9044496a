package io.salsa.task;

/** Which of two responses a rater prefers; a tie yields no preference pair. */
public enum RaterChoice {
    A, B, TIE
}
