/**
 * The contracts every salsa service shares: the topic catalog ({@link io.salsa.schemas.Topics}), the Kafka
 * client settings built from the environment ({@link io.salsa.schemas.KafkaSettings}), topic creation and
 * dead-letter records, so a topic's name and settings are written down exactly once.
 *
 * <p>Depends on nothing of ours (Avro, kafka-clients and Jackson only); every other module may use it.
 */
package io.salsa.schemas;
