package io.salsa.runtime.cli;

import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;

/**
 * Holds one option's value for picocli: the programmatic equivalent of an annotated field, for mixins built per
 * command (their flags, defaults or help differ between commands, so they cannot be fixed annotations).
 */
public final class OptionSlot implements IGetter, ISetter {
    private Object value;

    public OptionSlot(Object initial) {
        value = initial;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T get() {
        return (T) value;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T set(T newValue) {
        T old = (T) value;
        value = newValue;
        return old;
    }
}
