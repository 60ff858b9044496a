package io.salsa.model.lm;

import ai.djl.Device;
import picocli.CommandLine.Option;

/** The {@code --device} and {@code --threads} flags every model command shares (a picocli mixin). */
public final class DeviceOptions {

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device = "cpu";

    @Option(names = "--threads", defaultValue = "1",
            description = "PyTorch threads (default: ${DEFAULT-VALUE}; more rarely helps these small models on a shared machine).")
    int threads = 1;

    /** Sets the thread count and returns the device; errors name the flag. */
    public Device apply() {
        Devices.setThreads(threads);
        return Devices.parse(device);
    }

    public int threads() {
        return threads;
    }
}
