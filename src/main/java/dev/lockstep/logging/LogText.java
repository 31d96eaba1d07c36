package dev.lockstep.logging;

import org.jspecify.annotations.Nullable;

/**
 * Makes text that a client supplied safe to put in a log line.
 * <p>
 * A client controls export names, header values and similar strings. Logged raw, a
 * newline in one would start a forged log line and a control character could rewrite the
 * operator's terminal. {@link #quote(CharSequence)} shows such text between double quotes
 * with every control character, backslash, quote and non-ASCII character escaped, so that
 * one logged value is always one visible token on one line.
 */
public final class LogText {

	private static final char[] HEX = "0123456789abcdef".toCharArray();

	/** The longest client text shown; the rest is cut and counted. */
	static final int MAX_LENGTH = 256;

	private LogText() {
	}

	/**
	 * Returns the text quoted and escaped, or {@code null} (unquoted) for none.
	 * @param text text a client supplied
	 * @return the text as it may appear in a log line
	 */
	public static String quote(@Nullable CharSequence text) {
		if (text == null) {
			return "null";
		}
		int shown = Math.min(text.length(), MAX_LENGTH);
		StringBuilder out = new StringBuilder(shown + 2).append('"');
		for (int i = 0; i < shown; i++) {
			char c = text.charAt(i);
			switch (c) {
				case '"' -> out.append("\\\"");
				case '\\' -> out.append("\\\\");
				case '\n' -> out.append("\\n");
				case '\r' -> out.append("\\r");
				case '\t' -> out.append("\\t");
				default -> {
					if (c < 0x20 || c >= 0x7f) {
						out.append("\\u")
							.append(HEX[(c >> 12) & 0xf])
							.append(HEX[(c >> 8) & 0xf])
							.append(HEX[(c >> 4) & 0xf])
							.append(HEX[c & 0xf]);
					}
					else {
						out.append(c);
					}
				}
			}
		}
		out.append('"');
		if (text.length() > shown) {
			out.append("…(").append(text.length() - shown).append(" more)");
		}
		return out.toString();
	}

}
