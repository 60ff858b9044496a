package io.salsa.ingest;

import io.salsa.events.Choice;
import java.util.Objects;

/**
 * A rater's validated answer to one task: a pairwise choice, or a 1–7 rating of response A.
 *
 * @param taskId  the task answered
 * @param choice  A, B or TIE for a pairwise answer; {@code null} for a rating
 * @param rating  1–7 for a rating of response A; {@code null} for a pairwise answer
 * @param reason  optional free text, {@code null} when absent
 */
public record Answer(String taskId, Choice choice, Integer rating, String reason) {

    public Answer {
        Objects.requireNonNull(taskId, "taskId");
        if ((choice == null) == (rating == null)) {
            throw new IllegalArgumentException("exactly one of choice and rating");
        }
    }

    /**
     * What makes two requests "the same" for idempotency: a key reused with a different answer is an error,
     * not a replay. Built only from fields that the published event also carries, so it can be recomputed
     * from the topic after a restart.
     */
    public String fingerprint() {
        return taskId + '|' + (choice == null ? "" : choice.name()) + '|' + (rating == null ? "" : rating)
                + '|' + (reason == null ? "" : reason);
    }
}
