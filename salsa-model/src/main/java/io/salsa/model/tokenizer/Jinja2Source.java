package io.salsa.model.tokenizer;

import java.util.ArrayDeque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites a jinja2 template's source, before parsing, into text that Jinjava's parser reads as jinja2 reads the
 * original: line ends and the trailing newline, slices with a step, named arguments' values, and Python's unicode
 * escapes in string literals (see the salsa-model README's table of differences).
 */
final class Jinja2Source {

    /** {@code [start:stop:step]}, which Jinjava's parser refuses; rewritten to a filter call. */
    private static final Pattern STEP_SLICE = Pattern.compile(
            "\\[\\s*([^\\[\\]:'\"]*?)\\s*:\\s*([^\\[\\]:'\"]*?)\\s*:\\s*([^\\[\\]:'\"]*?)\\s*\\]");
    private static final Pattern NAMED_ARGUMENT = Pattern.compile("\\s*[A-Za-z_][A-Za-z_0-9]*\\s*=(?!=)");
    private static final Pattern UNICODE_ESCAPE = Pattern.compile(
            "(\\\\[^uxU])|\\\\u([0-9a-fA-F]{4})|\\\\U([0-9a-fA-F]{8})|\\\\x([0-9a-fA-F]{2})");
    private static final Pattern TAG = Pattern.compile("\\{\\{.*?\\}\\}|\\{%.*?%\\}", Pattern.DOTALL);

    private Jinja2Source() {
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
        ArrayDeque<Character> brackets = new ArrayDeque<>();
        ArrayDeque<Integer> openValues = new ArrayDeque<>();
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

    private static void closeValue(StringBuilder out, ArrayDeque<Character> brackets,
            ArrayDeque<Integer> openValues) {
        if (!openValues.isEmpty() && openValues.peek() == brackets.size()) {
            out.append(')');
            openValues.pop();
        }
    }

    private static String orNone(String s) {
        return s.isBlank() ? "none" : s;
    }
}
