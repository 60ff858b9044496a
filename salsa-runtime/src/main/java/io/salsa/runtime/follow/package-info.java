/**
 * Following the newest model announced on a compacted topic: {@link io.salsa.runtime.follow.LatestModelFollower}
 * (fetch through the verified folder cache, load off the hot thread, hand over at the holder's boundary, keep the
 * old model on failure) and {@link io.salsa.runtime.follow.TopicTail} (the reading loop that feeds it), so the
 * generator's policy follower, the learner's soup watcher and the scorer's reward-model slot share one
 * implementation.
 *
 * <p>Depends on {@code schemas}, kafka-clients and the rest of salsa-runtime only; may not depend on DJL or model
 * code (the model is a type parameter and the loader a function), nor on any service.
 */
package io.salsa.runtime.follow;
