package io.salsa.cli.report;

import io.salsa.runtime.cli.SalsaCommand;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code salsa report RUN_DIR}: rebuild a run's HTML report and PNG plots from what the run left on disk. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write RUN_DIR/report.html (self-contained) and RUN_DIR/plots/*.png from RUN_DIR/"
                + MetricsLog.FILE_NAME + " and RUN_DIR/" + RunResults.FILE_NAME + ".",
                "A run folder is what `salsa demo` or `salsa experiment` leaves behind (e.g. salsa-data/run)."})
public final class ReportCommand extends SalsaCommand {

    @Parameters(paramLabel = "RUN_DIR", description = "The run folder.")
    Path runDir;

    @Override
    public Integer call() {
        if (!Files.isDirectory(runDir)) {
            return refuse(runDir + " is not a folder");
        }
        try {
            ReportWriter.Written w = ReportWriter.write(runDir);
            System.out.println("report: " + w.html().toAbsolutePath());
            System.out.println("plots:  " + w.plots().size() + " PNG files in "
                    + runDir.resolve(ReportWriter.PLOTS_DIR).toAbsolutePath());
            return 0;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            return refuse(e.getMessage());
        }
    }
}
