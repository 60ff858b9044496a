package io.salsa.runtime.service;

/**
 * A service's answer to a health probe: starting (not yet serving), up, or down with the reason, so compose,
 * the demo and tests ask every service the same question.
 */
public record Health(Status status, String detail) {

    /** The three states a probe distinguishes. */
    public enum Status { STARTING, UP, DOWN }

    public Health {
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
        detail = detail == null ? "" : detail;
    }

    public static Health starting(String detail) {
        return new Health(Status.STARTING, detail);
    }

    public static Health up(String detail) {
        return new Health(Status.UP, detail);
    }

    public static Health down(String detail) {
        return new Health(Status.DOWN, detail);
    }

    /** Whether the service is serving. */
    public boolean isUp() {
        return status == Status.UP;
    }
}
