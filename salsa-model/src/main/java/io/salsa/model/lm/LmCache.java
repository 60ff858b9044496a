package io.salsa.model.lm;

/**
 * The keys and values a {@link CausalLm} keeps for tokens it has already seen, so each generated token costs one
 * position of work. Made by {@link CausalLm#newCache}; only the model that made it can use it.
 */
public interface LmCache extends AutoCloseable {

    /** Number of positions cached (0 before the first forward). */
    long length();

    @Override
    void close();
}
