package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;

/**
 * Counts the engine's live native arrays (every array in every open manager below the engine's system manager), so
 * leak tests and the swap bench can see arrays that outlive their model or step, whichever manager holds them.
 */
public final class NativeArrays {

    private NativeArrays() {
    }

    /** Arrays not yet closed in all open managers of the default engine. */
    public static int live() {
        try (NDManager probe = NDManager.newBaseManager(Device.cpu())) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }
}
