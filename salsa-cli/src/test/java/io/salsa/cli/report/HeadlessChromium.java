package io.salsa.cli.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Loads a page in Debian's headless Chromium and returns the DOM after the page's load event, so tests can
 * check what a browser actually rendered (images decoded, tables present) without Selenium.
 */
final class HeadlessChromium {

    private HeadlessChromium() {
    }

    /** The chromium binary, if installed. */
    static Optional<Path> find() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Copies {@code page} beside itself with a probe script appended that, on load, records every image's
     * natural size and the number of tables as attributes of {@code <body>}; returns Chromium's dump of that DOM.
     */
    static String loadAndProbe(Path chromium, Path page) throws IOException, InterruptedException {
        String html = Files.readString(page, StandardCharsets.UTF_8);
        String probe = "<script>window.addEventListener('load',function(){"
                + "var imgs=Array.prototype.slice.call(document.images);"
                + "document.body.setAttribute('data-probe-images',imgs.map(function(i){"
                + "return i.naturalWidth+'x'+i.naturalHeight;}).join(','));"
                + "document.body.setAttribute('data-probe-tables',document.querySelectorAll('table').length);"
                + "});</script>";
        Path probed = page.resolveSibling("probe-" + page.getFileName());
        Files.writeString(probed, html.replace("</body>", probe + "</body>"), StandardCharsets.UTF_8);
        Path profile = Files.createTempDirectory(page.getParent(), "chromium-profile");
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--user-data-dir=" + profile, "--virtual-time-budget=5000", "--dump-dom",
                probed.toUri().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("chromium did not finish");
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
