package io.salsa.soup.builder;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import io.salsa.model.soup.LoraSoups;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SftPublisherTest {

    private static Path folder(Path dir, String config) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config);
        return dir;
    }

    @Test
    void shouldAcceptGpt2AndLlamaConfigsAndRefuseOtherModelTypesNamingTheField(@TempDir Path tmp) throws Exception {
        Path gpt2 = folder(tmp.resolve("gpt2"), """
                {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 16, "vocab_size": 32, "n_positions": 16,
                 "bos_token_id": 0, "eos_token_id": 1}
                """);
        Path llama = folder(tmp.resolve("llama"), """
                {"model_type": "llama", "vocab_size": 32, "hidden_size": 16, "intermediate_size": 32,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                 "max_position_embeddings": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
                 "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 1}
                """);
        Path bert = folder(tmp.resolve("bert"), """
                {"model_type": "bert", "hidden_size": 16}
                """);

        assertDoesNotThrow(() -> SftPublisher.checkConfig(gpt2));
        assertDoesNotThrow(() -> SftPublisher.checkConfig(llama));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftPublisher.checkConfig(bert));
        assertTrue(e.getMessage().contains("model_type \"bert\"") && e.getMessage().contains("llama")
                && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void shouldFindAnAdaptersBaseAndRefuseAFolderOfAnotherBaseNamingBothHashes(@TempDir Path tmp) throws Exception {
        Path base = LoraMembers.base(tmp.resolve("base"), 1);
        Path other = LoraMembers.base(tmp.resolve("other"), 2);
        Path adapter = LoraMembers.adapter(base, tmp.resolve("adapter"), 3);

        // no card: the base is adapter_config.json's base_model_name_or_path
        SftPublisher.AdapterBase found = SftPublisher.adapterBase(adapter, null, null);
        assertEquals(base.toAbsolutePath(), found.dir().toAbsolutePath());
        assertEquals(LoraSoups.baseSha256(base), found.weightsSha256());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftPublisher.adapterBase(adapter, null, other));
        assertTrue(e.getMessage().contains(LoraSoups.baseSha256(base)) && e.getMessage().contains(
                LoraSoups.baseSha256(other)) && e.getMessage().contains("--base-dir"), e.getMessage());
    }
}
