package io.salsa.learner;

import io.salsa.model.lm.DeviceOptions;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa replay --run ID}: rebuilds a learner run from its manifests and checks its checkpoints. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Re-train a learner run from its batch manifests and compare every checkpoint (sha256).")
public final class ReplayCommand extends SalsaCommand {

    @Option(names = "--run", required = true, description = "Run id to replay.")
    String runId;

    @Mixin
    DeviceOptions devices;

    @Mixin
    ServiceOptions service;

    @Override
    public Integer call() throws Exception {
        try {
            // the same device and thread count as the run make a CPU replay bit-identical
            Replay.Report report = Replay.run(runId, service.kafka(System.getenv()), service.store(System.getenv()),
                    LearnCommand.trainerFactory(), devices.apply());
            System.out.printf("run %s: re-trained %d steps%n", runId, report.steps());
            for (Replay.Checkpoint c : report.checkpoints()) {
                System.out.printf("  checkpoint v%-4d step %-6d %s%s%n", c.version(), c.step(),
                        c.identical() ? "identical (" + c.actualSha256().substring(0, 16) + ")"
                                : "DIFFERS: recorded " + c.expectedSha256() + ", replayed " + c.actualSha256(),
                        c.retained() ? "" : " (blobs not retained; compared with the recorded sha256)");
            }
            System.out.println(report.allIdentical() ? "all checkpoints reproduced bit for bit"
                    : "some checkpoints differ");
            return report.allIdentical() ? 0 : 1;
        } catch (IllegalArgumentException | IllegalStateException e) {
            return refuse(e.getMessage());
        }
    }
}
