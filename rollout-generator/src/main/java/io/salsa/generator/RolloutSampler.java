package io.salsa.generator;

import java.util.List;

/**
 * The generator's view of a loaded policy: turns prompts into sampled responses with their behaviour
 * log-probs, so the Kafka glue never touches the model library directly.
 *
 * <p>Each request carries its own seed, and an implementation must make a row's result depend only on its
 * prompt, its seed and the weights — not on which other rows share the batch — so rollouts are reproducible
 * whatever the batching or partition assignment.
 */
public interface RolloutSampler extends AutoCloseable {

    /** One sequence to sample: the prompt's token ids and the seed of its sampler. */
    record Request(int[] promptIds, long seed) { }

    /**
     * One sampled response: token ids (with EOS when it stopped there), the log-prob of each under the distribution
     * it was drawn from (temperature, top-k/top-p cut, renormalised: the behaviour log-probs), and why it ended.
     */
    record Sample(int[] responseIds, float[] logProbs, boolean stoppedAtEos) {
        public Sample {
            if (responseIds.length != logProbs.length) {
                throw new IllegalArgumentException("response has " + responseIds.length + " tokens but "
                        + logProbs.length + " log-probs");
            }
        }
    }

    /** Samples one response per request, in request order. */
    List<Sample> sample(List<Request> requests, SamplingParams params);

    /** Longest sequence (prompt + response) the model accepts. */
    int maxPositions();

    /** Size of the vocabulary; prompt ids must be below it. */
    int vocabSize();

    /** Decodes token ids to text for humans, or returns null when the model folder has no tokenizer. */
    String decode(int[] ids);

    /**
     * Encodes a plain-text prompt as Hugging Face's {@code tokenizer(text)} does (the special tokens its
     * post-processor adds, e.g. Llama's BOS), or returns null when the model folder has no tokenizer.
     */
    int[] encode(String text);

    /** One turn of a chat conversation. */
    record Turn(String role, String content) { }

    /**
     * Renders a conversation with the model's chat template (with the generation prompt, as
     * {@code apply_chat_template(add_generation_prompt=True)}) and encodes it, or returns null when the model folder
     * has no chat template.
     *
     * @throws IllegalArgumentException when the template refuses the conversation (an unknown role, a template that
     *                                  raises), naming why
     */
    default int[] encodeChat(List<Turn> conversation) {
        return null;
    }

    @Override
    void close();
}
