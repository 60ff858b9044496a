package io.salsa.generator;

import java.util.List;

/**
 * A {@link RolloutSampler} that hands every call to another one, so a wrapper (a benchmark's view that must not close
 * a shared model, a test's sampler that holds a batch) overrides only the call it changes.
 */
public abstract class ForwardingRolloutSampler implements RolloutSampler {

    /** The sampler every call goes to unless overridden. */
    protected final RolloutSampler inner;

    protected ForwardingRolloutSampler(RolloutSampler inner) {
        this.inner = inner;
    }

    @Override
    public List<Sample> sample(List<Request> requests, SamplingParams params) {
        return inner.sample(requests, params);
    }

    @Override
    public int maxPositions() {
        return inner.maxPositions();
    }

    @Override
    public int vocabSize() {
        return inner.vocabSize();
    }

    @Override
    public String decode(int[] ids) {
        return inner.decode(ids);
    }

    @Override
    public int[] encode(String text) {
        return inner.encode(text);
    }

    @Override
    public int[] encodeChat(List<Turn> conversation) {
        return inner.encodeChat(conversation);
    }

    @Override
    public void close() {
        inner.close();
    }
}
