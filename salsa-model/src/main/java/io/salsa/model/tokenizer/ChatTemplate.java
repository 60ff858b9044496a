package io.salsa.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template ({@code tokenizer_config.json}'s {@code chat_template}, or {@code chat_template.jinja}),
 * rendered as transformers' {@code apply_chat_template} renders it, string for string, so a conversation becomes
 * exactly the token ids the model was tuned on.
 *
 * <p>transformers renders with jinja2; this class uses Jinjava set up to behave the same (trim_blocks, lstrip_blocks,
 * filters binding tighter than {@code +}, one trailing newline of the template dropped) and fills the gaps: Python's
 * string methods, {@code tojson} with Python's {@code json.dumps} output, slices with a step ({@code messages[::-1]}),
 * {@code raise_exception} and {@code strftime_now}. The salsa-model README lists every difference handled.
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
    /** {@code [start:stop:step]}, which Jinjava's parser refuses; rewritten to a filter call. */
    private static final Pattern STEP_SLICE = Pattern.compile(
            "\\[\\s*([^\\[\\]:'\"]*?)\\s*:\\s*([^\\[\\]:'\"]*?)\\s*:\\s*([^\\[\\]:'\"]*?)\\s*\\]");
    private static final Pattern NAMED_ARGUMENT = Pattern.compile("\\s*[A-Za-z_][A-Za-z_0-9]*\\s*=(?!=)");
    private static final Pattern UNICODE_ESCAPE = Pattern.compile(
            "(\\\\[^uxU])|\\\\u([0-9a-fA-F]{4})|\\\\U([0-9a-fA-F]{8})|\\\\x([0-9a-fA-F]{2})");
    private static final Pattern TAG = Pattern.compile("\\{\\{.*?\\}\\}|\\{%.*?%\\}", Pattern.DOTALL);
    private static final Jinjava ENGINE = engine();

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
        String prepared = prepare(template);
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

    /**
     * jinja2's view of the source: newlines normalised to {@code \n} and one trailing newline dropped (its
     * keep_trailing_newline=False), and inside tags {@code x[a:b:c]} rewritten to {@code x|py_slice(a, b, c)} and
     * named arguments' values put in parentheses ({@code f(a=(x|length - 1))}).
     */
    static String prepare(String template) {
        String t = template.replace("\r\n", "\n").replace('\r', '\n');
        if (t.endsWith("\n")) {
            t = t.substring(0, t.length() - 1);
        }
        Matcher tags = TAG.matcher(t);
        StringBuilder out = new StringBuilder();
        while (tags.find()) {
            Matcher slice = STEP_SLICE.matcher(tags.group());
            StringBuilder tag = new StringBuilder();
            while (slice.find()) {
                slice.appendReplacement(tag, Matcher.quoteReplacement("|py_slice(" + orNone(slice.group(1)) + ", "
                        + orNone(slice.group(2)) + ", " + orNone(slice.group(3)) + ")"));
            }
            slice.appendTail(tag);
            String inner = tag.substring(2, tag.length() - 2);
            tags.appendReplacement(out, Matcher.quoteReplacement(
                    tag.substring(0, 2) + parenthesizeNamedArguments(inner) + tag.substring(tag.length() - 2)));
        }
        tags.appendTail(out);
        return out.toString();
    }

    /**
     * Jinjava's parser binds {@code name=value} in a call tighter than the operators in the value
     * ({@code namespace(i=messages|length - 1)} becomes {@code (i=messages|length) - 1}); parentheses restore
     * jinja2's reading. String literals pass through {@link #unicodeEscapes}.
     */
    static String parenthesizeNamedArguments(String expr) {
        StringBuilder out = new StringBuilder(expr.length() + 8);
        java.util.ArrayDeque<Character> brackets = new java.util.ArrayDeque<>();
        java.util.ArrayDeque<Integer> openValues = new java.util.ArrayDeque<>();
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (c == '\'' || c == '"') {
                int j = i + 1;
                while (j < expr.length() && expr.charAt(j) != c) {
                    j += expr.charAt(j) == '\\' ? 2 : 1;
                }
                j = Math.min(j + 1, expr.length());
                out.append(unicodeEscapes(expr.substring(i, j)));
                i = j;
                continue;
            }
            boolean argumentStart = false;
            if (c == '(' || c == '[' || c == '{') {
                brackets.push(c);
                argumentStart = c == '(';
            } else if (c == ')' || c == ']' || c == '}') {
                closeValue(out, brackets, openValues);
                if (!brackets.isEmpty()) {
                    brackets.pop();
                }
            } else if (c == ',') {
                closeValue(out, brackets, openValues);
                argumentStart = !brackets.isEmpty() && brackets.peek() == '(';
            }
            out.append(c);
            i++;
            if (argumentStart) {
                Matcher named = NAMED_ARGUMENT.matcher(expr).region(i, expr.length());
                if (named.lookingAt()) {
                    out.append(named.group()).append('(');
                    openValues.push(brackets.size());
                    i = named.end();
                }
            }
        }
        return out.toString();
    }

    /**
     * Python's {@code \\uXXXX}, {@code \\UXXXXXXXX} and {@code \\xXX} in a string literal, which Jinjava's lexer
     * refuses, replaced by the character itself (quotes and backslashes stay escaped).
     */
    static String unicodeEscapes(String literal) {
        Matcher m = UNICODE_ESCAPE.matcher(literal);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            if (m.group(1) != null) {
                m.appendReplacement(out, Matcher.quoteReplacement(m.group(1)));
                continue;
            }
            String hex = m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3) : m.group(4);
            int cp = Integer.parseInt(hex, 16);
            String c = new String(Character.toChars(cp));
            m.appendReplacement(out, Matcher.quoteReplacement(
                    cp == '\\' || cp == '\'' || cp == '"' ? "\\" + c : c));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static void closeValue(StringBuilder out, java.util.ArrayDeque<Character> brackets,
            java.util.ArrayDeque<Integer> openValues) {
        if (!openValues.isEmpty() && openValues.peek() == brackets.size()) {
            out.append(')');
            openValues.pop();
        }
    }

    private static String orNone(String s) {
        return s.isBlank() ? "none" : s;
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

    private static Jinjava engine() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withLocale(Locale.ROOT)
                // user text is data: "{{ x }}" inside a message must never be rendered again
                .withNestedInterpretationEnabled(false)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        try {
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                    ChatTemplate.class.getDeclaredMethod("raiseException", Object.class)));
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                    ChatTemplate.class.getDeclaredMethod("strftimeNow", String.class)));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        jinjava.getGlobalContext().registerFilter(new ToJson());
        jinjava.getGlobalContext().registerFilter(new Trim());
        jinjava.getGlobalContext().registerFilter(new PySlice());
        return jinjava;
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

    /** transformers' {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    private static final class ToJson implements Filter {
        private static final List<String> PARAMS = List.of("ensure_ascii", "indent", "separators", "sort_keys");

        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Map<String, Object> a = new LinkedHashMap<>();
            for (int i = 0; i < args.length && i < PARAMS.size(); i++) {
                a.put(PARAMS.get(i), args[i]);
            }
            a.putAll(kwargs);
            Object indent = a.get("indent");
            String indentText = indent == null ? null
                    : indent instanceof Number n ? " ".repeat(n.intValue()) : indent.toString();
            String[] separators = null;
            if (a.get("separators") instanceof Collection<?> c && c.size() == 2) {
                separators = c.stream().map(String::valueOf).toArray(String[]::new);
            }
            return new PythonJson(indentText, separators, truthy(a.get("sort_keys")), truthy(a.get("ensure_ascii")))
                    .dumps(var);
        }

        private static boolean truthy(Object o) {
            return o instanceof Boolean b ? b : o != null && !"false".equalsIgnoreCase(o.toString());
        }
    }

    /** jinja2's {@code trim}: Python's {@code str.strip(chars)}, which keeps control characters Jinjava would cut. */
    private static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String chars = args.length > 0 ? args[0] : null;
            String s = var == null ? "" : var.toString();
            return PythonStrings.rstrip(PythonStrings.lstrip(s, chars), chars);
        }
    }

    /** Python's {@code x[start:stop:step]} on lists and strings (the target of the {@code [a:b:c]} rewrite). */
    private static final class PySlice implements Filter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            List<Object> items = new ArrayList<>();
            boolean string = var instanceof String;
            if (string) {
                ((String) var).codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
            } else if (var instanceof Collection<?> c) {
                items.addAll(c);
            } else if (var != null) {
                throw new ChatTemplateException("cannot slice a " + var.getClass().getSimpleName());
            }
            int n = items.size();
            long step = args.length > 2 && args[2] != null ? ((Number) args[2]).longValue() : 1;
            if (step == 0) {
                throw new ChatTemplateException("slice step cannot be zero");
            }
            long start = bound(args.length > 0 ? args[0] : null, n, step, true);
            long stop = bound(args.length > 1 ? args[1] : null, n, step, false);
            List<Object> out = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                out.add(items.get((int) i));
            }
            if (string) {
                StringBuilder sb = new StringBuilder();
                out.forEach(sb::append);
                return sb.toString();
            }
            return out;
        }

        /** CPython's {@code PySlice_AdjustIndices} for one bound. */
        private static long bound(Object value, int n, long step, boolean isStart) {
            if (value == null) {
                return step > 0 ? (isStart ? 0 : n) : (isStart ? n - 1 : -1);
            }
            long i = ((Number) value).longValue();
            if (i < 0) {
                i += n;
                if (i < 0) {
                    i = step < 0 ? -1 : 0;
                }
            } else if (i >= n) {
                i = step < 0 ? n - 1 : n;
            }
            return i;
        }
    }
}
