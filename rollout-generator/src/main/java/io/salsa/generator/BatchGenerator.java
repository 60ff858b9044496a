package io.salsa.generator;

import io.salsa.events.DeadLetter;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.AvroArrays;
import io.salsa.schemas.DeadLetters;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.serde.WireFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The generator's output side: samples one batch of queued prompt samples with one policy version, stamps each
 * sample as a {@link Rollout} and publishes it, and publishes the {@link DeadLetter} of a prompt that cannot be
 * generated.
 *
 * <p>Every send joins the loop's {@link OutputTransaction} (opened by the first). A prompt's offset is acknowledged
 * in the {@link OffsetTracker} only from the broker's acknowledgement of each of its outputs, and committed with
 * the transaction that holds the last of them; the first send the broker refuses is kept in the shared
 * {@code sendFailure}, which aborts the transaction and ends the service. Called from the generator's loop thread;
 * acknowledgements arrive on the producer's I/O thread.
 */
final class BatchGenerator {

    private static final Logger LOG = LoggerFactory.getLogger(BatchGenerator.class);

    /** One sequence to generate: a sample of a prompt read at a partition and offset. */
    record Work(TopicPartition tp, long offset, Prompt prompt, int[] ids, int sampleIndex) { }

    private final KafkaSettings settings;
    private final GeneratorConfig config;
    private final GeneratorStats stats;
    private final OffsetTracker tracker;
    private final AtomicReference<Throwable> sendFailure;
    private final KafkaProducer<String, byte[]> producer;
    private final OutputTransaction transaction;
    private final String rolloutsTopic;
    private final RegistryAvroSerde<Rollout> rolloutSerde;
    private final RegistryAvroSerde<DeadLetter> deadSerde;

    BatchGenerator(KafkaSettings settings, GeneratorConfig config, GeneratorStats stats, OffsetTracker tracker,
                   AtomicReference<Throwable> sendFailure, KafkaProducer<String, byte[]> producer,
                   OutputTransaction transaction) {
        this.settings = settings;
        this.config = config;
        this.stats = stats;
        this.tracker = tracker;
        this.sendFailure = sendFailure;
        this.producer = producer;
        this.transaction = transaction;
        this.rolloutsTopic = settings.topic(Topics.ROLLOUTS);
        this.rolloutSerde = settings.valueSerde(Topics.ROLLOUTS);
        this.deadSerde = settings.valueSerde(Topics.DEAD_LETTERS);
    }

    /**
     * Registers the output schemas and fetches the output topics' metadata before the first batch, so the first
     * rollouts do not wait for a registry write or a metadata round trip inside {@code send}.
     */
    void warmUp() {
        String deadTopic = settings.topic(Topics.DEAD_LETTERS);
        settings.registry().register(WireFormat.valueSubject(rolloutsTopic), Rollout.getClassSchema());
        settings.registry().register(WireFormat.valueSubject(deadTopic), DeadLetter.getClassSchema());
        producer.partitionsFor(rolloutsTopic);
        producer.partitionsFor(deadTopic);
    }

    /** Publishes the dead letter of the prompt read at {@code r}; its offset is done once the broker has it. */
    void deadLetter(ConsumerRecord<byte[], byte[]> r, Exception reason, TopicPartition tp) {
        LOG.warn("dead-lettering prompt at {}@{}: {}", tp, r.offset(), reason.getMessage());
        DeadLetter letter = DeadLetters.of(r, reason, GeneratorApp.SERVICE);
        ProducerRecord<String, DeadLetter> typed = DeadLetters.toRecord(settings, letter);
        tracker.register(tp, r.offset(), 1);
        transaction.begin();
        producer.send(new ProducerRecord<>(typed.topic(), typed.key(), deadSerde.serialize(typed.topic(), letter)),
                (md, e) -> {
                    if (e != null) {
                        sendFailure.compareAndSet(null, e);
                    } else {
                        transaction.wrote(md.topic(), md.partition());
                        stats.deadLetters.incrementAndGet();
                        tracker.acknowledge(tp, r.offset());
                    }
                });
    }

    /** Takes up to one batch from {@code work}, samples it with {@code p} and sends every rollout (without waiting). */
    void generate(LoadedPolicy p, Queue<Work> work) {
        List<Work> batch = new ArrayList<>(config.batchSize());
        while (batch.size() < config.batchSize() && !work.isEmpty()) {
            batch.add(work.poll());
        }
        List<RolloutSampler.Request> requests = new ArrayList<>(batch.size());
        for (Work w : batch) {
            requests.add(new RolloutSampler.Request(w.ids(), RolloutSeeds.derive(config.seed(),
                    w.prompt().getPromptId(), w.prompt().getEpoch(), w.sampleIndex(), p.version())));
        }
        long t0 = System.nanoTime();
        stats.firstBatchStartNanos.compareAndSet(0, t0);
        List<RolloutSampler.Sample> samples = p.sampler().sample(requests, config.sampling());
        long generationNanos = System.nanoTime() - t0;
        stats.modelNanos.addAndGet(generationNanos);
        stats.batches.incrementAndGet();
        long createdAt = System.currentTimeMillis();
        for (int i = 0; i < batch.size(); i++) {
            Work w = batch.get(i);
            RolloutSampler.Sample s = samples.get(i);
            long d0 = System.nanoTime();
            String responseText = p.sampler().decode(s.stoppedAtEos()
                    ? Arrays.copyOf(s.responseIds(), s.responseIds().length - 1) : s.responseIds());
            String promptText = w.prompt().getText() == null || w.prompt().getText().isEmpty()
                    ? p.sampler().decode(w.ids()) : w.prompt().getText();
            long d1 = System.nanoTime();
            stats.decodeNanos.addAndGet(d1 - d0);
            Rollout rollout = Rollout.newBuilder()
                    .setRolloutId(w.prompt().getPromptId() + "/e" + w.prompt().getEpoch() + "/s" + w.sampleIndex()
                            + "/v" + p.version() + "@" + config.generatorId())
                    .setPromptId(w.prompt().getPromptId())
                    .setPromptTokenIds(AvroArrays.ints(w.ids()))
                    .setResponseTokenIds(AvroArrays.ints(s.responseIds()))
                    .setBehaviourLogProbs(AvroArrays.floats(s.logProbs()))
                    .setStoppedAtEos(s.stoppedAtEos())
                    .setPolicyRunId(p.runId())
                    .setPolicyVersion(p.version())
                    .setGeneratorId(config.generatorId())
                    .setSampleIndex(w.sampleIndex())
                    .setSeed(requests.get(i).seed())
                    .setTemperature(config.sampling().temperature())
                    .setTopK(config.sampling().topK())
                    .setTopP(config.sampling().topP())
                    .setPromptText(promptText)
                    .setResponseText(responseText)
                    .setGenerationMs(generationNanos / 1_000_000)
                    .setCreatedAtMs(createdAt)
                    .build();
            stats.tokens.addAndGet(s.responseIds().length);
            stats.rolloutsSent.incrementAndGet();
            TopicPartition tp = w.tp();
            long offset = w.offset();
            transaction.begin();
            producer.send(new ProducerRecord<>(rolloutsTopic, rollout.getPromptId(),
                    rolloutSerde.serialize(rolloutsTopic, rollout)), (md, e) -> {
                        if (e != null) {
                            sendFailure.compareAndSet(null, e);
                        } else {
                            transaction.wrote(md.topic(), md.partition());
                            stats.rolloutsAcked.incrementAndGet();
                            stats.lastAckNanos.set(System.nanoTime());
                            tracker.acknowledge(tp, offset);
                        }
                    });
            stats.serdeNanos.addAndGet(System.nanoTime() - d1);
        }
        stats.lastBatchSentNanos.set(System.nanoTime());
    }


}
