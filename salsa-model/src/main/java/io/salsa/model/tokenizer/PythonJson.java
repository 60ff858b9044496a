package io.salsa.model.tokenizer;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)}, which is what
 * transformers' {@code tojson} template filter calls: a tool definition in a chat template must come out byte for
 * byte as in Python ({@code ", "} and {@code ": "} separators, key order kept, non-ASCII text kept, floats as
 * Python's {@code repr}).
 */
final class PythonJson {

    private final String indent;
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;
    private final boolean ensureAscii;

    /**
     * @param indent     null for one line, else the string one nesting level is indented by
     * @param separators null for Python's default ({@code ", "} on one line, {@code ","} when indenting, and
     *                   {@code ": "}), else {item, key}
     */
    PythonJson(String indent, String[] separators, boolean sortKeys, boolean ensureAscii) {
        this.indent = indent;
        this.itemSeparator = separators != null ? separators[0] : indent == null ? ", " : ",";
        this.keySeparator = separators != null ? separators[1] : ": ";
        this.sortKeys = sortKeys;
        this.ensureAscii = ensureAscii;
    }

    String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private void write(StringBuilder sb, Object v, int level) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof BigDecimal d) {
            sb.append(floatRepr(d.doubleValue()));
        } else if (v instanceof Number n) {
            sb.append(n);
        } else if (v instanceof CharSequence s) {
            quote(sb, s.toString(), ensureAscii);
        } else if (v instanceof Map<?, ?> m) {
            writeMap(sb, m, level);
        } else if (v instanceof Collection<?> c) {
            writeList(sb, new ArrayList<>(c), level);
        } else if (v instanceof Object[] a) {
            writeList(sb, List.of(a), level);
        } else {
            throw new ChatTemplateException("tojson: Object of type " + v.getClass().getSimpleName()
                    + " is not JSON serializable");
        }
    }

    private void writeMap(StringBuilder sb, Map<?, ?> m, int level) {
        if (m.isEmpty()) {
            sb.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
        if (sortKeys) {
            entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
        }
        sb.append('{');
        for (int i = 0; i < entries.size(); i++) {
            sb.append(i == 0 ? "" : itemSeparator);
            newline(sb, level + 1);
            Object key = entries.get(i).getKey();
            quote(sb, key instanceof Boolean b ? (b ? "true" : "false") : key == null ? "null" : key.toString(),
                    ensureAscii);
            sb.append(keySeparator);
            write(sb, entries.get(i).getValue(), level + 1);
        }
        newline(sb, level);
        sb.append('}');
    }

    private void writeList(StringBuilder sb, List<?> list, int level) {
        if (list.isEmpty()) {
            sb.append("[]");
            return;
        }
        sb.append('[');
        for (int i = 0; i < list.size(); i++) {
            sb.append(i == 0 ? "" : itemSeparator);
            newline(sb, level + 1);
            write(sb, list.get(i), level + 1);
        }
        newline(sb, level);
        sb.append(']');
    }

    private void newline(StringBuilder sb, int level) {
        if (indent != null) {
            sb.append('\n').append(indent.repeat(level));
        }
    }

    /** Python's {@code json} string escaping: quote, backslash and C0 controls, and with ensureAscii all non-ASCII. */
    static void quote(StringBuilder sb, String s, boolean ensureAscii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Python's {@code float.__repr__}: shortest digits, positional for exponents -4..15, else {@code 1e-05} style. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
        if (exp >= -4 && exp < 16) {
            if (exp >= digits.length() - 1) {
                sb.append(digits).append("0".repeat(exp - digits.length() + 1)).append(".0");
            } else if (exp >= 0) {
                sb.append(digits, 0, exp + 1).append('.').append(digits.substring(exp + 1));
            } else {
                sb.append("0.").append("0".repeat(-exp - 1)).append(digits);
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits.substring(1));
            }
            sb.append('e').append(exp < 0 ? '-' : '+').append(String.format("%02d", Math.abs(exp)));
        }
        return sb.toString();
    }
}
