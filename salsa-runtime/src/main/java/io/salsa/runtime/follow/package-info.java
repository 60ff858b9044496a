/**
 * Following the newest model announced on a compacted topic: {@link io.salsa.runtime.follow.LatestModelFollower}
 * fetches it through the verified folder cache, loads it off the hot thread, hands it over at the holder's boundary
 * and keeps the old model on failure, so the generator's policy follower, the learner's soup watcher and the scorer's
 * reward-model slot share one implementation. Announcements are fed to it by a {@code KafkaLog} follower or a Kafka
 * Streams processor.
 *
 * <p>Depends on {@code schemas} and the rest of salsa-runtime only; may not depend on DJL or model code (the model is
 * a type parameter and the loader a function), nor on any service.
 */
package io.salsa.runtime.follow;
