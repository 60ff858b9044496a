package io.salsa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.SecuredTestKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code salsa} command tree against a SASL/SCRAM + ACL broker, credentials from {@code --kafka-config}. */
@ExtendWith(KafkaExtension.class)
class SecuredKafkaCliTest {

    @TempDir
    Path dir;

    private Path clientConfig(String name, Map<String, String> login) throws Exception {
        StringBuilder text = new StringBuilder();
        login.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        return Files.writeString(dir.resolve(name), text);
    }

    private static int run(StringWriter err, String... args) {
        CommandLine salsa = Salsa.commandLine();
        salsa.getSubcommands().get("prompts").getSubcommands().get("load").setErr(new PrintWriter(err, true));
        return salsa.execute(args);
    }

    @Test
    void shouldLoadPromptsWithTheRightCredentialsAndEndInOneLineNamingThePrincipalOtherwise(SecuredTestKafka kafka)
            throws Exception {
        String prefix = "cli" + System.nanoTime() + ".";
        String user = "frank" + System.nanoTime();
        Path good = clientConfig("good.properties", kafka.user(user, "frank-pw", prefix));
        Path bad = clientConfig("bad.properties", kafka.login(user, "not-frank-pw"));
        Path prompts = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"hello\"}\n");

        StringWriter err = new StringWriter();
        assertEquals(0, run(err, "prompts", "load", prompts.toString(), "--bootstrap", kafka.bootstrapServers(),
                "--topic-prefix", prefix, "--kafka-config", good.toString()), err.toString());

        err = new StringWriter();
        assertEquals(1, run(err, "prompts", "load", prompts.toString(), "--bootstrap", kafka.bootstrapServers(),
                "--topic-prefix", prefix, "--kafka-config", bad.toString()));
        assertTrue(err.toString().startsWith("salsa prompts load: Kafka at " + kafka.bootstrapServers()
                + " refused to authenticate User:" + user), err.toString());
        assertTrue(err.toString().contains(bad.toString()), "names the file the credentials came from: " + err);
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);

        err = new StringWriter();
        assertEquals(1, run(err, "prompts", "load", prompts.toString(), "--bootstrap", kafka.bootstrapServers(),
                "--topic-prefix", "other" + prefix, "--kafka-config", good.toString()));
        assertTrue(err.toString().contains("User:" + user + " is not authorized for topic other" + prefix + "prompts"),
                err.toString());
    }
}
