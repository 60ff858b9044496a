package io.salsa.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

class EnvDefaultsTest {

    @Command(name = "svc")
    static final class Svc implements Runnable {
        @Option(names = "--temperature", description = "Sampling temperature ($SALSA_GENERATOR_TEMPERATURE).")
        Double temperature;
        @Option(names = "--work-dir", defaultValue = "salsa-data/work", description = "Scratch (default ${DEFAULT-VALUE}).")
        String workDir;
        @Option(names = "--recipe", required = true, split = ";", description = "Recipes [SALSA_SOUP_RECIPES].")
        List<String> recipes;
        @Option(names = "--set", description = "Any setting (also SALSA_LEARNER_<KEY>).")
        Map<String, String> settings;
        @Mixin
        ServiceOptions service = new ServiceOptions();

        @Override public void run() { }
    }

    @Test
    void shouldNameTheDocumentedVariableElseDeriveItFromTheLongName() {
        CommandLine cmd = new CommandLine(new Svc());
        var spec = cmd.getCommandSpec();
        assertEquals("SALSA_GENERATOR_TEMPERATURE", EnvDefaults.variable(spec.findOption("--temperature")));
        assertEquals("SALSA_SOUP_RECIPES", EnvDefaults.variable(spec.findOption("--recipe")));
        assertEquals("SALSA_WORK_DIR", EnvDefaults.variable(spec.findOption("--work-dir")));
        assertEquals("SALSA_KAFKA_BOOTSTRAP", EnvDefaults.variable(spec.findOption("--bootstrap")));
        assertEquals("SALSA_METRICS_PORT", EnvDefaults.variable(spec.findOption("--metrics-port")));
        assertNull(EnvDefaults.variable(spec.findOption("--set")), "a family of variables is not one option's");
    }

    @Test
    void shouldFillRequiredAndDefaultedOptionsFromTheEnvironmentWithFlagsWinning() {
        Map<String, String> env = Map.of("SALSA_SOUP_RECIPES", "name=a,base=b,k=1;name=c,base=b,k=2",
                "SALSA_WORK_DIR", "/var/lib/salsa/work", "SALSA_GENERATOR_TEMPERATURE", "0.5",
                "SALSA_METRICS_PORT", " ");
        Svc svc = new Svc();
        new CommandLine(svc).setDefaultValueProvider(new EnvDefaults(env)).parseArgs("--temperature", "0.9");
        assertEquals(List.of("name=a,base=b,k=1", "name=c,base=b,k=2"), svc.recipes);
        assertEquals("/var/lib/salsa/work", svc.workDir);
        assertEquals(0.9, svc.temperature, "the flag wins");
        assertEquals(9400, svc.service.metricsPort(Map.of(), 9400), "a blank variable is unset");

        Svc plain = new Svc();
        new CommandLine(plain).setDefaultValueProvider(new EnvDefaults(Map.of("SALSA_SOUP_RECIPES", "name=x,base=b,k=1")))
                .parseArgs();
        assertEquals("salsa-data/work", plain.workDir, "the annotation's default without a variable");
    }

    @Test
    void shouldRefuseABadMetricsPortNamingTheSetting() {
        Svc svc = new Svc();
        new CommandLine(svc).parseArgs("--recipe", "r");
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> svc.service.metricsPort(Map.of("SALSA_METRICS_PORT", "http"), 9400));
        assertEquals("--metrics-port (SALSA_METRICS_PORT) must be -1 (none), 0 (any free port) or a port up to 65535 "
                + "(got 'http')", e.getMessage());
        assertEquals(-1, svc.service.metricsPort(Map.of("SALSA_METRICS_PORT", "-1"), 9400));
    }
}
