package io.salsa.learner;

import io.salsa.events.ScoredRollout;

/**
 * A record read from the scored-rollouts topic with its coordinates; {@code value} is null when the bytes could
 * not be decoded (the record still counts towards the offsets its step covers).
 */
public record ConsumedRollout(String topic, int partition, long offset, ScoredRollout value) {}
