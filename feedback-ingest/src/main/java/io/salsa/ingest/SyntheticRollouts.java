package io.salsa.ingest;

import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Writes made-up but well-formed rollouts to the rollouts topic, so the rater API can be load-tested and
 * demonstrated without running a model; every response text is distinct, so every pair is a real comparison.
 * Clearly labelled as synthetic in the rollout's generator id.
 */
public final class SyntheticRollouts {

    private SyntheticRollouts() {
    }

    /**
     * Publishes {@code prompts × perPrompt} rollouts and waits until all are acknowledged.
     *
     * @param tag distinguishes the prompt and rollout ids of one call from another's
     * @return the number of pairs the ingest service will form from them
     */
    public static long publish(KafkaSettings settings, String tag, int prompts, int perPrompt) {
        TopicAdmin.ensureTopics(settings, List.of(Topics.ROLLOUTS));
        Properties p = settings.producerProps();
        try (Producer<String, Rollout> producer = new KafkaProducer<>(p, settings.keySerde().serializer(),
                settings.valueSerde(Topics.ROLLOUTS).serializer())) {
            String topic = settings.topic(Topics.ROLLOUTS);
            List<Future<RecordMetadata>> sends = new ArrayList<>();
            for (int i = 0; i < prompts; i++) {
                for (int j = 0; j < perPrompt; j++) {
                    Rollout r = rollout(tag, i, j);
                    sends.add(producer.send(new ProducerRecord<>(topic, r.getPromptId(), r)));
                }
            }
            producer.flush();
            for (Future<RecordMetadata> f : sends) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing synthetic rollouts", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("publishing synthetic rollouts failed: " + e.getCause(), e.getCause());
        }
        return (long) prompts * perPrompt * (perPrompt - 1) / 2;
    }

    static Rollout rollout(String tag, int prompt, int sample) {
        String promptId = tag + "-p" + prompt;
        return Rollout.newBuilder()
                .setRolloutId(tag + "-p" + prompt + "-s" + sample)
                .setPromptId(promptId)
                .setPromptTokenIds(List.of(prompt & 0xffff))
                .setResponseTokenIds(List.of(sample, prompt & 0xffff))
                .setBehaviourLogProbs(List.of(-1.0f, -2.0f))
                .setStoppedAtEos(true)
                .setPolicyRunId("synthetic")
                .setPolicyVersion(0)
                .setGeneratorId("synthetic-rollouts")
                .setSampleIndex(sample)
                .setSeed(sample)
                .setTemperature(1.0f)
                .setTopK(0)
                .setTopP(1.0f)
                .setPromptText("Synthetic prompt #" + prompt + " (" + tag + "): say something about the number "
                        + prompt + ".")
                .setResponseText("Synthetic response " + sample + " to prompt #" + prompt + ": the number " + prompt
                        + " is " + (sample % 2 == 0 ? "even-ish" : "odd-ish") + " in sample " + sample + ".")
                .setGenerationMs(0)
                .setCreatedAtMs(System.currentTimeMillis())
                .build();
    }
}
