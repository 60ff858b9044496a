package io.salsa.model.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * The Jinjava engine {@link ChatTemplate} renders with, set up as transformers' jinja2 environment: its settings,
 * Python's string methods ({@link PythonStrings}), and the filters and globals that jinja2 and transformers have
 * and Jinjava lacks or does differently ({@code tojson}, {@code trim}, {@code py_slice}, {@code raise_exception},
 * {@code strftime_now}).
 */
final class JinjavaEngine {

    private JinjavaEngine() {
    }

    /** A new engine; one is enough for every template (rendering state lives in each interpreter). */
    static Jinjava create() {
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
