/**
 * The built-in synthetic task world (invented entities, questions, SFT splits, preference pairs, corpus,
 * tokenizer) and the simulated rater that judges answers, so the system trains and is judged offline on data that
 * is a pure function of a seed.
 *
 * <p>Uses only the tokenizer package of {@code salsa-model}: may not depend on the network, generation or training
 * code, on Kafka or on any service.
 */
package io.salsa.task;
