package io.salsa.ingest;

import picocli.CommandLine;

/** A child JVM for the SIGTERM test: {@code salsa ingest args} in the foreground, as the real command runs. */
final class IngestCommandChild {

    private IngestCommandChild() {}

    public static void main(String[] args) {
        System.exit(new CommandLine(new IngestCommand()).execute(args));
    }
}
