package io.salsa.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.tokenizer.ByteLevelBpeTrainer;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The built-in task's data: splits, SFT examples, preference pairs, a pretraining corpus and a tokenizer, all
 * derived from one seed, so tests and the demo have instruction data without downloading anything.
 *
 * <p>Splits: a share of the entity–attribute combinations of every attribute, and two generic plus one specific
 * phrasing of every attribute, are held out; {@code ood} holds every question that uses either, {@code train}
 * and {@code eval} share the remaining combinations and phrasings but no question text. The pretraining corpus
 * states every fact (also of held-out combinations) as plain sentences and asks no questions: a model can know a
 * fact from pretraining yet never have been tuned to answer a question about it.
 */
public final class TaskDataset {

    /** Special tokens of the task tokenizer, in id order. */
    public static final List<String> SPECIAL_TOKENS = List.of("<|endoftext|>", "<pad>");

    /** A supervised example as SFT reads it. */
    public record SftExample(String prompt, String response) {
    }

    /** Two responses to one prompt, ordered by the {@link SimulatedRater}. */
    public record PreferencePair(String prompt, String chosen, String rejected, ResponseStyle chosenStyle,
            ResponseStyle rejectedStyle, double chosenScore, double rejectedScore) {
    }

    private final TaskConfig config;
    private final TaskWorld world;
    private final List<TaskPrompt> train;
    private final List<TaskPrompt> eval;
    private final List<TaskPrompt> ood;
    private final List<String> pretrain;
    private final List<PreferencePair> preferences;
    private final String tokenizerJson;

    private TaskDataset(TaskConfig config, TaskWorld world, List<TaskPrompt> train, List<TaskPrompt> eval,
            List<TaskPrompt> ood, List<String> pretrain, List<PreferencePair> preferences, String tokenizerJson) {
        this.config = config;
        this.world = world;
        this.train = List.copyOf(train);
        this.eval = List.copyOf(eval);
        this.ood = List.copyOf(ood);
        this.pretrain = List.copyOf(pretrain);
        this.preferences = List.copyOf(preferences);
        this.tokenizerJson = tokenizerJson;
    }

    /** Builds everything in memory; the same config always gives the same data. */
    public static TaskDataset generate(TaskConfig config) {
        TaskWorld world = TaskWorld.generate(config.seed(), config.entities());
        Random splitRng = new Random(config.seed() ^ 0x0DDBA11L);

        Set<String> oodCombos = new HashSet<>();
        for (Attribute a : Attribute.values()) {
            List<Entity> having = new ArrayList<>(world.entities().stream()
                    .filter(e -> e.kind().attributes().contains(a)).toList());
            if (having.isEmpty()) {
                continue;
            }
            Collections.shuffle(having, splitRng);
            // at least one held out, at least one left for training
            int k = Math.min(having.size() - 1, Math.max(1, (int) Math.round(config.oodComboFraction() * having.size())));
            for (Entity e : having.subList(0, k)) {
                oodCombos.add(e.name() + "/" + a.key());
            }
        }

        List<TaskPrompt> inDistribution = new ArrayList<>();
        List<TaskPrompt> ood = new ArrayList<>();
        for (Entity e : world.entities()) {
            for (Attribute a : e.kind().attributes()) {
                boolean heldOut = oodCombos.contains(e.name() + "/" + a.key());
                List<String> seen = a.trainTemplates();
                for (int i = 0; i < seen.size(); i++) {
                    String id = e.name() + "." + a.key() + ".t" + i;
                    if (heldOut) {
                        ood.add(new TaskPrompt(id, "ood", e.ask(seen.get(i)), e, a, seen.get(i), true, false));
                    } else {
                        inDistribution.add(new TaskPrompt(id, "train", e.ask(seen.get(i)), e, a, seen.get(i), false, false));
                    }
                }
                List<String> unseen = a.oodTemplates();
                for (int i = 0; i < unseen.size(); i++) {
                    String id = e.name() + "." + a.key() + ".o" + i;
                    ood.add(new TaskPrompt(id, "ood", e.ask(unseen.get(i)), e, a, unseen.get(i), heldOut, true));
                }
            }
        }
        Collections.shuffle(inDistribution, splitRng);
        int evalCount = Math.max(1, (int) Math.round(config.evalFraction() * inDistribution.size()));
        List<TaskPrompt> eval = new ArrayList<>();
        List<TaskPrompt> train = new ArrayList<>();
        for (int i = 0; i < inDistribution.size(); i++) {
            TaskPrompt p = inDistribution.get(i);
            if (i < evalCount) {
                eval.add(new TaskPrompt(p.id(), "eval", p.text(), p.entity(), p.attribute(), p.template(), false, false));
            } else {
                train.add(p);
            }
        }
        Collections.shuffle(ood, splitRng);

        List<String> pretrain = pretrainCorpus(world, config.pretrainVariants(), new Random(config.seed() ^ 0xC0FFEEL));
        List<PreferencePair> preferences = preferencePairs(world, train, config.preferencePairs(),
                new Random(config.seed() ^ 0xBEEFL));

        Set<String> texts = new LinkedHashSet<>(pretrain);
        for (List<TaskPrompt> split : List.of(train, eval, ood)) {
            for (TaskPrompt p : split) {
                texts.add(p.text());
                texts.add(p.reference());
            }
        }
        for (PreferencePair pair : preferences) {
            for (var r : List.of(Map.entry(pair.chosenStyle(), pair.chosen()), Map.entry(pair.rejectedStyle(), pair.rejected()))) {
                // gibberish would only buy merges for words the task never means
                if (r.getKey() != ResponseStyle.NONSENSE) {
                    texts.add(r.getValue());
                }
            }
        }
        String tokenizerJson = new ByteLevelBpeTrainer(config.vocabLimit(), 2, SPECIAL_TOKENS).train(texts);
        return new TaskDataset(config, world, train, eval, ood, pretrain, preferences, tokenizerJson);
    }

    private static List<String> pretrainCorpus(TaskWorld world, int variants, Random rng) {
        List<String> lines = new ArrayList<>();
        for (Entity e : world.entities()) {
            List<String> facts = new ArrayList<>();
            for (Attribute a : e.kind().attributes()) {
                facts.add(e.answer(a));
            }
            Map<Attribute, String> v = e.values();
            switch (e.kind()) {
                case ANIMAL -> {
                    facts.add(e.ref() + " is a " + v.get(Attribute.SIZE) + " " + v.get(Attribute.COLOUR) + " animal.");
                    facts.add(e.ref() + " lives in the " + v.get(Attribute.HOME) + " and eats " + v.get(Attribute.FOOD) + ".");
                }
                case PLANET -> facts.add(e.ref() + " is a " + v.get(Attribute.SIZE) + " " + v.get(Attribute.COLOUR)
                        + " planet with " + v.get(Attribute.MOONS) + " moons.");
                case CITY -> {
                    facts.add(e.ref() + " is a city on " + v.get(Attribute.PLANET) + ".");
                    facts.add(e.ref() + " is a city that is famous for " + v.get(Attribute.CRAFT) + ".");
                }
            }
            for (int i = 0; i < variants; i++) {
                List<String> doc = new ArrayList<>(facts);
                Collections.shuffle(doc, rng);
                lines.add(String.join(" ", doc.subList(0, 1 + rng.nextInt(doc.size()))));
            }
            lines.add(String.join(" ", facts));
        }
        Collections.shuffle(lines, rng);
        return lines;
    }

    private static List<PreferencePair> preferencePairs(TaskWorld world, List<TaskPrompt> prompts, int count,
            Random rng) {
        SimulatedRater rater = new SimulatedRater(world);
        ResponseWriter writer = new ResponseWriter(world);
        ResponseStyle[] styles = ResponseStyle.values();
        List<PreferencePair> pairs = new ArrayList<>();
        for (int i = 0; i < count && !prompts.isEmpty(); i++) {
            TaskPrompt p = prompts.get(i % prompts.size());
            ResponseStyle sa = styles[rng.nextInt(styles.length)];
            ResponseStyle sb = styles[(sa.ordinal() + 1 + rng.nextInt(styles.length - 1)) % styles.length];
            String a = writer.write(p.entity(), p.attribute(), sa, rng);
            String b = writer.write(p.entity(), p.attribute(), sb, rng);
            double scoreA = rater.score(p.text(), a);
            double scoreB = rater.score(p.text(), b);
            switch (rater.prefer(p.text(), a, b)) {
                case A -> pairs.add(new PreferencePair(p.text(), a, b, sa, sb, scoreA, scoreB));
                case B -> pairs.add(new PreferencePair(p.text(), b, a, sb, sa, scoreB, scoreA));
                case TIE -> { }
            }
        }
        return pairs;
    }

    public TaskConfig config() {
        return config;
    }

    public TaskWorld world() {
        return world;
    }

    /** Questions of a split: {@code train}, {@code eval} or {@code ood}. */
    public List<TaskPrompt> prompts(String split) {
        return switch (split) {
            case "train" -> train;
            case "eval" -> eval;
            case "ood" -> ood;
            default -> throw new IllegalArgumentException("split must be train, eval or ood, got " + split);
        };
    }

    /** SFT examples of a split: every question with its concise correct answer. */
    public List<SftExample> sft(String split) {
        return prompts(split).stream().map(p -> new SftExample(p.text(), p.reference())).toList();
    }

    /** Preference pairs over training questions. */
    public List<PreferencePair> preferences() {
        return preferences;
    }

    /** Pretraining documents, one per line. */
    public List<String> pretrainCorpus() {
        return pretrain;
    }

    /** The task tokenizer's {@code tokenizer.json}. */
    public String tokenizerJson() {
        return tokenizerJson;
    }

    /**
     * Writes every file into {@code dir} and checks, through {@link SalsaTokenizer}, that the tokenizer round-trips
     * every text; returns the file names with their line or entry counts.
     */
    public Map<String, Integer> writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Integer> counts = new LinkedHashMap<>();
        world.write(dir.resolve("world.json"));
        counts.put("world.json", world.entities().size());
        ObjectMapper json = new ObjectMapper();
        for (String split : List.of("train", "eval", "ood")) {
            counts.put("sft-" + split + ".jsonl", writeLines(dir.resolve("sft-" + split + ".jsonl"), sft(split).stream()
                    .map(e -> {
                        ObjectNode n = json.createObjectNode();
                        n.put("prompt", e.prompt());
                        n.put("response", e.response());
                        return n.toString();
                    }).toList()));
            counts.put("prompts-" + split + ".jsonl", writeLines(dir.resolve("prompts-" + split + ".jsonl"),
                    prompts(split).stream().map(p -> {
                        ObjectNode n = json.createObjectNode();
                        n.put("id", p.id());
                        n.put("prompt", p.text());
                        n.put("entity", p.entity().name());
                        n.put("kind", p.entity().kind().noun());
                        n.put("attribute", p.attribute().key());
                        n.put("answer", p.answer());
                        n.put("reference", p.reference());
                        n.put("oodCombo", p.oodCombo());
                        n.put("oodPhrasing", p.oodPhrasing());
                        return n.toString();
                    }).toList()));
        }
        counts.put("preferences.jsonl", writeLines(dir.resolve("preferences.jsonl"), preferences.stream().map(p -> {
            ObjectNode n = json.createObjectNode();
            n.put("prompt", p.prompt());
            n.put("chosen", p.chosen());
            n.put("rejected", p.rejected());
            n.put("chosenStyle", p.chosenStyle().name().toLowerCase(java.util.Locale.ROOT));
            n.put("rejectedStyle", p.rejectedStyle().name().toLowerCase(java.util.Locale.ROOT));
            n.put("chosenScore", p.chosenScore());
            n.put("rejectedScore", p.rejectedScore());
            return n.toString();
        }).toList()));
        counts.put("pretrain.txt", writeLines(dir.resolve("pretrain.txt"), pretrain));

        Files.writeString(dir.resolve(SalsaTokenizer.TOKENIZER_JSON), tokenizerJson);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(dir)) {
            checkRoundTrip(tokenizer);
            tokenizer.saveTo(dir);
            counts.put(SalsaTokenizer.TOKENIZER_JSON, tokenizer.vocabSize());
        }
        ObjectNode task = json.createObjectNode();
        task.put("generator", "salsa task generate");
        task.put("seed", config.seed());
        task.put("entities", config.entities());
        task.put("oodComboFraction", config.oodComboFraction());
        task.put("evalFraction", config.evalFraction());
        task.put("preferencePairs", config.preferencePairs());
        task.put("pretrainVariants", config.pretrainVariants());
        task.put("vocabLimit", config.vocabLimit());
        ObjectNode files = task.putObject("files");
        counts.forEach(files::put);
        Files.writeString(dir.resolve("task.json"),
                json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(task) + "\n");
        Files.writeString(dir.resolve("README.md"), readme(counts));
        return counts;
    }

    private void checkRoundTrip(SalsaTokenizer tokenizer) throws IOException {
        List<String> texts = new ArrayList<>(pretrain);
        for (String split : List.of("train", "eval", "ood")) {
            for (SftExample e : sft(split)) {
                texts.add(e.prompt());
                texts.add(e.response());
            }
        }
        for (String t : texts) {
            String back = tokenizer.decode(tokenizer.encode(t));
            if (!back.equals(t)) {
                throw new IOException(tokenizer.source() + ": the generated tokenizer does not round-trip \"" + t
                        + "\" (got \"" + back + "\")");
            }
        }
    }

    private static int writeLines(Path file, List<String> lines) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (String line : lines) {
                w.write(line);
                w.write('\n');
            }
        }
        return lines.size();
    }

    private String readme(Map<String, Integer> counts) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Built-in SALSA task (seed ").append(config.seed()).append(", ").append(config.entities())
                .append(" entities)\n\n");
        sb.append("Generated by `salsa task generate --seed ").append(config.seed()).append(" --entities ")
                .append(config.entities()).append("`; the same command always writes the same files.\n\n");
        sb.append("An invented world of animals, planets and cities with attributes (colour, size, food, home, sound, ")
                .append("number of moons, weather, planet, famous craft). Questions ask for one attribute of one entity ")
                .append("in several phrasings; answers are judged by a deterministic simulated rater.\n\n");
        sb.append("| file | lines | content |\n| --- | --- | --- |\n");
        row(sb, counts, "sft-train.jsonl", "`{\"prompt\", \"response\"}`: SFT training data, concise correct answers");
        row(sb, counts, "sft-eval.jsonl", "same format: in-distribution evaluation (question texts disjoint from train)");
        row(sb, counts, "sft-ood.jsonl", "same format: out-of-distribution questions (held-out entity–attribute "
                + "combinations and/or phrasings never in train)");
        row(sb, counts, "prompts-train.jsonl", "questions with metadata: `id, prompt, entity, kind, attribute, answer, "
                + "reference, oodCombo, oodPhrasing` (for rollouts and evaluation)");
        row(sb, counts, "prompts-eval.jsonl", "same, evaluation split");
        row(sb, counts, "prompts-ood.jsonl", "same, OOD split; `oodCombo`/`oodPhrasing` say why it is OOD");
        row(sb, counts, "preferences.jsonl", "`{\"prompt\", \"chosen\", \"rejected\", …Style, …Score}`: pairs of response "
                + "styles over train questions, ordered by the simulated rater (ties dropped)");
        row(sb, counts, "pretrain.txt", "pretraining corpus: one document of fact sentences per line; every fact, no questions");
        sb.append("| world.json | ").append(counts.get("world.json"))
                .append(" entities | the world: seed, entities, attribute values (the rater's ground truth) |\n");
        sb.append("| tokenizer.json | vocab ").append(counts.get(SalsaTokenizer.TOKENIZER_JSON))
                .append(" | byte-level BPE trained on the task texts; `<|endoftext|>` = 0, `<pad>` = 1 |\n");
        sb.append("| tokenizer_config.json | | special tokens for Hugging Face's `AutoTokenizer` |\n");
        sb.append("| task.json | | generator settings and counts |\n\n");
        sb.append("Rater (`SimulatedRater`): +1 correct value, −0.75 wrong value, −0.25 both, −0.5 none; +0.1 for naming ")
                .append("the entity; −0.04 per word beyond the concise answer + 2 (max −0.6); − share of repeated bigrams; ")
                .append("− share of unknown words; empty = −1. The concise correct sentence scores 1.1. A response naming ")
                .append("another entity (not as a city's planet) is about that entity: it scores as no value.\n");
        return sb.toString();
    }

    private static void row(StringBuilder sb, Map<String, Integer> counts, String file, String content) {
        sb.append("| ").append(file).append(" | ").append(counts.get(file)).append(" | ").append(content).append(" |\n");
    }
}
