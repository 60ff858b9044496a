package io.salsa.model.lm.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses the {@code --lora} value of the training commands, {@code r=16,alpha=32,targets=q_proj,v_proj[,dropout=0.05]
 * [,rslora]}, into a {@link LoraConfig} (without a base: the command names it). Names after {@code targets=} are
 * targets until the next {@code key=value} or flag, so the spec reads as PEFT's {@code target_modules} list. Errors
 * name the key and what it allows.
 */
public final class LoraSpec {

    /** The keys a spec may hold. */
    public static final List<String> KEYS = List.of("r", "alpha", "targets", "dropout", "rslora");

    private LoraSpec() {
    }

    /**
     * The settings {@code spec} gives; alpha defaults to r (scaling 1), dropout to 0.
     *
     * @throws IllegalArgumentException an unknown key, a repeated key, a value that is not a number, r ≤ 0, alpha ≤ 0,
     *                                  dropout outside [0, 1), no targets
     */
    public static LoraConfig parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("--lora is empty; expected r=N,alpha=A,targets=M1,M2[,dropout=P][,rslora]");
        }
        Integer r = null;
        Double alpha = null;
        Double dropout = null;
        boolean rslora = false;
        List<String> targets = null;
        boolean inTargets = false;
        List<String> seen = new ArrayList<>();
        for (String raw : spec.split(",", -1)) {
            String part = raw.trim();
            int eq = part.indexOf('=');
            if (eq < 0 && inTargets && !part.equals("rslora")) {
                if (part.isEmpty()) {
                    throw new IllegalArgumentException("--lora: empty target module name in '" + spec + "'");
                }
                targets.add(part);
                continue;
            }
            String key = (eq < 0 ? part : part.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? null : part.substring(eq + 1).trim();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("--lora: unknown key '" + key + "' in '" + spec + "'; allowed: "
                        + String.join(", ", KEYS) + " (e.g. r=16,alpha=32,targets=q_proj,v_proj,dropout=0.05,rslora)");
            }
            if (seen.contains(key)) {
                throw new IllegalArgumentException("--lora: key '" + key + "' given twice in '" + spec + "'");
            }
            seen.add(key);
            inTargets = false;
            if (key.equals("rslora")) {
                if (value != null && !value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
                    throw new IllegalArgumentException("--lora: rslora takes no value or true/false, got '" + value + "'");
                }
                rslora = value == null || value.equalsIgnoreCase("true");
                continue;
            }
            if (value == null || value.isEmpty()) {
                throw new IllegalArgumentException("--lora: key '" + key + "' needs a value (" + key + "=…)");
            }
            switch (key) {
                case "r" -> r = integer(key, value, "an integer > 0");
                case "alpha" -> alpha = number(key, value, "a number > 0");
                case "dropout" -> dropout = number(key, value, "a number in [0, 1)");
                default -> {
                    targets = new ArrayList<>(List.of(value));
                    inTargets = true;
                }
            }
        }
        if (r == null) {
            throw new IllegalArgumentException("--lora: r is missing; r must be an integer > 0 (e.g. r=16)");
        }
        if (r <= 0) {
            throw new IllegalArgumentException("--lora: r must be an integer > 0, got " + r);
        }
        if (alpha != null && !(alpha > 0)) {
            throw new IllegalArgumentException("--lora: alpha must be a number > 0, got " + alpha);
        }
        if (dropout != null && !(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("--lora: dropout must be in [0, 1), got " + dropout);
        }
        if (targets == null) {
            throw new IllegalArgumentException("--lora: targets is missing; name the linear modules to adapt as PEFT "
                    + "spells them (e.g. targets=q_proj,v_proj for Llama, targets=c_attn for GPT-2)");
        }
        return new LoraConfig(r, alpha == null ? r : alpha, dropout == null ? 0 : dropout, targets, rslora, false, null);
    }

    private static int integer(String key, String value, String allowed) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--lora: " + key + " must be " + allowed + ", got '" + value + "'");
        }
    }

    private static double number(String key, String value, String allowed) {
        try {
            double d = Double.parseDouble(value);
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--lora: " + key + " must be " + allowed + ", got '" + value + "'");
        }
    }
}
