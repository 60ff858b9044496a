package io.salsa.soup.builder;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.soup.LoraSoups;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Tiny GPT-2 bases and LoRA adapters trained-looking on them (random A and B), for the soup builder's tests. */
final class LoraMembers {

    static final GptConfig TINY = GptConfig.of(1, 2, 16, 32, 16, 0, 1);

    private LoraMembers() {
    }

    /** A random tiny base model folder. */
    static Path base(Path dir, long seed) throws IOException {
        try (GptModel m = GptModel.random(TINY, GptModel.Head.NONE, seed, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    /**
     * An adapter on {@code base}'s {@code c_attn} with random A and B (a fresh adapter has B = 0, so merging it would
     * change nothing), naming the base folder and recording its weights sha256, as {@code salsa sft train --lora}.
     */
    static Path adapter(Path base, Path dir, long seed) throws IOException {
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             LoraAdapter a = LoraAdapter.create(model, LoraConfig.of(2, 4, 0, List.of("c_attn"),
                     base.toAbsolutePath().toString()), seed)) {
            a.randomise(seed + 100, 0.05);
            a.setBaseSha256(LoraSoups.baseSha256(base));
            a.save(dir);
        }
        return dir;
    }
}
