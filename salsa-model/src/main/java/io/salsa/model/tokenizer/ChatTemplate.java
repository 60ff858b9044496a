package io.salsa.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A model's chat template ({@code tokenizer_config.json}'s {@code chat_template}, or {@code chat_template.jinja}),
 * rendered as transformers' {@code apply_chat_template} renders it, string for string, so a conversation becomes
 * exactly the token ids the model was tuned on.
 *
 * <p>transformers renders with jinja2; this class uses Jinjava set up to behave the same (trim_blocks, lstrip_blocks,
 * filters binding tighter than {@code +}, one trailing newline of the template dropped) and fills the gaps: Python's
 * string methods, {@code tojson} with Python's {@code json.dumps} output, slices with a step ({@code messages[::-1]}),
 * {@code raise_exception} and {@code strftime_now}. The salsa-model README lists every difference handled.
 *
 * <p>This class owns loading, the conversation's variables and error reporting; {@link Jinja2Source} rewrites the
 * source before parsing, {@link JinjavaEngine} holds the engine's settings, filters and globals.
 */
public final class ChatTemplate {

    /** File transformers 5 writes the template to (it wins over {@code tokenizer_config.json}'s). */
    public static final String CHAT_TEMPLATE_JINJA = "chat_template.jinja";
    /** Roles a conversation may use unless {@link #withRoles} says otherwise. */
    public static final List<String> DEFAULT_ROLES = List.of("system", "user", "assistant", "tool");
    /** Keys of {@code tokenizer_config.json} that transformers passes to the template as strings. */
    private static final List<String> SPECIAL_TOKEN_KEYS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
            "pad_token", "cls_token", "mask_token");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Jinjava ENGINE = JinjavaEngine.create();

    private final String source;
    private final String template;
    private final Map<String, Object> specialTokens;
    private final Set<String> roles;
    /** Parsed once: parsing costs several times the rendering. Rendering a tree is serialised on the tree. */
    private final Node tree;

    private ChatTemplate(String source, String template, Map<String, Object> specialTokens, Set<String> roles,
            Node tree) {
        this.source = source;
        this.template = template;
        this.specialTokens = specialTokens;
        this.roles = roles;
        this.tree = tree;
    }

    /**
     * A template from its text; {@code source} names where it came from in errors, {@code specialTokens} maps
     * {@code bos_token} etc. to their strings. Syntax errors found while parsing are reported here.
     */
    public static ChatTemplate of(String template, Map<String, String> specialTokens, String source) {
        String prepared = Jinja2Source.prepare(template);
        return new ChatTemplate(source, prepared, Map.copyOf(specialTokens), new LinkedHashSet<>(DEFAULT_ROLES),
                parse(prepared, source));
    }

    /** The default chat template of a Hugging Face folder, if it has one. */
    public static Optional<ChatTemplate> load(Path dir) throws IOException {
        return load(dir, null);
    }

    /**
     * A chat template of a Hugging Face folder: {@code chat_template.jinja} when present, else
     * {@code tokenizer_config.json}'s {@code chat_template}, a string or a list of named templates ({@code name} null
     * picks {@code default}). Empty when the folder has none; an error names the file when it is unreadable.
     */
    public static Optional<ChatTemplate> load(Path dir, String name) throws IOException {
        Path configFile = dir.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON);
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : JSON.createObjectNode();
        Map<String, String> tokens = specialTokens(config);
        Path jinja = dir.resolve(CHAT_TEMPLATE_JINJA);
        if (name != null && !"default".equals(name)) {
            Path named = dir.resolve("additional_chat_templates").resolve(name + ".jinja");
            if (Files.isRegularFile(named)) {
                return Optional.of(of(Files.readString(named), tokens, named.toString()));
            }
        } else if (Files.isRegularFile(jinja)) {
            return Optional.of(of(Files.readString(jinja), tokens, jinja.toString()));
        }
        JsonNode t = config.path("chat_template");
        if (t.isTextual()) {
            if (name != null && !"default".equals(name)) {
                throw new ChatTemplateException(configFile + ": chat_template is a single template, there is no \""
                        + name + "\"");
            }
            return Optional.of(of(t.asText(), tokens, configFile + " (chat_template)"));
        }
        if (t.isArray()) {
            String wanted = name == null ? "default" : name;
            List<String> names = new ArrayList<>();
            for (JsonNode entry : t) {
                names.add(entry.path("name").asText());
                if (wanted.equals(entry.path("name").asText())) {
                    return Optional.of(of(entry.path("template").asText(), tokens,
                            configFile + " (chat_template \"" + wanted + "\")"));
                }
            }
            throw new ChatTemplateException(configFile + ": chat_template has no template named \"" + wanted
                    + "\"; it has " + names);
        }
        if (!t.isMissingNode() && !t.isNull()) {
            throw new ChatTemplateException(configFile + ": chat_template must be a string or a list of {name, template}, got "
                    + t.getNodeType());
        }
        if (name != null && !"default".equals(name)) {
            throw new ChatTemplateException(dir + " has no chat template named \"" + name + "\"");
        }
        return Optional.empty();
    }

    /** The special tokens transformers passes to the template, read from {@code tokenizer_config.json}. */
    static Map<String, String> specialTokens(JsonNode config) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String key : SPECIAL_TOKEN_KEYS) {
            JsonNode n = config.path(key);
            if (n.isTextual()) {
                out.put(key, n.asText());
            } else if (n.isObject() && n.path("content").isTextual()) {
                out.put(key, n.path("content").asText());
            }
        }
        return out;
    }

    /** A copy that accepts exactly these roles (the template itself may still refuse some). */
    public ChatTemplate withRoles(Collection<String> accepted) {
        return new ChatTemplate(source, template, specialTokens, new LinkedHashSet<>(accepted), tree);
    }

    /** Where the template came from (a file, or a file and key). */
    public String source() {
        return source;
    }

    /** Renders a plain role/content conversation. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages.stream().map(ChatMessage::toMap).toList(), addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation as {@code apply_chat_template(messages, add_generation_prompt=..., tokenize=False,
     * **kwargs)}: {@code kwargs} carries {@code tools}, {@code documents} and any template variable such as
     * {@code enable_thinking}. Messages are maps (role, content, and whatever else the template reads, e.g.
     * {@code tool_calls}); values may be Jackson trees.
     *
     * @throws ChatTemplateException for a role outside {@link #withRoles the accepted ones} (naming it and the
     *                               message's index), a template that raises (with its message), or a render error
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> kwargs) {
        List<Object> msgs = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            Map<?, ?> message = (Map<?, ?>) plain(messages.get(i));
            Object role = message.get("role");
            if (!(role instanceof String r) || !roles.contains(r)) {
                throw new ChatTemplateException("message " + i + " has role " + (role == null ? "null" : "\"" + role + "\"")
                        + ", which " + source + " does not take; roles accepted: " + roles);
            }
            msgs.add(message);
        }
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("tools", null);
        vars.put("documents", null);
        vars.putAll(specialTokens);
        kwargs.forEach((k, v) -> vars.put(k, plain(v)));
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        JinjavaInterpreter interpreter = new JinjavaInterpreter(ENGINE,
                new Context(ENGINE.getGlobalContext(), vars, ENGINE.getGlobalConfig().getDisabled()),
                ENGINE.getGlobalConfig());
        String output;
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            synchronized (tree) {
                output = interpreter.render(tree);
            }
        } catch (RuntimeException e) {
            check(interpreter.getErrorsCopy(), source);
            throw new ChatTemplateException(source + ": " + e.getMessage(), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        check(interpreter.getErrorsCopy(), source);
        return output;
    }

    private static Node parse(String template, String source) {
        JinjavaInterpreter interpreter = ENGINE.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            Node tree = interpreter.parse(template);
            check(interpreter.getErrors(), source);
            return tree;
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    private static void check(List<TemplateError> errors, String source) {
        for (TemplateError e : errors) {
            for (Throwable t = e.getException(); t != null; t = t.getCause()) {
                if (t instanceof RaisedByTemplate raised) {
                    throw new ChatTemplateException(source + " raised an error: " + raised.getMessage(), raised);
                }
            }
        }
        for (TemplateError e : errors) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException(source + ", line " + e.getLineno() + ": " + e.getMessage(),
                        e.getException());
            }
        }
    }

    /** Deep copy into plain maps and lists, Jackson trees converted, so the template sees Python-like values. */
    private static Object plain(Object v) {
        if (v instanceof JsonNode n) {
            return plain(JSON.convertValue(n, Object.class));
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), plain(x)));
            return out;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            c.forEach(x -> out.add(plain(x)));
            return out;
        }
        return v;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The template's {@code raise_exception(message)}: stops rendering with the template's own message. */
    public static Object raiseException(Object message) {
        throw new RaisedByTemplate(String.valueOf(message));
    }

    /** The template's {@code strftime_now(format)}: the local time formatted with Python's strftime codes. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.US);
    }

    /** Thrown by {@code raise_exception}; found again in Jinjava's error list to report the template's message. */
    private static final class RaisedByTemplate extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RaisedByTemplate(String message) {
            super(message);
        }
    }
}
